import { imageTag, matchRule, splitFromHTTPRoute, splitFromTrafficSplit, summarizePod } from '../../e2e/dataplane/topology';
import { accepted } from './flagger-routes';

describe('imageTag', () => {
  test.each([
    ['cyrilbkr/testapp:2.0', '2.0'],
    ['registry:5000/testapp:3.0', '3.0'],
    ['registry:5000/testapp', undefined],
    ['testapp:1.0@sha256:abc', '1.0'],
  ])('%s -> %s', (image, tag) => expect(imageTag(image)).toBe(tag));
});

describe('summarizePod', () => {
  const base = {
    metadata: {
      name: 'api-primary-5d8f7c9b6-x2x9z', namespace: 'testapi',
      labels: { 'app': 'api-primary', 'pod-template-hash': '5d8f7c9b6' },
      ownerReferences: [{ kind: 'ReplicaSet', name: 'api-primary-5d8f7c9b6', apiVersion: 'apps/v1', uid: 'u' }],
    },
    spec: { containers: [{ name: 'main', image: 'cyrilbkr/testapp:2.0', ports: [{ containerPort: 3000 }], env: [{ name: 'FAILURE_MODE', value: 'none' }] }] },
    status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] },
  };

  test('takes the Deployment from the ReplicaSet owner, the release from the tag, literal env', () => {
    expect(summarizePod(base)).toMatchObject({
      deployment: 'api-primary', version: '2.0', port: 3000, env: { FAILURE_MODE: 'none' }, ready: true,
    });
  });

  test('a terminating pod is not ready; a pod of another image is not emulated', () => {
    expect(summarizePod({ ...base, metadata: { ...base.metadata, deletionTimestamp: new Date() } })?.ready).toBe(false);
    expect(summarizePod({ ...base, spec: { containers: [{ name: 'x', image: 'ghcr.io/fluxcd/flagger-loadtester:0.38.0' }] } })).toBeUndefined();
  });
});

describe('splits', () => {
  test('HTTPRoute as Flagger writes it for Linkerd (parent: the apex Service), once Linkerd accepted it', () => {
    const route = {
      metadata: { name: 'api', namespace: 'testapi' },
      spec: {
        parentRefs: [{ group: 'core', kind: 'Service', name: 'api', port: 3000 }],
        rules: [{
          matches: [{ path: { type: 'PathPrefix', value: '/' } }],
          backendRefs: [
            { group: '', kind: 'Service', name: 'api-primary', port: 3000, weight: 70 },
            { group: '', kind: 'Service', name: 'api-canary', port: 3000, weight: 30 },
          ],
        }],
      },
    };
    // Linkerd's proxies only get routes whose status says Accepted.
    expect(splitFromHTTPRoute(route)).toEqual([]);
    const [split] = splitFromHTTPRoute(accepted(route));
    expect(split).toMatchObject({ service: 'api', port: 3000, name: 'api' });
    expect(matchRule(split, { path: '/api?x=1', headers: {} })?.rule.backends).toEqual([
      { service: 'api-primary', weight: 70 }, { service: 'api-canary', weight: 30 },
    ]);
  });

  test('header matches come first, the default rule catches the rest', () => {
    const [split] = splitFromHTTPRoute(accepted({
      metadata: { namespace: 'testapi' },
      spec: {
        parentRefs: [{ kind: 'Service', name: 'api' }],
        rules: [
          { matches: [{ headers: [{ name: 'X-Canary', value: 'insider' }] }], backendRefs: [{ name: 'api-canary', port: 80, weight: 100 }] },
          { backendRefs: [{ name: 'api-primary', port: 80, weight: 100 }] },
        ],
      },
    }));
    expect(matchRule(split, { path: '/', headers: { 'x-canary': 'insider' } })?.rule.backends[0].service).toBe('api-canary');
    expect(matchRule(split, { path: '/', headers: {} })?.rule.backends[0].service).toBe('api-primary');
  });

  test('an HTTPRoute attached to a Gateway is not a mesh split', () => {
    expect(splitFromHTTPRoute({ spec: { parentRefs: [{ name: 'gw' }], rules: [] } })).toEqual([]);
  });

  test('SMI TrafficSplit weights, numbers or quantities', () => {
    const [split] = splitFromTrafficSplit({
      metadata: { namespace: 'testapi' },
      spec: { service: 'api', backends: [{ service: 'api-primary', weight: '900m' }, { service: 'api-canary', weight: 0.1 }] },
    });
    expect(split.rules[0].backends).toEqual([{ service: 'api-primary', weight: 0.9 }, { service: 'api-canary', weight: 0.1 }]);
  });
});
