import { Lazy } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import type { Canary } from './canary';
import { LoadTester } from './load-tester';
import { checkDnsSubdomain, invalid, resolveNamespace, serviceProxyName } from './validate';

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

/** What `CanaryWatcherRbac.allowMetrics` grants. */
export interface WatcherMetricsAccess {
  /**
   * Address of the Prometheus the Canary's MetricTemplates query, as in the
   * templates: `http://<service>.<namespace>:<port>`.
   */
  readonly prometheusAddress: string;

  /**
   * Namespace of the MetricTemplates.
   * @default - the watcher's namespace
   */
  readonly templateNamespace?: string;
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
  /** Rules granted outside the watcher's namespace (a Role and RoleBinding each), and extra ones inside. */
  private readonly extraRules = new Map<string, k8s.PolicyRule[]>();

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

  /**
   * Lets the account watch this Canary tied to its revision: get on the Canary
   * (by name, as `allowCanary`) and get on its target Deployment, which canary-watch
   * reads to tell the watched revision from others (the target's pod template).
   */
  public watchCanary(canary: Canary): void {
    this.allowCanary(canary.name);
    this.addRule(canary.namespace, { apiGroups: ['apps'], resources: ['deployments'], verbs: ['get'], resourceNames: [canary.targetName] });
  }

  /**
   * Lets `canary-watch promote` and `abort` open this load tester's gates: create
   * on `services/proxy` of its Service only. The API server authorizes a proxy
   * request by the name in its path, `http:<service>:<port>`, which is the form
   * canary-watch uses, so that is the resource name granted.
   */
  public allowGates(loadTester: LoadTester): void {
    const namespace = loadTester.namespace ?? this.namespace;
    this.addRule(namespace, { apiGroups: [''], resources: ['services/proxy'], verbs: ['create'], resourceNames: [loadTester.proxyName] });
  }

  /**
   * Lets `canary-watch status`, `get` and `--metrics` read each check's value:
   * get on MetricTemplates in their namespace, and get on `services/proxy` of the
   * Prometheus Service (by its proxy name `http:<service>:<port>`) in its
   * namespace, through a Role and RoleBinding there.
   */
  public allowMetrics(access: WatcherMetricsAccess): void {
    const where = `CanaryWatcherRbac '${this.node.id}'`;
    const address = access.prometheusAddress;
    const service = serviceProxyName(address);
    if (!service) {
      throw invalid(where, 'allowMetrics.prometheusAddress', address,
        'must be a Service URL http://<service>.<namespace>[:<port>], the form the API server\'s service proxy can reach');
    }
    this.addRule(service.namespace, { apiGroups: [''], resources: ['services/proxy'], verbs: ['get'], resourceNames: [service.name] });
    const templateNamespace = access.templateNamespace ?? this.namespace;
    checkDnsSubdomain(where, 'allowMetrics.templateNamespace', templateNamespace);
    this.addRule(templateNamespace, { apiGroups: ['flagger.app'], resources: ['metrictemplates'], verbs: ['get'] });
  }

  private addRule(namespace: string, rule: k8s.PolicyRule): void {
    const rules = this.extraRules.get(namespace);
    const same = rules?.find((r) => r.apiGroups?.[0] === rule.apiGroups?.[0] && r.resources?.[0] === rule.resources?.[0]
      && r.verbs.join() === rule.verbs.join());
    if (same) {
      if (rule.resourceNames && same.resourceNames && !same.resourceNames.includes(rule.resourceNames[0])) same.resourceNames.push(...rule.resourceNames);
      return;
    }
    if (rules) rules.push({ ...rule, resourceNames: rule.resourceNames ? [...rule.resourceNames] : undefined });
    else {
      this.extraRules.set(namespace, [{ ...rule, resourceNames: rule.resourceNames ? [...rule.resourceNames] : undefined }]);
      if (namespace !== this.namespace) this.grantIn(namespace);
    }
  }

  /** A Role and RoleBinding in another namespace, for the rules granted there. */
  private grantIn(namespace: string): void {
    const metadata = { name: this.name, namespace };
    const id = `In-${namespace}`;
    const role = new k8s.KubeRole(this, `${id}-Role`, { metadata, rules: Lazy.any({ produce: () => this.extraRules.get(namespace) }) });
    new k8s.KubeRoleBinding(this, `${id}-RoleBinding`, {
      metadata,
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role.name },
      subjects: [{ kind: 'ServiceAccount', name: this.resource.name, namespace: this.namespace }],
    });
  }

  private rules(): k8s.PolicyRule[] {
    const names = this.canaryNames.length > 0 ? { resourceNames: [...this.canaryNames] } : {};
    return [
      { apiGroups: ['flagger.app'], resources: ['canaries'], verbs: ['get', 'list', 'watch'], ...names },
      { apiGroups: [''], resources: ['events'], verbs: ['list', 'watch'] },
      ...(this.extraRules.get(this.namespace) ?? []),
    ];
  }
}
