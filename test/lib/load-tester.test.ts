import { Chart, Duration, Size, Testing } from 'cdk8s';
import { Canary, LoadTester } from '../../lib';
import { restrictedViolations } from '../schema/pod-security';
import { only, synthWith } from '../schema/synth';
import { expectSchemaValid } from '../schema/validate';

describe('LoadTester', () => {
  let tester!: LoadTester;
  let canary!: Canary;
  const objects = synthWith((c) => {
    tester = new LoadTester(c, 'lt');
    canary = new Canary(c, 'canary', { targetName: 'api', port: 3000 });
  });
  const deployment = only(objects, 'Deployment', 'flagger-loadtester');
  const container = deployment.spec.template.spec.containers[0];

  test('flagger-loadtester 0.38.0 on 8080, Service port 80 -> 8080, schema-valid and restricted', () => {
    expectSchemaValid(objects);
    expect(container.image).toBe('ghcr.io/fluxcd/flagger-loadtester:0.38.0');
    expect(container.args).toContain('-port=8080');
    expect(container.ports).toEqual([{ containerPort: 8080, name: 'http' }]);
    const svc = only(objects, 'Service', 'flagger-loadtester');
    expect(svc.spec.ports).toEqual([{ name: 'http', port: 80, targetPort: 8080 }]);
    expect(svc.spec.selector).toEqual({ app: 'flagger-loadtester' });
    expect(deployment.spec.selector.matchLabels).toEqual({ app: 'flagger-loadtester' });
    expect(restrictedViolations(deployment.spec.template.spec)).toEqual([]);
  });

  test('runs inside the mesh', () => {
    expect(deployment.spec.template.metadata.annotations['linkerd.io/inject']).toBe('enabled');
  });

  test('rollout webhook runs hey against <name>-canary.<ns>:<port>', () => {
    expect(tester.loadTest(canary)).toEqual({
      name: 'load-test',
      type: 'rollout',
      url: 'http://flagger-loadtester.testapi/',
      timeout: Duration.seconds(5),
      metadata: { type: 'cmd', cmd: 'hey -z 1m -q 5 -c 2 http://api-canary.testapi:3000/' },
    });
    expect(tester.loadTest(canary, { qps: 5, concurrency: 1, duration: Duration.seconds(30), path: '/api', name: 'lt' }).metadata)
      .toEqual({ type: 'cmd', cmd: 'hey -z 30s -q 5 -c 1 http://api-canary.testapi:3000/api' });
    // qps is the total: hey's per-worker rate is qps / concurrency.
    expect(tester.loadTest(canary, { qps: 10, concurrency: 3 }).metadata!.cmd).toMatch(/^hey -z 1m -q 3\.333 -c 3 /);
    // qps equal to the concurrency is one request per second per worker: allowed.
    expect(tester.loadTest(canary, { qps: 2, concurrency: 2 }).metadata!.cmd).toMatch(/^hey -z 1m -q 1 -c 2 /);
  });

  test('confirm-promotion gate on the load tester', () => {
    expect(tester.promotionGate(canary)).toEqual({ name: 'promotion-gate', type: 'confirm-promotion', url: 'http://flagger-loadtester.testapi/gate/check' });
  });

  test('URL carries a non-80 port and a custom name', () => {
    synthWith((c) => {
      const lt = new LoadTester(c, 'lt', { name: 'tester', port: 8080 });
      expect(lt.url()).toBe('http://tester.testapi:8080/');
    });
  });

  test('addLoadTest and addPromotionGate put the webhooks on the canary (one call in every jsii language)', () => {
    const chart = new Chart(Testing.app(), 'add', { namespace: 'shop' });
    const lt = new LoadTester(chart, 'lt');
    const c = new Canary(chart, 'c', { targetName: 'api', port: 8080 });
    expect(lt.addLoadTest(c, { qps: 4 })).toEqual(lt.loadTest(c, { qps: 4 }));
    expect(lt.addPromotionGate(c, 'gate')).toEqual(lt.promotionGate(c, 'gate'));
    const hooks = Testing.synth(chart).find((o) => o.kind === 'Canary').spec.analysis.webhooks;
    expect(hooks.map((h: { name: string; type: string }) => `${h.name}:${h.type}`)).toEqual(['load-test:rollout', 'gate:confirm-promotion']);
    expect(hooks[0].metadata.cmd).toBe('hey -z 1m -q 2 -c 2 http://api-canary.shop:8080/');
  });

  test('image default is a static member; resources and security context are settable without cdk8s-plus', () => {
    expect(LoadTester.DEFAULT_IMAGE).toBe('ghcr.io/fluxcd/flagger-loadtester:0.38.0');
    expect(container.image).toBe(LoadTester.DEFAULT_IMAGE);
    expect(container.resources).toEqual({
      requests: { 'cpu': '10m', 'memory': '32Mi', 'ephemeral-storage': '64Mi' },
      limits: { 'cpu': '1000m', 'memory': '512Mi', 'ephemeral-storage': '1024Mi' },
    });
    const custom = only(synthWith((c) => new LoadTester(c, 'lt', {
      resources: { memoryLimit: Size.gibibytes(1) }, securityContext: { runAsUser: 20000 },
    })), 'Deployment').spec.template.spec;
    expect(custom.containers[0].resources.limits.memory).toBe('1024Mi');
    expect(custom.containers[0].securityContext).toMatchObject({ runAsUser: 20000, runAsGroup: 20000, readOnlyRootFilesystem: true });
    expect(restrictedViolations(custom)).toEqual([]);
  });

  test('liveness is the listening socket, readiness the HTTP health check: never the same probe', () => {
    expect(container.livenessProbe).toEqual({ failureThreshold: 3, periodSeconds: 10, tcpSocket: { port: 8080 } });
    expect(container.readinessProbe.httpGet).toMatchObject({ path: '/healthz', port: 8080 });
    expect(container.readinessProbe).not.toHaveProperty('tcpSocket');
  });

  test('load testers in charts without a namespace are not compared (they may be applied to different namespaces)', () => {
    const app = Testing.app();
    const a = new LoadTester(new Chart(app, 'a'), 'lt');
    const b = new LoadTester(new Chart(app, 'b'), 'lt');
    expect([a.namespace, b.namespace, a.name, b.name]).toEqual([undefined, undefined, 'flagger-loadtester', 'flagger-loadtester']);
  });
});
