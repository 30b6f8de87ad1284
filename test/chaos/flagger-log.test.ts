/**
 * The chaos runner's reading of Flagger's log: the short reasons of its table,
 * why a rollout was rolled back, and the story of a run. Messages as Flagger
 * v1.44.0 logs them (pkg/controller/scheduler*.go, events.go).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FlaggerLine, flaggerLines, rollbackOf, shortMessage, story } from '../../e2e/chaos/flagger-log';
import type { StackInfo } from '../../e2e/rehearse/stack';

const line = (at: number, msg: string): FlaggerLine => ({ at, msg, canary: 'api.testapi' });

test.each([
  ['Halt api.testapi advancement 4xx-percentage 100.00 > 1', '4xx-percentage 100.00 > 1'],
  ['Halt api.testapi advancement success rate 91.20% < 99%', 'success rate 91.20% < 99%'],
  ['Halt api.testapi advancement external check load-test failed Post "http://flagger-loadtester.testapi/": dial tcp 127.0.94.1:80: connect: connection refused',
    'webhook load-test failed: connect: connection refused'],
  ['Metric query failed for success-rate: Post "http://prometheus.linkerd-viz:9090/api/v1/query": dial tcp 127.0.94.1:9090: connect: connection refused',
    'query success-rate failed: connect: connection refused'],
  ['Halt advancement no values found for custom metric: success-rate: no values found', 'no values for success-rate'],
  ['Prometheus query failed: running query failed: dial tcp 127.0.94.1:9090: connect: connection refused', 'query built-in check failed: connect: connection refused'],
  ['Halt api.testapi advancement waiting for promotion approval promotion-gate', 'waiting for promotion approval promotion-gate'],
  ['Advance api.testapi canary weight 20', 'weight 20'],
  ['canary deployment api.testapi not ready: waiting for rollout to finish: 0 of 1 (readyThreshold 100%) updated replicas are available',
    'canary not ready: 0 of 1 (readyThreshold 100%) updated replicas are available'],
  ['Rolling back api.testapi failed checks threshold reached 2', 'rolling back: failed checks threshold reached 2'],
  ['Copying api.testapi template spec to api-primary.testapi', 'Copying template spec to'],
  [`Starting canary analysis for api.testapi ${'x'.repeat(100)}`, `Starting canary analysis for ${'x'.repeat(58)}...`],
])('shortMessage: %s', (msg, short) => {
  expect(shortMessage(msg)).toBe(short);
});

describe('rollbackOf', () => {
  test('the last halt before the rollback is the reason; halts of the same check are counted apart from the others', () => {
    const r = rollbackOf([
      line(1, 'Advance api.testapi canary weight 10'),
      line(2, 'Halt advancement no values found for custom metric: success-rate: no values found'),
      line(3, 'Halt api.testapi advancement 4xx-percentage 100.00 > 1'),
      line(4, 'Halt api.testapi advancement 4xx-percentage 98.50 > 1'),
      line(5, 'Rolling back api.testapi failed checks threshold reached 3'),
      line(6, 'Halt api.testapi advancement 4xx-percentage 97.00 > 1'),
    ]);
    expect(r).toEqual({ reason: '4xx-percentage 98.50 > 1', message: 'Halt api.testapi advancement 4xx-percentage 98.50 > 1', at: 5, count: 2, halts: 3 });
  });

  test('a progress deadline is named by the rollback line itself (no halt of its kind before it)', () => {
    const msg = 'Rolling back api.testapi progress deadline exceeded canary deployment api.testapi not ready';
    expect(rollbackOf([line(1, 'Halt api.testapi advancement 4xx-percentage 2.00 > 1'), line(2, msg)]))
      .toEqual({ reason: 'rolling back: progress deadline exceeded canary deployment api.testapi not ready', message: msg, at: 2, count: 0, halts: 1 });
  });

  test('no rollback: undefined; a rollback with no halt before it: counted as none', () => {
    expect(rollbackOf([line(1, 'Halt api.testapi advancement 4xx-percentage 2.00 > 1'), line(2, 'Promotion completed! Scaling down api.testapi')])).toBeUndefined();
    expect(rollbackOf([line(7, 'Canary failed! Scaling down api.testapi')])).toEqual({ count: 0, halts: 0, at: 7 });
  });
});

test('story: messages in order with the run\'s marks, repeats collapsed except weights', () => {
  expect(story([
    line(1, 'Advance api.testapi canary weight 10'),
    line(2, 'Advance api.testapi canary weight 20'),
    line(4, 'Halt api.testapi advancement 4xx-percentage 100.00 > 1'),
    line(5, 'Halt api.testapi advancement 4xx-percentage 99.00 > 1'),
    line(6, 'Rolling back api.testapi failed checks threshold reached 2'),
  ], [{ at: 3, text: 'fault: prometheus down' }]))
    .toBe('weight 10 -> weight 20 -> [fault: prometheus down] -> 4xx-percentage 100.00 > 1 x2 -> rolling back: failed checks threshold reached 2');
});

test('flaggerLines: one Canary\'s lines (or all) in a time window, from the JSON log', () => {
  const state = fs.mkdtempSync(path.join(os.tmpdir(), 'flagger-log-'));
  fs.mkdirSync(path.join(state, 'logs'));
  const entry = (ts: string, msg: string, canary?: string) => JSON.stringify({ level: 'info', ts, caller: 'controller/events.go:45', msg, ...(canary ? { canary } : {}) });
  fs.writeFileSync(path.join(state, 'logs', 'flagger.log'), [
    entry('2026-12-05T01:00:00.000Z', 'too early', 'api.testapi'),
    entry('2026-12-05T01:00:01.000Z', 'Advance api.testapi canary weight 10', 'api.testapi'),
    entry('2026-12-05T01:00:01.500Z', 'Advance other.testapi canary weight 10', 'other.testapi'),
    entry('2026-12-05T01:00:02.000Z', 'Starting operator'),
    'panic: runtime error',
    '{"cut":',
    entry('2026-12-05T01:00:09.000Z', 'too late', 'api.testapi'),
  ].join('\n'));
  const stack = { state } as StackInfo;
  const from = Date.parse('2026-12-05T01:00:01.000Z');
  const to = Date.parse('2026-12-05T01:00:05.000Z');
  expect(flaggerLines(stack, from, to)).toEqual([{ ...line(from, 'Advance api.testapi canary weight 10'), caller: 'controller/events.go:45' }]);
  expect(flaggerLines(stack, from, to, null).map((l) => l.msg))
    .toEqual(['Advance api.testapi canary weight 10', 'Advance other.testapi canary weight 10', 'Starting operator']);
  expect(flaggerLines({ state: path.join(state, 'none') } as StackInfo, 0)).toEqual([]);
});
