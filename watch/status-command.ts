/**
 * `status` (one look, exit code by state) and `get` (a detailed view, live with -w):
 * phase, weight, failed checks, each metric check's value against its threshold
 * (metrics.ts), the webhooks, and the last events of the Canary.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { GetOptions, StatusOptions } from './args';
import type { Io } from './cli';
import { commandRequest, getCanary, loadKubeConfig, namespaceOf, WatchError } from './kube';
import { MetricReader } from './metrics';
import { formatCheck, useColor } from './render';
import { CanaryObject, configuredMaxWeight, EXIT, MetricValue, shortHash, StatusRecord } from './verdict';

const LAST_EVENTS = 5;
const IN_PROGRESS = ['', 'Initializing', 'Waiting', 'Progressing', 'WaitingPromotion', 'Promoting', 'Finalising'];

interface KubeEvent {
  readonly type?: string;
  readonly reason?: string;
  readonly message?: string;
  readonly count?: number;
  readonly lastTimestamp?: string;
  readonly eventTime?: string;
  readonly metadata?: { readonly creationTimestamp?: string };
}

/** The status figures of the watch's status record, plus what a look adds. */
export interface CanaryView extends Omit<StatusRecord, 'type' | 'time'> {
  readonly name: string;
  readonly namespace: string;
  /** promoted | initialized | rolled-back | in-analysis | other */
  readonly state: string;
  readonly exitCode: number;
  readonly checks: readonly (MetricValue & { readonly failing?: boolean })[];
  readonly webhooks: ReadonlyArray<{ readonly name: string; readonly type: string; readonly url: string }>;
  readonly events: ReadonlyArray<{ readonly time: string; readonly type: string; readonly reason: string; readonly message: string }>;
}

/** What a phase means for `status`'s exit code. */
export function stateOf(phase: string): { state: string; exitCode: number } {
  if (phase === 'Succeeded') return { state: 'promoted', exitCode: EXIT.met };
  if (phase === 'Initialized') return { state: 'initialized', exitCode: EXIT.met };
  if (phase === 'Failed') return { state: 'rolled-back', exitCode: EXIT.other };
  if (IN_PROGRESS.includes(phase)) return { state: 'in-analysis', exitCode: EXIT.timeout };
  return { state: 'other', exitCode: EXIT.error };
}

/** A check fails when its value is outside its range, as Flagger's runMetricChecks decides. */
export function failing(check: MetricValue): boolean | undefined {
  if (check.value === undefined) return undefined;
  return (check.min !== undefined && check.value < check.min) || (check.max !== undefined && check.value > check.max);
}

export function buildView(canary: CanaryObject, events: readonly KubeEvent[], checks: readonly MetricValue[]): CanaryView {
  const s = canary.status ?? {};
  const phase = s.phase ?? '';
  return {
    name: canary.metadata?.name ?? '',
    namespace: canary.metadata?.namespace ?? '',
    phase,
    ...stateOf(phase),
    canaryWeight: s.canaryWeight ?? 0,
    maxWeight: configuredMaxWeight(canary.spec?.analysis),
    failedChecks: s.failedChecks ?? 0,
    threshold: canary.spec?.analysis?.threshold ?? 0,
    iterations: s.iterations ?? 0,
    lastAppliedSpec: s.lastAppliedSpec,
    lastPromotedSpec: s.lastPromotedSpec,
    checks: checks.map((c) => ({ ...c, failing: failing(c) })),
    webhooks: (canary.spec?.analysis?.webhooks ?? []).map((w) => ({ name: w.name ?? '', type: w.type ?? 'rollout', url: w.url ?? '' })),
    events: [...events]
      .sort((a, b) => eventTime(a).localeCompare(eventTime(b)))
      .slice(-LAST_EVENTS)
      .map((e) => ({ time: eventTime(e), type: e.type ?? 'Normal', reason: e.reason ?? '', message: e.message ?? '' })),
  };
}

function eventTime(e: KubeEvent): string {
  return e.lastTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp ?? '';
}

export function formatView(view: CanaryView, color: boolean): string {
  const paint = (code: number, text: string) => (color ? `\x1b[${code}m${text}\x1b[0m` : text);
  const phaseColor = view.state === 'rolled-back' ? 31 : view.exitCode === EXIT.met ? 32 : 33;
  const lines = [
    `canary ${view.namespace}/${view.name}: ${paint(phaseColor, view.phase || 'no phase yet')} (${view.state})`,
    `  weight ${view.canaryWeight}/${view.maxWeight}  failed checks ${view.failedChecks}/${view.threshold || '?'}`
      + `  iterations ${view.iterations}  applied ${shortHash(view.lastAppliedSpec)}  promoted ${shortHash(view.lastPromotedSpec)}`,
    'checks:',
    ...(view.checks.length === 0 ? ['  (none)'] : view.checks.map((c) => {
      const mark = c.failing === undefined ? '?' : c.failing ? paint(31, 'FAIL') : paint(32, 'ok');
      return `  ${mark.padEnd(color ? 13 : 4)} ${formatCheck(c)}`;
    })),
    'webhooks:',
    ...(view.webhooks.length === 0 ? ['  (none)'] : view.webhooks.map((w) => `  ${w.name} (${w.type}) ${w.url}`)),
    `events (last ${LAST_EVENTS}):`,
    ...(view.events.length === 0 ? ['  (none)'] : view.events.map((e) =>
      `  ${e.time.slice(11, 19) || '--:--:--'} ${e.type === 'Warning' ? paint(33, 'Warning') : e.type} ${e.message}`)),
  ];
  return lines.join('\n');
}

/** Reads the Canary, its events and its metric values. */
export async function readView(kc: KubeConfig, namespace: string, name: string, timeoutMs: number,
  metricsServer?: string): Promise<CanaryView> {
  const canary = await getCanary(kc, namespace, name, timeoutMs);
  const selector = encodeURIComponent(`involvedObject.kind=Canary,involvedObject.name=${name}`);
  const [eventAnswer, checks] = await Promise.all([
    commandRequest(kc, 'GET', `/api/v1/namespaces/${encodeURIComponent(namespace)}/events?fieldSelector=${selector}`, { timeoutMs }),
    new MetricReader(kc, namespace, timeoutMs, metricsServer).read(canary),
  ]);
  let events: KubeEvent[] = [];
  if (eventAnswer.status === 200) {
    try {
      events = (JSON.parse(eventAnswer.body) as { items?: KubeEvent[] }).items ?? [];
    } catch {
      // events only decorate the view
    }
  }
  return buildView(canary, events, checks);
}

export async function statusCommand(io: Io, options: StatusOptions | GetOptions, program: string): Promise<number> {
  let kc: KubeConfig;
  try {
    kc = await loadKubeConfig(options, io.env);
  } catch (err) {
    io.stderr.write(`${program}: ${(err as Error).message}\n`);
    return EXIT.error;
  }
  const namespace = namespaceOf(kc, options);
  const timeoutMs = options.requestTimeoutMs ?? 15_000;
  const tty = io.stdout.isTTY === true;
  const color = useColor(tty, options.noColor, io.env);
  const once = async (): Promise<CanaryView> => readView(kc, namespace, options.name, timeoutMs, options.metricsServer);
  try {
    if (options.command === 'status') {
      const view = await once();
      io.stdout.write((options.output === 'json' ? JSON.stringify(view) : formatView(view, color)) + '\n');
      return view.exitCode;
    }
    if (!options.watch) {
      io.stdout.write(formatView(await once(), color) + '\n');
      return EXIT.met;
    }
    return await live(io, once, options.timeoutMs, tty, color);
  } catch (err) {
    io.stderr.write(`${program}: ${err instanceof WatchError ? err.message : `unexpected error: ${(err as Error).message.split('\n')[0]}`}\n`);
    return EXIT.error;
  }
}

/** get -w: redraws on a terminal, prints a block per change otherwise; until interrupted or --timeout. */
async function live(io: Io, read: () => Promise<CanaryView>, timeoutMs: number, tty: boolean, color: boolean): Promise<number> {
  const periodMs = Number(io.env.CANARY_WATCH_REGET_MS) > 0 ? Number(io.env.CANARY_WATCH_REGET_MS) : 2000;
  const end = timeoutMs > 0 ? Date.now() + timeoutMs : Infinity;
  let last = '';
  for (;;) {
    const text = formatView(await read(), color);
    if (tty) io.stdout.write(`\x1b[H\x1b[2J${text}\n`);
    else if (text !== last) io.stdout.write(`${new Date().toISOString()}\n${text}\n\n`);
    last = text;
    if (Date.now() + periodMs > end) return EXIT.met;
    await new Promise((resolve) => setTimeout(resolve, periodMs));
  }
}
