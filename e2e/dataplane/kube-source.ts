/**
 * Reads what the data plane follows from the API server by listing every
 * second: pods, Services, and the HTTPRoutes/TrafficSplits Flagger writes.
 * Plain polling is enough at this scale and has no watch to go silently stale.
 * Also writes HTTPRoute status as Linkerd's policy controller would (see
 * route-status.ts): Linkerd's proxies only follow routes it has accepted; and
 * pod status as the kubelet would (see kubelet.ts and pod-status.ts).
 */
import * as k8s from '@kubernetes/client-node';
import { describeStatus, PodStatusView, statusDiffers, statusPatch } from './pod-status';
import { httpRouteStatusPatch, HTTPROUTE_API_VERSION, kubeTime, POLICY_CONTROLLER_NAME } from './route-status';
import {
  HttpRouteIndex, PodSpecSummary, ServiceSplit, ServiceSummary,
  splitFromTrafficSplit, summarizePod, summarizeService,
} from './topology';

export interface ClusterSnapshot {
  readonly pods: PodSpecSummary[];
  readonly services: ServiceSummary[];
  readonly splits: ServiceSplit[];
  /** The HTTPRoutes as listed, for the status writer. */
  readonly httpRoutes: unknown[];
}

/*
 * HTTPRoutes are listed through v1beta1: v1 and v1beta1 are served views of the
 * same stored objects (imports/crds/gateway-api-v1.1.1-httproutes.yaml: both
 * served, v1 the storage version, both with a status subresource), so this
 * sees what either of Flagger's routers (`gatewayapi:v1beta1`, `gatewayapi:v1`)
 * writes. Status is written through v1, as Linkerd does.
 */
const HTTPROUTES = { group: 'gateway.networking.k8s.io', version: 'v1beta1', plural: 'httproutes' };
const TRAFFICSPLITS = { group: 'split.smi-spec.io', version: 'v1alpha1', plural: 'trafficsplits' };
const [STATUS_GROUP, STATUS_VERSION] = HTTPROUTE_API_VERSION.split('/');

/** client-node 1.4 has no request timeout: a hung call must not stall the loop. */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms}ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

function isNotFound(err: unknown): boolean {
  return (err as { code?: number }).code === 404;
}

export class KubeSource {
  private readonly core: k8s.CoreV1Api;
  private readonly custom: k8s.CustomObjectsApi;
  private readonly routeIndex: HttpRouteIndex;

  constructor(kubeconfig: k8s.KubeConfig, private readonly namespace: string, log: (line: string) => void = () => undefined) {
    this.core = kubeconfig.makeApiClient(k8s.CoreV1Api);
    this.custom = kubeconfig.makeApiClient(k8s.CustomObjectsApi);
    this.routeIndex = new HttpRouteIndex(log);
  }

  async snapshot(): Promise<ClusterSnapshot> {
    const namespace = this.namespace;
    // The CRD may not be installed (TrafficSplit without linkerd-smi): nothing from it.
    const list = (s: typeof HTTPROUTES) => withTimeout(
      this.custom.listNamespacedCustomObject({ ...s, namespace }), 5000, `list ${s.plural}`,
    ).then((l: { items?: unknown[] }) => l.items ?? [], (err: unknown) => {
      if (isNotFound(err)) return [];
      throw err;
    });
    const [pods, services, httpRoutes, trafficSplits] = await Promise.all([
      withTimeout(this.core.listNamespacedPod({ namespace }), 5000, 'list pods'),
      withTimeout(this.core.listNamespacedService({ namespace }), 5000, 'list services'),
      list(HTTPROUTES),
      list(TRAFFICSPLITS),
    ]);
    return {
      pods: pods.items.map(summarizePod).filter((p): p is PodSpecSummary => p !== undefined),
      services: services.items.map(summarizeService).filter((s): s is ServiceSummary => s !== undefined),
      splits: [...this.routeIndex.update(httpRoutes), ...trafficSplits.flatMap(splitFromTrafficSplit)],
      httpRoutes,
    };
  }
}

/**
 * Linkerd's status controller for the namespace's HTTPRoutes: a merge patch
 * of `/status` (field manager `linkerd.io/policy-controller`), only for a
 * route whose computed status differs from the stored one.
 */
export class RouteStatusWriter {
  private readonly custom: k8s.CustomObjectsApi;
  private lastError = '';

  constructor(kubeconfig: k8s.KubeConfig, private readonly log: (line: string) => void = () => undefined) {
    this.custom = kubeconfig.makeApiClient(k8s.CustomObjectsApi);
  }

  /** Patches what needs it; returns how many routes were patched. */
  async reconcile(routes: readonly unknown[], services: readonly ServiceSummary[], now = new Date()): Promise<number> {
    let patched = 0;
    for (const route of routes as any[]) {
      const body = httpRouteStatusPatch(route, services, kubeTime(now));
      if (!body) continue;
      const { name, namespace } = route.metadata;
      try {
        await withTimeout(this.custom.patchNamespacedCustomObjectStatus({
          group: STATUS_GROUP, version: STATUS_VERSION, namespace, plural: HTTPROUTES.plural, name, body,
          fieldManager: POLICY_CONTROLLER_NAME,
        }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch)), 5000, `patch httproute ${name} status`);
        patched++;
        const parents = (body as { status: { parents: { parentRef: { name: string }; conditions: { type: string; status: string }[] }[] } }).status.parents;
        this.log(`status httproute ${namespace}/${name}: ${parents.map((p) => `${p.parentRef.name} ${p.conditions.map((c) => `${c.type}=${c.status}`).join(',')}`).join('; ')}`);
        this.lastError = '';
      } catch (err) {
        const msg = `status httproute ${namespace}/${name}: ${(err as Error).message}`;
        if (msg !== this.lastError) this.log(msg);
        this.lastError = msg;
      }
    }
    return patched;
  }
}

/**
 * The kubelet's status manager for the emulated pods: a strategic merge patch
 * of `/status` (field manager `kubelet`) for each pod whose status differs,
 * in anything but times, from what the API server holds. A pod deleted or
 * replaced meanwhile (its uid in the patch is a precondition) is skipped.
 */
export class PodStatusWriter {
  private readonly core: k8s.CoreV1Api;
  private readonly lastError = new Map<string, string>();

  constructor(kubeconfig: k8s.KubeConfig, private readonly log: (line: string) => void = () => undefined) {
    this.core = kubeconfig.makeApiClient(k8s.CoreV1Api);
  }

  /** Patches what needs it; returns how many pods were patched. */
  async reconcile(statuses: readonly PodStatusView[], pods: readonly PodSpecSummary[]): Promise<number> {
    const observed = new Map(pods.map((p) => [`${p.namespace}/${p.name}`, p]));
    let patched = 0;
    for (const view of statuses) {
      const key = `${view.namespace}/${view.name}`;
      const pod = observed.get(key);
      if (!pod || (pod.uid && view.uid && pod.uid !== view.uid) || !statusDiffers(view, pod.observed)) continue;
      try {
        await withTimeout(this.core.patchNamespacedPodStatus({
          name: view.name, namespace: view.namespace, body: statusPatch(view), fieldManager: 'kubelet',
        }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch)), 5000, `patch pod ${view.name} status`);
        patched++;
        this.log(`status pod ${key}: ${describeStatus(view)}`);
        this.lastError.delete(key);
      } catch (err) {
        if (isNotFound(err) || (err as { code?: number }).code === 409) continue;
        const msg = `status pod ${key}: ${(err as Error).message}`;
        if (msg !== this.lastError.get(key)) this.log(msg);
        this.lastError.set(key, msg);
      }
    }
    const current = new Set(statuses.map((v) => `${v.namespace}/${v.name}`));
    for (const key of [...this.lastError.keys()]) if (!current.has(key)) this.lastError.delete(key);
    return patched;
  }
}
