/**
 * The demo's least privilege on the mesh (MeshAuthorization: a Linkerd Server
 * policy.linkerd.io/v1beta3, a MeshTLSAuthentication and an AuthorizationPolicy),
 * applied to the real API server with Linkerd's policy CRDs (edge-26.8.3, installed by
 * up.sh from imports/crds): accepted as synthesized and read back unchanged, while
 * variants that break the CRDs' schema are refused, so the acceptance can fail.
 */
import { apply, getObject, KubeObject, kubectl, readManifests, relocate, synthDir } from './cluster/harness';

const NS = 'e2e-mesh-authz';
const objects = readManifests(synthDir('main'));
const policy = objects.filter((o) => o.apiVersion.startsWith('policy.linkerd.io/'));
const demoNs = policy[0]?.metadata.namespace ?? 'testapi';
const moved = policy.map((o) => relocate(o, demoNs, NS));
const byKind = (kind: string) => moved.find((o) => o.kind === kind)!;

beforeAll(() => {
  expect(apply([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } }]).code).toBe(0);
});

afterAll(() => {
  kubectl(['delete', 'namespace', NS, '--wait=false', '--ignore-not-found']);
});

test('npm run synth writes the three policy objects of the api', () => {
  expect(policy.map((o) => `${o.apiVersion} ${o.kind}/${o.metadata.name}`).sort()).toEqual([
    'policy.linkerd.io/v1alpha1 AuthorizationPolicy/api-clients',
    'policy.linkerd.io/v1alpha1 MeshTLSAuthentication/api-clients',
    'policy.linkerd.io/v1beta3 Server/api',
  ]);
});

test('the real API server accepts them and keeps them as synthesized', () => {
  const r = apply(moved);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  for (const o of moved) {
    const stored = getObject(`${o.kind}.policy.linkerd.io`, o.metadata.name, NS) as KubeObject & { spec: unknown };
    expect(stored.spec).toEqual((o as KubeObject & { spec: unknown }).spec);
  }
});

test.each([
  ['a Server with both a pod and an external workload selector', 'Server', /The Server "both" is invalid: .*"spec" must validate one and only one schema \(oneOf\)\. Found 2 valid alternatives/,
    (o: any) => ({ ...o, metadata: { ...o.metadata, name: 'both' }, spec: { ...o.spec, externalWorkloadSelector: { matchLabels: { app: 'x' } } } })],
  ['a MeshTLSAuthentication with neither identities nor identityRefs', 'MeshTLSAuthentication', /The MeshTLSAuthentication "none" is invalid:[^]*"spec" must validate one and only one schema \(oneOf\)\. Found none valid/,
    (o: any) => ({ ...o, metadata: { ...o.metadata, name: 'none' }, spec: {} })],
  ['an AuthorizationPolicy without requiredAuthenticationRefs', 'AuthorizationPolicy', /The AuthorizationPolicy "no-refs" is invalid: spec\.requiredAuthenticationRefs: Required value/,
    (o: any) => ({ ...o, metadata: { ...o.metadata, name: 'no-refs' }, spec: { targetRef: o.spec.targetRef } })],
])('the CRD schema refuses %s', (_what, kind, refusal, edit) => {
  // --validate=false: the API server judges, not kubectl's client-side copy of the schema.
  const r = kubectl(['apply', '--server-side', '--dry-run=server', '--validate=false', '--field-manager', 'cdk8s-canary-e2e', '-f', '-'],
    JSON.stringify(edit(byKind(kind))));
  expect(r.code).not.toBe(0);
  expect(r.stderr).toMatch(refusal);
});
