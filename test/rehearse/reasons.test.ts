import {
  analysisReasons, checkRollbackReason, describeHalt, flaggerEventMessages, parseHalt, parseRollback,
} from '../../e2e/rehearse/reasons';

// Messages as Flagger v1.44.0 formats them (pkg/controller/scheduler_metrics.go, scheduler_hooks.go, scheduler.go).
const FOURXX = 'Halt api.testapi advancement 4xx-percentage 100.00 > 1';
const SUCCESS_RATE = 'Halt api.testapi advancement success-rate 0.00 < 99';
const NO_VALUES = 'Halt advancement no values found for custom metric: success-rate: no values found';
const ROLLBACK = 'Rolling back api.testapi failed checks threshold reached 2';

describe('parseHalt and parseRollback', () => {
  test.each([
    [FOURXX, '4xx-percentage'],
    [SUCCESS_RATE, 'success-rate'],
    ['Halt api.testapi advancement latency-p99 812.40 > 500', 'latency-p99'],
    ['Halt api.testapi advancement success rate 91.20% < 99%', 'success rate'],
    ['Halt api.testapi advancement request duration 1.2s > 500ms', 'request duration'],
    [NO_VALUES, 'no values: success-rate'],
    ['Halt advancement no values found for linkerd metric request-success-rate probably api.testapi is not receiving traffic: x', 'no values: request-success-rate'],
    ['Metric query failed for 4xx-percentage: Post "http://prometheus.linkerd-viz:9090/api/v1/query": dial tcp: connection refused', 'query failed: 4xx-percentage'],
    ['Prometheus query failed: running query failed: Post "http://prometheus.linkerd-viz:9090/api/v1/query": EOF', 'query failed: built-in check'],
    ['Prometheus query failed for pods-up: Post "http://prometheus.linkerd-viz:9090/api/v1/query": EOF', 'query failed: pods-up'],
    ['Halt api.testapi advancement pre-rollout check acceptance-test failed command curl exited 22', 'webhook acceptance-test'],
    ['Halt api.testapi advancement external check load-test failed Post "http://flagger-loadtester.testapi/": EOF', 'webhook load-test'],
    ['Halt api.testapi advancement waiting for promotion approval promotion-gate', 'waiting: promotion-gate'],
    ['Halt api.testapi advancement waiting for approval rollout-gate', 'waiting: rollout-gate'],
  ])('%s', (message, described) => {
    expect(describeHalt(parseHalt(message)!)).toBe(described);
  });

  test('other messages are no halt', () => {
    for (const m of ['Advance api.testapi canary weight 10', 'Starting canary analysis for api.testapi', ROLLBACK]) {
      expect(parseHalt(m)).toBeUndefined();
    }
  });

  test('rollbacks', () => {
    expect(parseRollback(ROLLBACK)).toEqual({ kind: 'threshold', failedChecks: 2 });
    expect(parseRollback('Rolling back api.testapi progress deadline exceeded canary deployment api.testapi not ready')).toEqual({ kind: 'deadline' });
    expect(parseRollback('Rolling back api.testapi manual webhook invoked')).toEqual({ kind: 'manual' });
    expect(parseRollback('Canary failed! Scaling down api.testapi')).toBeUndefined();
  });
});

describe('checkRollbackReason', () => {
  const analysis = (...messages: string[]) => analysisReasons(['New revision detected! Scaling up api.testapi', ...messages]);

  test('3.0 rolled back by the 4xx check alone passes', () => {
    const reasons = analysis('Advance api.testapi canary weight 10', FOURXX, FOURXX, ROLLBACK, 'Canary failed! Scaling down api.testapi');
    expect(reasons.summary).toBe('4xx-percentage x2');
    expect(checkRollbackReason(reasons, { check: '4xx-percentage' })).toEqual([]);
  });

  test('a rollback for "no values found" fails, alone or with the expected check', () => {
    expect(checkRollbackReason(analysis(NO_VALUES, NO_VALUES, ROLLBACK), { check: '4xx-percentage' }))
      .toEqual(['rolled back after no values: success-rate x2: expected 4xx-percentage only']);
    expect(checkRollbackReason(analysis(NO_VALUES, FOURXX, ROLLBACK), { check: '4xx-percentage' }))
      .toEqual(['rolled back after no values: success-rate x1, 4xx-percentage x1: expected 4xx-percentage only']);
  });

  test('another check, another kind of rollback, or none, fails', () => {
    expect(checkRollbackReason(analysis(SUCCESS_RATE, SUCCESS_RATE, ROLLBACK), { check: '4xx-percentage' })).toHaveLength(1);
    expect(checkRollbackReason(analysis('Rolling back api.testapi manual webhook invoked'), { check: '4xx-percentage' }))
      .toEqual(['rolled back for manual, expected failed checks of 4xx-percentage']);
    expect(checkRollbackReason(analysis(FOURXX), { check: '4xx-percentage' })[0]).toMatch(/^no rollback message/);
    expect(checkRollbackReason(analysis(ROLLBACK), { check: '4xx-percentage' })[0]).toMatch(/no halt/);
  });

  test('a webhook reason; gate waits are no failed checks; halts after the rollback do not count', () => {
    const pre = 'Halt api.testapi advancement pre-rollout check acceptance-test failed command curl exited 22';
    expect(checkRollbackReason(analysis(pre, pre, ROLLBACK), { webhook: 'acceptance-test' })).toEqual([]);
    const gated = analysis('Halt api.testapi advancement waiting for promotion approval promotion-gate', FOURXX, FOURXX, ROLLBACK, NO_VALUES);
    expect(gated.summary).toBe('4xx-percentage x2');
    expect(analysis().summary).toBe('-');
  });
});

test('flaggerEventMessages keeps the recorded events of one canary from the JSON log', () => {
  const lines = [
    '{"level":"info","ts":"2026-12-04T23:44:13.301Z","caller":"controller/events.go:45","msg":"Halt api.testapi advancement 4xx-percentage 100.00 > 1","canary":"api.testapi"}',
    '{"level":"info","ts":"2026-12-04T23:44:13.302Z","caller":"controller/events.go:45","msg":"Advance other.testapi canary weight 10","canary":"other.testapi"}',
    '{"level":"info","ts":"2026-12-04T23:44:13.303Z","caller":"controller/scheduler.go:10","msg":"not an event","canary":"api.testapi"}',
    'not json',
  ];
  expect(flaggerEventMessages(lines, 'api.testapi')).toEqual([FOURXX]);
});
