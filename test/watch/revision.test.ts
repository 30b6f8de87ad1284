/**
 * The verdict tied to a revision: the fake API server also serves the Canary's target
 * Deployment, whose pod template each test changes as `kubectl apply` would.
 */
import { FakeApiServer } from './fake-apiserver';
import { fakeServerPerTest, startCli } from './harness';
import {
  failed3, H1, H2, H3, inProgress2, initialized, NAME, play, promotion2, restarted, rollback3, SPEC, Step, succeeded2,
} from './scenarios';

jest.setTimeout(20_000);

const DEPLOYMENT = '/apis/apps/v1/namespaces/testapi/deployments/api';
const fake = fakeServerPerTest();
let server: FakeApiServer;
let kubeconfig: string;
let image: string;

beforeEach(() => {
  ({ server, kubeconfig } = fake);
  image = 'ghcr.io/acme/api:2.0';
  server.routes.set(`GET ${DEPLOYMENT}`, () => ({
    body: JSON.stringify({
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'api', namespace: 'testapi', generation: 2 },
      spec: { replicas: 1, template: { metadata: { labels: { app: 'api' } }, spec: { containers: [{ name: 'api', image, ports: [{ containerPort: 3000 }] }] } } },
    }),
  }));
});

/** `kubectl apply` of a release: the Deployment's template changes. */
const apply = (ref: string): Step => ({ fault: () => (image = ref) });

function watch(...extra: string[]) {
  return startCli([NAME, '-n', 'testapi', '--kubeconfig', kubeconfig, '-o', 'json', '--timeout', '8s', ...extra]);
}

/**
 * The watch is open and the target was read for the start's revision: a test that changes
 * the target (or its answers) before then would race the watcher's first read.
 */
async function started(watches = 1, reads = 1): Promise<void> {
  await server.waitForWatch('canaries', watches);
  await server.waitForOther(DEPLOYMENT, reads);
}

const notes = (records: Array<Record<string, unknown>>) => records.filter((r) => r.type === 'note').map((r) => r.message);

test('the watched revision is the template at the start: its rollout counts and is promoted', async () => {
  server.createCanary(NAME, SPEC, initialized);
  const cli = watch();
  await started();
  await play(server, promotion2);
  const r = await cli.result;
  expect(r.code).toBe(0);
  expect(r.verdict).toMatchObject({ outcome: 'succeeded', lastPromotedSpec: H2 });
  expect(notes(r.records)).toContain('watched revision: the pod template of Deployment testapi/api at the start (ghcr.io/acme/api:2.0)');
  // One read at the start, one when H2 appeared.
  expect(server.other.filter((o) => o.path === DEPLOYMENT)).toHaveLength(2);
});

test('two rollouts in a row: each watch judges its own revision', async () => {
  server.createCanary(NAME, SPEC, initialized);
  const first = watch();
  await started();
  await play(server, promotion2);
  expect((await first.result).verdict).toMatchObject({ outcome: 'succeeded', lastPromotedSpec: H2 });
  image = 'ghcr.io/acme/api:3.0';
  const second = watch('--expect', 'failed');
  await started(2, 3);
  await play(server, rollback3);
  const r = await second.result;
  expect(r.code).toBe(0);
  expect(r.verdict).toMatchObject({ outcome: 'failed', lastAppliedSpec: H3, lastPromotedSpec: H2 });
});

test('a newer revision replacing the watched one mid-analysis ends the watch as superseded (exit 4)', async () => {
  server.createCanary(NAME, SPEC, initialized);
  const cli = watch();
  await started();
  // 2.0 is watched; 3.0 is applied at weight 20 and Flagger restarts the analysis for it.
  const steps = restarted.flatMap((s): Step[] => ('status' in s && s.status.lastAppliedSpec === H3 ? [apply('ghcr.io/acme/api:3.0'), s] : [s]));
  await play(server, steps);
  const r = await cli.result;
  expect(r.code).toBe(4);
  expect(r.verdict).toMatchObject({ outcome: 'superseded', exitCode: 4, met: false, lastAppliedSpec: H3, maxWeightReached: 20 });
  expect(r.verdict!.message).toBe(`revision ${H3} replaced the watched revision ${H2} before its rollout ended; Flagger now analyses the newer one`);
});

test('without tracking (target unreadable) the same restart is followed to the newer revision\'s verdict', async () => {
  server.routes.delete(`GET ${DEPLOYMENT}`);
  server.createCanary(NAME, SPEC, initialized);
  const cli = watch();
  await started();
  await play(server, restarted);
  const r = await cli.result;
  expect(r.code).toBe(0);
  expect(r.verdict).toMatchObject({ outcome: 'succeeded', lastPromotedSpec: H3 });
  expect(notes(r.records)).toContain('cannot get Deployment testapi/api: 404 page not found: any revision\'s rollout that starts counts '
    + '(revision tracking needs get on the target)');
  // Neither is a 404: one read, and no tracking afterwards.
  expect(server.other.filter((o) => o.path === DEPLOYMENT)).toHaveLength(1);
});

test('--image: a rollout of another revision does not count; the named one does', async () => {
  server.createCanary(NAME, SPEC, initialized);
  const cli = watch('--image', 'ghcr.io/acme/api:3.0', '--expect', 'failed');
  await started();
  await play(server, promotion2);
  await play(server, [apply('ghcr.io/acme/api:3.0'), ...rollback3]);
  const r = await cli.result;
  expect(r.code).toBe(0);
  expect(r.verdict).toMatchObject({ outcome: 'failed', lastAppliedSpec: H3, lastPromotedSpec: H2, maxWeightReached: 10 });
  expect(notes(r.records)).toContain(`a rollout of revision ${H2} does not count: it is not the watched revision`);
  expect(r.records.some((x) => x.type === 'verdict' && x.lastPromotedSpec === H2 && x.outcome === 'succeeded')).toBe(false);
});

test('a rollout of the watched revision already in progress counts without --include-running', async () => {
  server.createCanary(NAME, SPEC, inProgress2);
  const cli = watch();
  await started();
  await play(server, [{ status: { canaryWeight: 40 } }, { status: { canaryWeight: 50 } }, { status: { phase: 'Promoting' } },
    { status: { phase: 'Succeeded', canaryWeight: 0, lastPromotedSpec: H2 } }]);
  const r = await cli.result;
  expect(r.code).toBe(0);
  expect(r.verdict).toMatchObject({ outcome: 'succeeded', lastPromotedSpec: H2, maxWeightReached: 50 });
});

test('--image of a revision not running at the start: a rollout in progress does not count', async () => {
  server.createCanary(NAME, SPEC, inProgress2);
  const cli = watch('--image', 'ghcr.io/acme/api:3.0', '--timeout', '2s');
  await started();
  await play(server, [{ status: { phase: 'Succeeded', canaryWeight: 0, lastPromotedSpec: H2 } }]);
  const r = await cli.result;
  expect(r.code).toBe(2);
  expect(r.verdict).toMatchObject({ outcome: 'timeout' });
});

test('--image needs a readable target: exit 3 in one line', async () => {
  server.routes.delete(`GET ${DEPLOYMENT}`);
  server.routes.set(`GET ${DEPLOYMENT}`, { status: 403, body: '{"kind":"Status","message":"forbidden"}' });
  server.createCanary(NAME, SPEC, succeeded2);
  const r = await watch('--image', 'x:1').result;
  expect(r.code).toBe(3);
  expect(r.stderr).toBe('canary-watch: --image needs the Canary\'s target: cannot get Deployment testapi/api: forbidden\n');
  // A 403 is not a passing fault: read once, not retried.
  expect(server.other.filter((o) => o.path === DEPLOYMENT)).toHaveLength(1);
});

test('a failed read of the target is retried, and the verdict still comes', async () => {
  server.createCanary(NAME, SPEC, { ...failed3, lastAppliedSpec: H1, lastPromotedSpec: H1, phase: 'Succeeded', failedChecks: 0 });
  const cli = watch();
  await started();
  let fails = 2;
  const real = server.routes.get(`GET ${DEPLOYMENT}`)!;
  server.routes.set(`GET ${DEPLOYMENT}`, (body, query) => (fails-- > 0 ? { status: 500, body: '{"kind":"Status","message":"etcd timeout"}' }
    : (typeof real === 'function' ? real(body, query) : real)));
  await play(server, promotion2);
  const r = await cli.result;
  expect(r.code).toBe(0);
  expect(notes(r.records).filter((m) => /cannot tell revision .* apart \(cannot get Deployment testapi\/api: etcd timeout\); retrying/.test(String(m)))).toHaveLength(2);
});

test.each([
  { fails: 2, reads: 4, note: 'watched revision: the pod template of Deployment testapi/api at the start (ghcr.io/acme/api:2.0)' },
  { fails: Infinity, reads: 3, note: 'cannot get Deployment testapi/api: apiserver is shutting down: any revision\'s rollout that starts counts (revision tracking needs get on the target)' },
])('the start\'s read of the target failing $fails times in passing (503): tried up to three times', async ({ fails, reads, note }) => {
  const real = server.routes.get(`GET ${DEPLOYMENT}`)!;
  let left = fails;
  server.routes.set(`GET ${DEPLOYMENT}`, (body, query) => (left-- > 0 ? { status: 503, body: '{"kind":"Status","message":"apiserver is shutting down"}' }
    : (typeof real === 'function' ? real(body, query) : real)));
  server.createCanary(NAME, SPEC, initialized);
  const cli = watch();
  await started(1, 3);
  await play(server, promotion2);
  const r = await cli.result;
  expect(r.code).toBe(0);
  expect(r.verdict).toMatchObject({ outcome: 'succeeded', lastPromotedSpec: H2 });
  expect(notes(r.records)).toContain(note);
  // Three at the start; with tracking on, one more when H2 appeared.
  expect(server.other.filter((o) => o.path === DEPLOYMENT)).toHaveLength(reads);
});
