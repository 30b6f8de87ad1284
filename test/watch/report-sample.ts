/**
 * A sample 3.0 rollback for the report tests, made by the watcher's own reducer (verdict.ts)
 * from Flagger 1.44 status steps, plus the metrics records the CLI adds with --metrics:
 * 2.0 is promoted; 3.0 is detected and advances 10 -> 20 -> 30 while its checks pass; then
 * 404s push the 4xx check (not-found-percentage, max 5) above its max at every interval until
 * the failed checks reach the threshold (5), Flagger rolls back, and the phase is Failed.
 * One latency read gives no value (a gap in its chart).
 */
import { H2, H3, NAME, NAMESPACE, SPEC, succeeded2 } from './scenarios';
import { CanaryObject, Input, MetricValue, WatchRecord, initialState, reduce } from '../../watch/verdict';

export const T0 = Date.parse('2026-03-02T10:00:00.000Z');
/** Seconds between two of Flagger's steps in the sample (its analysis interval would be 1m). */
export const STEP = 30;

const target = `${NAME}.${NAMESPACE}`;

type SampleStep =
  | { status: Record<string, unknown> }
  | { event: ['Normal' | 'Warning', string] }
  | { metrics: { successRate?: number; notFound?: number; latency?: number } };

const steps: SampleStep[] = [
  { event: ['Normal', `New revision detected! Scaling up ${target}`] },
  { status: { phase: 'Progressing', canaryWeight: 0, failedChecks: 0, iterations: 0, lastAppliedSpec: H3 } },
  { event: ['Normal', `Starting canary analysis for ${target}`] },
  ...[10, 20, 30].flatMap((w, i): SampleStep[] => [
    { status: { canaryWeight: w } },
    { event: ['Normal', `Advance ${target} canary weight ${w}`] },
    { metrics: { successRate: 100, notFound: [0.4, 0.8, 1.2][i], latency: [182, 176, 191][i] } },
  ]),
  ...[1, 2, 3, 4, 5].flatMap((n): SampleStep[] => [
    { metrics: { successRate: 100, notFound: [38.5, 71.2, 100, 100, 100][n - 1], latency: n === 3 ? undefined : [204, 219, 0, 230, 241][n - 1] } },
    { status: { failedChecks: n } },
    { event: ['Warning', `Halt ${target} advancement not-found-percentage ${[38.5, 71.2, 100, 100, 100][n - 1].toFixed(2)} > 5`] },
  ]),
  { event: ['Warning', `Rolling back ${target} failed checks threshold reached 5`] },
  { event: ['Warning', `Canary failed! Scaling down ${target}`] },
  { status: { phase: 'Failed', canaryWeight: 0 } },
];

function checks(m: { successRate?: number; notFound?: number; latency?: number }): MetricValue[] {
  return [
    { name: 'request-success-rate', value: m.successRate, min: 99 },
    { name: 'not-found-percentage', value: m.notFound, max: 5 },
    m.latency === undefined
      ? { name: 'request-duration', max: 500, error: 'no values found for query' }
      : { name: 'request-duration', value: m.latency, max: 500 },
  ];
}

/** The records of `canary-watch -o json --metrics` for the sample 3.0 rollback. */
export function rollbackRecords(): WatchRecord[] {
  let state = initialState(NAME, NAMESPACE, { expect: 'succeeded' }, T0);
  const out: WatchRecord[] = [];
  let status: Record<string, unknown> = { ...succeeded2 };
  const canary = (): CanaryObject => ({ metadata: { name: NAME, namespace: NAMESPACE }, spec: SPEC, status });
  const feed = (input: Input) => {
    const step = reduce(state, input);
    state = step.state;
    out.push(...step.records);
    return step;
  };
  feed({ kind: 'canary', at: T0, canary: canary() });
  let at = T0;
  for (const step of steps) {
    at += 'status' in step ? STEP * 1000 : 1000;
    if ('status' in step) {
      status = { ...status, ...step.status };
      const result = feed({ kind: 'canary', at, canary: canary() });
      // The watcher re-reads an ambiguous Failed after a settle delay (2 s).
      if (result.needsConfirm) feed({ kind: 'canary', at: at + 2000, canary: canary(), confirmed: true });
    } else if ('event' in step) {
      feed({ kind: 'event', at, event: { type: step.event[0], reason: 'Synced', message: step.event[1], count: 1 } });
    } else {
      out.push({ type: 'metrics', time: new Date(at).toISOString(), checks: checks(step.metrics) });
    }
  }
  if (!state.verdict) throw new Error('the sample rollback reached no verdict');
  return out;
}

export { H2, H3 };
