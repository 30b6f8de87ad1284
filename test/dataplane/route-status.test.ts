import { httpRouteStatusPatch, kubeTime, ServiceInfo } from '../../e2e/dataplane/route-status';
import { backendRef, httpRoute, NS, SERVICES, sessionAffinityRoute } from './flagger-routes';

const NOW = '2026-03-04T05:06:07Z';

/** Linkerd's two conditions for a Service parent, as `accepted()` and `resolved_refs()` build them. */
const LINKERD_ACCEPTED = {
  parentRef: { group: 'core', kind: 'Service', namespace: NS, name: 'api', port: 3000 },
  controllerName: 'linkerd.io/policy-controller',
  conditions: [
    { lastTransitionTime: NOW, message: '', reason: 'Accepted', status: 'True', type: 'Accepted' },
    { lastTransitionTime: NOW, message: '', reason: 'ResolvedRefs', status: 'True', type: 'ResolvedRefs' },
  ],
};

describe("HTTPRoute status as Linkerd's policy controller writes it", () => {
  test("the merge patch body for Flagger's route: Accepted and ResolvedRefs, no observedGeneration", () => {
    const patch = httpRouteStatusPatch(sessionAffinityRoute('canary-session=Xyz123', 10), SERVICES, NOW);
    expect(patch).toEqual({
      apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', name: 'api',
      status: { parents: [LINKERD_ACCEPTED] },
    });
    expect(JSON.stringify(patch)).not.toContain('observedGeneration');
  });

  test('no patch when the stored status says the same, whatever its times: a spec update writes nothing', () => {
    const stored = { ...LINKERD_ACCEPTED, conditions: LINKERD_ACCEPTED.conditions.map((c) => ({ ...c, lastTransitionTime: '2020-01-01T00:00:00Z' })) };
    const route = { ...httpRoute([{ backendRefs: [backendRef('api-canary', 1)] }]), status: { parents: [stored] } };
    expect(httpRouteStatusPatch(route, SERVICES, NOW)).toBeUndefined();
    // ...but a stored observedGeneration is not Linkerd's: it is rewritten without one.
    const withGeneration = { ...route, status: { parents: [{ ...stored, conditions: stored.conditions.map((c) => ({ ...c, observedGeneration: 4 })) }] } };
    expect(httpRouteStatusPatch(withGeneration, SERVICES, NOW)).toEqual({
      apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', name: 'api', status: { parents: [LINKERD_ACCEPTED] },
    });
  });

  test("other controllers' parent statuses are kept", () => {
    const other = { parentRef: { name: 'gw' }, controllerName: 'example.com/gateway', conditions: [] };
    const route = { ...httpRoute([{ backendRefs: [backendRef('api-primary', 1)] }]), status: { parents: [other] } };
    expect((httpRouteStatusPatch(route, SERVICES, NOW) as { status: object }).status).toEqual({ parents: [other, LINKERD_ACCEPTED] });
  });

  test('a parent Service that is missing or headless is not accepted', () => {
    const route = httpRoute([{ backendRefs: [backendRef('api-primary', 1)] }]);
    const conditions = (services: ServiceInfo[]) =>
      (httpRouteStatusPatch(route, services, NOW) as { status: { parents: { conditions: object[] }[] } }).status.parents[0].conditions[0];
    expect(conditions(SERVICES.filter((s) => s.name !== 'api'))).toEqual(
      { lastTransitionTime: NOW, message: '', reason: 'NoMatchingParent', status: 'False', type: 'Accepted' });
    expect(conditions(SERVICES.map((s) => (s.name === 'api' ? { ...s, clusterIP: 'None' } : s)))).toEqual(
      { lastTransitionTime: NOW, message: 'parent service must have a ClusterIP', reason: 'NoMatchingParent', status: 'False', type: 'Accepted' });
  });

  test('ResolvedRefs: a missing backend Service, a backend of another kind', () => {
    const resolved = (backendRefs: object[]) =>
      (httpRouteStatusPatch(httpRoute([{ backendRefs }]), SERVICES, NOW) as { status: { parents: { conditions: object[] }[] } }).status.parents[0].conditions[1];
    expect(resolved([backendRef('api-primary', 1), backendRef('api-gone', 1)])).toEqual(
      { lastTransitionTime: NOW, message: '', reason: 'BackendNotFound', status: 'False', type: 'ResolvedRefs' });
    expect(resolved([{ group: 'apps', kind: 'Deployment', name: 'api' }])).toEqual(
      { lastTransitionTime: NOW, message: '', reason: 'InvalidKind', status: 'False', type: 'ResolvedRefs' });
  });

  test('a route whose parents are all Gateways gets no patch; a parentRef without a port gets none in status', () => {
    const gateway = { ...httpRoute([]), spec: { parentRefs: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'gw' }], rules: [] } };
    expect(httpRouteStatusPatch(gateway, SERVICES, NOW)).toBeUndefined();
    const portless = { ...httpRoute([]), spec: { parentRefs: [{ group: 'core', kind: 'Service', name: 'api' }], rules: [] } };
    const parents = (httpRouteStatusPatch(portless, SERVICES, NOW) as { status: { parents: { parentRef: object }[] } }).status.parents;
    expect(parents[0].parentRef).toEqual({ group: 'core', kind: 'Service', namespace: NS, name: 'api' });
  });

  test('times are whole seconds, as Kubernetes writes them', () => {
    expect(kubeTime(new Date('2026-03-04T05:06:07.891Z'))).toBe('2026-03-04T05:06:07Z');
  });
});
