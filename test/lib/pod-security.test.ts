import { Size } from 'cdk8s';
import { restrictedDeployment, toContainerResources, toContainerSecurityContext } from '../../lib/pod-security';
import { restrictedViolations } from '../schema/pod-security';
import { only, synthWith } from '../schema/synth';
import { expectSchemaValid } from '../schema/validate';

describe('pod security helpers', () => {
  test('toContainerSecurityContext: explicit non-root uid, no escalation, no capabilities, RuntimeDefault seccomp', () => {
    expect(toContainerSecurityContext('t', undefined)).toEqual({
      ensureNonRoot: true, user: 10001, group: 10001, allowPrivilegeEscalation: false, privileged: false,
      readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(toContainerSecurityContext('t', { runAsUser: 20000 })).toMatchObject({ user: 20000, group: 20000 });
    expect(toContainerSecurityContext('t', { runAsUser: 20000, runAsGroup: 5 })).toMatchObject({ user: 20000, group: 5 });
  });

  test('toContainerResources: each given field replaces its default, the rest stay', () => {
    const defaults = {
      cpuRequestMillis: 10, cpuLimitMillis: 20, memoryRequest: Size.mebibytes(1), memoryLimit: Size.mebibytes(2),
      ephemeralStorageRequest: Size.mebibytes(3), ephemeralStorageLimit: Size.mebibytes(4),
    };
    const r = toContainerResources('t', { cpuLimitMillis: 500, memoryLimit: undefined, ephemeralStorageLimit: Size.mebibytes(40) }, defaults);
    expect(r.cpu?.request?.amount).toBe('10m');
    expect(r.cpu?.limit?.amount).toBe('500m');
    expect(r.memory?.limit?.toMebibytes()).toBe(2);
    expect(r.ephemeralStorage?.request?.toMebibytes()).toBe(3);
    expect(r.ephemeralStorage?.limit?.toMebibytes()).toBe(40);
  });

  test('restrictedDeployment writes ephemeral storage in MiB (cdk8s-plus alone writes whole GiB only)', () => {
    const resources = toContainerResources('a', {}, {
      cpuRequestMillis: 10, cpuLimitMillis: 20, memoryRequest: Size.mebibytes(16), memoryLimit: Size.mebibytes(32),
      ephemeralStorageRequest: Size.mebibytes(64), ephemeralStorageLimit: Size.mebibytes(1536),
    });
    const objects = synthWith((c) => restrictedDeployment(c, 'a', { where: 'a', name: 'disk', container: { image: 'busybox', resources } }));
    expectSchemaValid(objects);
    const container = only(objects, 'Deployment', 'disk').spec.template.spec.containers[0];
    expect(container.resources).toEqual({
      requests: { 'cpu': '10m', 'memory': '16Mi', 'ephemeral-storage': '64Mi' },
      limits: { 'cpu': '20m', 'memory': '32Mi', 'ephemeral-storage': '1536Mi' },
    });
  });

  test('restrictedDeployment selects on app alone, passes restricted, injects only when asked', () => {
    const objects = synthWith((c) => {
      restrictedDeployment(c, 'a', { where: 'a', name: 'plain', container: { image: 'busybox' } });
      restrictedDeployment(c, 'b', {
        where: 'b', name: 'meshed', labels: { 'app.kubernetes.io/name': 'meshed', 'app': 'ignored' }, securityContext: { runAsUser: 10002 },
        replicas: 2, meshInject: true, container: { image: 'busybox' },
      });
    });
    expectSchemaValid(objects);
    const plain = only(objects, 'Deployment', 'plain');
    const meshed = only(objects, 'Deployment', 'meshed');
    expect(plain.spec.selector).toEqual({ matchLabels: { app: 'plain' } });
    expect(plain.spec.replicas).toBe(1);
    expect(plain.spec.template.metadata.annotations ?? {}).not.toHaveProperty('linkerd.io/inject');
    expect(meshed.spec.selector).toEqual({ matchLabels: { app: 'meshed' } });
    expect(meshed.spec.template.metadata.labels).toMatchObject({ 'app': 'meshed', 'app.kubernetes.io/name': 'meshed' });
    expect(meshed.spec.template.metadata.annotations).toEqual({ 'linkerd.io/inject': 'enabled' });
    expect(meshed.spec.replicas).toBe(2);
    expect(meshed.spec.template.spec.securityContext).toMatchObject({ runAsUser: 10002, runAsGroup: 10002, runAsNonRoot: true });
    for (const d of [plain, meshed]) {
      expect(restrictedViolations(d.spec.template.spec)).toEqual([]);
      expect(d.spec.template.spec.containers[0].imagePullPolicy).toBe('IfNotPresent');
    }
  });

  test('the restricted checker itself fails on a root, privileged pod', () => {
    expect(restrictedViolations({ containers: [{ name: 'c', securityContext: { runAsUser: 0, privileged: true } }] })).toEqual([
      'container c: allowPrivilegeEscalation must be false',
      'container c: capabilities.drop must include ALL',
      'container c: runAsNonRoot must be true',
      'container c: runAsUser must not be 0',
      'container c: seccompProfile must be RuntimeDefault or Localhost',
      'container c: privileged',
    ]);
  });
});
