/**
 * The metrics an emulated Linkerd proxy reports for inbound traffic, in the
 * format of Linkerd's proxy (`response_total`, `response_latency_ms`), so that
 * Flagger's Linkerd MetricTemplates run unchanged against them.
 */
import { Counter, Histogram, Registry } from 'prom-client';

/** Linkerd proxy latency buckets, in milliseconds. */
const LATENCY_BUCKETS_MS = [
  1, 2, 3, 4, 5, 10, 20, 30, 40, 50, 100, 200, 300, 400, 500,
  1000, 2000, 3000, 4000, 5000, 10000, 20000, 30000, 40000, 50000,
];

const POD_LABELS = ['direction', 'namespace', 'deployment', 'pod'] as const;

export interface PodIdentity {
  readonly namespace: string;
  readonly deployment: string;
  readonly pod: string;
}

/** Linkerd classifies a response as failure for 5xx only: a 404 is a success. */
export function classify(statusCode: number): 'success' | 'failure' {
  return statusCode >= 500 ? 'failure' : 'success';
}

export class ProxyMetrics {
  readonly registry = new Registry();
  private readonly responses: Counter<string>;
  private readonly latency: Histogram<string>;
  /** Status codes seen per pod, to remove exactly its series when it goes away. */
  private readonly codes = new Map<string, Set<number>>();

  constructor() {
    this.responses = new Counter({
      name: 'response_total',
      help: 'Total count of HTTP responses (emulated Linkerd proxy, inbound).',
      labelNames: [...POD_LABELS, 'classification', 'status_code'],
      registers: [this.registry],
    });
    this.latency = new Histogram({
      name: 'response_latency_ms',
      help: 'Elapsed times between a request\'s headers being received and its response headers being sent (emulated Linkerd proxy).',
      labelNames: [...POD_LABELS, 'status_code'],
      buckets: LATENCY_BUCKETS_MS,
      registers: [this.registry],
    });
  }

  /**
   * Zero-valued series for a pod that just came up, so that its success rate
   * reads 0 requests rather than "no values" before any traffic reaches it.
   */
  addPod(id: PodIdentity): void {
    this.responses.labels(this.labels(id, 200)).inc(0);
    this.responses.labels(this.labels(id, 500)).inc(0);
    this.latency.zero(this.latencyLabels(id, 200));
    this.codes.set(key(id), new Set([200, 500]));
  }

  removePod(id: PodIdentity): void {
    for (const code of this.codes.get(key(id)) ?? []) {
      this.responses.remove(this.labels(id, code));
      this.latency.remove(this.latencyLabels(id, code));
    }
    this.codes.delete(key(id));
  }

  observe(id: PodIdentity, statusCode: number, latencyMs: number): void {
    this.responses.labels(this.labels(id, statusCode)).inc();
    this.latency.labels(this.latencyLabels(id, statusCode)).observe(latencyMs);
    this.codes.get(key(id))?.add(statusCode);
  }

  async exposition(): Promise<string> {
    return this.registry.metrics();
  }

  private latencyLabels(id: PodIdentity, statusCode: number): Record<string, string> {
    return { direction: 'inbound', namespace: id.namespace, deployment: id.deployment, pod: id.pod, status_code: String(statusCode) };
  }

  private labels(id: PodIdentity, statusCode: number): Record<string, string> {
    return {
      direction: 'inbound', namespace: id.namespace, deployment: id.deployment, pod: id.pod,
      classification: classify(statusCode), status_code: String(statusCode),
    };
  }
}

function key(id: PodIdentity): string {
  return `${id.namespace}/${id.pod}`;
}
