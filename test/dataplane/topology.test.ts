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
      name: 'api-primary-5d8f7c9b6-x2x9z', namespace: 'testapi', uid: 'uid-1',
      labels: { 'app': 'api-primary', 'pod-template-hash': '5d8f7c9b6' },
      ownerReferences: [{ kind: 'ReplicaSet', name: 'api-primary-5d8f7c9b6', apiVersion: 'apps/v1', uid: 'u' }],
    },
    spec: {
      nodeName: 'kwok-node-0',
      containers: [{
        name: 'api', image: 'ghcr.io/cdk8s-canary/testapi:2.0', ports: [{ name: 'http', containerPort: 3000 }],
        env: [{ name: 'FAILURE_MODE', value: 'none' }, { name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
        startupProbe: { tcpSocket: { port: 'http' }, periodSeconds: 2, failureThreshold: 30 },
        readinessProbe: { httpGet: { path: '/readyz', port: 3000 }, periodSeconds: 10, failureThreshold: 2 },
        livenessProbe: { exec: { command: ['true'] } },
      }],
    },
    status: {
      phase: 'Running', podIP: '10.244.0.7',
      conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: new Date('2026-01-02T03:04:05Z') }],
    },
  };

  test('takes the Deployment from the ReplicaSet owner, the release from the tag, literal env', () => {
    expect(summarizePod(base)).toMatchObject({
      uid: 'uid-1', deployment: 'api-primary', version: '2.0', port: 3000, env: { FAILURE_MODE: 'none' }, ready: true, onNode: true,
      observed: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: '2026-01-02T03:04:05.000Z' }], containerStatuses: [] },
    });
  });

  test('probes with the API server\'s defaults, named ports resolved, handlers it cannot run marked', () => {
    const [c] = summarizePod(base)!.containers!;
    expect(c).toMatchObject({ name: 'api', model: { kind: 'test-api', version: '2.0' } });
    expect(c.startupProbe).toEqual({
      action: { kind: 'tcp', port: 3000 }, initialDelaySeconds: 0, periodSeconds: 2, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 30,
    });
    expect(c.readinessProbe?.action).toEqual({ kind: 'http', path: '/readyz', port: 3000 });
    expect(c.livenessProbe).toMatchObject({ action: { kind: 'unsupported', why: 'exec probes are not emulated' }, periodSeconds: 10, failureThreshold: 3 });
    const named = { ...base.spec.containers[0], readinessProbe: { httpGet: { path: '/', port: 'admin' } } };
    expect(summarizePod({ ...base, spec: { ...base.spec, containers: [named] } })!.containers![0].readinessProbe?.action)
      .toEqual({ kind: 'unsupported', why: 'port "admin" is not a port of container api' });
  });

  test('on the node once kwok gave it a pod IP, until it terminates; every image is summarized', () => {
    expect(summarizePod({ ...base, metadata: { ...base.metadata, deletionTimestamp: new Date() } })).toMatchObject({ ready: false, onNode: false });
    expect(summarizePod({ ...base, status: { phase: 'Pending', conditions: [] } })).toMatchObject({ ready: false, onNode: false });
    expect(summarizePod({ ...base, status: { phase: 'Pending', podIP: '10.244.0.8' } })).toMatchObject({ ready: false, onNode: true });
    const tester = summarizePod({ ...base, spec: { containers: [{ name: 'x', image: 'ghcr.io/fluxcd/flagger-loadtester:0.38.0' }] } });
    expect(tester?.containers?.[0].model.kind).toBe('stand-in');
    const seed = summarizePod({ ...base, spec: { containers: [{ name: 'api', image: 'cyrilbkr/testapp:2.0' }] } });
    expect(seed).toMatchObject({ version: '2.0', containers: [{ model: { kind: 'refused' } }] });
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
