import { Testing } from 'cdk8s';
import * as gateway from '../../imports/gateway.networking.k8s.io';
import * as smi from '../../imports/split.smi-spec.io';
import { schemaErrors } from './validate';

// The validator must be able to fail: each case breaks one rule of a schema.
describe('schema validation helper', () => {
  const canary = {
    apiVersion: 'flagger.app/v1beta1',
    kind: 'Canary',
    metadata: { name: 'api', namespace: 'testapi' },
    spec: {
      targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'api' },
      service: { port: 3000 },
      analysis: { interval: '1m', threshold: 5, maxWeight: 50, stepWeight: 10 },
    },
  };

  test('accepts a valid Canary', () => {
    expect(schemaErrors(canary)).toEqual([]);
  });

  test('rejects the removed v1alpha3 field canaryAnalysis (the API server would prune it silently)', () => {
    const { analysis, ...spec } = canary.spec;
    const old = { ...canary, spec: { ...spec, canaryAnalysis: analysis } };
    const errors = schemaErrors(old).join('\n');
    expect(errors).toMatch(/must have required property 'analysis'/);
    expect(errors).toMatch(/must NOT have additional properties.*canaryAnalysis/);
  });

  test('rejects a wrongly typed CRD field', () => {
    expect(schemaErrors({ ...canary, spec: { ...canary.spec, service: { port: '3000' } } }).join()).toMatch(/\/spec\/service\/port must be/);
  });

  test('rejects an invalid provider', () => {
    expect(schemaErrors({ ...canary, spec: { ...canary.spec, provider: 'linkerd2' } }).join()).toMatch(/\/spec\/provider must be equal to one of the allowed values/);
  });

  test('rejects a core object that breaks the Kubernetes schema', () => {
    const deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'api' },
      spec: {
        selector: { matchLabels: { app: 'api' } },
        template: { spec: { containers: [{ name: 'api', image: 'x', ports: [{ containerPort: 'http' }] }] } },
      },
    };
    expect(schemaErrors(deployment).join()).toMatch(/containerPort must be integer/);
    const ok = { ...deployment, spec: { ...deployment.spec, template: { spec: { containers: [{ name: 'api', image: 'x' }] } } } };
    expect(schemaErrors(ok)).toEqual([]);
  });

  test('rejects a kind it has no schema for', () => {
    expect(schemaErrors({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } }).join())
      .toMatch(/no schema known/);
  });

  // Flagger writes these; the imported classes let tests type-check what it will create.
  test('what Flagger generates for the demo validates: HTTPRoute (gatewayapi) and TrafficSplit (linkerd)', () => {
    const chart = Testing.chart();
    new gateway.HttpRouteV1Beta1(chart, 'route', {
      metadata: { name: 'api', namespace: 'testapi' },
      spec: {
        parentRefs: [{ name: 'api', namespace: 'testapi', group: 'core', kind: 'Service', port: 3000 }],
        rules: [{
          backendRefs: [
            { name: 'api-primary', port: 3000, weight: 90 },
            { name: 'api-canary', port: 3000, weight: 10 },
          ],
        }],
      },
    });
    new smi.TrafficSplit(chart, 'split', {
      metadata: { name: 'api', namespace: 'testapi' },
      spec: { service: 'api', backends: [{ service: 'api-primary', weight: '90' }, { service: 'api-canary', weight: '10' }] },
    });
    const objects = Testing.synth(chart);
    expect(objects.map((o) => `${o.apiVersion} ${o.kind}`)).toEqual([
      'gateway.networking.k8s.io/v1beta1 HTTPRoute',
      'split.smi-spec.io/v1alpha1 TrafficSplit',
    ]);
    for (const o of objects) expect(schemaErrors(o)).toEqual([]);
    expect(schemaErrors({ ...objects[0], spec: { parentRefs: [{ port: 3000 }] } }).join()).toMatch(/must have required property 'name'/);
  });
});

test('custom resource metadata is validated as ObjectMeta', () => {
  const bad = { apiVersion: 'flagger.app/v1beta1', kind: 'MetricTemplate', metadata: { name: 'm', labels: { a: 1 } }, spec: { provider: { type: 'prometheus' }, query: 'up' } };
  expect(schemaErrors(bad).join()).toMatch(/\/metadata\/labels\/a must be string/);
  expect(schemaErrors({ ...bad, metadata: { name: 'm' } })).toEqual([]);
});
