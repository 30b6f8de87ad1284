/**
 * Deliberately broken variants of the demo make the real Flagger report the documented errors,
 * which proves the checks of demo.e2e.test.ts can fail. Each variant lives in its own namespace,
 * built from the synthesized demo objects.
 */
import {
  apply, eventually, getObject, KubeObject, kubectl, readManifests, relocate, sameName, synthDir, warningEvents,
} from './cluster/harness';

const objects = readManifests(synthDir());
const deployment = objects.find(sameName('Deployment', 'api'))!;
const canary = objects.find(sameName('Canary', 'api'))!;
const demoNs = canary.metadata.namespace!;
// Copies of the MetricTemplates keep the variants' canaries otherwise identical to the demo's.
const templates = objects.filter((o) => o.kind === 'MetricTemplate' && o.metadata.namespace === demoNs);

/** Applies a variant of the demo into namespace `ns`; returns apply's result. */
function applyVariant(ns: string, edit: (d: KubeObject, c: KubeObject) => void) {
  const d = relocate(deployment, demoNs, ns);
  const c = relocate(canary, demoNs, ns);
  edit(d, c);
  const namespace: KubeObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } };
  expect(apply([namespace]).code).toBe(0);
  return apply([...templates.map((t) => relocate(t, demoNs, ns)), d, c]);
}

async function flaggerWarning(ns: string, pattern: string): Promise<string> {
  return eventually(`Flagger warning "${pattern}" on canary api.${ns}`, 120_000,
    () => warningEvents('Canary', 'api', ns).find((m) => m.includes(pattern)));
}

describe('Flagger rejects broken demo variants with its documented errors', () => {
  afterAll(() => {
    kubectl(['delete', 'namespace', 'e2e-bad-selector', 'e2e-no-gateway-refs', '--wait=false', '--ignore-not-found']);
  });

  test('a Deployment whose selector lacks app/name/app.kubernetes.io/name', async () => {
    const ns = 'e2e-bad-selector';
    const applied = applyVariant(ns, (d) => {
      d.spec.selector = { matchLabels: { role: 'api' } };
      d.spec.template.metadata.labels = { role: 'api' };
    });
    expect(applied.code).toBe(0); // Kubernetes accepts it: only Flagger can object.
    const msg = await flaggerWarning(ns, 'spec.selector.matchLabels must contain one of');
    // Flagger prefixes it with its call site ("getSelectorLabel failed: ").
    expect(msg).toContain(`deployment api.${ns} spec.selector.matchLabels must contain one of [app name app.kubernetes.io/name]`);
    expect(getObject('deployment', 'api-primary', ns)).toBeUndefined();
    expect(getObject('canary.flagger.app', 'api', ns)?.status?.phase).not.toBe('Initialized');
  });

  test('a Canary without gatewayRefs under the gatewayapi provider', async () => {
    const ns = 'e2e-no-gateway-refs';
    const applied = applyVariant(ns, (_d, c) => {
      delete c.spec.service.gatewayRefs;
    });
    expect(applied.code).toBe(0); // the CRD schema allows it: only Flagger can object.
    const msg = await flaggerWarning(ns, 'GatewayRefs');
    expect(msg).toBe('GatewayRefs must be specified when using Gateway API as a provider.');
    expect(getObject('httproute.gateway.networking.k8s.io', 'api', ns)).toBeUndefined();
    expect(getObject('canary.flagger.app', 'api', ns)?.status?.phase).not.toBe('Initialized');
  });
});
