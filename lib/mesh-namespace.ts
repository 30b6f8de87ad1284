import { ApiObject, Chart, JsonPatch } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { checkDnsLabel, invalid } from './validate';

/** Pod Security Standards levels (`pod-security.kubernetes.io/<mode>: <level>`). */
export enum PodSecurityLevel {
  /** Unrestricted. */
  PRIVILEGED = 'privileged',
  /** Prevents known privilege escalations. */
  BASELINE = 'baseline',
  /** Current pod hardening best practice: what the constructs' pods are built to pass. */
  RESTRICTED = 'restricted',
}

/** Props for `MeshNamespace`. */
export interface MeshNamespaceProps {
  /** Name of the namespace. */
  readonly name: string;

  /**
   * Annotate the namespace with `linkerd.io/inject: enabled` so that Linkerd
   * adds its proxy to every pod created in it. The annotation must exist before
   * the pods start: apply the namespace first.
   * @default true
   */
  readonly linkerdInject?: boolean;

  /**
   * Pod Security Standards level enforced (and warned and audited) in the
   * namespace. `restricted` also needs the Linkerd CNI plugin: the default
   * `linkerd-init` container needs NET_ADMIN and is rejected by it.
   * @default - no pod-security.kubernetes.io labels (the cluster default applies)
   */
  readonly podSecurity?: PodSecurityLevel;

  /**
   * Extra labels for the namespace.
   * @default - none
   */
  readonly labels?: { readonly [key: string]: string };
}

/**
 * A namespace whose pods join the Linkerd mesh. Cluster-scoped: it never
 * carries `metadata.namespace`, even inside a chart that has a namespace.
 */
export class MeshNamespace extends Construct {
  /** The namespace name. */
  public readonly name: string;
  /** The underlying cdk8s-plus Namespace. */
  public readonly resource: kplus.Namespace;

  public constructor(scope: Construct, id: string, props: MeshNamespaceProps) {
    super(scope, id);
    const where = `MeshNamespace '${id}'`;
    this.name = props.name;
    checkDnsLabel(where, 'name', this.name);
    const level = props.podSecurity;
    if (level !== undefined && !(Object.values(PodSecurityLevel) as string[]).includes(level)) {
      throw invalid(where, 'podSecurity', level, `must be one of ${Object.values(PodSecurityLevel).join(', ')}`);
    }

    const labels: Record<string, string> = { ...props.labels };
    if (level) {
      for (const mode of ['enforce', 'audit', 'warn']) {
        labels[`pod-security.kubernetes.io/${mode}`] = level;
      }
    }
    this.resource = new kplus.Namespace(this, 'Resource', {
      metadata: {
        name: this.name,
        labels,
        annotations: props.linkerdInject === false ? {} : { 'linkerd.io/inject': 'enabled' },
      },
    });
    // A chart's namespace is stamped onto every object, cluster-scoped or not.
    if (Chart.of(this).namespace !== undefined) {
      ApiObject.of(this.resource).addJsonPatch(JsonPatch.remove('/metadata/namespace'));
    }
  }
}
