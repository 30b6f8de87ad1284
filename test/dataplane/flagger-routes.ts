/**
 * HTTPRoutes in the shapes Flagger v1.44.0 writes them for a Canary whose
 * gatewayRefs is the apex Service (pkg/router/gateway_api_v1beta1.go:
 * Reconcile, SetRoutes, getSessionAffinityRouteRules, mapRouteMatches,
 * mergeMatchConditions, makeBackendRef), with the status Linkerd's policy
 * controller gives them.
 */
import { httpRouteStatusPatch, ServiceInfo } from '../../e2e/dataplane/route-status';

export const NS = 'testapi';
/** What the library writes as gatewayRefs (lib/canary.ts resolveGatewayRefs). */
export const PARENT = { group: 'core', kind: 'Service', name: 'api', namespace: NS, port: 3000 };
/** Flagger's Spec.Service.Match is empty: its default match. */
export const DEFAULT_MATCH = { path: { type: 'PathPrefix', value: '/' } };

/** makeBackendRef: group "", kind Service, the Canary's port, a weight. */
export function backendRef(name: string, weight: number, filters?: object[]) {
  return { group: '', kind: 'Service', name, port: 3000, weight, ...(filters ? { filters } : {}) };
}

export function httpRoute(rules: object[], extra: { name?: string; createdAt?: string } = {}) {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1beta1', kind: 'HTTPRoute',
    metadata: { name: extra.name ?? 'api', namespace: NS, generation: 4, creationTimestamp: extra.createdAt ?? '2026-01-01T00:00:00Z' },
    spec: { parentRefs: [PARENT], rules },
  };
}

/**
 * A/B testing (Analysis.Match): rule 0 merges each analysis match's headers
 * and query params into the default match and sends primary/canary by weight
 * (0/100 while analysing); rule 1 is the default match to the primary only.
 */
export function abTestingRoute(analysisMatches: { headers?: object[]; queryParams?: object[] }[], canaryWeight = 100) {
  return httpRoute([
    {
      matches: analysisMatches.map((m) => ({ ...DEFAULT_MATCH, ...m })),
      backendRefs: [backendRef('api-primary', 100 - canaryWeight), backendRef('api-canary', canaryWeight)],
    },
    { matches: [DEFAULT_MATCH], backendRefs: [backendRef('api-primary', 100)] },
  ]);
}

/** BuildCookie: `<name>=<value>; Max-Age=<seconds>`. */
export function setCookie(cookie: string, maxAge = 86400) {
  return { type: 'ResponseHeaderModifier', responseHeaderModifier: { add: [{ name: 'Set-Cookie', value: `${cookie}; Max-Age=${maxAge}` }] } };
}

/** The Cookie header match: `.*<name>.*<value>.*`, RegularExpression. */
export function cookieMatch(cookie: string) {
  const [name, value] = cookie.split('=');
  return { headers: [{ type: 'RegularExpression', name: 'Cookie', value: `.*${name}.*${value}.*` }] };
}

/**
 * Session affinity while the canary has weight: rule 0 ("sticky") matches the
 * cookie and sends everything to the canary; rule 1 is weighted, and its
 * canary backend adds the Set-Cookie header.
 */
export function sessionAffinityRoute(cookie: string, canaryWeight: number) {
  return httpRoute([
    { matches: [cookieMatch(cookie)], backendRefs: [backendRef('api-primary', 0), backendRef('api-canary', 100)] },
    {
      matches: [DEFAULT_MATCH],
      backendRefs: [backendRef('api-primary', 100 - canaryWeight), backendRef('api-canary', canaryWeight, [setCookie(cookie)])],
    },
  ]);
}

/**
 * Session affinity after the run (canary weight 0): the sticky rule, a copy
 * of the weighted one, matches the previous cookie and expires it.
 */
export function sessionAffinityAfterRoute(previousCookie: string) {
  const weighted = { matches: [DEFAULT_MATCH], backendRefs: [backendRef('api-primary', 100), backendRef('api-canary', 0)] };
  return httpRoute([
    { ...weighted, matches: [cookieMatch(previousCookie)], filters: [setCookie(previousCookie, -1)] },
    weighted,
  ]);
}

export const SERVICES: ServiceInfo[] = ['api', 'api-primary', 'api-canary']
  .map((name, i) => ({ namespace: NS, name, clusterIP: `10.96.0.${10 + i}` }));

/** The route with the status Linkerd's policy controller writes for it. */
export function accepted<T extends object>(route: T, services: readonly ServiceInfo[] = SERVICES): T {
  const patch = httpRouteStatusPatch(route, services, '2026-01-01T00:00:01Z') as { status: object } | undefined;
  return patch ? { ...route, status: patch.status } : route;
}
