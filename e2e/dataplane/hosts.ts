/**
 * Service DNS for processes outside the cluster: the launcher bind-mounts one
 * hosts file over /etc/hosts in a private mount namespace (Flagger, the load
 * tester), so names like `api-canary.testapi` resolve to loopback addresses.
 * The file is only ever appended to in place: replacing it would detach the
 * bind mount from the file the namespaces see.
 */
import * as fs from 'node:fs';

/** The name forms a pod's resolver accepts for a Service. */
export function serviceNames(name: string, namespace: string): string[] {
  return [`${name}.${namespace}`, `${name}.${namespace}.svc`, `${name}.${namespace}.svc.cluster.local`];
}

/** name -> address, the first mapping of each name (what resolvers use). */
export function parseHosts(text: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of text.split('\n')) {
    const [addr, ...names] = line.replace(/#.*/, '').trim().split(/\s+/);
    for (const n of addr ? names : []) {
      if (!map.has(n)) map.set(n, addr);
    }
  }
  return map;
}

export class HostsFile {
  constructor(readonly path: string) {}

  lookup(name: string): string | undefined {
    return parseHosts(this.read()).get(name);
  }

  /** Every address the file maps a name to. */
  addresses(): Set<string> {
    return new Set(parseHosts(this.read()).values());
  }

  /**
   * Map names to an address unless they are mapped already; returns the address
   * the names resolve to (an earlier mapping wins, so reruns keep their address).
   */
  ensure(names: readonly string[], addr: string): string {
    const existing = parseHosts(this.read());
    const known = names.map((n) => existing.get(n)).find((a) => a !== undefined);
    if (known) return known;
    const text = this.read();
    const sep = text.length > 0 && !text.endsWith('\n') ? '\n' : '';
    fs.appendFileSync(this.path, `${sep}${addr} ${names.join(' ')}\n`);
    return addr;
  }

  private read(): string {
    return fs.existsSync(this.path) ? fs.readFileSync(this.path, 'utf8') : '';
  }
}
