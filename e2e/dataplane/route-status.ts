/**
 * HTTPRoute status as Linkerd's policy controller writes it (linkerd2
 * edge-26.8.3, policy-controller/k8s/status/src/index.rs: make_http_route_patch,
 * http_parent_status, parent_condition_service, backend_condition, accepted,
 * resolved_refs, make_patch; routes/http.rs make_parents/make_backends;
 * service.rs valid_parent_service; core/src/lib.rs POLICY_CONTROLLER_NAME).
 *
 * Every condition is written WITHOUT observedGeneration (`observed_generation:
 * None`), and a patch is made only when the computed parent statuses differ
 * from the stored ones, ignoring times: an update of the route's spec alone
 * does not touch its status. Flagger's `gatewayapi:v1` router waits for the
 * Accepted condition's observedGeneration to reach the route's generation
 * (v1.44.0 pkg/router/gateway_api.go GetRoutes), which Linkerd never writes
 * (linkerd/linkerd2#14964).
 *
 * Not emulated: GRPCRoutes attached to the same parent (RouteReasonConflicted),
 * Servers and EgressNetworks (not listed: they count as missing), Services in
 * other namespaces (only the emulator's namespace is listed).
 *
 * Pure: no client-node at run time, so that it loads under jest.
 */
import { isServiceParent } from './topology';

export const POLICY_CONTROLLER_NAME = 'linkerd.io/policy-controller';
/** The gateway-api crate Linkerd uses binds HTTPRoute to v1: that is the version it patches. */
export const HTTPROUTE_API_VERSION = 'gateway.networking.k8s.io/v1';

export interface Condition {
  readonly lastTransitionTime: string;
  readonly message: string;
  readonly observedGeneration?: number;
  readonly reason: string;
  readonly status: 'True' | 'False';
  readonly type: string;
}

export interface ParentStatus {
  readonly parentRef: {
    readonly group?: string;
    readonly kind?: string;
    readonly namespace?: string;
    readonly name: string;
    readonly sectionName?: string;
    readonly port?: number;
  };
  readonly controllerName: string;
  readonly conditions: readonly Condition[];
}

/** What the status controller knows of a Service (service.rs). */
export interface ServiceInfo {
  readonly namespace: string;
  readonly name: string;
  readonly clusterIP?: string;
  readonly type?: string;
}

/** Kubernetes times are whole seconds. */
export function kubeTime(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function condition(type: string, status: 'True' | 'False', reason: string, message: string, now: string): Condition {
  return { lastTransitionTime: now, message, reason, status, type };
}

function isPolicyKind(ref: any, kind: string): boolean {
  return typeof ref?.kind === 'string' && ref.kind.toLowerCase() === kind.toLowerCase()
    && String(ref.group ?? '').toLowerCase() === 'policy.linkerd.io';
}

/** backend_condition: the first backend that is not a known Service decides. */
function backendCondition(route: any, namespace: string, services: readonly ServiceInfo[], now: string): Condition {
  const backends = (route?.spec?.rules ?? []).flatMap((r: any) => r.backendRefs ?? []);
  for (const b of backends) {
    const kind = b.kind ?? 'Service';
    const group = String(b.group ?? '').toLowerCase();
    const ns = b.namespace ?? namespace;
    if ((group === '' || group === 'core') && String(kind).toLowerCase() === 'service') {
      if (!services.some((s) => s.namespace === ns && s.name === b.name)) return condition('ResolvedRefs', 'False', 'BackendNotFound', '', now);
    } else if (group === 'policy.linkerd.io' && String(kind).toLowerCase() === 'egressnetwork') {
      return condition('ResolvedRefs', 'False', 'BackendNotFound', '', now);
    } else {
      return condition('ResolvedRefs', 'False', 'InvalidKind', '', now);
    }
  }
  return condition('ResolvedRefs', 'True', 'ResolvedRefs', '', now);
}

/** http_parent_status, for each parentRef of a kind Linkerd knows. */
function parentStatuses(route: any, services: readonly ServiceInfo[], now: string): ParentStatus[] {
  const namespace: string = route?.metadata?.namespace ?? 'default';
  const out: ParentStatus[] = [];
  for (const p of route?.spec?.parentRefs ?? []) {
    const ns: string = p.namespace ?? namespace;
    const port = p.port !== undefined && p.port !== null ? { port: p.port as number } : {};
    if (isPolicyKind(p, 'Server')) {
      out.push({
        parentRef: { group: 'policy.linkerd.io', kind: 'Server', namespace: ns, name: p.name },
        controllerName: POLICY_CONTROLLER_NAME,
        conditions: [condition('Accepted', 'False', 'NoMatchingParent', '', now)],
      });
    } else if (isServiceParent(p) || isPolicyKind(p, 'EgressNetwork')) {
      const service = isServiceParent(p);
      const svc = service ? services.find((s) => s.namespace === ns && s.name === p.name) : undefined;
      let accepted: Condition;
      if (!svc) accepted = condition('Accepted', 'False', 'NoMatchingParent', '', now);
      else if (!svc.clusterIP || svc.clusterIP.toLowerCase() === 'none' || svc.type === 'ExternalName') {
        accepted = condition('Accepted', 'False', 'NoMatchingParent', 'parent service must have a ClusterIP', now);
      } else accepted = condition('Accepted', 'True', 'Accepted', '', now);
      out.push({
        parentRef: service
          ? { group: 'core', kind: 'Service', namespace: ns, name: p.name, ...port }
          : { group: 'policy.linkerd.io', kind: 'EgressNetwork', namespace: ns, name: p.name, ...port },
        controllerName: POLICY_CONTROLLER_NAME,
        conditions: [accepted, backendCondition(route, namespace, services, now)],
      });
    }
  }
  return out;
}

function sameRef(a: ParentStatus['parentRef'], b: ParentStatus['parentRef']): boolean {
  const keys = ['group', 'kind', 'namespace', 'name', 'sectionName', 'port'] as const;
  return keys.every((k) => (a[k] ?? undefined) === (b[k] ?? undefined));
}

/** eq_time_insensitive_http_route_parent_statuses. */
export function sameParentStatuses(left: readonly ParentStatus[], right: readonly ParentStatus[]): boolean {
  if (left.length !== right.length) return false;
  // Rust's byte-wise string order, not the locale's.
  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  const order = (a: ParentStatus, b: ParentStatus) => cmp(a.controllerName, b.controllerName)
    || cmp(a.parentRef.name, b.parentRef.name) || cmp(a.parentRef.namespace ?? '', b.parentRef.namespace ?? '');
  const l = [...left].sort(order);
  const r = [...right].sort(order);
  return l.every((x, i) => {
    const y = r[i];
    return sameRef(x.parentRef, y.parentRef) && x.controllerName === y.controllerName
      && x.conditions.length === y.conditions.length
      && x.conditions.every((c, j) => {
        const d = y.conditions[j];
        return c.message === d.message && c.observedGeneration === d.observedGeneration
          && c.reason === d.reason && c.status === d.status && c.type === d.type;
      });
  });
}

/**
 * The merge patch Linkerd's status controller sends to the route's status
 * subresource (make_patch: `apiVersion`, `kind`, a top-level `name` the API
 * server prunes, and `status`), or undefined when the stored status already
 * says the same. Other controllers' parent statuses are kept.
 */
export function httpRouteStatusPatch(route: any, services: readonly ServiceInfo[], now: string): object | undefined {
  const stored: ParentStatus[] = route?.status?.parents ?? [];
  const parents = [
    ...stored.filter((p) => p.controllerName !== POLICY_CONTROLLER_NAME),
    ...parentStatuses(route, services, now),
  ];
  if (sameParentStatuses(parents, stored)) return undefined;
  return { apiVersion: HTTPROUTE_API_VERSION, kind: 'HTTPRoute', name: route?.metadata?.name, status: { parents } };
}
