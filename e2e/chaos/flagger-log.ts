/**
 * What Flagger said, from its log (`<state>/logs/flagger.log`, zap JSON lines).
 * Every message Flagger records as an Event on the Canary it logs first, in the
 * same words (pkg/controller/events.go), and the log is not rate-limited: the
 * Events are (client-go's spam filter keeps 25 per object and type, then one per
 * 5 minutes), so a long run on one Canary loses them while the log keeps all.
 */
import * as fs from 'node:fs';
import { FlaggerLogLine, parseFlaggerLog, parseHalt } from '../rehearse/reasons';
import { flaggerLogPath, StackInfo } from '../rehearse/stack';

export type FlaggerLine = FlaggerLogLine;

/** Flagger's log lines in a time window, about one Canary (null: every line, the operator's own included). */
export function flaggerLines(stack: StackInfo, from: number, to = Infinity, canary: string | null = 'api.testapi'): FlaggerLine[] {
  const file = flaggerLogPath(stack);
  if (!fs.existsSync(file)) return [];
  return parseFlaggerLog(fs.readFileSync(file, 'utf8').split('\n'))
    .filter((l) => l.at >= from && l.at <= to && (canary === null || l.canary === canary));
}

/** A check's failure, or another cause that stops the analysis. */
const HALT = /^Halt |^(?:Metric|Prometheus) query failed|not ready|progress deadline|^Error checking metric/;
const ROLLBACK = /^Rolling back |^Canary failed!/;

/** The end of an error chain: `... dial tcp 127.0.94.1:9090: connect: connection refused` -> `connect: connection refused`. */
function cause(text: string): string {
  const parts = text.split(': ');
  return parts.slice(-2).join(': ').trim();
}

/** A Flagger message in a few words, for the table. */
export function shortMessage(msg: string): string {
  // The halts' names come from the rehearsal's parser of the same messages; the cause is the error's tail.
  const halt = parseHalt(msg);
  if (halt?.kind === 'webhook') return `webhook ${halt.name} failed: ${cause(msg.replace(/^.*? check \S+ failed /, ''))}`;
  if (halt?.kind === 'query-failed') return `query ${halt.name} failed: ${cause(msg.replace(/^.*? (?:for \S+?|failed): /, ''))}`;
  if (halt?.kind === 'no-values') return `no values for ${halt.name}`;
  if (halt?.kind === 'check') return `${halt.name} ${halt.value} ${halt.op} ${halt.bound}`;
  let m = /^Halt \S+ advancement (.*)$/.exec(msg);
  if (m) return m[1];
  m = /^Advance \S+ canary weight (\d+)/.exec(msg);
  if (m) return `weight ${m[1]}`;
  m = /^canary deployment \S+ not ready: (.*)$/.exec(msg);
  if (m) return `canary not ready: ${m[1].replace(/^waiting for rollout to finish: /, '')}`;
  m = /^Rolling back \S+ (.*)$/.exec(msg);
  if (m) return `rolling back: ${m[1]}`;
  const text = msg.replace(/ \S+\.testapi\b/g, '').replace(/!$/, '');
  return text.length > 90 ? `${text.slice(0, 87)}...` : text;
}

export interface Rollback {
  /** The halt Flagger logged last before rolling back: the check that reached the threshold. */
  readonly reason?: string;
  /** Its full message. */
  readonly message?: string;
  /** Halts of that same check before the rollback. */
  readonly count: number;
  /** Every halt before the rollback. */
  readonly halts: number;
  readonly at?: number;
}

/** Why Flagger rolled back, from its lines of one rollout (undefined when it did not roll back). */
export function rollbackOf(lines: readonly FlaggerLine[]): Rollback | undefined {
  const end = lines.findIndex((l) => ROLLBACK.test(l.msg));
  if (end < 0) return undefined;
  const halts = lines.slice(0, end).filter((l) => HALT.test(l.msg));
  const rolling = lines[end];
  // A progress deadline is named by the rollback line itself.
  const last = /progress deadline/.test(rolling.msg) ? rolling : halts[halts.length - 1];
  if (!last) return { count: 0, halts: 0, at: rolling.at };
  const kind = (msg: string) => shortMessage(msg).replace(/[\d.]+/g, '#');
  return {
    reason: shortMessage(last.msg), message: last.msg, at: rolling.at,
    count: halts.filter((h) => kind(h.msg) === kind(last.msg)).length, halts: halts.length,
  };
}

/**
 * What Flagger did, in order: its messages about the Canary shortened, repeats
 * collapsed (`x3`), with the run's own marks (fault start and end) in between.
 */
export function story(lines: readonly FlaggerLine[], marks: readonly { at: number; text: string }[] = []): string {
  const items = [
    ...lines.map((l) => ({ at: l.at, text: shortMessage(l.msg) })),
    ...marks.map((m) => ({ at: m.at, text: `[${m.text}]` })),
  ].sort((a, b) => a.at - b.at);
  const out: { text: string; n: number }[] = [];
  for (const { text } of items) {
    const prev = out[out.length - 1];
    const same = (a: string, b: string) => a.replace(/[\d.]+/g, '#') === b.replace(/[\d.]+/g, '#') && !a.startsWith('weight');
    if (prev && same(prev.text, text)) prev.n++;
    else out.push({ text, n: 1 });
  }
  return out.map((o) => (o.n > 1 ? `${o.text} x${o.n}` : o.text)).join(' -> ');
}
