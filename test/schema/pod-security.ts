type Json = { [key: string]: any };

/**
 * The Pod Security `restricted` rules our pod templates must meet (the e2e
 * namespace enforces them), as test assertions on a synthesized pod spec.
 * Returns the rules broken, empty when the spec passes.
 */
export function restrictedViolations(podSpec: Json): string[] {
  const problems: string[] = [];
  const pod = podSpec.securityContext ?? {};
  for (const c of [...(podSpec.initContainers ?? []), ...(podSpec.containers ?? [])]) {
    const sc = c.securityContext ?? {};
    const where = `container ${c.name}`;
    if (sc.allowPrivilegeEscalation !== false) problems.push(`${where}: allowPrivilegeEscalation must be false`);
    if (!(sc.capabilities?.drop ?? []).includes('ALL')) problems.push(`${where}: capabilities.drop must include ALL`);
    if ((sc.capabilities?.add ?? []).some((cap: string) => cap !== 'NET_BIND_SERVICE')) problems.push(`${where}: only NET_BIND_SERVICE may be added`);
    if ((sc.runAsNonRoot ?? pod.runAsNonRoot) !== true) problems.push(`${where}: runAsNonRoot must be true`);
    if ((sc.runAsUser ?? pod.runAsUser) === 0) problems.push(`${where}: runAsUser must not be 0`);
    const seccomp = sc.seccompProfile?.type ?? pod.seccompProfile?.type;
    if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost') problems.push(`${where}: seccompProfile must be RuntimeDefault or Localhost`);
    if (sc.privileged === true) problems.push(`${where}: privileged`);
    for (const port of c.ports ?? []) if (port.hostPort) problems.push(`${where}: hostPort`);
  }
  if (podSpec.hostNetwork || podSpec.hostPID || podSpec.hostIPC) problems.push('host namespaces');
  for (const v of podSpec.volumes ?? []) {
    if (!['emptyDir', 'configMap', 'secret', 'projected', 'downwardAPI', 'persistentVolumeClaim', 'ephemeral', 'csi'].some((k) => k in v)) {
      problems.push(`volume ${v.name}: type not allowed`);
    }
  }
  return problems;
}

/** Pod templates of every workload among `objects`. */
export function podTemplates(objects: Json[]): Array<{ name: string; spec: Json }> {
  return objects.filter((o) => o.spec?.template?.spec).map((o) => ({ name: `${o.kind}/${o.metadata.name}`, spec: o.spec.template.spec }));
}
