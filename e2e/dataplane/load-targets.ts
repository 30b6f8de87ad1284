/**
 * The load generator's targets (`--load`, once per URL): each URL names a
 * Service of the emulated mesh as `name.namespace` (or `name`, in the
 * emulator's namespace). Several targets let one emulator carry the demo's
 * load for many canaried apps at once (e2e/load). Pure: loads under jest.
 */
export interface LoadTarget {
  readonly url: string;
  readonly name: string;
  readonly namespace: string;
  readonly port: number;
  readonly path: string;
}

export function loadTargets(urls: readonly string[], defaultNamespace: string): LoadTarget[] {
  const seen = new Set<string>();
  return urls.filter((url) => !seen.has(url) && seen.add(url)).map((url) => {
    const u = new URL(url);
    if (u.protocol !== 'http:') throw new Error(`--load (${url}) must be an http:// URL`);
    const [name, namespace, ...rest] = u.hostname.split('.');
    if (!name || rest.length > 0) throw new Error(`--load (${url}) must name a Service as name.namespace`);
    return { url, name, namespace: namespace ?? defaultNamespace, port: Number(u.port || 80), path: u.pathname };
  });
}
