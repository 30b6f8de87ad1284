import { Testing } from 'cdk8s';
import { Canary, CanaryTarget, CanaryWatcherRbac, LoadTester } from '../../lib';
import { only, synthWith, testChart } from '../schema/synth';
import { expectSchemaValid } from '../schema/validate';

describe('CanaryWatcherRbac', () => {
  test('ServiceAccount, Role and RoleBinding in the chart namespace, schema-valid', () => {
    const objects = synthWith((c) => new CanaryWatcherRbac(c, 'watcher'));
    expectSchemaValid(objects);
    expect(objects.map((o) => `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`).sort()).toEqual([
      'Role/testapi/canary-watch', 'RoleBinding/testapi/canary-watch', 'ServiceAccount/testapi/canary-watch',
    ]);
    expect(objects).toMatchSnapshot();
  });

  test('least privilege: read-only on canaries.flagger.app and core events, nothing else', () => {
    const role = only(synthWith((c) => new CanaryWatcherRbac(c, 'watcher')), 'Role');
    expect(role.rules).toEqual([
      { apiGroups: ['flagger.app'], resources: ['canaries'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: [''], resources: ['events'], verbs: ['list', 'watch'] },
    ]);
    const verbs = role.rules.flatMap((r: { verbs: string[] }) => r.verbs);
    expect(verbs.some((v: string) => ['create', 'update', 'patch', 'delete', '*'].includes(v))).toBe(false);
  });

  test('binds the Role to the ServiceAccount', () => {
    const objects = synthWith((c) => new CanaryWatcherRbac(c, 'watcher', { name: 'ci-watch' }));
    const binding = only(objects, 'RoleBinding', 'ci-watch');
    expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'ci-watch' });
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'ci-watch', namespace: 'testapi' }]);
  });

  test('canaryNames and allowCanary restrict canaries by resourceNames', () => {
    const objects = synthWith((c) => {
      const rbac = new CanaryWatcherRbac(c, 'watcher', { canaryNames: ['api'] });
      rbac.allowCanary('web');
      rbac.allowCanary('api');
    });
    expect(only(objects, 'Role').rules[0]).toEqual({
      apiGroups: ['flagger.app'], resources: ['canaries'], verbs: ['get', 'list', 'watch'], resourceNames: ['api', 'web'],
    });
  });

  test('explicit namespace when the chart has none', () => {
    const objects = synthWith((c) => new CanaryWatcherRbac(c, 'watcher', { namespace: 'apps' }), null);
    expect(objects.every((o) => o.metadata.namespace === 'apps')).toBe(true);
    expect(only(objects, 'RoleBinding').subjects[0].namespace).toBe('apps');
  });

  test('invalid input is rejected with the prop and value', () => {
    expect(() => new CanaryWatcherRbac(testChart(null), 'w')).toThrow(/CanaryWatcherRbac 'w': namespace \(undefined\) must be set/);
    expect(() => new CanaryWatcherRbac(testChart(), 'w', { name: 'Bad_Name' })).toThrow(/name \('Bad_Name'\)/);
    expect(() => new CanaryWatcherRbac(testChart(), 'w', { namespace: 'no.dots' })).toThrow(/namespace \('no.dots'\)/);
    const rbac = new CanaryWatcherRbac(testChart(), 'w');
    expect(() => rbac.allowCanary('UPPER')).toThrow(/canaryNames \('UPPER'\)/);
  });

  test('the construct id of the ServiceAccount is Resource', () => {
    const chart = testChart();
    const rbac = new CanaryWatcherRbac(chart, 'watcher');
    expect(rbac.node.findChild('Resource')).toBe(rbac.resource);
    expect(Testing.synth(chart)).toHaveLength(3);
  });
});

describe('CanaryWatcherRbac grants for promote, abort and metric values', () => {
  test('allowGates: create on services/proxy of the load tester only, by its proxy name', () => {
    const objects = synthWith((c) => {
      const rbac = new CanaryWatcherRbac(c, 'watcher');
      rbac.allowGates(new LoadTester(c, 'lt'));
      rbac.allowGates(new LoadTester(c, 'lt2', { name: 'other-tester', port: 8080 }));
    });
    expectSchemaValid(objects);
    expect(only(objects, 'Role').rules[2]).toEqual({
      apiGroups: [''], resources: ['services/proxy'], verbs: ['create'], resourceNames: ['http:flagger-loadtester:80', 'http:other-tester:8080'],
    });
  });

  test('allowMetrics: metric templates here, the Prometheus Service by proxy name in its own namespace', () => {
    const objects = synthWith((c) => {
      const rbac = new CanaryWatcherRbac(c, 'watcher');
      rbac.allowMetrics({ prometheusAddress: 'http://prometheus.linkerd-viz:9090' });
      rbac.allowMetrics({ prometheusAddress: 'https://thanos.monitoring.svc.cluster.local', templateNamespace: 'shared' });
    });
    expectSchemaValid(objects);
    const where = (kind: string, ns: string) => objects.find((o) => o.kind === kind && o.metadata.namespace === ns)!;
    expect(where('Role', 'testapi').rules[2]).toEqual({ apiGroups: ['flagger.app'], resources: ['metrictemplates'], verbs: ['get'] });
    expect(where('Role', 'linkerd-viz').rules).toEqual([{ apiGroups: [''], resources: ['services/proxy'], verbs: ['get'], resourceNames: ['http:prometheus:9090'] }]);
    expect(where('Role', 'monitoring').rules).toEqual([{ apiGroups: [''], resources: ['services/proxy'], verbs: ['get'], resourceNames: ['https:thanos:443'] }]);
    expect(where('Role', 'shared').rules).toEqual([{ apiGroups: ['flagger.app'], resources: ['metrictemplates'], verbs: ['get'] }]);
    for (const ns of ['linkerd-viz', 'monitoring', 'shared']) {
      expect(where('RoleBinding', ns)).toMatchObject({
        roleRef: { kind: 'Role', name: 'canary-watch' }, subjects: [{ kind: 'ServiceAccount', name: 'canary-watch', namespace: 'testapi' }],
      });
    }
  });

  test.each(['http://127.0.0.1:9090', 'http://prometheus:9090', 'prometheus.linkerd-viz:9090', 'http://prometheus.linkerd-viz:9090/prom', 'http://Prom.x'])(
    'allowMetrics refuses %p: not a Service URL the proxy reaches', (address) => {
      expect(() => synthWith((c) => new CanaryWatcherRbac(c, 'watcher').allowMetrics({ prometheusAddress: address })))
        .toThrow(`CanaryWatcherRbac 'watcher': allowMetrics.prometheusAddress ('${address}') must be a Service URL`);
    });
});

describe('LoadTester gates', () => {
  test('addGates adds both gates and the post-rollout closers; rollbackGate alone; both off is refused', () => {
    const objects = synthWith((c) => {
      const canary = new Canary(c, 'c', { target: new CanaryTarget(c, 't', { name: 'api', image: 'a', version: '1', port: 3000 }) });
      const lt = new LoadTester(c, 'lt');
      expect(lt.addGates(canary, { promotion: false }).map((w) => w.name)).toEqual(['rollback-gate', 'close-rollback-gate']);
      expect(() => lt.addGates(canary, { promotion: false, rollback: false }))
        .toThrow("LoadTester 'lt': addGates ({\"promotion\":false,\"rollback\":false}) must keep promotion or rollback: both are false");
    });
    const canary = only(objects, 'Canary');
    expect(canary.spec.analysis.webhooks).toEqual([
      { name: 'rollback-gate', type: 'rollback', url: 'http://flagger-loadtester.testapi/rollback/check' },
      { name: 'close-rollback-gate', type: 'post-rollout', url: 'http://flagger-loadtester.testapi/rollback/close' },
    ]);
  });
});

describe('CanaryWatcherRbac grants are idempotent', () => {
  test('the same grant twice adds nothing; another name joins the rule', () => {
    const objects = synthWith((c) => {
      const target = new CanaryTarget(c, 't', { name: 'api', image: 'a', version: '1', port: 3000 });
      const canary = new Canary(c, 'c', { target });
      const rbac = new CanaryWatcherRbac(c, 'watcher');
      const lt = new LoadTester(c, 'lt');
      for (let i = 0; i < 2; i++) {
        rbac.watchCanary(canary);
        rbac.allowGates(lt);
        rbac.allowMetrics({ prometheusAddress: 'http://prometheus.linkerd-viz:9090' });
      }
      rbac.allowMetrics({ prometheusAddress: 'http://other.linkerd-viz:9090' });
    });
    const roles = objects.filter((o) => o.kind === 'Role');
    expect(roles.map((r) => r.metadata.namespace)).toEqual(['testapi', 'linkerd-viz']);
    expect(roles[0].rules).toEqual([
      { apiGroups: ['flagger.app'], resources: ['canaries'], verbs: ['get', 'list', 'watch'], resourceNames: ['api'] },
      { apiGroups: [''], resources: ['events'], verbs: ['list', 'watch'] },
      { apiGroups: ['apps'], resources: ['deployments'], verbs: ['get'], resourceNames: ['api'] },
      { apiGroups: [''], resources: ['services/proxy'], verbs: ['create'], resourceNames: ['http:flagger-loadtester:80'] },
      { apiGroups: ['flagger.app'], resources: ['metrictemplates'], verbs: ['get'] },
    ]);
    expect(roles[1].rules).toEqual([
      { apiGroups: [''], resources: ['services/proxy'], verbs: ['get'], resourceNames: ['http:prometheus:9090', 'http:other:9090'] },
    ]);
    expect(objects.filter((o) => o.kind === 'RoleBinding').map((b) => b.metadata.namespace)).toEqual(['testapi', 'linkerd-viz']);
  });
});
