/**
 * Emulated Linkerd routing: a request sent to a Service name is split by the
 * apex Service's HTTPRoute/TrafficSplit weights (the client-side proxy's job),
 * balanced over the ready pods selected by the chosen Service, and counted by
 * the destination pod's emulated inbound proxy.
 */
import * as http from 'node:http';
import { RoundRobin, WeightedRoundRobin } from './balancer';
import { ProxyMetrics } from './proxy-metrics';
import { matchRule, PodSpecSummary, selects, ServiceSplit, ServiceSummary, SplitRule } from './topology';

/** A ready pod whose test-API process answers at host:port. */
export interface Endpoint {
  readonly pod: PodSpecSummary;
  readonly host: string;
  readonly port: number;
}

export interface RoutingTable {
  readonly services: readonly ServiceSummary[];
  readonly endpoints: readonly Endpoint[];
  readonly splits: readonly ServiceSplit[];
}

const EMPTY: RoutingTable = { services: [], endpoints: [], splits: [] };

function identity(pod: PodSpecSummary) {
  return { namespace: pod.namespace, deployment: pod.deployment, pod: pod.name };
}

export class ServiceRouter {
  private table: RoutingTable = EMPTY;
  private readonly balancers = new Map<string, RoundRobin>();
  private readonly splitters = new Map<string, { signature: string; wrr: WeightedRoundRobin<string> }>();
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

  constructor(private readonly metrics: ProxyMetrics) {}

  update(table: RoutingTable): void {
    this.table = table;
  }

  /** The Service a request to `service` ends at after the client-side split. */
  resolveBackend(namespace: string, service: string, path: string, headers: http.IncomingHttpHeaders): string | undefined {
    const split = this.table.splits.find((s) => s.namespace === namespace && s.service === service);
    if (!split) return service;
    const rule = matchRule(split, path, headers);
    if (!rule) return service;
    return this.splitter(split, rule).next();
  }

  /** The next ready endpoint of a Service, round robin. */
  pickEndpoint(namespace: string, service: string): Endpoint | undefined {
    const svc = this.table.services.find((s) => s.namespace === namespace && s.name === service);
    if (!svc) return undefined;
    const ready = this.table.endpoints.filter((e) => selects(svc, e.pod));
    const key = `${namespace}/${service}`;
    let rr = this.balancers.get(key);
    if (!rr) {
      rr = new RoundRobin();
      this.balancers.set(key, rr);
    }
    return rr.pick(ready);
  }

  /** Request handler for the listener of one Service. */
  handler(namespace: string, service: string): http.RequestListener {
    return (req, res) => {
      const backend = this.resolveBackend(namespace, service, req.url ?? '/', req.headers);
      const endpoint = backend ? this.pickEndpoint(namespace, backend) : undefined;
      if (!endpoint) {
        res.writeHead(503, { 'content-type': 'text/plain', 'l5d-proxy-error': 'no ready endpoints' });
        res.end(`no ready endpoints for ${backend ?? service}.${namespace}\n`);
        return;
      }
      this.forward(req, res, endpoint);
    };
  }

  close(): void {
    this.agent.destroy();
  }

  /** The destination pod's inbound proxy: forward and count the response. */
  private forward(req: http.IncomingMessage, res: http.ServerResponse, endpoint: Endpoint): void {
    const started = process.hrtime.bigint();
    const elapsedMs = () => Number(process.hrtime.bigint() - started) / 1e6;
    const upstream = http.request({
      host: endpoint.host,
      port: endpoint.port,
      method: req.method,
      path: req.url,
      headers: req.headers,
      agent: this.agent,
    }, (up) => {
      const status = up.statusCode ?? 502;
      this.metrics.observe(identity(endpoint.pod), status, elapsedMs());
      res.writeHead(status, up.headers);
      up.pipe(res);
    });
    upstream.on('error', (err) => {
      // The app behind the proxy is gone: Linkerd's inbound proxy answers 502 itself.
      this.metrics.observe(identity(endpoint.pod), 502, elapsedMs());
      if (!res.headersSent) {
        res.writeHead(502, { 'content-type': 'text/plain', 'l5d-proxy-error': err.message });
      }
      res.end();
    });
    req.pipe(upstream);
  }

  private splitter(split: ServiceSplit, rule: SplitRule): WeightedRoundRobin<string> {
    const key = `${split.namespace}/${split.service}/${split.rules.indexOf(rule)}`;
    const signature = rule.backends.map((b) => `${b.service}=${b.weight}`).join(',');
    const existing = this.splitters.get(key);
    if (existing && existing.signature === signature) return existing.wrr;
    const wrr = new WeightedRoundRobin(rule.backends.map((b) => ({ item: b.service, weight: b.weight })));
    this.splitters.set(key, { signature, wrr });
    return wrr;
  }
}
