/**
 * Emulated Linkerd routing: a request sent to a Service name is split by the
 * apex Service's HTTPRoute/TrafficSplit (the client-side proxy's job: rule
 * choice, filters, weights), balanced over the ready pods selected by the
 * chosen Service, and counted by the destination pod's emulated inbound proxy.
 *
 * Filters as the outbound proxy applies them (linkerd2-proxy v2.366,
 * linkerd/app/outbound/src/http/logical/policy/route.rs and route/filters.rs):
 * the rule's filters wrap the backend distribution, so on a request the rule's
 * filters run first and then the chosen backend's, on a response the
 * backend's first and then the rule's. A header modifier (linkerd/http/route/
 * src/http/filter/modify_header.rs) appends `add` as extra lines, replaces
 * with `set`, then drops `remove`. Failures the proxy makes up itself carry
 * the reason in `l5d-proxy-error` and reach no pod.
 *
 * Every response is also counted by client workload (`identify`, see
 * client-identity.ts) in the metrics' ledger, whether a pod or the proxy answered.
 */
import * as http from 'node:http';
import * as net from 'node:net';
import { RoundRobin, WeightedRoundRobin } from './balancer';
import { Client, OTHER_CLIENT } from './client-identity';
import { ProxyMetrics, TrafficKey } from './proxy-metrics';
import {
  HeaderModifier, matchRule, PodSpecSummary, RequestInfo, RequestRedirect, RouteFilter, RuleChoice, selects,
  ServiceSplit, ServiceSummary, SplitRule, WeightedBackend,
} from './topology';

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

/** Header lines by lower-case name, as `headersDistinct` gives them. */
export type HeaderLines = Record<string, string[]>;

/** Where a request goes after the client-side proxy's routing. */
export type RouteDecision =
  | {
    readonly kind: 'forward';
    readonly namespace: string;
    readonly service: string;
    /** Request headers after the request filters. */
    readonly headers: HeaderLines;
    /** Response filters, in the order they apply. */
    readonly responseFilters: readonly HeaderModifier[];
  }
  /** The proxy answers itself (no route, invalid backend, redirect). */
  | { readonly kind: 'respond'; readonly status: number; readonly error?: string; readonly location?: string };

const EMPTY: RoutingTable = { services: [], endpoints: [], splits: [] };

function identity(pod: PodSpecSummary) {
  return { namespace: pod.namespace, deployment: pod.deployment, pod: pod.name };
}

/** modify_header.rs `ModifyHeader::apply`. */
export function modifyHeaders(headers: HeaderLines, m: HeaderModifier): void {
  for (const { name, value } of m.add) (headers[name] ??= []).push(value);
  for (const { name, value } of m.set) headers[name] = [value];
  for (const name of m.remove) delete headers[name];
}

/** For Node's http: one line as a string, several as an array (each sent as its own line). */
function outgoing(headers: HeaderLines): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(headers)) out[k] = v.length === 1 || k === 'host' ? v[0] : v;
  return out;
}

function copyLines(headers: NodeJS.Dict<string[]>): HeaderLines {
  const out: HeaderLines = {};
  for (const [k, v] of Object.entries(headers)) if (v) out[k] = [...v];
  return out;
}

/**
 * redirect.rs `RedirectRequest::apply`: the Location, or undefined when it
 * would be the request's own URI. Linkerd's default status is 301.
 */
export function redirectLocation(r: RequestRedirect, choice: RuleChoice, path: string, host: string | undefined): string | undefined {
  const scheme = r.scheme ?? 'http';
  const defaultPort = scheme === 'https' ? 443 : 80;
  const m = host?.match(/^(.*?)(?::(\d+))?$/);
  const origHost = m?.[1];
  const origPort = m?.[2] !== undefined ? Number(m[2]) : undefined;
  let authority: string | undefined;
  if (r.hostname && r.port) authority = `${r.hostname}:${r.port}`;
  else if (r.hostname) authority = origPort !== undefined && origPort !== defaultPort ? `${r.hostname}:${origPort}` : r.hostname;
  else if (r.port && r.port !== defaultPort && r.port !== origPort) authority = origHost && `${origHost}:${r.port}`;
  else if (r.port === defaultPort && origPort !== undefined) authority = origHost;
  else authority = host;
  if (!authority) throw new Error('no authority to redirect to');
  let target = path;
  if (r.path?.type === 'ReplaceFullPath') target = r.path.value;
  else if (r.path?.type === 'ReplacePrefixMatch') {
    const q = path.indexOf('?');
    const pathOnly = q < 0 ? path : path.slice(0, q);
    const length = choice.summary[0];
    if ((choice.match?.path?.type ?? 'PathPrefix') !== 'PathPrefix' || length > pathOnly.length) {
      throw new Error('redirects may only replace the path prefix when a path prefix match applied');
    }
    const rest = pathOnly.slice(length);
    target = `${r.path.value}${rest !== '' && !rest.startsWith('/') ? '/' : ''}${rest}${q < 0 ? '' : path.slice(q)}`;
  }
  const location = `${scheme}://${authority}${target}`;
  return location === `http://${host}${path}` ? undefined : location;
}

export class ServiceRouter {
  private table: RoutingTable = EMPTY;
  private readonly balancers = new Map<string, RoundRobin>();
  private readonly splitters = new Map<string, { signature: string; wrr: WeightedRoundRobin<WeightedBackend> }>();
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  /** The client of each accepted connection, named once. */
  private readonly clients = new WeakMap<net.Socket, Client>();

  /** @param identify names the client workload of a connection; by default every client is `other` */
  constructor(private readonly metrics: ProxyMetrics,
    private readonly identify: (socket: net.Socket) => Client = () => ({ name: OTHER_CLIENT })) {}

  update(table: RoutingTable): void {
    this.table = table;
  }

  /**
   * What the client-side proxy does with a request to `service` (on `port`,
   * if known): the splits of routes accepted for it, the rule that matches
   * best, its filters, the next backend by weight and that backend's filters.
   * Without a split the request goes to the Service itself.
   */
  route(namespace: string, service: string, port: number | undefined, request: RequestInfo & { headers: NodeJS.Dict<string[]> }): RouteDecision {
    const headers = copyLines(request.headers);
    const splits = this.table.splits.filter((s) => s.namespace === namespace && s.service === service
      && (port === undefined || s.port === undefined || s.port === port));
    if (splits.length === 0) return { kind: 'forward', namespace, service, headers, responseFilters: [] };
    const choice = matchRule(splits, request);
    if (!choice) return { kind: 'respond', status: 404, error: 'no route' };
    const responseFilters: HeaderModifier[] = [];
    const apply = (filters: readonly RouteFilter[]): RouteDecision | undefined => {
      for (const f of filters) {
        if (f.type === 'RequestHeaderModifier') modifyHeaders(headers, f.headers);
        else if (f.type === 'ResponseHeaderModifier') responseFilters.push(f.headers);
        else {
          let location: string | undefined;
          try {
            location = redirectLocation(f.redirect, choice, request.path, headers.host?.[0]);
          } catch (err) {
            return { kind: 'respond', status: 500, error: `invalid redirect: ${(err as Error).message}` };
          }
          if (location) return { kind: 'respond', status: f.redirect.statusCode ?? 301, location };
        }
      }
      return undefined;
    };
    const early = apply(choice.rule.filters);
    if (early) return early;
    // linkerd/distribute/src/params.rs: fewer than two backends are FirstAvailable, weights
    // ignored; none is the parent Service (policy-controller grpc/src/outbound/http.rs).
    const backends = choice.rule.backends;
    const backend: WeightedBackend | undefined = backends.length === 0 ? { service: choice.split.service, weight: 1 }
      : backends.length === 1 ? backends[0] : this.splitter(choice.split, choice.rule).next();
    // Every weight zero: not verified against the proxy (its distribution refuses such weights).
    if (!backend) return { kind: 'respond', status: 503, error: 'no backend with a weight' };
    if (backend.invalid) return { kind: 'respond', status: 500, error: backend.invalid };
    const backendNamespace = backend.namespace ?? namespace;
    if (!this.table.services.some((s) => s.namespace === backendNamespace && s.name === backend.service)) {
      // grpc/src/outbound/http.rs: a backend Service that does not exist is an invalid backend.
      return { kind: 'respond', status: 500, error: `Service not found ${backend.service}` };
    }
    // The backend's response filters run before the rule's.
    const ruleResponseFilters = responseFilters.splice(0);
    const late = apply(backend.filters ?? []);
    if (late) return late;
    return { kind: 'forward', namespace: backendNamespace, service: backend.service, headers, responseFilters: [...responseFilters, ...ruleResponseFilters] };
  }

  /** The Service a request to `service` ends at after the client-side split, if it is forwarded. */
  resolveBackend(namespace: string, service: string, path: string, headers: http.IncomingHttpHeaders, method = 'GET'): string | undefined {
    const lines: NodeJS.Dict<string[]> = {};
    for (const [k, v] of Object.entries(headers)) if (v !== undefined) lines[k] = typeof v === 'string' ? [v] : v;
    const decision = this.route(namespace, service, undefined, { method, path, headers: lines });
    return decision.kind === 'forward' ? decision.service : undefined;
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

  /** Request handler for the listener of one Service (on one port, if given). */
  handler(namespace: string, service: string, port?: number): http.RequestListener {
    return (req, res) => {
      const client = this.clientOf(req.socket);
      const traffic = { namespace, service, client: client.name, process: client.pid };
      const counted = (status: number) => this.metrics.count(traffic, status);
      const decision = this.route(namespace, service, port, { method: req.method, path: req.url ?? '/', headers: req.headersDistinct });
      if (decision.kind === 'respond') {
        counted(decision.status);
        req.resume();
        res.writeHead(decision.status, {
          ...(decision.error ? { 'l5d-proxy-error': decision.error } : {}),
          ...(decision.location ? { location: decision.location } : {}),
          'content-length': '0',
        });
        res.end();
        return;
      }
      const endpoint = this.pickEndpoint(decision.namespace, decision.service);
      if (!endpoint) {
        counted(503);
        res.writeHead(503, { 'content-type': 'text/plain', 'l5d-proxy-error': 'no ready endpoints' });
        res.end(`no ready endpoints for ${decision.service}.${decision.namespace}\n`);
        return;
      }
      this.forward(req, res, endpoint, decision.headers, decision.responseFilters, traffic);
    };
  }

  private clientOf(socket: net.Socket): Client {
    let client = this.clients.get(socket);
    if (client === undefined) {
      client = this.identify(socket);
      this.clients.set(socket, client);
    }
    return client;
  }

  close(): void {
    this.agent.destroy();
  }

  /** The destination pod's inbound proxy: forward and count the response. */
  private forward(req: http.IncomingMessage, res: http.ServerResponse, endpoint: Endpoint,
    headers: HeaderLines, responseFilters: readonly HeaderModifier[], traffic: Omit<TrafficKey, 'pod'>): void {
    const started = process.hrtime.bigint();
    const elapsedMs = () => Number(process.hrtime.bigint() - started) / 1e6;
    let counted = false;
    const upstream = http.request({
      host: endpoint.host,
      port: endpoint.port,
      method: req.method,
      path: req.url,
      headers: outgoing(headers),
      agent: this.agent,
    }, (up) => {
      const status = up.statusCode ?? 502;
      counted = true;
      this.metrics.observe(identity(endpoint.pod), status, elapsedMs(), traffic);
      const responseHeaders = copyLines(up.headersDistinct);
      for (const m of responseFilters) modifyHeaders(responseHeaders, m);
      res.writeHead(status, outgoing(responseHeaders));
      // The app's connection dropping mid-body resets the client's stream (pipe alone would leave it open).
      up.on('close', () => {
        if (!up.complete) res.destroy();
      });
      up.pipe(res);
    });
    upstream.on('error', (err) => {
      // The app behind the proxy is gone: Linkerd's inbound proxy answers 502 itself
      // (a response already counted by its status is not counted again).
      if (!counted) this.metrics.observe(identity(endpoint.pod), 502, elapsedMs(), traffic);
      counted = true;
      if (!res.headersSent) {
        res.writeHead(502, { 'content-type': 'text/plain', 'l5d-proxy-error': err.message });
      }
      res.end();
    });
    req.pipe(upstream);
  }

  private splitter(split: ServiceSplit, rule: SplitRule): WeightedRoundRobin<WeightedBackend> {
    const key = `${split.namespace}/${split.service}/${split.name ?? ''}/${split.rules.indexOf(rule)}`;
    const signature = JSON.stringify(rule.backends);
    const existing = this.splitters.get(key);
    if (existing && existing.signature === signature) return existing.wrr;
    const wrr = new WeightedRoundRobin(rule.backends.map((b) => ({ item: b, weight: b.weight })));
    this.splitters.set(key, { signature, wrr });
    return wrr;
  }
}
