import { ApiObject, Chart, Lazy } from 'cdk8s';
import { Construct } from 'constructs';
import * as linkerd from '../imports/policy.linkerd.io';
import { CanaryTarget } from './canary-target';
import { checkDnsLabel, checkDnsSubdomain, checkLabelValue, checkPort, checkPortName, claimUnique, invalid, resolveNamespace } from './validate';

/**
 * How the Linkerd proxy reads inbound connections on the Server's port (the
 * Server's `proxyProtocol`). Only HTTP kinds are offered: Flagger judges the
 * canary by the proxy's HTTP metrics (`response_total`), and Linkerd
 * authorizes the kubelet's HTTP probes on HTTP routes only.
 */
export enum MeshServerProtocol {
  /** Protocol detection, as on a port without a Server (`unknown`). */
  DETECT = 'unknown',
  /** HTTP/1.x without detection. */
  HTTP_1 = 'HTTP/1',
  /** HTTP/2 with prior knowledge. The kubelet's HTTP probes (HTTP/1.1) cannot pass it. */
  HTTP_2 = 'HTTP/2',
  /** gRPC (HTTP/2). The kubelet's HTTP probes (HTTP/1.1) cannot pass it. */
  GRPC = 'gRPC',
}

/** A Kubernetes ServiceAccount whose meshed pods may call the target. */
export interface MeshServiceAccount {
  /** Name of the ServiceAccount. */
  readonly name: string;
  /** Namespace of the ServiceAccount. */
  readonly namespace: string;
}

/** Props for `MeshAuthorization`. */
export interface MeshAuthorizationProps {
  /**
   * The canaried workload. Gives `targetName` and `port`; its pods are
   * selected by `app: <name>`, the primary's by `app: <name>-primary`.
   * @default - none: `targetName` and `port` must be set
   */
  readonly target?: CanaryTarget;

  /**
   * Name of the Deployment a Flagger Canary targets, when it is not a `CanaryTarget`.
   * @default - `target.name`; one of `target` and `targetName` must be set
   */
  readonly targetName?: string;

  /**
   * Container port (number or name) the Server covers. With a `target` it
   * must be the target's container port, by number or name.
   * @default - the target's container port number; required without `target`
   */
  readonly port?: number | string;

  /**
   * Label the Deployment selects its pods by: one of Flagger's default
   * selector labels. Flagger gives the primary's pods the same label with
   * `-primary` appended to its value.
   * @default 'app' (what `CanaryTarget` uses)
   */
  readonly selectorLabel?: string;

  /**
   * Value of `selectorLabel` on the target's pods.
   * @default - `targetName`
   */
  readonly selectorValue?: string;

  /**
   * Namespace of the target, and of the Server and policies.
   * @default - the chart's namespace; one of the two must be set
   */
  readonly namespace?: string;

  /**
   * Name of the Server; the MeshTLSAuthentications and AuthorizationPolicies
   * are `<name>-clients` and `<name>-identities`.
   * @default - `targetName`
   */
  readonly name?: string;

  /**
   * Authorize every meshed client of the target's own namespace (the load
   * tester and the load generator run there).
   * @default true
   */
  readonly allowNamespace?: boolean;

  /**
   * ServiceAccounts of other namespaces whose meshed pods may call the
   * target, for example an ingress controller's.
   * @default - none
   */
  readonly serviceAccounts?: MeshServiceAccount[];

  /**
   * Further mesh identities allowed to call the target: DNS-like names
   * (`*.<namespace>.serviceaccount.identity.<control plane namespace>.<trust domain>`
   * matches a whole namespace) or SPIFFE IDs.
   * @default - none
   */
  readonly identities?: string[];

  /**
   * How the proxy reads inbound connections on the port.
   * @default MeshServerProtocol.DETECT
   */
  readonly proxyProtocol?: MeshServerProtocol;

  /**
   * Audit mode: traffic that no policy authorizes is let through but flagged
   * in the proxy's logs and metrics (`accessPolicy: audit`), to check the
   * policy before enforcing it.
   * @default false (such traffic is denied)
   */
  readonly auditOnly?: boolean;
}

// Flagger v1.44.0's default `-selector-labels`.
const SELECTOR_LABELS = ['app', 'name', 'app.kubernetes.io/name'];
// Linkerd's admission check for MeshTLSAuthentication identities
// (policy-controller/runtime/src/validation.rs, DNS_LIKE_IDENTITY_REGEX and the SPIFFE rules).
const DNS_LIKE_IDENTITY = /^(\*|[a-z0-9]([-a-z0-9]*[a-z0-9])?)(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const SPIFFE_ID = /^spiffe:\/\/[a-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/;
const POLICY_GROUP = 'policy.linkerd.io';

/**
 * Least privilege on the mesh for a canaried service: a Linkerd `Server` on
 * the target's container port, selecting both the target's pods and the
 * `<name>-primary` pods Flagger copies from them, and AuthorizationPolicies
 * that let in only meshed clients of the target's namespace plus the
 * ServiceAccounts and identities named. Once a Server covers a port, Linkerd
 * denies whatever no policy authorizes.
 *
 * What keeps working (Linkerd edge-26.8.3 policy controller):
 * - Flagger itself never calls the app: it calls the load tester and
 *   Prometheus. The load tester and the load generator run meshed in the
 *   namespace (`allowNamespace`).
 * - Prometheus scrapes the proxy's admin port 4191 (`linkerd-admin`), which
 *   this Server does not cover: the default inbound policy still applies there
 *   (with a `deny` default, `linkerd viz allow-scrapes` authorizes it).
 * - The kubelet's HTTP probes are authorized by Linkerd on a Server that no
 *   policy HTTPRoute attaches to (since 2.12); Flagger's HTTPRoute has the
 *   Service as parent and does not attach. TCP probes reach the proxy, which
 *   always accepts the connection.
 *
 * Needs Linkerd 2.16 or later (`policy.linkerd.io/v1beta3` Server). The
 * policies come before the Server in the manifest, so the Server never exists
 * without them.
 */
export class MeshAuthorization extends Construct {
  /** Name of the Server. */
  public readonly name: string;
  /** Namespace of the Server and the policies. */
  public readonly namespace: string;
  /** The container port the Server covers (number or name). */
  public readonly port: number | string;
  /** Values of the selector label the Server selects: the target's and the primary's. */
  public readonly podSelectorValues: string[];
  /** The generated Linkerd Server (`policy.linkerd.io/v1beta3`). */
  public readonly resource: linkerd.ServerV1Beta3;

  private readonly where: string;
  private readonly allowNamespace: boolean;
  private readonly serviceAccounts: MeshServiceAccount[] = [];
  private readonly identities: string[] = [];
  private clients?: linkerd.MeshTlsAuthentication;
  private named?: linkerd.MeshTlsAuthentication;

  public constructor(scope: Construct, id: string, props: MeshAuthorizationProps = {}) {
    super(scope, id);
    const where = `MeshAuthorization '${id}'`;
    this.where = where;
    const target = props.target;
    if (target !== undefined) {
      for (const [prop, value] of [['targetName', props.targetName], ['selectorLabel', props.selectorLabel], ['selectorValue', props.selectorValue]]) {
        if (value !== undefined) {
          throw invalid(where, prop as string, value, 'cannot be combined with target: the target selects its pods by app: <name>');
        }
      }
    }
    const targetName = target?.name ?? props.targetName;
    if (targetName === undefined) throw invalid(where, 'targetName', targetName, 'must be set when there is no target');
    checkDnsLabel(where, 'targetName', targetName, 63 - '-primary'.length);

    const namespace = resolveNamespace(this, where, props.namespace,
      'must be set, on the MeshAuthorization or on its chart: the Server and the namespace\'s clients are found by it');
    const targetNamespace = target === undefined ? undefined : Chart.of(target).namespace;
    if (targetNamespace !== undefined && targetNamespace !== namespace) {
      throw invalid(where, 'namespace', namespace, `must be the target's namespace ('${targetNamespace}'): a Server selects pods of its own namespace only`);
    }
    this.namespace = namespace;

    this.port = this.resolvePort(props.port, target);
    const label = props.selectorLabel ?? 'app';
    if (!SELECTOR_LABELS.includes(label)) {
      throw invalid(where, 'selectorLabel', label, `must be one of Flagger's selector labels: ${SELECTOR_LABELS.join(', ')}`);
    }
    const value = props.selectorValue ?? targetName;
    checkLabelValue(where, 'selectorValue', value);
    // Flagger v1.44.0 pkg/canary/deployment_controller.go: the primary's pods get `<label>: <value>-primary`.
    checkLabelValue(where, 'selectorValue', `${value}-primary`);
    this.podSelectorValues = [value, `${value}-primary`];

    this.name = props.name ?? targetName;
    checkDnsLabel(where, 'name', this.name, 63 - '-identities'.length);

    const protocol = props.proxyProtocol ?? MeshServerProtocol.DETECT;
    const protocols = Object.values(MeshServerProtocol) as string[];
    if (!protocols.includes(protocol)) {
      throw invalid(where, 'proxyProtocol', protocol,
        `must be one of ${protocols.join(', ')}: Flagger's Linkerd metrics and Linkerd's probe authorization need HTTP`);
    }
    if (target !== undefined && (protocol === MeshServerProtocol.HTTP_2 || protocol === MeshServerProtocol.GRPC) && hasHttpProbe(target)) {
      throw invalid(where, 'proxyProtocol', protocol,
        `cannot serve the target's HTTP probes: the kubelet probes with HTTP/1.1; use ${MeshServerProtocol.DETECT} or ${MeshServerProtocol.HTTP_1}`);
    }

    this.allowNamespace = props.allowNamespace ?? true;
    if (typeof this.allowNamespace !== 'boolean') throw invalid(where, 'allowNamespace', this.allowNamespace, 'must be true or false');
    const auditOnly = props.auditOnly ?? false;
    if (typeof auditOnly !== 'boolean') throw invalid(where, 'auditOnly', auditOnly, 'must be true or false');
    if (!this.allowNamespace && (props.serviceAccounts ?? []).length === 0 && (props.identities ?? []).length === 0) {
      throw invalid(where, 'allowNamespace', false,
        'needs serviceAccounts or identities: no client would be authorized, not even the load tester, and every analysis would fail');
    }

    claimUnique(this, where, 'name', this.name, `Server ${namespace}/${this.name}`,
      `is already the name of a Server in namespace '${namespace}'`);
    claimUnique(this, where, 'port', this.port, `Server port ${namespace}/${label}=${value}:${this.port}`,
      `of '${value}' is already covered by another Server: Linkerd ignores a second Server on the same pods and port`);

    this.resource = new linkerd.ServerV1Beta3(this, 'Resource', {
      metadata: { name: this.name, namespace },
      spec: {
        podSelector: {
          matchExpressions: [{ key: label, operator: linkerd.ServerV1Beta3SpecPodSelectorMatchExpressionsOperator.IN, values: this.podSelectorValues }],
        },
        port: this.port,
        proxyProtocol: protocol,
        accessPolicy: auditOnly ? 'audit' : 'deny',
      },
    });
    if (this.allowNamespace) this.clientsAuthentication();
    for (const account of props.serviceAccounts ?? []) this.addServiceAccount(account);
    for (const identity of props.identities ?? []) this.addIdentity(identity);
  }

  /**
   * Authorizes the meshed pods of a ServiceAccount and returns the
   * MeshTLSAuthentication (`<name>-clients`) that lists it.
   */
  public addServiceAccount(account: MeshServiceAccount): linkerd.MeshTlsAuthentication {
    const { name, namespace } = (account ?? {}) as Partial<MeshServiceAccount>;
    const prop = 'serviceAccounts';
    if (typeof name !== 'string' || typeof namespace !== 'string') {
      throw invalid(this.where, prop, account, 'must be a ServiceAccount { name, namespace }');
    }
    checkDnsSubdomain(this.where, `${prop}.name`, name);
    checkDnsLabel(this.where, `${prop}.namespace`, namespace);
    if (this.allowNamespace && namespace === this.namespace) {
      throw invalid(this.where, prop, `${namespace}/${name}`,
        `is already authorized: every meshed client of namespace '${namespace}' is (allowNamespace)`);
    }
    if (this.serviceAccounts.some((a) => a.name === name && a.namespace === namespace)) {
      throw invalid(this.where, prop, `${namespace}/${name}`, 'is listed twice');
    }
    this.serviceAccounts.push({ name, namespace });
    return this.clientsAuthentication();
  }

  /**
   * Authorizes a mesh identity (DNS-like, `*.` for a whole domain, or a SPIFFE
   * ID) and returns the MeshTLSAuthentication (`<name>-identities`) that lists it.
   */
  public addIdentity(identity: string): linkerd.MeshTlsAuthentication {
    const prop = 'identities';
    if (typeof identity !== 'string' || !(DNS_LIKE_IDENTITY.test(identity) || validSpiffeId(identity))) {
      throw invalid(this.where, prop, identity,
        'must be a mesh identity: a DNS-like name such as \'ingress.ingress-nginx.serviceaccount.identity.linkerd.cluster.local\' (\'*.\' prefix for a whole domain) or a SPIFFE ID');
    }
    if (identity === '*') {
      throw invalid(this.where, prop, identity, 'would authorize every meshed client: name the identities or ServiceAccounts instead');
    }
    if (this.identities.includes(identity)) throw invalid(this.where, prop, identity, 'is listed twice');
    this.identities.push(identity);
    this.named ??= this.authorize('Identities', `${this.name}-identities`, { identities: Lazy.any({ produce: () => [...this.identities] }) });
    return this.named;
  }

  /** The MeshTLSAuthentication of the namespace and the ServiceAccounts, created with its policy on first use. */
  private clientsAuthentication(): linkerd.MeshTlsAuthentication {
    // identityRefs, not identities: Linkerd derives the identity strings with
    // the cluster's own control plane namespace and trust domain.
    // A MeshTLSAuthentication takes one of the two lists (CRD oneOf), hence two objects.
    this.clients ??= this.authorize('Clients', `${this.name}-clients`, {
      identityRefs: Lazy.any({
        produce: () => [
          ...this.allowNamespace ? [{ kind: 'Namespace', name: this.namespace }] : [],
          ...this.serviceAccounts.map((a) => ({ kind: 'ServiceAccount', name: a.name, namespace: a.namespace })),
        ],
      }),
    });
    return this.clients;
  }

  /** A MeshTLSAuthentication and the AuthorizationPolicy that admits it to the Server. */
  private authorize(id: string, name: string, spec: linkerd.MeshTlsAuthenticationSpec): linkerd.MeshTlsAuthentication {
    const metadata = { name, namespace: this.namespace };
    const authentication = new linkerd.MeshTlsAuthentication(this, id, { metadata, spec });
    const policy = new linkerd.AuthorizationPolicy(this, `${id}Policy`, {
      metadata,
      spec: {
        targetRef: { group: POLICY_GROUP, kind: 'Server', name: this.name },
        requiredAuthenticationRefs: [{ group: POLICY_GROUP, kind: 'MeshTLSAuthentication', name }],
      },
    });
    policy.addDependency(authentication);
    this.resource.addDependency(policy);
    return authentication;
  }

  private resolvePort(port: number | string | undefined, target: CanaryTarget | undefined): number | string {
    const resolved = port ?? target?.port;
    if (resolved === undefined) throw invalid(this.where, 'port', resolved, 'must be set when there is no target');
    if (typeof resolved === 'number') checkPort(this.where, 'port', resolved);
    else checkPortName(this.where, 'port', resolved);
    if (target !== undefined && resolved !== target.port && resolved !== target.portName) {
      throw invalid(this.where, 'port', resolved,
        `must be the target's container port (${target.port} or '${target.portName}'): the Server would cover no port of its pods`);
    }
    return resolved;
  }
}

/** SPIFFE ID as Linkerd's admission accepts it: a trust domain, then segments that are neither empty nor dot segments. */
function validSpiffeId(id: string): boolean {
  return SPIFFE_ID.test(id) && !id.slice('spiffe://'.length).split('/').slice(1).some((s) => s === '.' || s === '..');
}

/** Whether a container of the target probes over HTTP (read from its synthesized pod spec). */
function hasHttpProbe(target: CanaryTarget): boolean {
  const pod = ApiObject.of(target.resource).toJson().spec.template.spec;
  return (pod.containers as Array<Record<string, { httpGet?: unknown } | undefined>>).some((c) =>
    ['livenessProbe', 'readinessProbe', 'startupProbe'].some((p) => c[p]?.httpGet !== undefined));
}
