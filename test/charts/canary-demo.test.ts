import { App, Duration, Testing } from 'cdk8s';
import { CanaryDemo, CanaryDemoProps } from '../../charts';
import { CanaryProvider, PodSecurityLevel } from '../../lib';
import { podTemplates, restrictedViolations } from '../schema/pod-security';
import { find, only, synthApp } from '../schema/synth';
import { expectSchemaValid } from '../schema/validate';

type Json = { [key: string]: any };

function demo(props: CanaryDemoProps = {}): { app: App; objects: Json[]; demo: CanaryDemo } {
  const app = Testing.app();
  const d = new CanaryDemo(app, props);
  return { app, objects: synthApp(app), demo: d };
}

/** Objects without the pod template image, for comparing releases. */
/** The objects without what a release changes: images and the app.kubernetes.io/version labels. */
function withoutRelease(objects: Json[]): Json[] {
  const copy = JSON.parse(JSON.stringify(objects)) as Json[];
  for (const o of copy) {
    for (const c of o.spec?.template?.spec?.containers ?? []) delete c.image;
    for (const meta of [o.metadata, o.spec?.template?.metadata]) delete meta?.labels?.['app.kubernetes.io/version'];
  }
  return copy;
}

describe('CanaryDemo', () => {
  const { app, objects } = demo();

  test('snapshot per chart', () => {
    for (const chart of app.charts) {
      expect(Testing.synth(chart)).toMatchSnapshot(chart.node.id);
    }
  });

  test('every object is schema-valid', () => {
    expect(() => expectSchemaValid(objects)).not.toThrow();
  });

  test('namespace chart comes first and holds only the injected namespace, without metadata.namespace', () => {
    expect(app.charts.map((c) => c.node.id)).toEqual(['testapi-namespace', 'testapi']);
    const nsObjects = Testing.synth(app.charts[0]);
    expect(nsObjects).toHaveLength(1);
    expect(nsObjects[0].kind).toBe('Namespace');
    expect(nsObjects[0].metadata).toEqual({ name: 'testapi', annotations: { 'linkerd.io/inject': 'enabled' } });
  });

  test('every pod template passes Pod Security restricted (e2e applies them in an enforcing namespace)', () => {
    const templates = podTemplates(objects);
    expect(templates.map((t) => t.name).sort()).toEqual(['Deployment/api', 'Deployment/api-load-generator', 'Deployment/flagger-loadtester']);
    for (const { name, spec } of templates) expect([name, restrictedViolations(spec)]).toEqual([name, []]);
  });

  test('every namespaced object is in testapi, but the watcher\'s right to query Prometheus in linkerd-viz', () => {
    const elsewhere = Testing.synth(app.charts[1]).filter((o) => o.metadata.namespace !== 'testapi');
    expect(elsewhere.map((o) => `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`)).toEqual(['Role/linkerd-viz/canary-watch', 'RoleBinding/linkerd-viz/canary-watch']);
    expect(elsewhere[0].rules).toEqual([{ apiGroups: [''], resources: ['services/proxy'], verbs: ['get'], resourceNames: ['http:prometheus:9090'] }]);
    expect(elsewhere[1].subjects).toEqual([{ kind: 'ServiceAccount', name: 'canary-watch', namespace: 'testapi' }]);
  });

  test('the watcher\'s Role: the Canary by name, its events, the metric templates; no gates unless asked', () => {
    const role = find(objects, 'Role', 'canary-watch').find((o) => o.metadata.namespace === 'testapi')!;
    expect(role.rules).toEqual([
      { apiGroups: ['flagger.app'], resources: ['canaries'], verbs: ['get', 'list', 'watch'], resourceNames: ['api'] },
      { apiGroups: [''], resources: ['events'], verbs: ['list', 'watch'] },
      { apiGroups: ['apps'], resources: ['deployments'], verbs: ['get'], resourceNames: ['api'] },
      { apiGroups: ['flagger.app'], resources: ['metrictemplates'], verbs: ['get'] },
    ]);
    const gated = demo({ gates: true }).objects;
    const gatedRole = gated.find((o) => o.kind === 'Role' && o.metadata.namespace === 'testapi')!;
    expect(gatedRole.rules[4]).toEqual({ apiGroups: [''], resources: ['services/proxy'], verbs: ['create'], resourceNames: ['http:flagger-loadtester:80'] });
    const canary = gated.find((o) => o.kind === 'Canary')!;
    expect(canary.spec.analysis.webhooks.slice(1)).toEqual([
      { name: 'promotion-gate', type: 'confirm-promotion', url: 'http://flagger-loadtester.testapi/gate/check' },
      { name: 'close-promotion-gate', type: 'post-rollout', url: 'http://flagger-loadtester.testapi/gate/close' },
      { name: 'rollback-gate', type: 'rollback', url: 'http://flagger-loadtester.testapi/rollback/check' },
      { name: 'close-rollback-gate', type: 'post-rollout', url: 'http://flagger-loadtester.testapi/rollback/close' },
    ]);
    expect(demo({ watcherRbac: false }).objects.filter((o) => o.metadata.name === 'canary-watch')).toEqual([]);
  });

  test('ships the demo: api Deployment, Canary, 3 templates, load tester, load generator, the mesh authorization, the watcher\'s RBAC and no other kinds', () => {
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
      'AuthorizationPolicy/api-clients',
      'Canary/api',
      'Deployment/api',
      'Deployment/api-load-generator',
      'Deployment/flagger-loadtester',
      'MeshTLSAuthentication/api-clients',
      'MetricTemplate/linkerd-4xx-percentage',
      'MetricTemplate/linkerd-latency-p99',
      'MetricTemplate/linkerd-success-rate',
      'Namespace/testapi',
      'Role/canary-watch',
      'Role/canary-watch',
      'RoleBinding/canary-watch',
      'RoleBinding/canary-watch',
      'Server/api',
      'Service/flagger-loadtester',
      'ServiceAccount/canary-watch',
    ]);
  });

  test('the mesh authorization: api and api-primary pods, port 3000, deny but the namespace and the named clients', () => {
    expect(find(objects, 'Server', 'api')[0].spec).toEqual({
      accessPolicy: 'deny', port: 3000, proxyProtocol: 'unknown',
      podSelector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['api', 'api-primary'] }] },
    });
    const ingress = demo({ meshClients: [{ name: 'ingress-nginx', namespace: 'ingress' }] }).objects;
    expect(find(ingress, 'MeshTLSAuthentication', 'api-clients')[0].spec.identityRefs).toEqual([
      { kind: 'Namespace', name: 'testapi' },
      { kind: 'ServiceAccount', name: 'ingress-nginx', namespace: 'ingress' },
    ]);
    expect(demo({ meshAuthorization: false }).objects.filter((o) => o.kind === 'Server')).toEqual([]);
    expect(() => demo({ meshAuthorization: false, meshClients: [{ name: 'x', namespace: 'y' }] }))
      .toThrow('CanaryDemo: meshClients (1 accounts) needs meshAuthorization, which is off');
  });

  test('no Service, HTTPRoute or TrafficSplit that Flagger owns', () => {
    const owned = ['api', 'api-primary', 'api-canary'];
    for (const kind of ['Service', 'HTTPRoute', 'TrafficSplit']) {
      for (const name of owned) expect(find(objects, kind, name)).toHaveLength(0);
    }
    expect(find(objects, 'Deployment', 'api-primary')).toHaveLength(0);
  });

  test('canary analysis: 1m interval, 10% steps up to 50%, success rate >= 99 over 1m, 4xx check, hey load test', () => {
    const canary = only(objects, 'Canary', 'api');
    expect(canary.spec.analysis).toMatchObject({ interval: '1m', threshold: 5, stepWeight: 10, maxWeight: 50 });
    const metrics = canary.spec.analysis.metrics;
    expect(metrics.find((m: Json) => m.name === 'success-rate')).toMatchObject({ interval: '1m', thresholdRange: { min: 99 } });
    expect(metrics.find((m: Json) => m.name === '4xx-percentage')).toMatchObject({ thresholdRange: { max: 1 } });
    expect(canary.spec.analysis.webhooks).toEqual([{
      name: 'load-test',
      type: 'rollout',
      url: 'http://flagger-loadtester.testapi/',
      timeout: '5s',
      metadata: { type: 'cmd', cmd: 'hey -z 1m -q 5 -c 2 http://api-canary.testapi:3000/' },
    }]);
  });

  test('metric templates referenced by the Canary exist in the namespace', () => {
    const canary = only(objects, 'Canary', 'api');
    for (const m of canary.spec.analysis.metrics) {
      expect(only(objects, 'MetricTemplate', m.templateRef.name).metadata.namespace).toBe(m.templateRef.namespace);
    }
  });

  test('constant in-mesh load of 10 QPS on the apex service', () => {
    const gen = only(objects, 'Deployment', 'api-load-generator');
    expect(gen.spec.template.metadata.annotations['linkerd.io/inject']).toBe('enabled');
    expect(gen.spec.template.spec.containers[0].args[0]).toContain('hey -z 1h -q 10 -c 1 http://api.testapi:3000/');
  });

  describe('version switch', () => {
    test.each(['2.0', '3.0'])('1.0 -> %s changes only the api image and version labels; the selector stays', (version) => {
      const v1 = demo({ version: '1.0' }).objects;
      const v2 = demo({ version }).objects;
      expect(withoutRelease(v2)).toEqual(withoutRelease(v1));
      const changed = v2.filter((o, i) => JSON.stringify(o) !== JSON.stringify(v1[i]));
      expect(changed.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(['Deployment/api']);
      expect(changed[0].spec.template.spec.containers[0].image).toBe(`cyrilbkr/testapp:${version}`);
      expect(changed[0].metadata.labels['app.kubernetes.io/version']).toBe(version);
      expect(changed[0].spec.template.metadata.labels['app.kubernetes.io/version']).toBe(version);
      expect(changed[0].spec.selector).toEqual({ matchLabels: { app: 'api' } });
    });

    test.each(['latest', '', '2', 'v2.0', '2.0-rc1', ' 2.0'])('rejects version %j with a clear message', (version) => {
      expect(() => demo({ version })).toThrow(`CanaryDemo: version (${JSON.stringify(version)}) must be a release number such as 1.0, 2.0 or 3.0`);
    });
  });

  describe('props reach the objects (e2e synthesizes short-interval variants)', () => {
    const short = demo({
      namespace: 'rehearsal',
      interval: Duration.seconds(10),
      metricInterval: Duration.seconds(30),
      threshold: 2,
      stepWeight: 25,
      maxWeight: 50,
      successRateMin: 95,
      clientErrorMax: 5,
      latencyCheck: false,
      prometheusAddress: 'http://127.0.0.1:9090',
      provider: CanaryProvider.GATEWAY_API_V1,
      routeStatusReportsGeneration: true,
      promotionGate: true,
      image: 'registry.local:5000/testapi',
      version: '2.0',
      livenessPath: '/healthz',
      readinessPath: '/readyz',
      podSecurity: PodSecurityLevel.RESTRICTED,
      loadTest: { duration: Duration.seconds(10), qps: 5, concurrency: 1 },
      loadGeneratorQps: 20,
    }).objects;

    test('schema-valid', () => expect(() => expectSchemaValid(short)).not.toThrow());

    test('analysis settings', () => {
      const canary = only(short, 'Canary', 'api');
      expect(canary.metadata.namespace).toBe('rehearsal');
      expect(canary.spec.provider).toBe('gatewayapi:v1');
      expect(canary.spec.analysis).toMatchObject({ interval: '10s', threshold: 2, stepWeight: 25, maxWeight: 50 });
      expect(canary.spec.analysis.metrics.map((m: Json) => [m.name, m.interval, m.thresholdRange])).toEqual([
        ['success-rate', '30s', { min: 95 }],
        ['4xx-percentage', '30s', { max: 5 }],
      ]);
      expect(canary.spec.analysis.webhooks.map((w: Json) => [w.type, w.url, w.metadata?.cmd])).toEqual([
        ['rollout', 'http://flagger-loadtester.rehearsal/', 'hey -z 10s -q 5 -c 1 http://api-canary.rehearsal:3000/'],
        ['confirm-promotion', 'http://flagger-loadtester.rehearsal/gate/check', undefined],
      ]);
    });

    test('templates, image, probes, namespace labels', () => {
      for (const t of find(short, 'MetricTemplate')) expect(t.spec.provider.address).toBe('http://127.0.0.1:9090');
      const api = only(short, 'Deployment', 'api').spec.template.spec.containers[0];
      expect(api.image).toBe('registry.local:5000/testapi:2.0');
      expect(api.livenessProbe.httpGet).toMatchObject({ path: '/healthz', port: 3000 });
      expect(api.readinessProbe.httpGet).toMatchObject({ path: '/readyz', port: 3000 });
      expect(only(short, 'Namespace', 'rehearsal').metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
      expect(only(short, 'Deployment', 'api-load-generator').spec.template.spec.containers[0].args[0])
        .toContain('-q 20 -c 1 http://api.rehearsal:3000/');
    });
  });

  test('failure checks can be turned off (shows that Linkerd success rate alone promotes a 404 release)', () => {
    const canary = only(demo({ clientErrorCheck: false, latencyCheck: false }).objects, 'Canary', 'api');
    expect(canary.spec.analysis.metrics.map((m: Json) => m.name)).toEqual(['success-rate']);
  });

  test('stepWeights replace stepWeight and maxWeight', () => {
    const canary = only(demo({ stepWeight: 10, maxWeight: 50, stepWeights: [5, 10, 25, 50] }).objects, 'Canary', 'api');
    expect(canary.spec.analysis.stepWeights).toEqual([5, 10, 25, 50]);
    expect(canary.spec.analysis.stepWeight).toBeUndefined();
    expect(canary.spec.analysis.maxWeight).toBeUndefined();
  });
});
