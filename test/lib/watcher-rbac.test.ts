import { Testing } from 'cdk8s';
import { CanaryWatcherRbac } from '../../lib';
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
