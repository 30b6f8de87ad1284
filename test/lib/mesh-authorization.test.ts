import { Chart, Testing } from 'cdk8s';
import { Construct } from 'constructs';
import * as linkerd from '../../imports/policy.linkerd.io';
import { CanaryTarget, CanaryTargetProps } from '../../lib/canary-target';
import { LoadTester } from '../../lib/load-tester';
import { MeshAuthorization, MeshAuthorizationProps, MeshServerProtocol } from '../../lib/mesh-authorization';
import { find, only, synthWith, testChart } from '../schema/synth';
import { expectSchemaValid, schemaErrors } from '../schema/validate';

type Json = { [key: string]: any };
type Labels = { [key: string]: string };

const TARGET = { name: 'api', image: 'cyrilbkr/testapp', version: '1.0', port: 3000 };
const INGRESS = { name: 'ingress-nginx', namespace: 'ingress-nginx' };
// A JavaScript caller (or a cast) can hand over what the types forbid.
const loose = <T>(value: unknown) => value as T;

const target = (scope: Construct, props: Partial<CanaryTargetProps> = {}) => new CanaryTarget(scope, 'api', { ...TARGET, ...props });
const authz = (props: MeshAuthorizationProps = {}, scope: Construct = testChart(), id = 'authz') =>
  new MeshAuthorization(scope, id, { target: target(scope), ...props });

/** Flagger v1.44.0 pkg/canary/util.go makePrimaryLabels: the selector label's value gets `-primary`, the rest is copied. */
function primaryLabels(labels: Labels, label = 'app'): Labels {
  return { ...labels, [label]: `${labels[label]}-primary` };
}

/** Kubernetes label selector semantics (matchLabels and matchExpressions ANDed). */
function selects(selector: Json, labels: Labels): boolean {
  const byLabel = Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  const byExpression = (selector.matchExpressions ?? []).every((e: Json) => {
    switch (e.operator) {
      case 'In': return e.key in labels && e.values.includes(labels[e.key]);
      case 'NotIn': return !(e.key in labels) || !e.values.includes(labels[e.key]);
      case 'Exists': return e.key in labels;
      case 'DoesNotExist': return !(e.key in labels);
      default: throw new Error(`unknown operator ${e.operator}`);
    }
  });
  return byLabel && byExpression;
}

describe('MeshAuthorization for a CanaryTarget', () => {
  const objects = synthWith((c) => new MeshAuthorization(c, 'authz', { target: target(c), serviceAccounts: [INGRESS] }));
  const server = only(objects, 'Server', 'api');
  const pod = only(objects, 'Deployment', 'api').spec.template;

  test('Server, MeshTLSAuthentication and AuthorizationPolicy: schema-valid, policies before the Server', () => {
    expectSchemaValid(objects);
    expect(objects.filter((o) => o.kind !== 'Deployment').map((o) => `${o.apiVersion} ${o.kind} ${o.metadata.namespace}/${o.metadata.name}`)).toEqual([
      'policy.linkerd.io/v1alpha1 MeshTLSAuthentication testapi/api-clients',
      'policy.linkerd.io/v1alpha1 AuthorizationPolicy testapi/api-clients',
      'policy.linkerd.io/v1beta3 Server testapi/api',
    ]);
    expect(objects).toMatchSnapshot();
  });

  test('the Server selects the target\'s pods and the pods Flagger copies to <name>-primary, nothing else', () => {
    const selector = server.spec.podSelector;
    expect(selector).toEqual({ matchExpressions: [{ key: 'app', operator: 'In', values: ['api', 'api-primary'] }] });
    expect(selects(selector, pod.metadata.labels)).toBe(true);
    expect(selects(selector, primaryLabels(pod.metadata.labels))).toBe(true);
    // A selector on `app: api` alone would deny every request to the primary.
    expect(selects({ matchLabels: { app: 'api' } }, primaryLabels(pod.metadata.labels))).toBe(false);
    const tester = only(synthWith((c) => new LoadTester(c, 'lt')), 'Deployment').spec.template.metadata.labels;
    expect(selects(selector, tester)).toBe(false);
  });

  test('the Server\'s port is the target\'s container port', () => {
    expect(server.spec.port).toBe(3000);
    expect(pod.spec.containers[0].ports).toEqual([{ containerPort: 3000, name: 'http' }]);
    const named = only(synthWith((c) => new MeshAuthorization(c, 'authz', { target: target(c), port: 'http' })), 'Server');
    expect(named.spec.port).toBe('http');
    const defaultPort = only(synthWith((c) => new MeshAuthorization(c, 'authz', { target: new CanaryTarget(c, 'web', { ...TARGET, name: 'web', port: undefined }) })), 'Server');
    expect(defaultPort.spec.port).toBe(8080);
  });

  test('denies what no policy authorizes, with protocol detection by default', () => {
    expect(server.spec.accessPolicy).toBe('deny');
    expect(server.spec.proxyProtocol).toBe('unknown');
  });

  test('authorizes the namespace\'s meshed clients and the named ServiceAccounts by reference, not by trust domain', () => {
    const mtls = only(objects, 'MeshTLSAuthentication', 'api-clients');
    expect(mtls.spec).toEqual({
      identityRefs: [
        { kind: 'Namespace', name: 'testapi' },
        { kind: 'ServiceAccount', name: 'ingress-nginx', namespace: 'ingress-nginx' },
      ],
    });
    expect(only(objects, 'AuthorizationPolicy', 'api-clients').spec).toEqual({
      targetRef: { group: 'policy.linkerd.io', kind: 'Server', name: 'api' },
      requiredAuthenticationRefs: [{ group: 'policy.linkerd.io', kind: 'MeshTLSAuthentication', name: 'api-clients' }],
    });
  });

  test('identity strings get their own MeshTLSAuthentication and policy: one object cannot hold both lists', () => {
    const out = synthWith((c) => authz({ identities: ['*.edge.serviceaccount.identity.linkerd.cluster.local', 'spiffe://corp.example/ns/edge/sa/gw'] }, c));
    expectSchemaValid(out);
    expect(only(out, 'MeshTLSAuthentication', 'api-identities').spec).toEqual({
      identities: ['*.edge.serviceaccount.identity.linkerd.cluster.local', 'spiffe://corp.example/ns/edge/sa/gw'],
    });
    expect(only(out, 'AuthorizationPolicy', 'api-identities').spec.requiredAuthenticationRefs)
      .toEqual([{ group: 'policy.linkerd.io', kind: 'MeshTLSAuthentication', name: 'api-identities' }]);
    const both = { ...only(out, 'MeshTLSAuthentication', 'api-clients') };
    both.spec = { ...both.spec, identities: ['a.b'] };
    expect(schemaErrors(both).join()).toMatch(/must match exactly one schema in oneOf/);
    expect(out.map((o) => o.kind).slice(-1)).toEqual(['Server']);
  });

  test('exposes name, namespace, port, the selected values and the Server as Resource', () => {
    const a = authz();
    expect([a.name, a.namespace, a.port, a.podSelectorValues]).toEqual(['api', 'testapi', 3000, ['api', 'api-primary']]);
    expect(a.resource).toBeInstanceOf(linkerd.ServerV1Beta3);
    expect(a.node.defaultChild).toBe(a.resource);
    expect(a.node.findChild('Resource')).toBe(a.resource);
  });

  test('audit mode lets unauthorized traffic through, flagged', () => {
    expect(only(synthWith((c) => authz({ auditOnly: true }, c)), 'Server').spec.accessPolicy).toBe('audit');
  });

  test('HTTP/1 and, for a target with TCP probes only, HTTP/2 and gRPC', () => {
    const http1 = synthWith((c) => new MeshAuthorization(c, 'a', { target: target(c, { livenessPath: '/' }), proxyProtocol: MeshServerProtocol.HTTP_1 }));
    expect(only(http1, 'Server').spec.proxyProtocol).toBe('HTTP/1');
    for (const protocol of [MeshServerProtocol.HTTP_2, MeshServerProtocol.GRPC]) {
      expect(only(synthWith((c) => authz({ proxyProtocol: protocol }, c)), 'Server').spec.proxyProtocol).toBe(protocol);
    }
  });
});

describe('MeshAuthorization without a CanaryTarget', () => {
  test('targetName and port, any of Flagger\'s selector labels, a named port', () => {
    const objects = synthWith((c) => new MeshAuthorization(c, 'authz', {
      targetName: 'podinfo', port: 'http', selectorLabel: 'app.kubernetes.io/name', selectorValue: 'podinfo-web', name: 'podinfo-http',
    }));
    expectSchemaValid(objects);
    const server = only(objects, 'Server', 'podinfo-http');
    expect(server.spec.podSelector.matchExpressions).toEqual([{ key: 'app.kubernetes.io/name', operator: 'In', values: ['podinfo-web', 'podinfo-web-primary'] }]);
    expect(server.spec.port).toBe('http');
    expect(only(objects, 'AuthorizationPolicy', 'podinfo-http-clients').spec.targetRef.name).toBe('podinfo-http');
  });

  test('namespace from the props when the chart has none', () => {
    const objects = synthWith((c) => new MeshAuthorization(c, 'authz', { targetName: 'api', port: 3000, namespace: 'shop' }), null);
    expect(objects.map((o) => o.metadata.namespace)).toEqual(['shop', 'shop', 'shop']);
    expect(only(objects, 'MeshTLSAuthentication').spec.identityRefs).toEqual([{ kind: 'Namespace', name: 'shop' }]);
  });

  test('allowNamespace false: only what is named', () => {
    const objects = synthWith((c) => new MeshAuthorization(c, 'authz', {
      targetName: 'api', port: 3000, allowNamespace: false, serviceAccounts: [{ name: 'flagger-loadtester', namespace: 'testapi' }],
    }));
    expectSchemaValid(objects);
    expect(only(objects, 'MeshTLSAuthentication').spec.identityRefs).toEqual([{ kind: 'ServiceAccount', name: 'flagger-loadtester', namespace: 'testapi' }]);
    const onlyIdentities = synthWith((c) => new MeshAuthorization(c, 'authz', { targetName: 'api', port: 3000, allowNamespace: false, identities: ['gw.edge.serviceaccount.identity.linkerd.cluster.local'] }));
    expect(find(onlyIdentities, 'MeshTLSAuthentication').map((o) => o.metadata.name)).toEqual(['api-identities']);
  });

  test('two Servers for two ports of one Deployment', () => {
    const objects = synthWith((c) => {
      new MeshAuthorization(c, 'web', { targetName: 'api', port: 3000, name: 'api-web' });
      new MeshAuthorization(c, 'admin', { targetName: 'api', port: 9090, name: 'api-admin' });
    });
    expectSchemaValid(objects);
    expect(find(objects, 'Server').map((s) => [s.metadata.name, s.spec.port])).toEqual([['api-web', 3000], ['api-admin', 9090]]);
  });
});

describe('addServiceAccount and addIdentity', () => {
  test('add to the lists after construction and return the MeshTLSAuthentication', () => {
    const chart = testChart();
    const a = authz({}, chart);
    const clients = a.addServiceAccount(INGRESS);
    expect(clients).toBeInstanceOf(linkerd.MeshTlsAuthentication);
    expect(a.addServiceAccount({ name: 'gateway', namespace: 'edge' })).toBe(clients);
    const named = a.addIdentity('gw.edge.serviceaccount.identity.linkerd.cluster.local');
    expect(named).not.toBe(clients);
    expect(a.addIdentity('spiffe://corp.example/gw')).toBe(named);
    const objects = Testing.synth(chart);
    expectSchemaValid(objects);
    expect(only(objects, 'MeshTLSAuthentication', 'api-clients').spec.identityRefs.map((r: Json) => r.name)).toEqual(['testapi', 'ingress-nginx', 'gateway']);
    expect(only(objects, 'MeshTLSAuthentication', 'api-identities').spec.identities)
      .toEqual(['gw.edge.serviceaccount.identity.linkerd.cluster.local', 'spiffe://corp.example/gw']);
    // Added later, still applied before the Server.
    expect(objects.map((o) => o.kind).slice(-1)).toEqual(['Server']);
  });
});

describe('MeshAuthorization refuses bad input naming the prop, the value and the rule', () => {
  const other = () => new CanaryTarget(new Chart(Testing.app(), 'other', { namespace: 'shop' }), 'api', TARGET);
  const cases: Array<[string, () => unknown, RegExp]> = [
    ['neither target nor targetName', () => new MeshAuthorization(testChart(), 'a', { port: 3000 }),
      /MeshAuthorization 'a': targetName \(undefined\) must be set when there is no target/],
    ['targetName with a target', () => authz({ targetName: 'web' }),
      /MeshAuthorization 'authz': targetName \('web'\) cannot be combined with target: the target selects its pods by app: <name>/],
    ['selectorLabel with a target', () => authz({ selectorLabel: 'name' }), /selectorLabel \('name'\) cannot be combined with target/],
    ['targetName too long for <name>-primary', () => new MeshAuthorization(testChart(), 'a', { targetName: 'a'.repeat(56), port: 3000 }),
      /targetName \('a{56}'\) must be a DNS-1123 label: at most 55 lowercase letters/],
    ['no port without a target', () => new MeshAuthorization(testChart(), 'a', { targetName: 'api' }),
      /port \(undefined\) must be set when there is no target/],
    ['port out of range', () => new MeshAuthorization(testChart(), 'a', { targetName: 'api', port: 70000 }),
      /port \(70000\) must be an integer from 1 to 65535/],
    ['port name not an IANA name', () => new MeshAuthorization(testChart(), 'a', { targetName: 'api', port: 'HTTP_PORT' }),
      /port \('HTTP_PORT'\) must be an IANA service name/],
    ['port not the target\'s', () => authz({ port: 8080 }),
      /port \(8080\) must be the target's container port \(3000 or 'http'\): the Server would cover no port of its pods/],
    ['no namespace anywhere', () => new MeshAuthorization(testChart(null), 'a', { targetName: 'api', port: 3000 }),
      /namespace \(undefined\) must be set, on the MeshAuthorization or on its chart/],
    ['namespace not the target\'s', () => new MeshAuthorization(testChart(), 'a', { target: other() }),
      /namespace \('testapi'\) must be the target's namespace \('shop'\): a Server selects pods of its own namespace only/],
    ['namespace not DNS-1123', () => new MeshAuthorization(testChart(null), 'a', { targetName: 'api', port: 3000, namespace: 'Shop' }),
      /namespace \('Shop'\) must be a DNS-1123 label/],
    ['selector label Flagger does not use', () => new MeshAuthorization(testChart(), 'a', { targetName: 'api', port: 3000, selectorLabel: 'component' }),
      /selectorLabel \('component'\) must be one of Flagger's selector labels: app, name, app\.kubernetes\.io\/name/],
    ['selector value not a label value', () => new MeshAuthorization(testChart(), 'a', { targetName: 'api', port: 3000, selectorValue: 'api!' }),
      /selectorValue \('api!'\) must be a label value/],
    ['selector value too long once -primary is appended', () => new MeshAuthorization(testChart(), 'a', { targetName: 'api', port: 3000, selectorValue: 'v'.repeat(60) }),
      /selectorValue \('v{60}-primary'\) must be a label value: at most 63/],
    ['name too long for <name>-identities', () => authz({ name: 'n'.repeat(53) }), /name \('n{53}'\) must be a DNS-1123 label: at most 52/],
    ['opaque protocol', () => authz({ proxyProtocol: loose('opaque') }),
      /proxyProtocol \('opaque'\) must be one of unknown, HTTP\/1, HTTP\/2, gRPC: Flagger's Linkerd metrics and Linkerd's probe authorization need HTTP/],
    ['HTTP/2 in front of HTTP probes', () => {
      const c = testChart();
      return new MeshAuthorization(c, 'a', { target: target(c, { readinessPath: '/ready' }), proxyProtocol: MeshServerProtocol.GRPC });
    }, /proxyProtocol \('gRPC'\) cannot serve the target's HTTP probes: the kubelet probes with HTTP\/1\.1; use unknown or HTTP\/1/],
    ['nobody authorized', () => authz({ allowNamespace: false }),
      /allowNamespace \(false\) needs serviceAccounts or identities: no client would be authorized, not even the load tester/],
    ['allowNamespace not a boolean', () => authz({ allowNamespace: loose('no') }), /allowNamespace \('no'\) must be true or false/],
    ['auditOnly not a boolean', () => authz({ auditOnly: loose('yes') }), /auditOnly \('yes'\) must be true or false/],
    ['ServiceAccount of the own namespace with allowNamespace', () => authz({ serviceAccounts: [{ name: 'default', namespace: 'testapi' }] }),
      /serviceAccounts \('testapi\/default'\) is already authorized: every meshed client of namespace 'testapi' is \(allowNamespace\)/],
    ['ServiceAccount listed twice', () => authz({ serviceAccounts: [INGRESS, { ...INGRESS }] }),
      /serviceAccounts \('ingress-nginx\/ingress-nginx'\) is listed twice/],
    ['ServiceAccount without namespace (JavaScript)', () => authz({ serviceAccounts: [loose({ name: 'gw' })] }),
      /serviceAccounts \(\{"name":"gw"\}\) must be a ServiceAccount \{ name, namespace \}/],
    ['ServiceAccount name not DNS-1123', () => authz({ serviceAccounts: [{ name: 'Ingress', namespace: 'edge' }] }),
      /serviceAccounts\.name \('Ingress'\) must be a DNS-1123 subdomain/],
    ['every meshed client', () => authz({ identities: ['*'] }),
      /identities \('\*'\) would authorize every meshed client: name the identities or ServiceAccounts instead/],
    ['wildcard at the end', () => authz({ identities: ['api.testapi.*'] }), /identities \('api\.testapi\.\*'\) must be a mesh identity/],
    ['SPIFFE ID with a dot segment', () => authz({ identities: ['spiffe://corp.example/ns/../gw'] }), /identities \('spiffe:\/\/corp\.example\/ns\/\.\.\/gw'\) must be a mesh identity/],
    ['SPIFFE ID with a trailing slash', () => authz({ identities: ['spiffe://corp.example/'] }), /identities \('spiffe:\/\/corp\.example\/'\) must be a mesh identity/],
    ['identity listed twice', () => authz({ identities: ['a.b', 'a.b'] }), /identities \('a\.b'\) is listed twice/],
    ['a second Server with the same name', () => {
      const c = testChart();
      new MeshAuthorization(c, 'one', { targetName: 'api', port: 3000 });
      return new MeshAuthorization(c, 'two', { targetName: 'web', port: 3000, name: 'api' });
    }, /MeshAuthorization 'two': name \('api'\) is already the name of a Server in namespace 'testapi' \(already used by test\/one\)/],
    ['a second Server on the same pods and port', () => {
      const c = testChart();
      new MeshAuthorization(c, 'one', { targetName: 'api', port: 3000 });
      return new MeshAuthorization(c, 'two', { targetName: 'api', port: 3000, name: 'api-again' });
    }, /port \(3000\) of 'api' is already covered by another Server: Linkerd ignores a second Server on the same pods and port/],
  ];

  test.each(cases)('%s', (_label, build, message) => {
    expect(build).toThrow(message);
  });

  test('every message is one line naming the construct', () => {
    for (const [, build] of cases) {
      let message = 'did not throw';
      try {
        build();
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message).toMatch(/^MeshAuthorization '[a-z]+': [A-Za-z.]+ \(.*\) \S/);
      expect(message).not.toContain('\n');
    }
  });

  test('a refused addIdentity or addServiceAccount leaves the lists as they were', () => {
    const chart = testChart();
    const a = authz({ identities: ['a.b'] }, chart);
    expect(() => a.addIdentity('a.b')).toThrow(/listed twice/);
    expect(() => a.addServiceAccount({ name: 'x', namespace: 'Bad' })).toThrow(/serviceAccounts\.namespace \('Bad'\)/);
    const objects = Testing.synth(chart);
    expect(only(objects, 'MeshTLSAuthentication', 'api-identities').spec.identities).toEqual(['a.b']);
    expect(only(objects, 'MeshTLSAuthentication', 'api-clients').spec.identityRefs).toEqual([{ kind: 'Namespace', name: 'testapi' }]);
  });
});
