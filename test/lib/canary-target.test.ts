import { Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { TestApiWorkload } from '../../lib';
import { restrictedViolations } from '../schema/pod-security';
import { find, only, synthWith } from '../schema/synth';
import { expectSchemaValid } from '../schema/validate';

type Json = { [key: string]: any };

function deployment(props: ConstructorParameters<typeof TestApiWorkload>[2] = {}): Json[] {
  return synthWith((c) => new TestApiWorkload(c, 'api', props));
}

describe('TestApiWorkload', () => {
  const objects = deployment();
  const api = only(objects, 'Deployment', 'api');
  const container = api.spec.template.spec.containers[0];

  test('schema-valid, and only a Deployment: no Service named after the target', () => {
    expectSchemaValid(objects);
    expect(objects.map((o) => o.kind)).toEqual(['Deployment']);
    expect(find(objects, 'Service')).toHaveLength(0);
  });

  test('selector and pod labels carry app: <name> (Flagger selector labels), nothing else selects', () => {
    expect(api.spec.selector).toEqual({ matchLabels: { app: 'api' } });
    expect(api.spec.template.metadata.labels.app).toBe('api');
  });

  test('container port 3000 named http, demo image, IfNotPresent', () => {
    expect(container.ports).toEqual([{ containerPort: 3000, name: 'http' }]);
    expect(container.image).toBe('cyrilbkr/testapp:1.0');
    expect(container.imagePullPolicy).toBe('IfNotPresent');
  });

  test('default probes are TCP: a release answering 404 on / stays ready (analysis, not the kubelet, judges it)', () => {
    for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
      expect(container[probe].tcpSocket).toEqual({ port: 3000 });
      expect(container[probe]).not.toHaveProperty('httpGet');
    }
  });

  test('HTTP probes on given paths, for images with health endpoints', () => {
    const c = only(deployment({ livenessPath: '/healthz', readinessPath: '/readyz' }), 'Deployment').spec.template.spec.containers[0];
    expect(c.livenessProbe.httpGet).toMatchObject({ path: '/healthz', port: 3000 });
    expect(c.readinessProbe.httpGet).toMatchObject({ path: '/readyz', port: 3000 });
  });

  test('small resources', () => {
    expect(container.resources).toEqual({ requests: { cpu: '50m', memory: '64Mi' }, limits: { cpu: '250m', memory: '128Mi' } });
    const custom = only(deployment({ resources: { memory: { limit: Size.mebibytes(256) } } }), 'Deployment').spec.template.spec.containers[0];
    expect(custom.resources).toEqual({ limits: { memory: '256Mi' } });
  });

  test('explicit non-root uid and Pod Security restricted', () => {
    expect(container.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001 });
    expect(restrictedViolations(api.spec.template.spec)).toEqual([]);
    const c = only(deployment({ runAsUser: 20000 }), 'Deployment').spec.template.spec;
    expect(c.containers[0].securityContext.runAsUser).toBe(20000);
    expect(c.securityContext.runAsUser).toBe(20000);
  });

  test('security context can be replaced (and then may break restricted)', () => {
    const spec = only(deployment({ securityContext: { ensureNonRoot: false, user: 0, readOnlyRootFilesystem: false } }), 'Deployment').spec.template.spec;
    expect(spec.containers[0].securityContext).toMatchObject({ runAsNonRoot: false, runAsUser: 0 });
    expect(restrictedViolations(spec).length).toBeGreaterThan(0);
  });

  test('name, image, version, port, replicas and env are configurable', () => {
    const objs = deployment({ name: 'orders', image: 'registry.local:5000/testapi', version: '2.0', port: 8080, portName: 'web', replicas: 3, env: { FAILURE_MODE: 'none' } });
    const d = only(objs, 'Deployment', 'orders');
    expectSchemaValid(objs);
    expect(d.spec.replicas).toBe(3);
    expect(d.spec.selector.matchLabels).toEqual({ app: 'orders' });
    const c = d.spec.template.spec.containers[0];
    expect(c.image).toBe('registry.local:5000/testapi:2.0');
    expect(c.ports).toEqual([{ containerPort: 8080, name: 'web' }]);
    expect(c.env).toEqual([{ name: 'FAILURE_MODE', value: 'none' }]);
  });

  test('exposes name, port and image; primary child is Resource', () => {
    synthWith((c) => {
      const w = new TestApiWorkload(c, 'w', { version: '3.0' });
      expect([w.name, w.port, w.portName, w.image]).toEqual(['api', 3000, 'http', 'cyrilbkr/testapp:3.0']);
      expect(w.node.defaultChild).toBe(w.resource);
      expect(w.resource).toBeInstanceOf(kplus.Deployment);
    });
  });
});
