import { Lazy } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { checkDnsSubdomain, resolveNamespace } from './validate';

/** Props for `CanaryWatcherRbac`. */
export interface CanaryWatcherRbacProps {
  /**
   * Name of the ServiceAccount, Role and RoleBinding.
   * @default 'canary-watch'
   */
  readonly name?: string;

  /**
   * Namespace of the Canaries to watch, where all three objects live.
   * @default - the chart's namespace
   */
  readonly namespace?: string;

  /**
   * Canaries the account may read. canary-watch lists and watches with a
   * `metadata.name` field selector, which the API server authorizes against
   * `resourceNames`, so a Role limited to named Canaries is enough.
   * @default - every Canary in the namespace
   */
  readonly canaryNames?: string[];
}

/**
 * Least-privilege RBAC for running `canary-watch` in the cluster (a CI Job):
 * a ServiceAccount and a Role in one namespace allowing get, list and watch
 * on `canaries.flagger.app` and list and watch on core Events (the watcher
 * shows Flagger's Events; it never reads events.k8s.io), bound together.
 */
export class CanaryWatcherRbac extends Construct {
  /** Name of the ServiceAccount, Role and RoleBinding. */
  public readonly name: string;
  /** Namespace of the three objects. */
  public readonly namespace: string;
  /** The ServiceAccount a watcher Job runs as. */
  public readonly resource: k8s.KubeServiceAccount;
  /** The Role with the watcher's permissions. */
  public readonly role: k8s.KubeRole;
  /** Binds the Role to the ServiceAccount. */
  public readonly roleBinding: k8s.KubeRoleBinding;

  private readonly canaryNames: string[] = [];

  public constructor(scope: Construct, id: string, props: CanaryWatcherRbacProps = {}) {
    super(scope, id);
    const where = `CanaryWatcherRbac '${id}'`;
    this.name = props.name ?? 'canary-watch';
    checkDnsSubdomain(where, 'name', this.name);
    const namespace = resolveNamespace(this, where, props.namespace,
      'must be set when the chart has no namespace (a Role is namespaced)');
    this.namespace = namespace;
    (props.canaryNames ?? []).forEach((n) => this.allowCanary(n));

    const metadata = { name: this.name, namespace };
    this.resource = new k8s.KubeServiceAccount(this, 'Resource', { metadata });
    this.role = new k8s.KubeRole(this, 'Role', {
      metadata,
      rules: Lazy.any({ produce: () => this.rules() }),
    });
    this.roleBinding = new k8s.KubeRoleBinding(this, 'RoleBinding', {
      metadata,
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: this.role.name },
      subjects: [{ kind: 'ServiceAccount', name: this.resource.name, namespace }],
    });
  }

  /** Lets the account read one more Canary (once any is named, only named ones are readable). */
  public allowCanary(name: string): void {
    checkDnsSubdomain(`CanaryWatcherRbac '${this.node.id}'`, 'canaryNames', name);
    if (!this.canaryNames.includes(name)) this.canaryNames.push(name);
  }

  private rules(): k8s.PolicyRule[] {
    const names = this.canaryNames.length > 0 ? { resourceNames: [...this.canaryNames] } : {};
    return [
      { apiGroups: ['flagger.app'], resources: ['canaries'], verbs: ['get', 'list', 'watch'], ...names },
      { apiGroups: [''], resources: ['events'], verbs: ['list', 'watch'] },
    ];
  }
}
