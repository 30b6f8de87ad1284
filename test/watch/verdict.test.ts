import fc from 'fast-check';
import {
  CanaryObject, EventRecord, exitCodeFor, initialState, Input, NoteRecord, reduce, StatusRecord, VerdictOptions,
  VerdictRecord, WatchRecord, WatchState,
} from '../../watch/verdict';
import {
  failed3, finishInProgress2, fromFailedTo4, gatedApproved, gatedWaiting, H1, H2, H3, H4, initialization, initialized,
  inProgress2, NAME, NAMESPACE, promotion2, reapplyPromoted, restarted, rollback3, SPEC, StatusPatch, Step, succeeded2,
  withStepAfterWeight,
} from './scenarios';

interface Run {
  readonly verdict: VerdictRecord;
  readonly records: WatchRecord[];
  readonly confirms: number;
}

/**
 * Feeds a scenario to the reducer as the CLI would: one canary state per status step,
 * events as they come, a confirming re-read when asked for (after the steps, i.e. a
 * settle delay longer than Flagger's gap between two writes), then a timeout.
 */
function run(start: StatusPatch | undefined, steps: readonly Step[], options: Partial<VerdictOptions> = {}): Run {
  let canary: CanaryObject = { metadata: { name: NAME, namespace: NAMESPACE }, spec: SPEC, ...(start ? { status: start } : {}) };
  let at = 1_000_000;
  let state: WatchState = initialState(NAME, NAMESPACE, { expect: 'succeeded', ...options }, at);
  const records: WatchRecord[] = [];
  let confirmPending = false;
  let confirms = 0;
  const feed = (input: Input) => {
    const step = reduce(state, input);
    state = step.state;
    records.push(...step.records);
    if (step.needsConfirm) confirmPending = true;
  };
  feed({ kind: 'canary', at, canary });
  for (const step of steps) {
    at += 1000;
    if ('status' in step) {
      canary = { ...canary, status: { ...canary.status, ...step.status } };
      feed({ kind: 'canary', at, canary });
    } else if ('event' in step) {
      feed({ kind: 'event', at, event: { type: step.event[0], reason: 'Synced', message: step.event[1], count: 1 } });
    }
  }
  if (confirmPending && !state.verdict) {
    confirms++;
    feed({ kind: 'canary', at: at + 3000, canary, confirmed: true });
  }
  feed({ kind: 'timeout', at: at + 600_000 });
  return { verdict: state.verdict!, records, confirms };
}

const notes = (r: Run) => r.records.filter((x): x is NoteRecord => x.type === 'note').map((n) => n.message).join('\n');
const statuses = (r: Run) => r.records.filter((x): x is StatusRecord => x.type === 'status');

describe('verdicts of Flagger 1.44 rollouts', () => {
  test('1.0: initialization is its own outcome, not a promotion', () => {
    const r = run(undefined, initialization);
    expect(r.verdict.outcome).toBe('initialized');
    expect(r.verdict.exitCode).toBe(1);
    expect(r.verdict.message).toMatch(/--expect initialized or any/);
    expect(run(undefined, initialization, { expect: 'initialized' }).verdict.exitCode).toBe(0);
    expect(run(undefined, initialization, { expect: 'any' }).verdict.exitCode).toBe(0);
  });

  test('2.0: promoted after weights 10..50, Promoting, Finalising', () => {
    const r = run(initialized, promotion2);
    expect(r.verdict).toMatchObject({
      outcome: 'succeeded', exitCode: 0, met: true, phase: 'Succeeded',
      lastAppliedSpec: H2, lastPromotedSpec: H2, previousPromotedSpec: H1,
      maxWeightReached: 50, maxWeight: 50, failedChecks: 0, threshold: 5,
    });
    expect(statuses(r).filter((s) => s.phase === 'Progressing').map((s) => s.canaryWeight)).toEqual([0, 10, 20, 30, 40, 50]);
    expect(statuses(r).map((s) => s.phase)).toEqual(expect.arrayContaining(['Progressing', 'Promoting', 'Finalising', 'Succeeded']));
    // Flagger records "Promotion completed!" after writing Succeeded: the verdict does not wait for it.
    expect(r.verdict.lastEvents.map((e) => e.message)).toContain('Routing all traffic to primary');
    expect(r.verdict.durationSeconds).toBeGreaterThan(0);
  });

  test('3.0: rolled back when failed checks reach the threshold', () => {
    const r = run(succeeded2, rollback3);
    expect(r.verdict).toMatchObject({
      outcome: 'failed', exitCode: 1, met: false, phase: 'Failed',
      lastAppliedSpec: H3, lastPromotedSpec: H2, failedChecks: 5, threshold: 5, maxWeightReached: 10,
    });
    expect(r.confirms).toBe(0);
    expect(r.verdict.lastEvents.filter((e) => e.eventType === 'Warning').length).toBeGreaterThanOrEqual(3);
    expect(run(succeeded2, rollback3, { expect: 'failed' }).verdict.exitCode).toBe(0);
  });

  test('a revision applied mid-analysis restarts it; the promoted one is the new revision', () => {
    const r = run(initialized, restarted);
    expect(r.verdict).toMatchObject({ outcome: 'succeeded', lastPromotedSpec: H3, maxWeightReached: 50 });
    // Figures restart with the new revision: 2.0 had failed checks, 3.0 none.
    const withFailures = run(initialized, withStepAfterWeight(restarted, 20, [{ status: { failedChecks: 2 } }]));
    expect(withFailures.verdict).toMatchObject({ outcome: 'succeeded', failedChecks: 0 });
    expect(notes(r)).toMatch(/restarted/);
  });

  test('gates are reported, never failed', () => {
    const approved = run(initialized, gatedApproved);
    expect(approved.verdict.outcome).toBe('succeeded');
    expect(notes(approved)).toMatch(/confirm-rollout/);
    expect(notes(approved)).toMatch(/confirm-promotion/);
    const waiting = run(initialized, gatedWaiting);
    expect(waiting.verdict).toMatchObject({ outcome: 'timeout', exitCode: 2, phase: 'Waiting' });
    expect(waiting.verdict.message).toMatch(/phase Waiting/);
  });
});

describe('only a rollout that starts after the watcher counts', () => {
  test('a Succeeded present at start is never the outcome', () => {
    const r = run(succeeded2, [{ status: {} }, { status: {} }]);
    expect(r.verdict).toMatchObject({ outcome: 'timeout', exitCode: 2 });
    expect(r.verdict.message).toMatch(/no new rollout started/);
    // Re-reads of an unchanged state print nothing new.
    expect(statuses(r)).toHaveLength(1);
  });

  test('a rollout in progress at start does not count by default', () => {
    const r = run(inProgress2, finishInProgress2);
    expect(r.verdict.outcome).toBe('timeout');
    expect(notes(r)).toMatch(/--include-running/);
    expect(notes(r)).toMatch(/ended Succeeded; it does not count/);
  });

  test('--include-running and --current follow a rollout in progress', () => {
    expect(run(inProgress2, finishInProgress2, { includeRunning: true }).verdict)
      .toMatchObject({ outcome: 'succeeded', maxWeightReached: 50, exitCode: 0 });
    expect(run(inProgress2, finishInProgress2, { current: true }).verdict.outcome).toBe('succeeded');
  });

  test('--since counts a rollout in progress that began after it (Promoted condition turned Unknown)', () => {
    const began = Date.parse('2026-01-02T15:04:05Z');
    const running = { ...inProgress2, conditions: [{ type: 'Promoted', status: 'Unknown', lastTransitionTime: '2026-01-02T15:04:05Z' }] };
    expect(run(running, finishInProgress2, { since: began - 30_000 }).verdict.outcome).toBe('succeeded');
    // Same second as --since (Kubernetes times are whole seconds): counts.
    expect(run(running, finishInProgress2, { since: began + 400 }).verdict.outcome).toBe('succeeded');
    expect(run(running, finishInProgress2, { since: began + 1000 }).verdict.outcome).toBe('timeout');
    // No Unknown Promoted condition: no known start, so it does not count.
    expect(run(inProgress2, finishInProgress2, { since: 0 }).verdict.outcome).toBe('timeout');
  });

  test('a new rollout after the one in progress counts', () => {
    const next = [...finishInProgress2, { status: { phase: 'Progressing', lastAppliedSpec: H3 } }, ...rollback3.slice(3)];
    expect(run(inProgress2, next).verdict).toMatchObject({ outcome: 'failed', lastAppliedSpec: H3 });
  });

  test('an unknown phase (a newer Flagger) is noted, is no outcome, and no rollout starts from it', () => {
    // A rollout under way at start in a phase this watcher does not know: like any rollout in progress at start, it does not count.
    const r = run({ ...inProgress2, phase: 'Exploding' }, [{ status: { phase: 'Progressing' } }, ...finishInProgress2]);
    expect(r.verdict).toMatchObject({ outcome: 'timeout', exitCode: 2 });
    expect(notes(r)).toMatch(/phase "Exploding" is unknown to this watcher/);
    // A new revision still starts one.
    const next = run({ ...succeeded2, phase: 'Exploding' }, [...rollback3.slice(1, 3), { status: { phase: 'Exploding' } }, ...rollback3.slice(3)]);
    expect(next.verdict).toMatchObject({ outcome: 'failed', lastAppliedSpec: H3 });
  });

  test('--current judges the state found at start', () => {
    expect(run(succeeded2, [], { current: true }).verdict).toMatchObject({ outcome: 'succeeded', exitCode: 0 });
    expect(run(initialized, [], { current: true, expect: 'initialized' }).verdict).toMatchObject({ outcome: 'initialized', exitCode: 0 });
    const failed = run(failed3, [], { current: true });
    expect(failed.verdict).toMatchObject({ outcome: 'failed', exitCode: 1 });
    expect(failed.confirms).toBe(1);
    expect(run(undefined, initialization, { current: true, expect: 'initialized' }).verdict.outcome).toBe('initialized');
  });
});

describe('Failed states that are not a new failure', () => {
  test('re-applying the last promoted spec is explained and ends "unchanged"', () => {
    const r = run(failed3, reapplyPromoted);
    expect(r.verdict).toMatchObject({ outcome: 'unchanged', exitCode: 1, phase: 'Failed', lastAppliedSpec: H2, lastPromotedSpec: H2 });
    expect(r.verdict.message).toMatch(/phase stays Failed/);
    expect(r.confirms).toBe(1);
    expect(run(failed3, reapplyPromoted, { expect: 'any' }).verdict.exitCode).toBe(0);
  });

  test('a Failed canary whose lastAppliedSpec is re-synced before the next analysis is not a failure', () => {
    const r = run(failed3, fromFailedTo4);
    expect(r.verdict).toMatchObject({ outcome: 'succeeded', lastPromotedSpec: H4 });
    expect(r.confirms).toBe(0);
  });

  test('a failed rollout seen only at its end (watch gap) is confirmed by a re-read', () => {
    const r = run(failed3, [{ status: { lastAppliedSpec: H4, failedChecks: 5 } }]);
    expect(r.verdict).toMatchObject({ outcome: 'failed', lastAppliedSpec: H4 });
    expect(r.confirms).toBe(1);
  });

  test('a Failed present at start is never the outcome', () => {
    expect(run(failed3, [{ status: {} }]).verdict.outcome).toBe('timeout');
  });
});

describe('endings', () => {
  test('deletion mid-watch ends with exit code 3', () => {
    const r = run(initialized, [promotion2[0], promotion2[1]]);
    expect(r.verdict.outcome).toBe('timeout');
    let state = initialState(NAME, NAMESPACE, { expect: 'succeeded' }, 0);
    state = reduce(state, { kind: 'canary', at: 0, canary: { spec: SPEC, status: initialized } }).state;
    const deleted = reduce(state, { kind: 'canary', at: 10, canary: { metadata: { deletionTimestamp: '2026-01-01T00:00:00Z' }, spec: SPEC, status: initialized } });
    expect(deleted.state.verdict).toMatchObject({ outcome: 'deleted', exitCode: 3 });
    expect(reduce(state, { kind: 'deleted', at: 10 }).state.verdict).toMatchObject({ outcome: 'deleted', exitCode: 3 });
  });

  test('inputs after the verdict are ignored', () => {
    let state = initialState(NAME, NAMESPACE, { expect: 'succeeded' }, 0);
    state = reduce(state, { kind: 'timeout', at: 5 }).state;
    const after = reduce(state, { kind: 'canary', at: 6, canary: { status: succeeded2 } });
    expect(after.records).toHaveLength(0);
    expect(after.state.verdict?.outcome).toBe('timeout');
  });

  test('exit codes', () => {
    expect(exitCodeFor('succeeded', 'succeeded')).toBe(0);
    expect(exitCodeFor('failed', 'succeeded')).toBe(1);
    expect(exitCodeFor('succeeded', 'failed')).toBe(1);
    expect(exitCodeFor('unchanged', 'failed')).toBe(1);
    expect(exitCodeFor('failed', 'any')).toBe(0);
    expect(exitCodeFor('timeout', 'any')).toBe(2);
    expect(exitCodeFor('deleted', 'any')).toBe(3);
  });

  test('events are shown, kept (last 10) and never decide', () => {
    let state = initialState(NAME, NAMESPACE, { expect: 'succeeded' }, 0);
    state = reduce(state, { kind: 'canary', at: 0, canary: { spec: SPEC, status: succeeded2 } }).state;
    for (let i = 0; i < 12; i++) {
      state = reduce(state, { kind: 'event', at: i, event: { type: 'Normal', message: `Promotion completed! ${i}` } }).state;
    }
    expect(state.verdict).toBeUndefined();
    expect(state.events.map((e: EventRecord) => e.message)).toHaveLength(10);
    expect(state.events[9].message).toBe('Promotion completed! 11');
  });
});

describe('never a false success (property)', () => {
  const phases = ['', 'Initializing', 'Initialized', 'Waiting', 'Progressing', 'WaitingPromotion', 'Promoting',
    'Finalising', 'Succeeded', 'Failed', 'Exploding'];
  const hash = fc.constantFrom(H1, H2, H3, undefined);
  const status = fc.record({
    phase: fc.constantFrom(...phases),
    lastAppliedSpec: hash,
    lastPromotedSpec: hash,
    canaryWeight: fc.constantFrom(0, 10, 50),
    failedChecks: fc.nat(6),
  });

  test('succeeded needs a Succeeded state whose promoted spec changed and equals the applied one', () => {
    fc.assert(fc.property(status, fc.array(status, { maxLength: 12 }), fc.boolean(), (start, seq, includeRunning) => {
      const r = run(start, seq.map((s) => ({ status: s })), { includeRunning });
      if (r.verdict.outcome === 'succeeded') {
        const startPromoted = start.lastPromotedSpec;
        return seq.some((s) => s.phase === 'Succeeded' && s.lastPromotedSpec === s.lastAppliedSpec
          && s.lastPromotedSpec !== undefined && s.lastPromotedSpec !== startPromoted);
      }
      return true;
    }), { numRuns: 2000 });
  });

  test('failed needs a Failed state after the start', () => {
    fc.assert(fc.property(status, fc.array(status, { maxLength: 12 }), (start, seq) => {
      const r = run(start, seq.map((s) => ({ status: s })));
      return r.verdict.outcome !== 'failed' || seq.some((s) => s.phase === 'Failed');
    }), { numRuns: 1000 });
  });
});
