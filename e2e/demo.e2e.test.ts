/**
 * The demo charts against the real API server and the real Flagger: every synthesized object
 * passes server-side dry run and applies, pod templates pass Pod Security `restricted`, the api
 * Deployment becomes Available (controller manager + scheduler + kwok), and Flagger initializes
 * the Canary. The tests in this file run in order and build on each other.
 */
import { spawnSync } from 'child_process';
import * as path from 'path';
import {
  apply, eventually, getObject, KUBECONFIG, KubeObject, kubectlOk, readManifests, relocate, resourceOf, sameName, synthDir,
} from './cluster/harness';

const WORKLOADS = ['Deployment', 'StatefulSet', 'DaemonSet', 'Job'];
const PSS_LABELS = { 'pod-security.kubernetes.io/enforce': 'restricted', 'pod-security.kubernetes.io/warn': 'restricted' };
const POD_SECURITY_WARNING = /would violate PodSecurity/;

const objects = readManifests(synthDir());
const canary = objects.find(sameName('Canary', 'api'));
const ns = canary?.metadata.namespace ?? 'e2e-demo';
const namespaces = objects.filter((o) => o.kind === 'Namespace');
const rest = objects.filter((o) => o.kind !== 'Namespace');
const workloads = objects.filter((o) => WORKLOADS.includes(o.kind));

/** A Pod built from a workload's pod template, in the workload's namespace. */
function podOf(w: KubeObject): KubeObject {
  const template = w.spec.template;
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name: `${w.metadata.name}-pss-probe`, namespace: w.metadata.namespace, labels: template.metadata?.labels },
    spec: template.spec,
  };
}

function available(name: string): KubeObject | undefined {
  const d = getObject('deployment', name, ns);
  const cond = d?.status?.conditions?.find((c: { type: string }) => c.type === 'Available');
  return cond?.status === 'True' && (d!.status.readyReplicas ?? 0) >= 1 ? d : undefined;
}

describe('demo charts on the real API server', () => {
  test('the synthesized demo has the api Deployment and Canary, and none of the objects Flagger owns', () => {
    expect(objects.find(sameName('Deployment', 'api'))).toBeDefined();
    expect(canary).toBeDefined();
    const owned = ['api', 'api-primary', 'api-canary'].map((n) => objects.find(sameName('Service', n)));
    expect(owned.filter(Boolean)).toEqual([]);
    expect(objects.find(sameName('Deployment', 'api-primary'))).toBeUndefined();
    expect(objects.find(sameName('HTTPRoute', 'api'))).toBeUndefined();
  });

  test('namespaces pass server-side dry run, then apply, then enforce Pod Security restricted', () => {
    expect(namespaces.map((n) => n.metadata.name)).toContain(ns);
    const dry = apply(namespaces, { dryRun: true });
    expect(dry.stderr).toBe('');
    expect(dry.code).toBe(0);
    const applied = apply(namespaces);
    expect(applied.code).toBe(0);
    expect(applied.stdout.trim().split('\n')).toHaveLength(namespaces.length);
    // Workload namespaces enforce `restricted`: a real meshed namespace only can with linkerd-cni.
    const workloadNs = [...new Set(workloads.map((w) => w.metadata.namespace!))];
    for (const n of workloadNs) {
      kubectlOk(['label', 'namespace', n, '--overwrite', ...Object.entries(PSS_LABELS).map(([k, v]) => `${k}=${v}`)]);
    }
  });

  test(`all ${rest.length} other objects pass server-side dry run with no Pod Security warning`, () => {
    const dry = apply(rest, { dryRun: true });
    expect(dry.stderr).not.toMatch(POD_SECURITY_WARNING);
    expect(dry.stderr).toBe('');
    expect(dry.code).toBe(0);
    expect(dry.stdout.trim().split('\n')).toHaveLength(rest.length);
  });

  test('every object applies: zero rejections', () => {
    const applied = apply(rest);
    expect(applied.stderr).toBe('');
    expect(applied.code).toBe(0);
    expect(applied.stdout.trim().split('\n')).toHaveLength(rest.length);
    for (const o of rest) {
      expect(getObject(resourceOf(o), o.metadata.name, o.metadata.namespace)?.metadata.name).toBe(o.metadata.name);
    }
  });

  test('the `npm run synth` output (default settings) also passes server-side dry run', () => {
    // Moved to its own namespace: testapi belongs to the rehearsal suites on the same stack.
    const mainNs = 'e2e-demo-main';
    const main = readManifests(synthDir('main')).map((o) => relocate(o, 'testapi', mainNs));
    const names = (list: KubeObject[]) => list.map((o) => `${o.kind}/${o.metadata.name}`).sort();
    expect(names(main.filter((o) => o.kind !== 'Namespace'))).toEqual(names(rest));
    const [namespace, others] = [main.filter((o) => o.kind === 'Namespace'), main.filter((o) => o.kind !== 'Namespace')];
    expect(namespace.map((n) => n.metadata.name)).toEqual(['testapi']);
    namespace[0].metadata.name = mainNs;
    expect(apply(namespace).code).toBe(0);
    const dry = apply(others, { dryRun: true });
    expect(dry.stderr).toBe('');
    expect(dry.code).toBe(0);
    expect(dry.stdout.trim().split('\n')).toHaveLength(others.length);
  });

  test('each pod template, as a Pod, is admitted under Pod Security restricted', () => {
    expect(workloads.length).toBeGreaterThan(0);
    for (const w of workloads) {
      const r = apply([podOf(w)], { dryRun: true });
      expect({ workload: w.metadata.name, code: r.code, stderr: r.stderr }).toEqual({ workload: w.metadata.name, code: 0, stderr: '' });
    }
  });

  test('control: a pod template without the restricted settings is rejected in that namespace', () => {
    const pod = podOf(workloads.find((w) => w.metadata.namespace === ns)!);
    pod.spec = { ...pod.spec, securityContext: {}, containers: pod.spec.containers.map((c: object) => ({ ...c, securityContext: { privileged: true } })) };
    const r = apply([pod], { dryRun: true });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/violates PodSecurity "restricted:latest"/);
  });

  test('the api Deployment becomes Available through controller manager, scheduler and kwok', async () => {
    const d = await eventually('deployment api Available', 90_000, () => available('api'));
    expect(d.status.readyReplicas).toBeGreaterThanOrEqual(1);
    const pods = JSON.parse(kubectlOk(['get', 'pods', '-n', ns, '-l', 'app=api', '-o', 'json'])).items;
    expect(pods.length).toBeGreaterThan(0);
    expect(pods.every((p: KubeObject) => p.spec.nodeName === 'kwok-node-0')).toBe(true);
  });

  test('Flagger initializes the Canary: api-primary, Services api/api-primary/api-canary, HTTPRoute api, phase Initialized', async () => {
    const c = await eventually('Canary api Initialized', 180_000, () => {
      const got = getObject('canary.flagger.app', 'api', ns);
      return got?.status?.phase === 'Initialized' ? got : undefined;
    });
    expect(c.status.lastAppliedSpec).toBeTruthy();
    expect(available('api-primary')).toBeDefined();
    for (const svc of ['api', 'api-primary', 'api-canary']) {
      expect(getObject('service', svc, ns)?.metadata.name).toBe(svc);
    }
    expect(getObject('service', 'api', ns)?.spec.selector).toEqual({ app: 'api-primary' });
    const route = getObject('httproute.gateway.networking.k8s.io', 'api', ns);
    expect(route?.spec.parentRefs).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'api', kind: 'Service' })]));
    const backends = route?.spec.rules[0].backendRefs.map((b: { name: string; weight: number }) => `${b.name}=${b.weight}`);
    expect(backends).toEqual(['api-primary=100', 'api-canary=0']);
    // After initialization Flagger scales the target down: the primary serves.
    await eventually('api scaled to zero', 60_000, () => getObject('deployment', 'api', ns)?.spec.replicas === 0);
  });

  // The packaged CLI, built by e2e/run.sh (`npm run build -w canary-watch`).
  const watcher = path.resolve(__dirname, '..', 'watch', 'build', 'cli.js');
  test('the watcher reports the initialized Canary', () => {
    // --current: the Canary is already Initialized when the watcher starts.
    const r = spawnSync(process.execPath, [watcher, 'api', '-n', ns, '--expect', 'initialized', '--current',
      '--timeout', '60s', '--kubeconfig', KUBECONFIG, '--output', 'json', '--no-color'], { encoding: 'utf8', timeout: 90_000 });
    expect({ code: r.status, stdout: r.stdout }).toEqual({ code: 0, stdout: expect.stringMatching(/Initialized/) });
  });
});
