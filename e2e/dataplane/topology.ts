/**
 * Pure translation of Kubernetes objects into what the emulated data plane needs:
 * which pods get a test-API process, which Services exist, and how the apex
 * Service is split (from Flagger's HTTPRoute or SMI TrafficSplit).
 *
 * Only type imports from client-node: this module loads under jest.
 */
import type { V1Pod, V1Service } from '@kubernetes/client-node';

/** A pod the emulated kubelet runs as a real test-API process. */
export interface PodSpecSummary {
  readonly namespace: string;
  readonly name: string;
  /** Deployment that owns the pod (Linkerd's `deployment` metric label). */
  readonly deployment: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Release taken from the image tag (`cyrilbkr/testapp:2.0` -> `2.0`). */
  readonly version?: string;
  readonly port: number;
  /** Literal env values of the container, passed to the process like a kubelet would. */
  readonly env: Readonly<Record<string, string>>;
  /** Ready condition reported by the (simulated) kubelet, and not terminating. */
  readonly ready: boolean;
}

export interface ServiceSummary {
  readonly namespace: string;
  readonly name: string;
  readonly selector: Readonly<Record<string, string>>;
  readonly ports: readonly number[];
}

export interface WeightedBackend {
  readonly service: string;
  readonly weight: number;
}

/** One traffic-split rule: requests matching it go to the weighted backends. */
export interface SplitRule {
  readonly pathPrefix?: string;
  readonly pathExact?: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly backends: readonly WeightedBackend[];
}

/** Client-side routing for an apex Service, as a Linkerd proxy applies it. */
export interface ServiceSplit {
  readonly namespace: string;
  /** The apex Service this split applies to. */
  readonly service: string;
  readonly source: 'HTTPRoute' | 'TrafficSplit';
  readonly rules: readonly SplitRule[];
}

export const DEFAULT_IMAGE_PATTERN = /testapp|testapi/;

/** Tag of an image reference, ignoring registry ports and digests. */
export function imageTag(image: string): string | undefined {
  const withoutDigest = image.split('@')[0];
  const lastSlash = withoutDigest.lastIndexOf('/');
  const lastColon = withoutDigest.lastIndexOf(':');
  return lastColon > lastSlash ? withoutDigest.slice(lastColon + 1) : undefined;
}

function owningDeployment(pod: V1Pod): string {
  const labels = pod.metadata?.labels ?? {};
  const rs = (pod.metadata?.ownerReferences ?? []).find((o) => o.kind === 'ReplicaSet');
  const hash = labels['pod-template-hash'];
  if (rs && hash && rs.name.endsWith(`-${hash}`)) {
    return rs.name.slice(0, -(hash.length + 1));
  }
  return labels.app ?? labels['app.kubernetes.io/name'] ?? labels.name ?? pod.metadata?.name ?? '';
}

function isReady(pod: V1Pod): boolean {
  if (pod.metadata?.deletionTimestamp) return false;
  if (pod.status?.phase !== 'Running') return false;
  return (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

/**
 * The emulated view of a pod, or undefined when none of its containers runs the
 * test API (other pods, such as a load generator, are not emulated).
 */
export function summarizePod(pod: V1Pod, imagePattern: RegExp = DEFAULT_IMAGE_PATTERN): PodSpecSummary | undefined {
  const container = (pod.spec?.containers ?? []).find((c) => c.image !== undefined && imagePattern.test(c.image));
  if (!container || !pod.metadata?.name) return undefined;
  const env: Record<string, string> = {};
  for (const e of container.env ?? []) {
    if (e.value !== undefined) env[e.name] = e.value;
  }
  return {
    namespace: pod.metadata.namespace ?? 'default',
    name: pod.metadata.name,
    deployment: owningDeployment(pod),
    labels: pod.metadata.labels ?? {},
    version: imageTag(container.image ?? ''),
    port: container.ports?.[0]?.containerPort ?? 3000,
    env,
    ready: isReady(pod),
  };
}

export function summarizeService(svc: V1Service): ServiceSummary | undefined {
  if (!svc.metadata?.name) return undefined;
  return {
    namespace: svc.metadata.namespace ?? 'default',
    name: svc.metadata.name,
    selector: svc.spec?.selector ?? {},
    ports: (svc.spec?.ports ?? []).map((p) => p.port),
  };
}

/** A Service with an empty selector selects nothing (its endpoints are managed by hand). */
export function selects(service: ServiceSummary, pod: PodSpecSummary): boolean {
  const entries = Object.entries(service.selector);
  return pod.namespace === service.namespace && entries.length > 0
    && entries.every(([k, v]) => pod.labels[k] === v);
}

/** Gateway API HTTPRoute whose parent is a Service (Linkerd's GAMMA routing). */
export function splitFromHTTPRoute(route: any): ServiceSplit[] {
  const namespace: string = route?.metadata?.namespace ?? 'default';
  const parents: any[] = route?.spec?.parentRefs ?? [];
  const rules: SplitRule[] = [];
  for (const rule of route?.spec?.rules ?? []) {
    const backends: WeightedBackend[] = (rule.backendRefs ?? [])
      .filter((b: any) => (b.kind ?? 'Service') === 'Service')
      .map((b: any) => ({ service: b.name, weight: b.weight ?? 1 }));
    const matches: any[] = rule.matches?.length ? rule.matches : [{}];
    for (const m of matches) {
      const headers: Record<string, string> = {};
      for (const h of m.headers ?? []) {
        if ((h.type ?? 'Exact') === 'Exact') headers[String(h.name).toLowerCase()] = h.value;
      }
      const pathType = m.path?.type ?? 'PathPrefix';
      rules.push({
        pathPrefix: pathType === 'PathPrefix' ? m.path?.value ?? '/' : undefined,
        pathExact: pathType === 'Exact' ? m.path?.value : undefined,
        headers,
        backends,
      });
    }
  }
  return parents
    .filter((p) => (p.kind ?? 'Gateway') === 'Service')
    .map((p) => ({ namespace: p.namespace ?? namespace, service: p.name, source: 'HTTPRoute' as const, rules }));
}

/** SMI weights are quantities (`90`, `"90"`, `"900m"`); only ratios matter. */
function quantity(value: unknown): number {
  if (typeof value === 'number') return value;
  const s = String(value ?? '0');
  return s.endsWith('m') ? Number(s.slice(0, -1)) / 1000 : Number(s);
}

/** SMI TrafficSplit, written by Flagger's `linkerd` provider. */
export function splitFromTrafficSplit(ts: any): ServiceSplit[] {
  if (!ts?.spec?.service) return [];
  const backends: WeightedBackend[] = (ts.spec.backends ?? [])
    .map((b: any) => ({ service: b.service, weight: quantity(b.weight) }));
  return [{
    namespace: ts.metadata?.namespace ?? 'default',
    service: ts.spec.service,
    source: 'TrafficSplit',
    rules: [{ headers: {}, backends }],
  }];
}

/** The rule a request follows: the first whose path and headers match. */
export function matchRule(split: ServiceSplit, path: string, headers: Readonly<Record<string, string | string[] | undefined>>): SplitRule | undefined {
  const pathname = path.split('?')[0];
  return split.rules.find((r) => {
    if (r.pathExact !== undefined && pathname !== r.pathExact) return false;
    if (r.pathPrefix !== undefined && !pathname.startsWith(r.pathPrefix)) return false;
    return Object.entries(r.headers).every(([k, v]) => headers[k] === v);
  });
}

/** Human-readable weights, e.g. `api-primary=90 api-canary=10`. */
export function describeSplit(split: ServiceSplit): string {
  const rule = split.rules[split.rules.length - 1];
  return rule ? rule.backends.map((b) => `${b.service}=${b.weight}`).join(' ') : '(no rules)';
}
