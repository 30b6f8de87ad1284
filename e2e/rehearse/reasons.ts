/**
 * Why Flagger rolled an analysis back: the checks that halted it, named in
 * the messages of its events (fluxcd/flagger v1.44.0 pkg/controller:
 * scheduler_metrics.go, scheduler_hooks.go, scheduler.go). A verdict alone
 * does not tell a rollback by the 4xx check from one for "no values found".
 *
 * The messages are read from Flagger's log, where `recordEvent*`
 * (controller/events.go) writes every event before sending it: the API
 * server's Events are lossy (client-go lets 25 Warning events per Canary
 * through, then one per 5 minutes, and merges similar ones), so a rehearsal
 * of several releases on one Canary would lose halts there.
 */

/** One `Halt ...` (or failed-query) message: a failed check, or a wait at a gate. */
export type Halt =
  /** A metric check out of its threshold range: `Halt api.testapi advancement 4xx-percentage 100.00 > 1`. */
  | { readonly kind: 'check'; readonly name: string; readonly value: string; readonly op: '<' | '>'; readonly bound: string }
  /** A metric query that found nothing: `Halt advancement no values found for custom metric: success-rate: ...`. */
  | { readonly kind: 'no-values'; readonly name: string }
  /** A metric query that failed, or a template that could not be used. */
  | { readonly kind: 'query-failed'; readonly name: string }
  /** A webhook that failed: `pre-rollout check acceptance-test failed`, `external check load-test failed` (rollout). */
  | { readonly kind: 'webhook'; readonly name: string; readonly hook: 'pre-rollout' | 'rollout' }
  /** A closed gate (confirm-rollout, -traffic-increase, -promotion): a wait, not a failed check. */
  | { readonly kind: 'waiting'; readonly name: string };

export type Rollback =
  | { readonly kind: 'threshold'; readonly failedChecks: number }
  | { readonly kind: 'deadline' }
  | { readonly kind: 'manual' };

/** What a rollback is expected to be for: one metric check, or one webhook. */
export type ExpectedReason = { readonly check: string } | { readonly webhook: string };

// `%.2f` of a template's value, `%.2f%%` of the built-in success rate, a Go duration of the built-in latency.
const CHECK = /^Halt \S+ advancement (.+?) (\S+) ([<>]) (\S+)$/;
const NO_VALUES = [
  /^Halt advancement no values found for custom metric: (\S+?):/,
  /^Halt advancement no values found for metric: (\S+)/,
  /^Halt advancement no values found for \S+ metric (\S+)/,
];
const QUERY_FAILED = [
  /^Metric query failed for (\S+?):/,
  /^Prometheus query failed for (\S+?):/,
  /^Metric template (\S+?) (?:error|secret|provider|query render)/,
];
const WEBHOOK = /^Halt \S+ advancement (pre-rollout|external) check (\S+) failed/;
const WAITING = /^Halt \S+ advancement waiting for (?:traffic increase |promotion )?approval (\S+)$/;

export function parseHalt(message: string): Halt | undefined {
  let m = WAITING.exec(message);
  if (m) return { kind: 'waiting', name: m[1] };
  m = WEBHOOK.exec(message);
  if (m) return { kind: 'webhook', name: m[2], hook: m[1] === 'external' ? 'rollout' : 'pre-rollout' };
  for (const re of NO_VALUES) {
    m = re.exec(message);
    if (m) return { kind: 'no-values', name: m[1] };
  }
  for (const re of QUERY_FAILED) {
    m = re.exec(message);
    if (m) return { kind: 'query-failed', name: m[1] };
  }
  // A built-in check's failed query names no check (v1.44.0 runBuiltinMetricChecks).
  if (/^Prometheus query failed: /.test(message)) return { kind: 'query-failed', name: 'built-in check' };
  m = CHECK.exec(message);
  if (m) return { kind: 'check', name: m[1], value: m[2], op: m[3] as '<' | '>', bound: m[4] };
  return undefined;
}

export function parseRollback(message: string): Rollback | undefined {
  const m = /^Rolling back \S+ failed checks threshold reached (\d+)$/.exec(message);
  if (m) return { kind: 'threshold', failedChecks: Number(m[1]) };
  if (/^Rolling back \S+ progress deadline exceeded/.test(message)) return { kind: 'deadline' };
  if (/^Rolling back \S+ manual webhook invoked$/.test(message)) return { kind: 'manual' };
  return undefined;
}

/** `4xx-percentage`, `webhook acceptance-test`, `no values: success-rate`, ... */
export function describeHalt(h: Halt): string {
  switch (h.kind) {
    case 'check': return h.name;
    case 'no-values': return `no values: ${h.name}`;
    case 'query-failed': return `query failed: ${h.name}`;
    case 'webhook': return `webhook ${h.name}`;
    case 'waiting': return `waiting: ${h.name}`;
  }
}

export function describeExpected(e: ExpectedReason): string {
  return 'check' in e ? e.check : `webhook ${e.webhook}`;
}

/** What the event messages of one analysis say about how it ended. */
export interface AnalysisReasons {
  /** Halts that counted as failed checks (gate waits left out), in order. */
  readonly failedChecks: readonly Halt[];
  readonly rollback?: Rollback;
  /** e.g. `4xx-percentage x2`, or `-` when nothing failed. */
  readonly summary: string;
}

/** The halts up to the (first) rollback, and the rollback. */
export function analysisReasons(messages: readonly string[]): AnalysisReasons {
  const failedChecks: Halt[] = [];
  let rollback: Rollback | undefined;
  for (const message of messages) {
    rollback = parseRollback(message);
    if (rollback) break;
    const halt = parseHalt(message);
    if (halt && halt.kind !== 'waiting') failedChecks.push(halt);
  }
  const counts = new Map<string, number>();
  for (const h of failedChecks) counts.set(describeHalt(h), (counts.get(describeHalt(h)) ?? 0) + 1);
  const summary = [...counts].map(([name, n]) => `${name} x${n}`).join(', ') || '-';
  return { failedChecks, rollback, summary };
}

/**
 * Failures when the analysis was not rolled back for the expected reason alone:
 * a rollback after failed checks, every one of which is the expected check
 * (or webhook). "No values", a failed query or another check fails it.
 */
export function checkRollbackReason(reasons: AnalysisReasons, expected: ExpectedReason): string[] {
  const want = describeExpected(expected);
  if (!reasons.rollback) return [`no rollback message in Flagger's events (halts: ${reasons.summary}); expected a rollback by ${want}`];
  if (reasons.rollback.kind !== 'threshold') return [`rolled back for ${reasons.rollback.kind}, expected failed checks of ${want}`];
  if (reasons.failedChecks.length === 0) return [`rolled back with no halt in Flagger's events, expected ${want}`];
  const matches = (h: Halt) => ('check' in expected
    ? h.kind === 'check' && h.name === expected.check
    : h.kind === 'webhook' && h.name === expected.webhook);
  const others = reasons.failedChecks.filter((h) => !matches(h));
  return others.length === 0 ? [] : [`rolled back after ${reasons.summary}: expected ${want} only`];
}

/** One line of Flagger's JSON log (zap): `{"ts":"...","caller":"controller/events.go:45","msg":...,"canary":"api.testapi"}`. */
export interface FlaggerLogLine {
  readonly at: number;
  readonly msg: string;
  /** `<name>.<namespace>` for lines about a Canary. */
  readonly canary?: string;
  /** `controller/events.go:45` for a message Flagger also records as an Event. */
  readonly caller?: string;
}

/** The JSON lines of Flagger's log with a message; other lines (a panic's stack, a cut line) are skipped. */
export function parseFlaggerLog(lines: readonly string[]): FlaggerLogLine[] {
  const out: FlaggerLogLine[] = [];
  for (const line of lines) {
    if (!line.startsWith('{')) continue;
    let entry: { ts?: unknown; caller?: unknown; msg?: unknown; canary?: unknown };
    try {
      entry = JSON.parse(line);
    } catch {
      continue;
    }
    if (typeof entry.msg !== 'string') continue;
    out.push({
      at: typeof entry.ts === 'string' ? Date.parse(entry.ts) : NaN,
      msg: entry.msg,
      ...(typeof entry.canary === 'string' ? { canary: entry.canary } : {}),
      ...(typeof entry.caller === 'string' ? { caller: entry.caller } : {}),
    });
  }
  return out;
}

/**
 * Messages of Flagger's events about one Canary, from lines of Flagger's JSON log:
 * those logged by `recordEvent*` (controller/events.go).
 */
export function flaggerEventMessages(lines: readonly string[], canary: string): string[] {
  return parseFlaggerLog(lines).filter((l) => l.canary === canary && l.caller?.startsWith('controller/events.go')).map((l) => l.msg);
}
