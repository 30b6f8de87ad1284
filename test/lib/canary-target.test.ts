import { Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { CanaryTarget, CanaryTargetProps } from '../../lib';
import { restrictedViolations } from '../schema/pod-security';
import { find, only, synthWith } from '../schema/synth';
import { expectSchemaValid } from '../schema/validate';

type Json = { [key: string]: any };

const REQUIRED = { name: 'api', image: 'registry.local/shop/api', version: '1.4.2' };

function deployment(props: Partial<CanaryTargetProps> = {}): Json[] {
  return synthWith((c) => new CanaryTarget(c, 'api', { ...REQUIRED, ...props }));
}

describe('CanaryTarget', () => {
  const objects = deployment();
  const api = only(objects, 'Deployment', 'api');
  const container = api.spec.template.spec.containers[0];

  test('schema-valid, and only a Deployment: no Service named after the target', () => {
    expectSchemaValid(objects);
    expect(objects.map((o) => o.kind)).toEqual(['Deployment']);
    expect(find(objects, 'Service')).toHaveLength(0);
  });

  test('selector is app: <name> alone (Flagger selector labels; stable across versions)', () => {
    expect(api.spec.selector).toEqual({ matchLabels: { app: 'api' } });
    expect(api.spec.template.metadata.labels.app).toBe('api');
  });

  test('recommended app.kubernetes.io labels on the Deployment and its pods, not in the selector', () => {
    const expected = { 'app': 'api', 'app.kubernetes.io/name': 'api', 'app.kubernetes.io/version': '1.4.2' };
    expect(api.metadata.labels).toEqual(expected);
    expect(api.spec.template.metadata.labels).toMatchObject(expected);
    const next = only(deployment({ version: '1.5.0' }), 'Deployment');
    expect(next.spec.selector).toEqual(api.spec.selector);
    expect(next.spec.template.metadata.labels['app.kubernetes.io/version']).toBe('1.5.0');
  });

  test('a real service\'s defaults: container port 8080 named http, image tagged with version, IfNotPresent', () => {
    expect(container.ports).toEqual([{ containerPort: 8080, name: 'http' }]);
    expect(container.image).toBe('registry.local/shop/api:1.4.2');
    expect(container.imagePullPolicy).toBe('IfNotPresent');
    expect(api.spec.replicas).toBe(1);
  });

  test('default probes are TCP: a release answering 404 on / stays ready (analysis, not the kubelet, judges it)', () => {
    for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
      expect(container[probe].tcpSocket).toEqual({ port: 8080 });
      expect(container[probe]).not.toHaveProperty('httpGet');
    }
  });

  test('HTTP probes on given paths, for images with health endpoints', () => {
    const c = only(deployment({ livenessPath: '/healthz', readinessPath: '/readyz' }), 'Deployment').spec.template.spec.containers[0];
    expect(c.livenessProbe.httpGet).toMatchObject({ path: '/healthz', port: 8080 });
    expect(c.readinessProbe.httpGet).toMatchObject({ path: '/readyz', port: 8080 });
  });

  test('small resources by default, local disk included; each field of WorkloadResources overrides its own default', () => {
    expect(container.resources).toEqual({
      requests: { 'cpu': '50m', 'memory': '64Mi', 'ephemeral-storage': '64Mi' },
      limits: { 'cpu': '250m', 'memory': '128Mi', 'ephemeral-storage': '1024Mi' },
    });
    const custom = only(deployment({
      resources: { memoryLimit: Size.mebibytes(256), cpuRequestMillis: 100, ephemeralStorageLimit: Size.gibibytes(2) },
    }), 'Deployment').spec.template.spec.containers[0];
    expect(custom.resources).toEqual({
      requests: { 'cpu': '100m', 'memory': '64Mi', 'ephemeral-storage': '64Mi' },
      limits: { 'cpu': '250m', 'memory': '256Mi', 'ephemeral-storage': '2048Mi' },
    });
  });

  test('explicit non-root uid and Pod Security restricted; uid, gid and read-only root are settable', () => {
    expect(container.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, readOnlyRootFilesystem: true });
    expect(restrictedViolations(api.spec.template.spec)).toEqual([]);
    const spec = only(deployment({ securityContext: { runAsUser: 20000, runAsGroup: 30000, readOnlyRootFilesystem: false } }), 'Deployment')
      .spec.template.spec;
    expect(spec.containers[0].securityContext).toMatchObject({ runAsUser: 20000, runAsGroup: 30000, readOnlyRootFilesystem: false });
    expect(spec.securityContext).toMatchObject({ runAsUser: 20000, runAsGroup: 30000, runAsNonRoot: true });
    expect(restrictedViolations(spec)).toEqual([]);
  });

  test('name, image, version, port, replicas and env are configurable', () => {
    const objs = deployment({ name: 'orders', image: 'registry.local:5000/testapi', version: '2.0', port: 3000, portName: 'web', replicas: 3, env: { FAILURE_MODE: 'none' } });
    const d = only(objs, 'Deployment', 'orders');
    expectSchemaValid(objs);
    expect(d.spec.replicas).toBe(3);
    expect(d.spec.selector.matchLabels).toEqual({ app: 'orders' });
    const c = d.spec.template.spec.containers[0];
    expect(c.image).toBe('registry.local:5000/testapi:2.0');
    expect(c.ports).toEqual([{ containerPort: 3000, name: 'web' }]);
    expect(c.env).toEqual([{ name: 'FAILURE_MODE', value: 'none' }]);
  });

  test('exposes name, port, port name, version and image; primary child is Resource', () => {
    synthWith((c) => {
      const w = new CanaryTarget(c, 'w', { ...REQUIRED, version: '3.0' });
      expect([w.name, w.port, w.portName, w.version, w.image]).toEqual(['api', 8080, 'http', '3.0', 'registry.local/shop/api:3.0']);
      expect(w.node.defaultChild).toBe(w.resource);
      expect(w.resource).toBeInstanceOf(kplus.Deployment);
    });
  });
});
