import { FakeApiServer } from './fake-apiserver';
import { CliResult, watchCli } from './harness';
import {
  H2, H3, initialized, NAME, play, promotion2, rollback3, SPEC, Step, succeeded2, withStepAfterWeight,
} from './scenarios';

jest.setTimeout(20_000);

let server: FakeApiServer;
let kubeconfig: string;

async function setup(options: ConstructorParameters<typeof FakeApiServer>[0] = {}): Promise<void> {
  server = new FakeApiServer(options);
  await server.start();
  kubeconfig = server.writeKubeconfig();
}

afterEach(async () => {
  await server.stop();
});

const notes = (r: CliResult) => r.records.filter((x) => x.type === 'note').map((x) => String(x.message)).join('\n');
const wait = (ms: number): Step => ({ wait: ms });

describe('the watch survives faults and still gets the verdict right', () => {
  test('a dropped connection mid-analysis: reconnects from the last resourceVersion', async () => {
    await setup();
    server.createCanary(NAME, SPEC, initialized);
    const cli = await watchCli(server, kubeconfig);
    await play(server, withStepAfterWeight(promotion2, 20, [{ fault: (s) => s.dropWatches() }]));
    const r = await cli.result;
    expect(r.code).toBe(0);
    expect(r.verdict).toMatchObject({ outcome: 'succeeded', lastPromotedSpec: H2, maxWeightReached: 50 });
    const watches = server.requests.filter((q) => q.verb === 'watch' && q.resource === 'canaries');
    expect(watches.length).toBeGreaterThanOrEqual(2);
    expect(watches[1].query.resourceVersion).toMatch(/^\d+$/);
    expect(watches[0].query).toMatchObject({ allowWatchBookmarks: 'true', fieldSelector: `metadata.name=${NAME}` });
  });

  test('410 Gone: re-lists, then watches from the new resourceVersion', async () => {
    await setup();
    server.createCanary(NAME, SPEC, initialized);
    const cli = await watchCli(server, kubeconfig);
    await play(server, withStepAfterWeight(promotion2, 30, [{ fault: (s) => s.expireWatches() }]));
    const r = await cli.result;
    expect(r.code).toBe(0);
    expect(r.verdict).toMatchObject({ outcome: 'succeeded', maxWeightReached: 50 });
    expect(server.countRequests('list', 'canaries')).toBeGreaterThanOrEqual(2);
    expect(notes(r)).toMatch(/410 Gone/);
  });

  test('a silent stalled stream: the watchdog reconnects', async () => {
    await setup();
    server.createCanary(NAME, SPEC, succeeded2);
    const cli = await watchCli(server, kubeconfig, ['--expect', 'failed'], { CANARY_WATCH_REGET_MS: '60000' });
    await play(server, withStepAfterWeight(rollback3, 10, [{ fault: (s) => s.stallWatches() }]));
    const r = await cli.result;
    expect(r.code).toBe(0);
    expect(r.verdict).toMatchObject({ outcome: 'failed', lastAppliedSpec: H3, failedChecks: 5 });
    expect(notes(r)).toMatch(/watch silent for 1s: reconnecting/);
    expect(server.countRequests('watch', 'canaries')).toBeGreaterThanOrEqual(2);
  });

  test('every stream stalled: the periodic re-GET is the source of truth', async () => {
    await setup();
    server.createCanary(NAME, SPEC, initialized);
    const cli = await watchCli(server, kubeconfig);
    server.stallNewWatches = true;
    server.stallWatches();
    await play(server, promotion2);
    const r = await cli.result;
    expect(r.code).toBe(0);
    expect(r.verdict).toMatchObject({ outcome: 'succeeded', lastPromotedSpec: H2 });
    expect(server.countRequests('get', 'canaries')).toBeGreaterThanOrEqual(1);
  });

  test('a gap that hides the whole end of a rollback: the re-read Failed state is confirmed', async () => {
    await setup();
    server.createCanary(NAME, SPEC, succeeded2);
    const cli = await watchCli(server, kubeconfig, [], { CANARY_WATCH_REGET_MS: '60000' });
    server.stallWatches();
    await play(server, rollback3, 2);
    server.expireWatches();
    const r = await cli.result;
    expect(r.code).toBe(1);
    expect(r.verdict).toMatchObject({ outcome: 'failed', lastAppliedSpec: H3 });
  });

  test('the API server restarting mid-analysis: reconnects with backoff', async () => {
    await setup();
    server.createCanary(NAME, SPEC, initialized);
    const cli = await watchCli(server, kubeconfig);
    await play(server, withStepAfterWeight(promotion2, 20, [{ fault: (s) => s.restart(800) }]));
    const r = await cli.result;
    expect(r.code).toBe(0);
    expect(r.verdict).toMatchObject({ outcome: 'succeeded', maxWeightReached: 50 });
    expect(notes(r)).toMatch(/reconnecting in/);
  });

  test('5xx answers to watch requests: backs off and retries', async () => {
    await setup();
    server.createCanary(NAME, SPEC, initialized);
    const cli = await watchCli(server, kubeconfig, [], { CANARY_WATCH_REGET_MS: '60000' });
    await play(server, withStepAfterWeight(promotion2, 20, [{ fault: (s) => {
      s.failNextWatches = 3;
      s.dropWatches();
    } }]));
    const r = await cli.result;
    expect(r.code).toBe(0);
    expect(r.verdict).toMatchObject({ outcome: 'succeeded', maxWeightReached: 50 });
    expect(notes(r)).toMatch(/HTTP 500.*reconnecting in/);
    expect(server.requests.filter((q) => q.verb === 'watch' && q.status === 500)).toHaveLength(3);
  });

  test('permission to watch revoked mid-watch: exit 3 naming the verb', async () => {
    await setup();
    server.createCanary(NAME, SPEC, initialized);
    const cli = await watchCli(server, kubeconfig);
    server.forbidden.add('watch canaries');
    server.dropWatches();
    const r = await cli.result;
    expect(r.code).toBe(3);
    expect(r.stderr.trim()).toMatch(/^canary-watch: forbidden: this account cannot watch canaries\.flagger\.app in namespace "testapi"/);
  });

  test('bookmarks keep an idle watch alive: no watchdog reconnect', async () => {
    await setup({ bookmarkMs: 150 });
    server.createCanary(NAME, SPEC, initialized);
    const cli = await watchCli(server, kubeconfig, [],
      { CANARY_WATCH_WATCHDOG_MS: '1000', CANARY_WATCH_WATCH_TIMEOUT_S: '60', CANARY_WATCH_REGET_MS: '60000' });
    // Idle for 2.5 watchdog periods: only bookmarks arrive.
    await play(server, [wait(2500), ...promotion2]);
    const r = await cli.result;
    expect(r.code).toBe(0);
    expect(notes(r)).not.toMatch(/silent/);
    expect(server.countRequests('watch', 'canaries')).toBe(1);
  });

  test('server-side watch timeouts: resumes from the last resourceVersion', async () => {
    await setup();
    server.createCanary(NAME, SPEC, initialized);
    const cli = await watchCli(server, kubeconfig, [], { CANARY_WATCH_WATCH_TIMEOUT_S: '1', CANARY_WATCH_REGET_MS: '60000' });
    await play(server, [...promotion2.slice(0, 6), wait(1300), ...promotion2.slice(6)]);
    const r = await cli.result;
    expect(r.code).toBe(0);
    expect(r.verdict).toMatchObject({ outcome: 'succeeded', maxWeightReached: 50 });
    const watches = server.requests.filter((q) => q.verb === 'watch' && q.resource === 'canaries');
    expect(watches.length).toBeGreaterThanOrEqual(2);
    expect(watches.every((w) => w.query.timeoutSeconds === '1')).toBe(true);
    expect(Number(watches[1].query.resourceVersion)).toBeGreaterThan(Number(watches[0].query.resourceVersion));
    expect(server.countRequests('list', 'canaries')).toBe(1);
  });

  test('the Canary deleted mid-watch: exit 3', async () => {
    await setup();
    server.createCanary(NAME, SPEC, initialized);
    const cli = await watchCli(server, kubeconfig);
    await play(server, [...promotion2.slice(0, 4), { fault: (s) => s.deleteCanary() }]);
    const r = await cli.result;
    expect(r.code).toBe(3);
    expect(r.verdict).toMatchObject({ outcome: 'deleted', exitCode: 3 });
    expect(String(r.verdict!.message)).toMatch(/was deleted/);
  });

  test('deleted during a 410 gap: the re-list finds nothing, exit 3', async () => {
    await setup();
    server.createCanary(NAME, SPEC, initialized);
    const cli = await watchCli(server, kubeconfig, [], { CANARY_WATCH_REGET_MS: '60000' });
    server.stallWatches();
    server.deleteCanary();
    server.expireWatches();
    const r = await cli.result;
    expect(r.code).toBe(3);
    expect(r.verdict).toMatchObject({ outcome: 'deleted' });
  });

  test('a rollback through drops and 410s is never reported as a success', async () => {
    await setup();
    server.createCanary(NAME, SPEC, succeeded2);
    const cli = await watchCli(server, kubeconfig);
    let steps = withStepAfterWeight(rollback3, 10, [{ fault: (s) => s.dropWatches() }]);
    steps = [...steps.slice(0, 8), { fault: (s) => s.expireWatches() }, ...steps.slice(8)];
    await play(server, steps);
    const r = await cli.result;
    expect(r.code).toBe(1);
    expect(r.verdict).toMatchObject({ outcome: 'failed', met: false });
  });
});
