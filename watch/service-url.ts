/**
 * Services addressed by URL (a MetricTemplate's Prometheus, a gate webhook's load
 * tester), reached through the API server's service proxy. No imports: the argument
 * parser checks --metrics-server with it at start-up.
 */

/** Where a Service URL such as http://prometheus.linkerd-viz:9090 is, for the service proxy. */
export interface ServiceAddress {
  readonly scheme: 'http' | 'https';
  readonly name: string;
  readonly namespace: string;
  readonly port: number;
  /** Path prefix of the address (Prometheus behind a path). */
  readonly basePath: string;
}

/**
 * Parses a cluster-internal URL: host `<service>`, `<service>.<namespace>`, or
 * `<service>.<namespace>.svc[.<cluster domain>]`. Anything else (an IP, an external
 * host) is not a Service the proxy can reach: undefined. A bare `<service>` is in
 * `defaultNamespace`; without one, it is undefined too.
 */
export function serviceAddress(url: string, defaultNamespace?: string): ServiceAddress | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return undefined;
  const labels = parsed.hostname.split('.');
  const dns = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
  if (!labels.every((l) => dns.test(l)) || /^\d+$/.test(labels[labels.length - 1])) return undefined;
  if (labels.length > 2 && labels[2] !== 'svc') return undefined;
  const namespace = labels[1] ?? defaultNamespace;
  if (namespace === undefined) return undefined;
  const scheme = parsed.protocol === 'https:' ? 'https' : 'http';
  return {
    scheme,
    name: labels[0],
    namespace,
    port: parsed.port ? Number(parsed.port) : scheme === 'https' ? 443 : 80,
    basePath: parsed.pathname.replace(/\/$/, ''),
  };
}

/** The service proxy path of `path` on a Service. */
export function proxyPath(service: ServiceAddress, path: string): string {
  return `/api/v1/namespaces/${encodeURIComponent(service.namespace)}/services/`
    + `${service.scheme}:${service.name}:${service.port}/proxy${service.basePath}${path}`;
}
