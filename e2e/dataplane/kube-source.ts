/**
 * Reads what the data plane follows from the API server by listing every
 * second: pods, Services, and the HTTPRoutes/TrafficSplits Flagger writes.
 * Plain polling is enough at this scale and has no watch to go silently stale.
 */
import * as k8s from '@kubernetes/client-node';
import {
  DEFAULT_IMAGE_PATTERN, PodSpecSummary, ServiceSplit, ServiceSummary,
  splitFromHTTPRoute, splitFromTrafficSplit, summarizePod, summarizeService,
} from './topology';

export interface ClusterSnapshot {
  readonly pods: PodSpecSummary[];
  readonly services: ServiceSummary[];
  readonly splits: ServiceSplit[];
}

const ROUTE_SOURCES = [
  { group: 'gateway.networking.k8s.io', version: 'v1beta1', plural: 'httproutes', parse: splitFromHTTPRoute },
  { group: 'split.smi-spec.io', version: 'v1alpha1', plural: 'trafficsplits', parse: splitFromTrafficSplit },
];

/** client-node 1.4 has no request timeout: a hung call must not stall the loop. */
function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
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

  constructor(kubeconfig: k8s.KubeConfig, private readonly namespace: string,
    private readonly imagePattern: RegExp = DEFAULT_IMAGE_PATTERN) {
    this.core = kubeconfig.makeApiClient(k8s.CoreV1Api);
    this.custom = kubeconfig.makeApiClient(k8s.CustomObjectsApi);
  }

  async snapshot(): Promise<ClusterSnapshot> {
    const namespace = this.namespace;
    const [pods, services, ...routes] = await Promise.all([
      withTimeout(this.core.listNamespacedPod({ namespace }), 5000, 'list pods'),
      withTimeout(this.core.listNamespacedService({ namespace }), 5000, 'list services'),
      ...ROUTE_SOURCES.map((s) => withTimeout(
        this.custom.listNamespacedCustomObject({ group: s.group, version: s.version, namespace, plural: s.plural }),
        5000, `list ${s.plural}`,
      // The CRD may not be installed (TrafficSplit without linkerd-smi): no splits from it.
      ).then((list: { items?: unknown[] }) => (list.items ?? []).flatMap((o) => s.parse(o)), (err: unknown) => {
        if (isNotFound(err)) return [];
        throw err;
      })),
    ]);
    return {
      pods: pods.items.map((p) => summarizePod(p, this.imagePattern)).filter((p): p is PodSpecSummary => p !== undefined),
      services: services.items.map(summarizeService).filter((s): s is ServiceSummary => s !== undefined),
      splits: routes.flat(),
    };
  }
}
