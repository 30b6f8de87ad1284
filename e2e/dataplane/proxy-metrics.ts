/**
 * The metrics an emulated Linkerd proxy reports for inbound traffic, in the
 * format of Linkerd's proxy (`response_total`, `response_latency_ms`), so that
 * Flagger's Linkerd MetricTemplates run unchanged against them; and a ledger
 * of the same responses by client workload (see client-identity.ts), which
 * Linkerd's labels do not carry, kept after a pod goes away, so that a test can
 * count the requests each load source sent to each pod (`GET /traffic`).
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

/** Responses counted for one destination pod, client and status since the emulator started. */
export interface TrafficRow {
  readonly namespace: string;
  /** The Service the client addressed (the apex, the canary Service, ...). */
  readonly service: string;
  /** Empty when the client-side proxy answered itself (no route, no ready endpoint). */
  readonly deployment: string;
  readonly pod: string;
  /** The client workload, e.g. `load-generator`, `flagger-loadtester/hey`, `other`. */
  readonly client: string;
  /** The client's process id, when it was found through /proc (one `hey` run). */
  readonly process?: number;
  readonly status: number;
  readonly count: number;
  /** When the first and the last of these responses were counted (ISO 8601). */
  readonly first: string;
  readonly last: string;
}

/** Where a response was counted, and who asked. */
export interface TrafficKey {
  readonly namespace: string;
  readonly service: string;
  readonly client: string;
  readonly process?: number;
  /** Absent when the client-side proxy answered itself. */
  readonly pod?: PodIdentity;
}

export class ProxyMetrics {
  readonly registry = new Registry();
  private readonly responses: Counter<string>;
  private readonly latency: Histogram<string>;
  /** Status codes seen per pod, to remove exactly its series when it goes away. */
  private readonly codes = new Map<string, Set<number>>();
  private readonly ledger = new Map<string, { row: Omit<TrafficRow, 'count' | 'first' | 'last'>; count: number; first: number; last: number }>();

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

  /** A response of the pod's app, counted by the pod's inbound proxy (and in the ledger, when `traffic` is given). */
  observe(id: PodIdentity, statusCode: number, latencyMs: number, traffic?: Omit<TrafficKey, 'pod'>): void {
    // A response that ends after its pod went away is in no scrape (the pod's proxy is no
    // longer a target): recording it would bring back series that removePod cannot see.
    const codes = this.codes.get(key(id));
    if (codes) {
      this.responses.labels(this.labels(id, statusCode)).inc();
      this.latency.labels(this.latencyLabels(id, statusCode)).observe(latencyMs);
      codes.add(statusCode);
    }
    if (traffic) this.count({ ...traffic, pod: id }, statusCode);
  }

  /** Adds one response to the ledger (only there when no pod answered: no inbound proxy saw it). */
  count(where: TrafficKey, statusCode: number, at = Date.now()): void {
    const row = {
      namespace: where.namespace, service: where.service, deployment: where.pod?.deployment ?? '', pod: where.pod?.pod ?? '',
      client: where.client, ...(where.process === undefined ? {} : { process: where.process }), status: statusCode,
    };
    const k = JSON.stringify(row);
    const entry = this.ledger.get(k);
    if (entry) {
      entry.count++;
      entry.last = at;
    } else {
      this.ledger.set(k, { row, count: 1, first: at, last: at });
    }
  }

  /** The ledger: every destination, client and status seen, with its count. */
  traffic(): TrafficRow[] {
    return [...this.ledger.values()].map((e) => ({
      ...e.row, count: e.count, first: new Date(e.first).toISOString(), last: new Date(e.last).toISOString(),
    }));
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
