/**
 * The verdict logic of canary-watch: a pure reducer from observed Canary states
 * and Events to output records and, at the end, a verdict. No I/O, no clocks:
 * every input carries its own timestamp, so the whole logic is unit-testable
 * with plain objects.
 *
 * Flagger 1.44 facts this relies on (its pkg/controller/scheduler.go and pkg/canary/status.go):
 * - `status.lastAppliedSpec` / `status.lastPromotedSpec` are opaque hashes: compare, never recompute.
 * - A new rollout shows as `lastAppliedSpec` changing and/or a move into a progressing phase.
 * - The `Promoted` condition is True for Initialized too: only phase + hashes decide.
 * - On a Failed canary Flagger re-syncs `lastAppliedSpec` before it starts the next
 *   analysis, so "Failed with a new lastAppliedSpec" is briefly a normal state of a
 *   rollout that is about to start; re-applying the last promoted spec leaves it there.
 * - Events are lossy: they are shown, never used to decide.
 */

/** Phases of an analysis that is under way. */
const PROGRESSING: ReadonlySet<string> = new Set(['Waiting', 'Progressing', 'WaitingPromotion', 'Promoting', 'Finalising']);
/**
 * Every phase of Flagger 1.44 ('' before its first status). Another phase (a newer Flagger
 * may add some) is shown with a note but decides nothing: it is not an outcome (only
 * Succeeded, Initialized and Failed are), not progress, and no rollout starts from it (a
 * new revision still shows as a new lastAppliedSpec). The watch goes on until a known
 * phase or the timeout. Refusing it (exit 3) would break every watch on the day Flagger
 * adds a phase, while waiting costs at most the timeout and can never fake a success.
 */
const KNOWN_PHASES: ReadonlySet<string> = new Set(['', 'Initializing', 'Initialized', 'Succeeded', 'Failed',
  'Terminating', 'Terminated', ...PROGRESSING]);

export interface CanaryStatus {
  readonly phase?: string;
  readonly canaryWeight?: number;
  readonly failedChecks?: number;
  readonly iterations?: number;
  readonly lastAppliedSpec?: string;
  readonly lastPromotedSpec?: string;
  readonly lastTransitionTime?: string;
  readonly conditions?: readonly CanaryCondition[];
}

/** Flagger keeps one condition, `Promoted`: Unknown from a rollout's start until its end. */
export interface CanaryCondition {
  readonly type?: string;
  readonly status?: string;
  readonly lastTransitionTime?: string | Date;
}

export interface CanaryAnalysis {
  readonly interval?: string;
  readonly threshold?: number;
  readonly maxWeight?: number;
  readonly stepWeight?: number;
  readonly stepWeights?: readonly number[];
  readonly stepWeightPromotion?: number;
  readonly iterations?: number;
  /** Read by `status`, `get` and --metrics (metrics.ts). */
  readonly metrics?: readonly unknown[];
  /** Read by `promote`, `abort` and `get`. */
  readonly webhooks?: readonly CanaryWebhookSpec[];
}

export interface CanaryWebhookSpec {
  readonly name?: string;
  readonly type?: string;
  readonly url?: string;
}

/** The parts of a flagger.app/v1beta1 Canary the watcher reads. */
export interface CanaryObject {
  readonly metadata?: {
    readonly name?: string;
    readonly namespace?: string;
    readonly resourceVersion?: string;
    readonly deletionTimestamp?: string | Date;
  };
  readonly spec?: {
    readonly targetRef?: { readonly kind?: string; readonly name?: string; readonly apiVersion?: string };
    readonly service?: { readonly name?: string; readonly port?: number };
    readonly ingressRef?: { readonly name?: string };
    readonly routeRef?: { readonly name?: string };
    readonly analysis?: CanaryAnalysis;
    readonly progressDeadlineSeconds?: number;
    readonly skipAnalysis?: boolean;
    /** The mesh or ingress provider; empty: Flagger's -mesh-provider. */
    readonly provider?: string;
    /** Prometheus of the built-in checks; empty: Flagger's -metrics-server. */
    readonly metricsServer?: string;
  };
  readonly status?: CanaryStatus;
}

/** The parts of a core/v1 Event the watcher shows. */
export interface CanaryEvent {
  readonly type?: string;
  readonly reason?: string;
  readonly message?: string;
  readonly count?: number;
}

export type Expectation = 'succeeded' | 'failed' | 'initialized' | 'any';
export const EXPECTATIONS: readonly Expectation[] = ['succeeded', 'failed', 'initialized', 'any'];

/**
 * What Flagger did with the rollout that counts:
 * - succeeded: analysis passed and the new revision was promoted;
 * - failed: analysis failed and the canary was rolled back;
 * - initialized: first revision of a new Canary, deployed without analysis;
 * - unchanged: the last promoted spec was re-applied after a failure: Flagger starts
 *   nothing (phase stays Failed) because the primary already runs that spec.
 */
export type Outcome = 'succeeded' | 'failed' | 'initialized' | 'unchanged';
/**
 * How a watch ends: an outcome, or no outcome in time, or the Canary went away, or a
 * newer revision replaced the watched one mid-analysis (revision tracking only).
 */
export type Ending = Outcome | 'timeout' | 'deleted' | 'superseded';

export const EXIT = { met: 0, other: 1, timeout: 2, error: 3, superseded: 4 } as const;

/** Whether a lastAppliedSpec is the watched revision (see revision.ts). */
export type RevisionClass = 'watched' | 'other';

export interface VerdictOptions {
  readonly expect: Expectation;
  /** Also count a rollout already in progress when the watcher started. */
  readonly includeRunning?: boolean;
  /** Judge the current state: an outcome reached before the watcher started counts. */
  readonly current?: boolean;
  /**
   * Also count a rollout in progress at start that began at or after this time
   * (epoch ms), as told by the `Promoted` condition turning Unknown.
   */
  readonly since?: number;
  /**
   * Revision tracking is on: canary inputs say whether their lastAppliedSpec is the
   * watched revision; only its rollout counts, and a rollout of another one that
   * replaces it ends the watch as superseded.
   */
  readonly tracked?: boolean;
}

export type Input =
  | { readonly kind: 'canary'; readonly at: number; readonly canary: CanaryObject; readonly confirmed?: boolean;
    /** With revision tracking: the class of canary.status.lastAppliedSpec. */
    readonly revision?: RevisionClass; }
  | { readonly kind: 'event'; readonly at: number; readonly event: CanaryEvent }
  | { readonly kind: 'notice'; readonly at: number; readonly level: 'info' | 'warning'; readonly message: string }
  | { readonly kind: 'metrics'; readonly at: number; readonly checks: readonly MetricValue[] }
  | { readonly kind: 'deleted'; readonly at: number }
  | { readonly kind: 'timeout'; readonly at: number };

export interface StartRecord {
  readonly type: 'start';
  readonly time: string;
  readonly name: string;
  readonly namespace: string;
  readonly expect: Expectation;
  readonly phase: string;
  readonly lastAppliedSpec?: string;
  readonly lastPromotedSpec?: string;
}

export interface StatusRecord {
  readonly type: 'status';
  readonly time: string;
  readonly phase: string;
  readonly canaryWeight: number;
  readonly maxWeight: number;
  readonly failedChecks: number;
  readonly threshold: number;
  readonly iterations: number;
  readonly lastAppliedSpec?: string;
  readonly lastPromotedSpec?: string;
}

export interface NoteRecord {
  readonly type: 'note';
  readonly time: string;
  readonly level: 'info' | 'warning';
  readonly message: string;
}

export interface EventRecord {
  readonly type: 'event';
  readonly time: string;
  readonly eventType: string;
  readonly reason: string;
  readonly message: string;
  readonly count: number;
}

export interface VerdictRecord {
  readonly type: 'verdict';
  readonly time: string;
  readonly outcome: Ending;
  readonly expected: Expectation;
  readonly met: boolean;
  readonly exitCode: number;
  readonly message: string;
  readonly phase: string;
  readonly lastAppliedSpec?: string;
  readonly lastPromotedSpec?: string;
  /** lastPromotedSpec when the watcher started. */
  readonly previousPromotedSpec?: string;
  readonly durationSeconds: number;
  readonly maxWeightReached: number;
  readonly maxWeight: number;
  readonly failedChecks: number;
  readonly threshold: number;
  readonly lastEvents: readonly EventRecord[];
  /** The metric values read last, with --metrics. */
  readonly checks?: readonly MetricValue[];
}

/** The value one metric check of the Canary's analysis saw, and its threshold range. */
export interface MetricValue {
  /** `analysis.metrics[].name`. */
  readonly name: string;
  /** The query's result; absent when it could not be read (see `error`). */
  readonly value?: number;
  /** `thresholdRange.min`: the check fails below it. */
  readonly min?: number;
  /** `thresholdRange.max`: the check fails above it. */
  readonly max?: number;
  /** Why no value: no data, a query error, no permission. */
  readonly error?: string;
}

/** Metric values read during a watch (see `--metrics`): one record per read. */
export interface MetricsRecord {
  readonly type: 'metrics';
  readonly time: string;
  readonly checks: readonly MetricValue[];
}

export type WatchRecord = StartRecord | StatusRecord | NoteRecord | EventRecord | MetricsRecord | VerdictRecord;

interface Snapshot {
  readonly phase: string;
  readonly applied?: string;
  readonly promoted?: string;
  readonly weight: number;
  readonly failedChecks: number;
  readonly iterations: number;
}

export interface WatchState {
  readonly name: string;
  readonly namespace: string;
  readonly options: VerdictOptions;
  readonly startedAt: number;
  /** First observed state: what "before the watcher started" means. */
  readonly baseline?: Snapshot;
  readonly last?: Snapshot;
  /** A rollout that counts is being followed. */
  readonly counted: boolean;
  /** A progressing phase was seen for the rollout that counts. */
  readonly sawProgress: boolean;
  /** An ambiguous Failed state waits for a confirming re-read (see needsConfirm). */
  readonly pending?: Snapshot;
  readonly maxWeightReached: number;
  readonly maxFailedChecks: number;
  readonly maxWeight: number;
  readonly threshold: number;
  readonly events: readonly EventRecord[];
  /** The metric values read last (--metrics). */
  readonly checks?: readonly MetricValue[];
  readonly verdict?: VerdictRecord;
}

export interface Step {
  readonly state: WatchState;
  readonly records: readonly WatchRecord[];
  /** The driver should re-read the Canary after a settle delay and feed it with `confirmed: true`. */
  readonly needsConfirm?: boolean;
}

const LAST_EVENTS = 10;
const DEFAULT_THRESHOLD = 0;

export function initialState(name: string, namespace: string, options: VerdictOptions, startedAt: number): WatchState {
  return {
    name, namespace, options, startedAt,
    counted: false, sawProgress: false,
    maxWeightReached: 0, maxFailedChecks: 0, maxWeight: 100, threshold: DEFAULT_THRESHOLD,
    events: [],
  };
}

/** The maximum canary weight Flagger will reach for this analysis (Flagger's own rule). */
export function configuredMaxWeight(analysis: CanaryAnalysis | undefined): number {
  const steps = analysis?.stepWeights ?? [];
  if (steps.length > 0) return Math.min(100, steps[steps.length - 1]);
  if ((analysis?.maxWeight ?? 0) > 0) return analysis!.maxWeight!;
  return 100;
}

function isProgressing(phase: string | undefined): boolean {
  return phase !== undefined && PROGRESSING.has(phase);
}

export function shortHash(hash: string | undefined): string {
  return hash ? hash.slice(0, 10) : '-';
}

function snapshot(canary: CanaryObject): Snapshot {
  const s = canary.status ?? {};
  return {
    phase: s.phase ?? '',
    applied: s.lastAppliedSpec || undefined,
    promoted: s.lastPromotedSpec || undefined,
    weight: s.canaryWeight ?? 0,
    failedChecks: s.failedChecks ?? 0,
    iterations: s.iterations ?? 0,
  };
}

function sameSnapshot(a: Snapshot | undefined, b: Snapshot): boolean {
  return a !== undefined && a.phase === b.phase && a.applied === b.applied && a.promoted === b.promoted
    && a.weight === b.weight && a.failedChecks === b.failedChecks && a.iterations === b.iterations;
}

/** Feed one observation; returns the new state and what to print. Inputs after the verdict are ignored. */
export function reduce(state: WatchState, input: Input): Step {
  if (state.verdict) return { state, records: [] };
  const time = new Date(input.at).toISOString();
  switch (input.kind) {
    case 'notice':
      return { state, records: [{ type: 'note', time, level: input.level, message: input.message }] };
    case 'event':
      return onEvent(state, input.event, time);
    case 'metrics':
      return { state: { ...state, checks: input.checks }, records: [{ type: 'metrics', time, checks: input.checks }] };
    case 'deleted':
      return finish(state, input.at, 'deleted', `canary ${state.namespace}/${state.name} was deleted while being watched`);
    case 'timeout':
      return finish(state, input.at, 'timeout', timeoutMessage(state));
    case 'canary':
      return onCanary(state, input.canary, input.at, input.confirmed === true, input.revision);
  }
}

function onEvent(state: WatchState, event: CanaryEvent, time: string): Step {
  const record: EventRecord = {
    type: 'event', time,
    eventType: event.type ?? 'Normal',
    reason: event.reason ?? '',
    message: event.message ?? '',
    count: event.count ?? 1,
  };
  return { state: { ...state, events: [...state.events, record].slice(-LAST_EVENTS) }, records: [record] };
}

function onCanary(prev: WatchState, canary: CanaryObject, at: number, confirmed: boolean, revision?: RevisionClass): Step {
  const time = new Date(at).toISOString();
  const snap = snapshot(canary);
  const analysis = canary.spec?.analysis;
  let state: WatchState = {
    ...prev,
    maxWeight: configuredMaxWeight(analysis),
    threshold: analysis?.threshold ?? prev.threshold,
  };
  const records: WatchRecord[] = [];
  const note = (message: string, level: 'info' | 'warning' = 'info') => records.push({ type: 'note', time, level, message });

  if (canary.metadata?.deletionTimestamp || snap.phase === 'Terminating' || snap.phase === 'Terminated') {
    const step = finish(state, at, 'deleted',
      `canary ${state.namespace}/${state.name} is being deleted (phase ${snap.phase || 'unknown'})`);
    return { state: step.state, records: [...records, ...step.records] };
  }

  const changed = !sameSnapshot(state.last, snap);
  if (changed) records.push(statusRecord(state, snap, time));
  if (!KNOWN_PHASES.has(snap.phase) && snap.phase !== state.last?.phase) {
    note(`phase "${snap.phase}" is unknown to this watcher (a newer Flagger?): it is shown, never taken as an outcome`, 'warning');
  }

  if (!state.baseline) {
    state = { ...state, baseline: snap, last: snap };
    records.unshift({
      type: 'start', time, name: state.name, namespace: state.namespace, expect: state.options.expect,
      phase: snap.phase, lastAppliedSpec: snap.applied, lastPromotedSpec: snap.promoted,
    });
    return judgeBaseline(state, snap, rolloutStart(canary), at, records, note, revision);
  }

  const last = state.last!;
  state = { ...state, last: snap };
  const tracked = state.options.tracked === true;
  if (tracked && snap.applied !== last.applied && snap.applied && revision === 'other') {
    if (state.counted) {
      const step = finish(state, at, 'superseded', `revision ${shortHash(snap.applied)} replaced the watched revision `
        + `${shortHash(last.applied)} before its rollout ended; Flagger now analyses the newer one`);
      return { state: step.state, records: [...records, ...step.records] };
    }
    note(`a rollout of revision ${shortHash(snap.applied)} does not count: it is not the watched revision`);
    return { state, records };
  }
  if (tracked && revision === 'other' && !state.counted) return { state, records };
  if (snap.applied !== last.applied && snap.applied) {
    if (state.counted && isProgressing(last.phase) && isProgressing(snap.phase)) {
      note(`new revision ${shortHash(snap.applied)} detected during the analysis: Flagger restarted it`);
    } else if (snap.applied === snap.promoted && snap.phase === 'Failed') {
      note(`the last promoted spec ${shortHash(snap.promoted)} was re-applied after a failure`);
    } else {
      note(`new revision ${shortHash(snap.applied)} applied`);
    }
    // Any revision that appears after the start makes the rollout one that counts;
    // the figures of the verdict are those of this revision's analysis.
    state = {
      ...state, counted: true, sawProgress: isProgressing(snap.phase), pending: undefined,
      maxWeightReached: 0, maxFailedChecks: 0,
    };
  }
  if (isProgressing(snap.phase) && !isProgressing(last.phase) && KNOWN_PHASES.has(last.phase) && !state.counted) {
    note(`rollout of revision ${shortHash(snap.applied)} started`);
    state = { ...state, counted: true, sawProgress: false };
  }
  if (isProgressing(snap.phase)) {
    state = { ...state, pending: undefined };
    if (state.counted) state = { ...state, sawProgress: true };
  }
  if (snap.phase !== last.phase) {
    if (snap.phase === 'Waiting') note('waiting for approval: a confirm-rollout webhook is holding the rollout');
    if (snap.phase === 'WaitingPromotion') note('waiting for approval: a confirm-promotion webhook is holding the promotion');
  }
  if (state.counted) {
    state = {
      ...state,
      maxWeightReached: Math.max(state.maxWeightReached, snap.weight),
      maxFailedChecks: Math.max(state.maxFailedChecks, snap.failedChecks),
    };
  } else if (!isProgressing(snap.phase) && isProgressing(last.phase)) {
    note(`the rollout that was in progress at start ended ${snap.phase || 'without a phase'}; it does not count, waiting for a new rollout`);
  }
  if (!state.counted) return { state, records };
  return judge(state, snap, at, records, confirmed);
}

/** When the rollout in progress began: the Promoted condition's move to Unknown (second precision). */
function rolloutStart(canary: CanaryObject): number | undefined {
  const promoted = canary.status?.conditions?.find((c) => c.type === 'Promoted');
  if (promoted?.status !== 'Unknown' || !promoted.lastTransitionTime) return undefined;
  const time = new Date(promoted.lastTransitionTime).getTime();
  return Number.isNaN(time) ? undefined : time;
}

/** The first observation: what was there before the watcher started. */
function judgeBaseline(state: WatchState, snap: Snapshot, startedAt: number | undefined, at: number,
  records: WatchRecord[], note: (m: string, l?: 'info' | 'warning') => void, revision?: RevisionClass): Step {
  const { current, since } = state.options;
  if (state.options.tracked && !current && isProgressing(snap.phase) && revision === 'watched') {
    // Flagger checks the target for a new template at every tick before it advances,
    // so a rollout in progress while the target runs the watched revision either is
    // its rollout or is restarted for it at the next tick (a new lastAppliedSpec).
    note(`following the rollout already in progress: the target runs the watched revision, and Flagger `
      + `restarts the analysis at its next check if revision ${shortHash(snap.applied)} is an older one`);
    state = { ...state, counted: true, sawProgress: true, maxWeightReached: snap.weight, maxFailedChecks: snap.failedChecks };
    return { state, records };
  }
  // Kubernetes times have second precision: a rollout stamped in the same second as --since counts.
  const startedSince = since !== undefined && startedAt !== undefined && startedAt >= Math.floor(since / 1000) * 1000;
  const includeRunning = state.options.includeRunning || startedSince;
  if (current) {
    state = { ...state, counted: true, sawProgress: isProgressing(snap.phase) };
    state = { ...state, maxWeightReached: snap.weight, maxFailedChecks: snap.failedChecks };
    if (snap.phase === 'Initializing' || snap.phase === '') return { state, records };
    return judge(state, snap, at, records, false);
  }
  if (snap.phase === '' || snap.phase === 'Initializing') {
    // A new Canary: its initialization is the first thing that can happen, nothing older to confuse it with.
    state = { ...state, counted: true };
  } else if (isProgressing(snap.phase)) {
    if (includeRunning) {
      note(`following the rollout of revision ${shortHash(snap.applied)} already in progress`
        + (startedSince ? ` (it began at ${new Date(startedAt!).toISOString()}, after --since)` : ''));
      state = { ...state, counted: true, sawProgress: true, maxWeightReached: snap.weight, maxFailedChecks: snap.failedChecks };
    } else {
      note(`a rollout of revision ${shortHash(snap.applied)} was already in progress when the watcher started; `
        + 'it does not count (see --include-running and --since)', 'warning');
    }
  } else if (snap.phase === 'Succeeded' || snap.phase === 'Initialized') {
    note(`revision ${shortHash(snap.promoted)} is already promoted (phase ${snap.phase}); waiting for a new rollout`);
  } else if (snap.phase === 'Failed' && snap.applied && snap.applied === snap.promoted) {
    note(explainReapply(snap));
  } else if (snap.phase === 'Failed') {
    note(`the last rollout (revision ${shortHash(snap.applied)}) failed before the watcher started; waiting for a new rollout`);
  }
  return { state, records };
}

function explainReapply(snap: Snapshot): string {
  return `the last promoted spec ${shortHash(snap.promoted)} was re-applied after a failed rollout: `
    + 'Flagger starts no analysis for it and the phase stays Failed; the primary already runs this spec';
}

function judge(state: WatchState, snap: Snapshot, at: number, records: WatchRecord[], confirmed: boolean): Step {
  const base = state.baseline!;
  const fresh = state.options.current || false;
  const withRecords = (step: Step): Step => ({ ...step, records: [...records, ...step.records] });
  switch (snap.phase) {
    case 'Succeeded':
      if (snap.promoted && snap.promoted === snap.applied && (snap.promoted !== base.promoted || fresh)) {
        return withRecords(finish(state, at, 'succeeded',
          `revision ${shortHash(snap.promoted)} passed the analysis and was promoted`));
      }
      return { state, records };
    case 'Initialized':
      if (snap.promoted) {
        return withRecords(finish(state, at, 'initialized',
          `first revision ${shortHash(snap.promoted)} was initialized without analysis (Flagger analyses from the second revision on)`));
      }
      return { state, records };
    case 'Failed': {
      // A Failed state that could be Flagger's lastAppliedSpec re-sync just before the next
      // analysis starts is only believed once a re-read a moment later still shows it.
      const reapplied = snap.applied !== undefined && snap.applied === snap.promoted;
      const ambiguous = reapplied || !state.sawProgress;
      if (ambiguous && !(confirmed && state.pending && sameRevisionAndPhase(state.pending, snap))) {
        if (state.pending && sameRevisionAndPhase(state.pending, snap)) return { state, records };
        return { state: { ...state, pending: snap }, records, needsConfirm: true };
      }
      if (reapplied) return withRecords(finish(state, at, 'unchanged', explainReapply(snap)));
      return withRecords(finish(state, at, 'failed',
        `revision ${shortHash(snap.applied)} failed the analysis and was rolled back`
        + (snap.failedChecks > 0 ? ` (failed checks ${snap.failedChecks}/${state.threshold || '?'})` : '')));
    }
    default:
      return { state, records };
  }
}

function sameRevisionAndPhase(a: Snapshot, b: Snapshot): boolean {
  return a.phase === b.phase && a.applied === b.applied && a.promoted === b.promoted;
}

function statusRecord(state: WatchState, snap: Snapshot, time: string): StatusRecord {
  return {
    type: 'status', time, phase: snap.phase,
    canaryWeight: snap.weight, maxWeight: state.maxWeight,
    failedChecks: snap.failedChecks, threshold: state.threshold,
    iterations: snap.iterations,
    lastAppliedSpec: snap.applied, lastPromotedSpec: snap.promoted,
  };
}

function timeoutMessage(state: WatchState): string {
  const base = state.baseline;
  if (!base) return 'timed out before the Canary could be read';
  if (!state.counted) {
    if (isProgressing(base.phase) && !state.options.includeRunning) {
      return 'timed out: no new rollout started; the rollout already in progress at start was not counted (see --include-running and --since)';
    }
    return `timed out: no new rollout started (phase ${state.last?.phase || 'none'}, revision ${shortHash(state.last?.applied)}); `
      + 'did the applied change reach the target Deployment?';
  }
  return `timed out while the rollout was in phase ${state.last?.phase || 'none'}`
    + ` (weight ${state.last?.weight ?? 0}/${state.maxWeight}, failed checks ${state.last?.failedChecks ?? 0}/${state.threshold || '?'})`;
}

/** Exit code for an ending under an expectation. */
export function exitCodeFor(ending: Ending, expect: Expectation): number {
  if (ending === 'timeout') return EXIT.timeout;
  if (ending === 'superseded') return EXIT.superseded;
  if (ending === 'deleted') return EXIT.error;
  if (expect === 'any' || expect === ending) return EXIT.met;
  return EXIT.other;
}

function finish(state: WatchState, at: number, outcome: Ending, message: string): Step {
  const expect = state.options.expect;
  const exitCode = exitCodeFor(outcome, expect);
  const last = state.last ?? state.baseline;
  const verdict: VerdictRecord = {
    type: 'verdict',
    time: new Date(at).toISOString(),
    outcome, expected: expect, met: exitCode === EXIT.met, exitCode,
    message: exitCode === EXIT.other && outcome === 'initialized' && expect === 'succeeded'
      ? `${message}; no analysis ran, so this is not a promotion (use --expect initialized or any)`
      : message,
    phase: last?.phase ?? '',
    lastAppliedSpec: last?.applied,
    lastPromotedSpec: last?.promoted,
    previousPromotedSpec: state.baseline?.promoted,
    durationSeconds: Math.round((at - state.startedAt) / 100) / 10,
    maxWeightReached: state.maxWeightReached,
    maxWeight: state.maxWeight,
    failedChecks: state.maxFailedChecks,
    threshold: state.threshold,
    lastEvents: state.events,
    ...(state.checks ? { checks: state.checks } : {}),
  };
  return { state: { ...state, verdict }, records: [verdict] };
}
