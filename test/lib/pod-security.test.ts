import { DEFAULT_RUN_AS_USER, restrictedDeployment, restrictedSecurityContext } from '../../lib';
import { restrictedViolations } from '../schema/pod-security';
import { only, synthWith } from '../schema/synth';
import { expectSchemaValid } from '../schema/validate';

describe('pod security helpers', () => {
  test('restrictedSecurityContext: explicit non-root uid, no escalation, no capabilities, RuntimeDefault seccomp', () => {
    expect(DEFAULT_RUN_AS_USER).toBe(10001);
    expect(restrictedSecurityContext(20000)).toMatchObject({
      ensureNonRoot: true, user: 20000, group: 20000, allowPrivilegeEscalation: false, privileged: false,
      readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' },
    });
  });

  test('restrictedDeployment selects on app, passes restricted, injects only when asked', () => {
    const objects = synthWith((c) => {
      restrictedDeployment(c, 'a', { name: 'plain', uid: 10001, container: { image: 'busybox' } });
      restrictedDeployment(c, 'b', { name: 'meshed', uid: 10002, replicas: 2, meshInject: true, container: { image: 'busybox' } });
    });
    expectSchemaValid(objects);
    const plain = only(objects, 'Deployment', 'plain');
    const meshed = only(objects, 'Deployment', 'meshed');
    expect(plain.spec.selector).toEqual({ matchLabels: { app: 'plain' } });
    expect(plain.spec.template.metadata.annotations ?? {}).not.toHaveProperty('linkerd.io/inject');
    expect(meshed.spec.template.metadata.annotations).toEqual({ 'linkerd.io/inject': 'enabled' });
    expect(meshed.spec.replicas).toBe(2);
    expect(meshed.spec.template.spec.securityContext).toMatchObject({ runAsUser: 10002, runAsNonRoot: true });
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
