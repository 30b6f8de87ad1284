/**
 * Pure translation of Kubernetes objects into what the emulated data plane needs:
 * the pods the emulated kubelet runs (and what their containers are), which
 * Services exist, and how the apex Service is split (from Flagger's HTTPRoute
 * or SMI TrafficSplit).
 *
 * Only type imports from client-node: this module loads under jest.
 */
import type { V1Container, V1Pod, V1Probe, V1Service } from '@kubernetes/client-node';
import { ImageModel, imageModel } from './images';
import { compileRustRegex, fullMatch } from './rust-regex';

/** What a probe does (the kubelet's prober: HTTP GET 200-399, or a TCP connect). */
export type ProbeAction =
  | { readonly kind: 'http'; readonly path: string; readonly port: number }
  | { readonly kind: 'tcp'; readonly port: number }
  /** Exec, gRPC, HTTPS or a port name the container lacks: every probe fails. */
  | { readonly kind: 'unsupported'; readonly why: string };

/** A container probe with the API server's defaults filled in. */
export interface ProbeSpec {
  readonly action: ProbeAction;
  readonly initialDelaySeconds: number;
  readonly periodSeconds: number;
  readonly timeoutSeconds: number;
  readonly successThreshold: number;
  readonly failureThreshold: number;
}

/** One container of a pod, as the emulated node sees it. */
export interface ContainerSummary {
  readonly name: string;
  readonly image: string;
  readonly model: ImageModel;
  /** Literal env values of the container. */
  readonly env: Readonly<Record<string, string>>;
  readonly startupProbe?: ProbeSpec;
  readonly readinessProbe?: ProbeSpec;
  readonly livenessProbe?: ProbeSpec;
}

/** The pod status fields the emulated kubelet owns, as the API server last reported them. */
export interface ObservedPodStatus {
  readonly phase?: string;
  /** Conditions as JSON (times as RFC 3339 strings). */
  readonly conditions: readonly { readonly type: string; readonly status: string; readonly reason?: string; readonly message?: string; readonly lastTransitionTime?: string }[];
  /** Container statuses as JSON. */
  readonly containerStatuses: readonly any[];
}

/** A pod of the emulator's namespace. */
export interface PodSpecSummary {
  readonly namespace: string;
  readonly name: string;
  readonly uid?: string;
  /** Deployment that owns the pod (Linkerd's `deployment` metric label). */
  readonly deployment: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Release of the test-API container (the image tag), if the pod has one. */
  readonly version?: string;
  /** The test-API container's first containerPort (where its Service's traffic goes). */
  readonly port: number;
  /** Literal env values of the test-API container. */
  readonly env: Readonly<Record<string, string>>;
  /** Ready condition as the API server reports it, and not terminating. */
  readonly ready: boolean;
  /**
   * Started on the node (kwok's start stage gave it a pod IP) and not
   * terminating: the emulated kubelet runs its containers and owns its status.
   * @default - `ready` (summaries built by hand: a test-API pod per `version`, `port`, `env`)
   */
  readonly onNode?: boolean;
  /** @default - one test-API container from `version`, `port` and `env`, probed on /readyz */
  readonly containers?: readonly ContainerSummary[];
  readonly observed?: ObservedPodStatus;
}

export interface ServiceSummary {
  readonly namespace: string;
  readonly name: string;
  readonly selector: Readonly<Record<string, string>>;
  readonly ports: readonly number[];
  /** `None` for a headless Service. */
  readonly clusterIP?: string;
  readonly type?: string;
}

/** A header or query parameter match (header names lower-case: they match case-insensitively). */
export interface ValueMatch {
  readonly name: string;
  readonly type: 'Exact' | 'RegularExpression';
  readonly value: string;
}

export interface PathMatch {
  readonly type: 'Exact' | 'PathPrefix' | 'RegularExpression';
  readonly value: string;
}

/** One HTTPRouteMatch: every condition it has must hold. */
export interface RouteMatch {
  readonly path?: PathMatch;
  readonly headers: readonly ValueMatch[];
  readonly queryParams: readonly ValueMatch[];
  readonly method?: string;
}

export interface HeaderModifier {
  readonly add: readonly { readonly name: string; readonly value: string }[];
  readonly set: readonly { readonly name: string; readonly value: string }[];
  readonly remove: readonly string[];
}

export interface RequestRedirect {
  readonly scheme?: string;
  readonly hostname?: string;
  readonly port?: number;
  readonly path?: { readonly type: 'ReplaceFullPath' | 'ReplacePrefixMatch'; readonly value: string };
  readonly statusCode?: number;
}

/** The filters Linkerd applies; any other kind makes it refuse the route (or the backend). */
export type RouteFilter =
  | { readonly type: 'RequestHeaderModifier'; readonly headers: HeaderModifier }
  | { readonly type: 'ResponseHeaderModifier'; readonly headers: HeaderModifier }
  | { readonly type: 'RequestRedirect'; readonly redirect: RequestRedirect };

export interface WeightedBackend {
  readonly service: string;
  readonly weight: number;
  /** @default - the split's namespace */
  readonly namespace?: string;
  /** Backend-level filters, applied after the rule's on requests and before them on responses. */
  readonly filters?: readonly RouteFilter[];
  /**
   * Linkerd's `Backend::Invalid`: requests sent to this backend fail with 500
   * and this message in `l5d-proxy-error` (an unsupported backend filter or kind).
   */
  readonly invalid?: string;
}

/** One traffic-split rule: requests matching it go to the weighted backends. */
export interface SplitRule {
  /** Any one may apply; none is the implicit match of every request (PathPrefix `/`). */
  readonly matches: readonly RouteMatch[];
  readonly filters: readonly RouteFilter[];
  /** None: the parent Service itself (Linkerd's FirstAvailable default backend). */
  readonly backends: readonly WeightedBackend[];
}

/** Client-side routing for an apex Service, as a Linkerd proxy applies it. */
export interface ServiceSplit {
  readonly namespace: string;
  /** The apex Service this split applies to. */
  readonly service: string;
  /** The parentRef's port: the split applies to that port only. @default - every port */
  readonly port?: number;
  readonly source: 'HTTPRoute' | 'TrafficSplit';
  /** Name of the route object (routes are ordered oldest first, then by name). */
  readonly name?: string;
  readonly createdAt?: string;
  readonly rules: readonly SplitRule[];
}

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

/** The probe's port: a number, or the name of one of the container's ports. */
function probePort(port: unknown, container: V1Container): number | string {
  if (typeof port === 'number') return port;
  if (typeof port === 'string' && /^\d+$/.test(port)) return Number(port);
  const named = (container.ports ?? []).find((p) => p.name === port);
  return named ? named.containerPort : `port ${JSON.stringify(port)} is not a port of container ${container.name}`;
}

function probeAction(probe: V1Probe, container: V1Container): ProbeAction {
  const action = (port: number | string, ok: (p: number) => ProbeAction): ProbeAction =>
    (typeof port === 'number' ? ok(port) : { kind: 'unsupported', why: port });
  if (probe.httpGet) {
    if ((probe.httpGet.scheme ?? 'HTTP').toUpperCase() !== 'HTTP') return { kind: 'unsupported', why: `${probe.httpGet.scheme} probes are not emulated` };
    const path = probe.httpGet.path ?? '/';
    return action(probePort(probe.httpGet.port, container), (port) => ({ kind: 'http', path, port }));
  }
  if (probe.tcpSocket) return action(probePort(probe.tcpSocket.port, container), (port) => ({ kind: 'tcp', port }));
  return { kind: 'unsupported', why: `${probe.exec ? 'exec' : probe.grpc ? 'gRPC' : 'handler-less'} probes are not emulated` };
}

/** The API server's probe defaults (pkg/apis/core/v1/defaults.go SetDefaults_Probe). */
export function probeSpec(probe: V1Probe | undefined, container: V1Container): ProbeSpec | undefined {
  if (!probe) return undefined;
  return {
    action: probeAction(probe, container),
    initialDelaySeconds: probe.initialDelaySeconds ?? 0,
    periodSeconds: probe.periodSeconds ?? 10,
    timeoutSeconds: probe.timeoutSeconds ?? 1,
    successThreshold: probe.successThreshold ?? 1,
    failureThreshold: probe.failureThreshold ?? 3,
  };
}

function literalEnv(container: V1Container): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of container.env ?? []) {
    if (e.value !== undefined) env[e.name] = e.value;
  }
  return env;
}

export function summarizeContainer(c: V1Container): ContainerSummary {
  return {
    name: c.name,
    image: c.image ?? '',
    model: imageModel(c.image ?? ''),
    env: literalEnv(c),
    ...(c.startupProbe ? { startupProbe: probeSpec(c.startupProbe, c) } : {}),
    ...(c.readinessProbe ? { readinessProbe: probeSpec(c.readinessProbe, c) } : {}),
    ...(c.livenessProbe ? { livenessProbe: probeSpec(c.livenessProbe, c) } : {}),
  };
}

/** Plain JSON (client-node gives Date objects for times). */
const json = (v: unknown): any => (v === undefined ? undefined : JSON.parse(JSON.stringify(v)));

/** Every pod of the namespace, with what the emulated kubelet needs to run it and report its status. */
export function summarizePod(pod: V1Pod): PodSpecSummary | undefined {
  if (!pod.metadata?.name) return undefined;
  const specs = pod.spec?.containers ?? [];
  const containers = specs.map(summarizeContainer);
  // The test-API container, if any, is what the pod's Services reach.
  const index = Math.max(0, containers.findIndex((c) => c.model.kind === 'test-api'));
  const main = containers[index] as ContainerSummary | undefined;
  const terminating = pod.metadata.deletionTimestamp !== undefined && pod.metadata.deletionTimestamp !== null;
  const phase = pod.status?.phase;
  return {
    namespace: pod.metadata.namespace ?? 'default',
    name: pod.metadata.name,
    ...(pod.metadata.uid ? { uid: pod.metadata.uid } : {}),
    deployment: owningDeployment(pod),
    labels: pod.metadata.labels ?? {},
    version: main?.model.kind === 'test-api' ? main.model.version : imageTag(main?.image ?? ''),
    port: specs[index]?.ports?.[0]?.containerPort ?? 3000,
    env: main?.env ?? {},
    ready: isReady(pod),
    onNode: !terminating && !!pod.spec?.nodeName && !!pod.status?.podIP && (phase === 'Pending' || phase === 'Running'),
    containers,
    observed: {
      phase,
      conditions: json(pod.status?.conditions) ?? [],
      containerStatuses: json(pod.status?.containerStatuses) ?? [],
    },
  };
}

export function summarizeService(svc: V1Service): ServiceSummary | undefined {
  if (!svc.metadata?.name) return undefined;
  return {
    namespace: svc.metadata.namespace ?? 'default',
    name: svc.metadata.name,
    selector: svc.spec?.selector ?? {},
    ports: (svc.spec?.ports ?? []).map((p) => p.port),
    ...(svc.spec?.clusterIP ? { clusterIP: svc.spec.clusterIP } : {}),
    ...(svc.spec?.type ? { type: svc.spec.type } : {}),
  };
}

/** A Service with an empty selector selects nothing (its endpoints are managed by hand). */
export function selects(service: ServiceSummary, pod: PodSpecSummary): boolean {
  const entries = Object.entries(service.selector);
  return pod.namespace === service.namespace && entries.length > 0
    && entries.every(([k, v]) => pod.labels[k] === v);
}

/*
 * HTTPRoutes as Linkerd's policy controller reads them (linkerd2 edge-26.8.3):
 * policy-controller/k8s/index/src/outbound/index/http.rs (convert_route,
 * convert_backend, convert_gateway_filter, route_accepted_by_service/_by_resource_port),
 * policy-controller/k8s/index/src/routes/http.rs (try_match, header modifiers),
 * policy-controller/k8s/index/src/outbound/index.rs (apply_http_route).
 */

/** Why Linkerd's policy controller refuses to convert a route ("Failed to convert route"). */
class RouteError extends Error {}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH']);

/** `HeaderName::parse` of the http crate. */
function headerName(name: unknown): string {
  const s = String(name ?? '');
  if (!TOKEN.test(s)) throw new RouteError(`invalid HTTP header name ${JSON.stringify(s)}`);
  return s.toLowerCase();
}

/** `HeaderValue::parse`: visible ASCII, spaces, tabs and obs-text, no other control bytes. */
function headerValue(value: unknown): string {
  const s = String(value ?? '');
  const control = [...s].some((c) => (c < ' ' && c !== '\t') || c === '\x7f');
  if (control) throw new RouteError(`failed to parse header value ${JSON.stringify(s)}`);
  return s;
}

function regex(value: string): string {
  const re = compileRustRegex(value);
  if (!re.ok) {
    throw new RouteError(re.unsupported
      ? `regex ${JSON.stringify(value)}: ${re.error} (valid for Linkerd, but the emulator cannot evaluate it)`
      : `regex parse error: ${JSON.stringify(value)}: ${re.error}`);
  }
  return value;
}

function absolute(value: string): string {
  if (!value.startsWith('/')) {
    throw new RouteError(`HttpPathMatch paths must be absolute (begin with \`/\`); ${JSON.stringify(value)} is not an absolute path`);
  }
  return value;
}

function convertMatch(m: any): RouteMatch {
  let path: PathMatch | undefined;
  if (m.path) {
    const value = m.path.value ?? '/';
    const type = m.path.type ?? 'PathPrefix';
    if (type === 'RegularExpression') path = { type, value: regex(value) };
    else if (type === 'Exact' || type === 'PathPrefix') path = { type, value: absolute(value) };
    else throw new RouteError(`unknown path match type ${type}`);
  }
  const values = (list: any[] | undefined, name: (n: unknown) => string, exact: (v: unknown) => string): ValueMatch[] =>
    (list ?? []).map((h) => {
      const type = h.type ?? 'Exact';
      if (type === 'Exact') return { name: name(h.name), type, value: exact(h.value) };
      if (type === 'RegularExpression') return { name: name(h.name), type, value: regex(String(h.value ?? '')) };
      throw new RouteError(`unknown match type ${type}`);
    });
  if (m.method !== undefined && !METHODS.has(m.method)) throw new RouteError(`unknown method ${m.method}`);
  return {
    ...(path ? { path } : {}),
    headers: values(m.headers, headerName, headerValue),
    // Query parameter names match case-sensitively, values as written.
    queryParams: values(m.queryParams, (n) => String(n ?? ''), (v) => String(v ?? '')),
    ...(m.method !== undefined ? { method: m.method } : {}),
  };
}

function headerModifier(f: any): HeaderModifier {
  const pairs = (list: any[] | undefined) => (list ?? []).map((h) => ({ name: headerName(h.name), value: headerValue(h.value) }));
  return { add: pairs(f.add), set: pairs(f.set), remove: (f.remove ?? []).map(headerName) };
}

function requestRedirect(f: any): RequestRedirect {
  let path: RequestRedirect['path'];
  if (f.path) {
    const type = f.path.replaceFullPath !== undefined ? 'ReplaceFullPath' : f.path.replacePrefixMatch !== undefined ? 'ReplacePrefixMatch' : undefined;
    if (!type) throw new RouteError('RequestRedirect filter must contain either replace_full_path or replace_prefix_match');
    const value = String(type === 'ReplaceFullPath' ? f.path.replaceFullPath : f.path.replacePrefixMatch);
    if (!value.startsWith('/')) {
      throw new RouteError(`RequestRedirect filters may only contain absolute paths (starting with '/'); ${JSON.stringify(value)} is not an absolute path`);
    }
    path = { type, value };
  }
  return {
    ...(f.scheme ? { scheme: String(f.scheme).toLowerCase() } : {}),
    ...(f.hostname ? { hostname: String(f.hostname) } : {}),
    ...(f.port ? { port: Number(f.port) } : {}),
    ...(path ? { path } : {}),
    ...(f.statusCode ? { statusCode: Number(f.statusCode) } : {}),
  };
}

/** `convert_gateway_filter`: by which field is set, in Linkerd's order; the rest are refused. */
function convertFilter(f: any): RouteFilter {
  if (f.requestHeaderModifier) return { type: 'RequestHeaderModifier', headers: headerModifier(f.requestHeaderModifier) };
  if (f.responseHeaderModifier) return { type: 'ResponseHeaderModifier', headers: headerModifier(f.responseHeaderModifier) };
  if (f.requestRedirect) return { type: 'RequestRedirect', redirect: requestRedirect(f.requestRedirect) };
  if (f.requestMirror) throw new RouteError('RequestMirror filter is not supported');
  if (f.urlRewrite) throw new RouteError('URLRewrite filter is not supported');
  if (f.extensionRef) throw new RouteError('ExtensionRef filter is not supported');
  throw new RouteError('unknown filter');
}

function isCoreGroup(group: unknown): boolean {
  return group === undefined || group === null || group === '' || String(group).toLowerCase() === 'core';
}

/** `convert_backend`: a backend Linkerd cannot use stays in the split, as a weighted 500. */
function convertBackend(b: any, namespace: string): WeightedBackend {
  const weight = b.weight ?? 1;
  const service = String(b.name ?? '');
  const ns = b.namespace && b.namespace !== namespace ? { namespace: String(b.namespace) } : {};
  const kind = b.kind ?? 'Service';
  if (!isCoreGroup(b.group) || String(kind).toLowerCase() !== 'service') {
    const egress = String(b.group ?? '').toLowerCase() === 'policy.linkerd.io' && String(kind).toLowerCase() === 'egressnetwork';
    return {
      service, weight, ...ns,
      invalid: egress
        ? 'EgressNetwork backends attach to EgressNetwork parents only'
        : `unsupported backend type ${b.group ?? 'core'} ${b.kind ?? '<empty>'}`,
    };
  }
  let filters: RouteFilter[];
  try {
    filters = (b.filters ?? []).map(convertFilter);
  } catch (err) {
    if (!(err instanceof RouteError)) throw err;
    return { service, weight, ...ns, invalid: `unsupported backend filter: ${err.message}` };
  }
  if (!b.port) return { service, weight, ...ns, invalid: `missing port for backend Service ${service}` };
  return { service, weight, ...ns, ...(filters.length > 0 ? { filters } : {}) };
}

/** `route_accepted_by_resource_port` / `route_accepted_by_service`: Linkerd's proxies only get accepted routes. */
export function acceptedFor(status: any, parent: { name: string; port?: number }): boolean {
  return (status?.parents ?? []).some((p: any) => {
    const ref = p.parentRef ?? {};
    return ref.name === parent.name && ref.kind === 'Service' && isCoreGroup(ref.group)
      && (parent.port === undefined || ref.port === undefined || ref.port === parent.port)
      && (p.conditions ?? []).some((c: any) => c.type === 'Accepted' && c.status === 'True');
  });
}

/** A parentRef Linkerd treats as a Service (`is_parent_service`: a kind is required). */
export function isServiceParent(p: any): boolean {
  return typeof p?.kind === 'string' && p.kind.toLowerCase() === 'service' && isCoreGroup(p.group);
}

export interface RouteConversion {
  /** One split a Service parent that accepted the route. */
  readonly splits: ServiceSplit[];
  /** Why the policy controller refuses the whole route; it then keeps serving the previous version. */
  readonly error?: string;
  /** Service parents in the route's namespace whose status does not (yet) accept it. */
  readonly notAccepted: readonly string[];
}

/**
 * An HTTPRoute whose parent is a Service (Linkerd's GAMMA routing), converted
 * as Linkerd's policy controller does. Parents in other namespaces (consumer
 * routes) and `hostnames` are not emulated; the library writes neither.
 */
export function convertHTTPRoute(route: any): RouteConversion {
  const namespace: string = route?.metadata?.namespace ?? 'default';
  let rules: SplitRule[];
  try {
    rules = (route?.spec?.rules ?? []).map((rule: any): SplitRule => ({
      matches: (rule.matches ?? []).map(convertMatch),
      filters: (rule.filters ?? []).map(convertFilter),
      backends: (rule.backendRefs ?? []).map((b: any) => convertBackend(b, namespace)),
    }));
  } catch (err) {
    if (!(err instanceof RouteError)) throw err;
    return { splits: [], error: err.message, notAccepted: [] };
  }
  const splits: ServiceSplit[] = [];
  const notAccepted: string[] = [];
  for (const p of route?.spec?.parentRefs ?? []) {
    if (!isServiceParent(p) || (p.namespace ?? namespace) !== namespace) continue;
    const port: number | undefined = p.port ?? undefined;
    if (!acceptedFor(route?.status, { name: p.name, port })) {
      notAccepted.push(port === undefined ? p.name : `${p.name}:${port}`);
      continue;
    }
    splits.push({
      namespace, service: p.name, ...(port !== undefined ? { port } : {}), source: 'HTTPRoute',
      name: route?.metadata?.name, createdAt: route?.metadata?.creationTimestamp, rules,
    });
  }
  return { splits, notAccepted };
}

/** The splits of an HTTPRoute, or none when Linkerd would refuse or not accept it. */
export function splitFromHTTPRoute(route: any): ServiceSplit[] {
  return convertHTTPRoute(route).splits;
}

/**
 * The policy controller's outbound index of HTTPRoutes: a route it cannot
 * convert is logged ("Failed to convert route") and skipped, and the version it
 * indexed before stays in force (`apply_http_route` returns before touching the
 * index); a route that is gone is dropped.
 */
export class HttpRouteIndex {
  private readonly indexed = new Map<string, ServiceSplit[]>();
  private readonly reported = new Map<string, string>();

  constructor(private readonly log: (line: string) => void = () => undefined) {}

  update(routes: readonly any[]): ServiceSplit[] {
    const seen = new Set<string>();
    for (const route of routes) {
      const key = `${route?.metadata?.namespace}/${route?.metadata?.name}`;
      seen.add(key);
      const c = convertHTTPRoute(route);
      const report = c.error
        ? `route ${key} refused, as Linkerd's policy controller does ("Failed to convert route": ${c.error}); `
          + (this.indexed.has(key) ? 'the version indexed before stays in force' : 'it routes nothing')
        : c.notAccepted.length > 0 ? `route ${key} not applied for ${c.notAccepted.join(', ')}: its status has no Accepted=True (Linkerd proxies only get accepted routes)` : '';
      if (report && this.reported.get(key) !== report) this.log(report);
      this.reported.set(key, report);
      if (!c.error) this.indexed.set(key, c.splits);
    }
    for (const key of [...this.indexed.keys()].filter((k) => !seen.has(k))) {
      this.indexed.delete(key);
      this.reported.delete(key);
    }
    return [...this.indexed.values()].flat();
  }
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
    name: ts.metadata?.name,
    createdAt: ts.metadata?.creationTimestamp,
    rules: [{ matches: [], filters: [], backends }],
  }];
}

/** What a route match looks at. */
export interface RequestInfo {
  readonly method?: string;
  /** Path and query, as on the request line. */
  readonly path: string;
  /** Lower-case names; an array holds the header's separate lines. */
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>;
}

/**
 * How well a request matched (linkerd2-proxy v2.366, linkerd/http/route/src/http/match.rs
 * `RequestMatch`): compared by the matched path length (exact, regex and
 * prefix alike: path.rs `PathMatch::cmp` compares lengths only), then the
 * number of header matches, then of query parameter matches, then whether a
 * method matched. NOT the Gateway API order (which puts exact before prefix,
 * and method before headers).
 */
export type MatchSummary = readonly [pathLength: number, headers: number, queryParams: number, method: number];

const IMPLICIT_MATCH: MatchSummary = [1, 0, 0, 0];

function compareSummary(a: MatchSummary, b: MatchSummary): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}

function headerLines(headers: RequestInfo['headers'], name: string): readonly string[] {
  const v = headers[name];
  return v === undefined ? [] : typeof v === 'string' ? [v] : v;
}

function regexMatches(pattern: string, value: string): boolean {
  const re = compileRustRegex(pattern);
  return re.ok && fullMatch(re.regex, value);
}

function valueMatches(m: ValueMatch, value: string): boolean {
  return m.type === 'Exact' ? value === m.value : regexMatches(m.value, value);
}

/** path.rs `match_length`. */
function pathLength(m: PathMatch, path: string): number | undefined {
  if (m.type === 'Exact') return path === m.value ? m.value.length : undefined;
  if (m.type === 'RegularExpression') return regexMatches(m.value, path) ? path.length : undefined;
  if (m.value === '/') return 1;
  // A prefix matches whole path segments, trailing slashes aside.
  const prefix = m.value.replace(/\/+$/, '');
  const rest = path.replace(/\/+$/, '');
  if (!rest.startsWith(prefix)) return undefined;
  const suffix = rest.slice(prefix.length);
  return suffix === '' || suffix.startsWith('/') ? prefix.length : undefined;
}

/** match.rs `MatchRequest::match_request`. */
export function summarizeMatch(m: RouteMatch, request: RequestInfo): MatchSummary | undefined {
  if (m.method !== undefined && request.method !== m.method) return undefined;
  const q = request.path.indexOf('?');
  const path = q < 0 ? request.path : request.path.slice(0, q);
  const length = m.path ? pathLength(m.path, path) : IMPLICIT_MATCH[0];
  if (length === undefined) return undefined;
  if (!m.headers.every((h) => headerLines(request.headers, h.name).some((v) => valueMatches(h, v)))) return undefined;
  // query_param.rs: `form_urlencoded::parse`, as URLSearchParams parses (`+` is a space, %-decoded).
  const params = [...new URLSearchParams(q < 0 ? '' : request.path.slice(q + 1))];
  if (!m.queryParams.every((p) => params.some(([n, v]) => n === p.name && valueMatches(p, v)))) return undefined;
  return [length, m.headers.length, m.queryParams.length, m.method !== undefined ? 1 : 0];
}

/** Routes in the order Linkerd sends them to proxies: oldest first, then by name (grpc/src/outbound.rs `timestamp_then_name`). */
function routeOrder(a: ServiceSplit, b: ServiceSplit): number {
  if (a.createdAt !== b.createdAt) {
    if (a.createdAt === undefined) return 1;
    if (b.createdAt === undefined) return -1;
    return Date.parse(a.createdAt) - Date.parse(b.createdAt);
  }
  return (a.name ?? '').localeCompare(b.name ?? '');
}

export interface RuleChoice {
  readonly split: ServiceSplit;
  readonly rule: SplitRule;
  /** The rule's best matching match; undefined for a rule without matches. */
  readonly match?: RouteMatch;
  readonly summary: MatchSummary;
}

/**
 * The rule a request follows, chosen as the proxy does (linkerd2-proxy v2.366,
 * linkerd/http/route/src/lib.rs `find`): each rule scores its best matching
 * match (no matches: the implicit PathPrefix `/`), the best rule of each route
 * wins within it and the best route overall, the first one on ties (`best`).
 * Undefined: no rule matches, and the proxy answers 404 ("no route").
 */
export function matchRule(splits: ServiceSplit | readonly ServiceSplit[], request: RequestInfo): RuleChoice | undefined {
  const ordered: ServiceSplit[] = ('rules' in splits ? [splits as ServiceSplit] : [...splits as readonly ServiceSplit[]]).sort(routeOrder);
  let best: RuleChoice | undefined;
  for (const split of ordered) {
    for (const rule of split.rules) {
      let candidate: RuleChoice | undefined = rule.matches.length === 0 ? { split, rule, summary: IMPLICIT_MATCH } : undefined;
      for (const match of rule.matches) {
        const summary = summarizeMatch(match, request);
        if (summary && (!candidate || compareSummary(summary, candidate.summary) > 0)) candidate = { split, rule, match, summary };
      }
      if (candidate && (!best || compareSummary(candidate.summary, best.summary) > 0)) best = candidate;
    }
  }
  return best;
}

function describeMatch(m: RouteMatch): string {
  const parts = [
    ...(m.method ? [m.method] : []),
    ...(m.path && !(m.path.type === 'PathPrefix' && m.path.value === '/') ? [`path ${m.path.type === 'Exact' ? '=' : m.path.type === 'PathPrefix' ? '^' : '~'}${m.path.value}`] : []),
    ...m.headers.map((h) => `header ${h.name}${h.type === 'Exact' ? '=' : '~'}${h.value}`),
    ...m.queryParams.map((p) => `query ${p.name}${p.type === 'Exact' ? '=' : '~'}${p.value}`),
  ];
  return parts.join(' & ') || '*';
}

function describeBackends(rule: SplitRule): string {
  return rule.backends.map((b) => `${b.service}=${b.weight}${b.invalid ? '(invalid)' : ''}`).join(' ') || '(parent)';
}

/**
 * Human-readable weights, e.g. `api-primary=90 api-canary=10`: the weighted
 * rule first (the one whose backends carry filters, else the last with two
 * backends, as Flagger's GetRoutes reads them), then any other rules.
 */
export function describeSplit(split: ServiceSplit): string {
  const rules = split.rules;
  if (rules.length === 0) return '(no rules)';
  const weighted = rules.find((r) => r.backends.some((b) => b.filters?.length))
    ?? [...rules].reverse().find((r) => r.backends.length === 2) ?? rules[rules.length - 1];
  const others = rules.filter((r) => r !== weighted)
    .map((r) => `[${r.matches.map(describeMatch).join(' | ') || '*'}] ${describeBackends(r)}`);
  return [describeBackends(weighted), ...(others.length ? [`; other rules: ${others.join('; ')}`] : [])].join('');
}
