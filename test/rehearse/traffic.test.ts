import type { TrafficRow } from '../../e2e/dataplane/proxy-metrics';
import { checkLoad, GENERATOR, HEY, HeyCommand, heyCommandOf, parseHeyCommand, stepLoad } from '../../e2e/rehearse/traffic';

const T0 = Date.parse('2026-12-04T23:44:00Z');
const at = (s: number) => new Date(T0 + s * 1000).toISOString();

function row(pod: string, client: string, count: number, first = 0, last = 30, process?: number, status = 404): TrafficRow {
  const deployment = pod === '' ? '' : pod.startsWith('api-primary') ? 'api-primary' : 'api';
  const service = client === GENERATOR ? 'api' : 'api-canary';
  return { namespace: 'testapi', service, deployment, pod, client, ...(process ? { process } : {}), status, count, first: at(first), last: at(last) };
}

const HEY_CMD: HeyCommand = { durationS: 60, qps: 10, concurrency: 2, url: 'http://api-canary.testapi:3000/' };

describe('the load-test command', () => {
  test('parseHeyCommand: -q is per worker', () => {
    expect(parseHeyCommand('hey -z 1m -q 5 -c 2 http://api-canary.testapi:3000/')).toEqual(HEY_CMD);
    expect(parseHeyCommand("hey -z 30s -q 2.5 -c 4 -H 'x-canary: insider' http://api.testapi:3000/"))
      .toEqual({ durationS: 30, qps: 10, concurrency: 4, url: 'http://api.testapi:3000/' });
  });

  test('heyCommandOf reads the Canary\'s load-test webhook', () => {
    const canary = { kind: 'Canary', spec: { analysis: { webhooks: [
      { name: 'acceptance-test', metadata: { cmd: 'curl -sf http://api-canary.testapi:3000/' } },
      { name: 'load-test', metadata: { type: 'cmd', cmd: 'hey -z 1m -q 5 -c 2 http://api-canary.testapi:3000/' } },
    ] } } };
    expect(heyCommandOf([{ kind: 'Deployment' }, canary])).toEqual(HEY_CMD);
    expect(heyCommandOf([{ kind: 'Deployment' }])).toBeUndefined();
  });
});

describe('stepLoad and checkLoad', () => {
  const before = [row('api-primary-1', GENERATOR, 500, -60, 0, undefined, 200), row('', HEY, 40, -50, -1, 111, 503)];

  test('a weighted 3.0 rollback: hey (a new run and an earlier one) and the generator reached the canary pod', () => {
    const after = [
      row('api-primary-1', GENERATOR, 500 + 270, -60, 30, undefined, 200),
      row('api-7f-a', GENERATOR, 30),
      row('api-7f-a', HEY, 250, 5, 30, 222),
      row('api-7f-a', HEY, 60, 1, 6, 111), row('', HEY, 40, -50, -1, 111, 503),
      row('api-7f-a', 'other', 3),
    ];
    const load = stepLoad(before, after, 'api', 32);
    expect(load.heyToCanary).toBe(310);
    expect(load.generatorToCanary).toBe(30);
    expect(load.generatorTotal).toBe(300);
    expect(load.canaryPods.get('api-7f-a')).toEqual(new Map([['generator', 30], ['hey', 310], ['other', 3]]));
    expect(load.heyRuns).toEqual([
      { pid: 222, startedInStep: true, toCanary: 250, elsewhere: 0, answeredByPods: 250, spanS: 25 },
      { pid: 111, startedInStep: false, toCanary: 60, elsewhere: 0, answeredByPods: 60, spanS: 56 },
    ]);
    expect(checkLoad(load, { hey: true, generator: true, maxWeight: 50 }, HEY_CMD)).toEqual([]);
  });

  test('no hey at a canary pod, a run counted above its -q, the generator beyond its weight: each fails', () => {
    const after = [
      ...before,
      row('api-7f-a', GENERATOR, 200),
      row('api-7f-b', HEY, 400, 0, 30, 333),
      row('api-7f-a', 'other', 5),
    ];
    const failures = checkLoad(stepLoad(before, after, 'api', 32), { hey: true, generator: true, maxWeight: 50 }, HEY_CMD);
    expect(failures).toEqual([
      'canary pod api-7f-a got no request from hey (generator 200, other 5)',
      'hey run 333: pods answered 400 of its requests over 30.0s, more than its -q/-c/-z allow (306)',
      'the canary got 200 of the generator\'s 200 requests, more than its max weight 50% allows',
    ]);
  });

  test('no analysis traffic: nothing reached the canary, or hey from an earlier run only', () => {
    const quiet = stepLoad(before, [...before, row('api-primary-1', GENERATOR, 100, 0, 10, undefined, 200)], 'api', 12);
    expect(checkLoad(quiet, { hey: true, generator: true }, HEY_CMD)).toEqual([
      'no request of hey reached a canary pod',
      'no request of the load generator reached a canary pod',
    ]);
    // The acceptance test failed before any rollout webhook: an earlier run may still reach the pod, a new one may not.
    const earlier = [...before.slice(0, 1), row('', HEY, 40, -50, -1, 111, 503), row('api-9-c', HEY, 20, 1, 4, 111)];
    expect(checkLoad(stepLoad(before, earlier, 'api', 12), { hey: false, generator: false }, HEY_CMD)).toEqual([]);
    const started = [...earlier, row('api-9-c', HEY, 20, 5, 8, 444)];
    expect(checkLoad(stepLoad(before, started, 'api', 12), { hey: false, generator: false }, HEY_CMD)).toEqual([
      'hey run 444 started during the analysis (20 requests to the canary), but no rollout webhook should have run',
    ]);
    const live = [...before, row('api-9-c', GENERATOR, 9)];
    expect(checkLoad(stepLoad(before, live, 'api', 12), { hey: false, generator: false }, HEY_CMD)).toEqual([
      'the load generator reached the canary 9 times, but live traffic should never have moved there',
    ]);
  });
});
