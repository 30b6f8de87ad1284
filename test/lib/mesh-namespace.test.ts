import { MeshNamespace, PodSecurityLevel } from '../../lib';
import { only, synthWith } from '../schema/synth';
import { expectSchemaValid } from '../schema/validate';

describe('MeshNamespace', () => {
  test('defaults: Linkerd injection, no Pod Security labels', () => {
    const objects = synthWith((c) => new MeshNamespace(c, 'ns', { name: 'shop' }), null);
    expect(objects).toEqual([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop', annotations: { 'linkerd.io/inject': 'enabled' } }, spec: {} }]);
    expectSchemaValid(objects);
  });

  test('never carries metadata.namespace, even in a namespaced chart', () => {
    const ns = only(synthWith((c) => new MeshNamespace(c, 'ns', { name: 'shop' }), 'elsewhere'), 'Namespace');
    expect(ns.metadata.name).toBe('shop');
    expect(ns.metadata).not.toHaveProperty('namespace');
  });

  test('podSecurity sets enforce, audit and warn labels', () => {
    const ns = only(synthWith((c) => new MeshNamespace(c, 'ns', { name: 'shop', podSecurity: PodSecurityLevel.RESTRICTED, labels: { team: 'a' } })), 'Namespace');
    expect(ns.metadata.labels).toEqual({
      'team': 'a',
      'pod-security.kubernetes.io/enforce': 'restricted',
      'pod-security.kubernetes.io/audit': 'restricted',
      'pod-security.kubernetes.io/warn': 'restricted',
    });
  });

  test('injection can be turned off', () => {
    const ns = only(synthWith((c) => new MeshNamespace(c, 'ns', { name: 'shop', linkerdInject: false })), 'Namespace');
    expect(ns.metadata.annotations ?? {}).not.toHaveProperty('linkerd.io/inject');
  });

  test('primary child is Resource', () => {
    synthWith((c) => {
      const ns = new MeshNamespace(c, 'ns', { name: 'shop' });
      expect(ns.node.defaultChild?.node.id).toBe('Resource');
    });
  });
});
