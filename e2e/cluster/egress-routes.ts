/**
 * The egress proxy's route table (see egress-proxy.ts): which loopback address stands in
 * for a pod of the simulated cluster. It is a folder of JSON files, one per writer, so that
 * writers never edit each other's routes: up.sh writes `stack.json` (the stack's Prometheus),
 * the data-plane emulator `dataplane.json` (the load tester forward, the emulated pods) and
 * removes it when it stops. The proxy merges every file at each CONNECT: no reload signal,
 * and a file that has gone takes its routes with it.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';

export interface EgressRoutes {
  /**
   * `<namespace>/<service>:<service port>` -> `<loopback host>:<port>`: every pod of the
   * Service stands for one process on loopback (the load tester, Prometheus). Keyed by the
   * Service's port, as `--forward` and the in-cluster URLs name it, not by the pod's port.
   */
  readonly services?: Readonly<Record<string, string>>;
  /**
   * `<namespace>/<pod>` -> `<loopback host>` where that pod's process listens on the pod's
   * own ports (the emulated kubelet's test-API processes): the port is kept.
   */
  readonly pods?: Readonly<Record<string, string>>;
}

export interface RouteTable {
  readonly services: Map<string, string>;
  readonly pods: Map<string, string>;
}

/** 127.0.0.0/8: the only addresses the stack may send a packet to. */
export function isLoopback(host: string): boolean {
  return net.isIPv4(host) && host.startsWith('127.');
}

/** Every file's routes; an earlier file (by name) wins a key both hold. Unreadable files are skipped. */
export function readRoutes(dir: string): RouteTable {
  const table: RouteTable = { services: new Map(), pods: new Map() };
  const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort() : [];
  for (const f of files) {
    let routes: EgressRoutes;
    try {
      routes = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
    } catch {
      continue; // removed or half-written between readdir and read: the next CONNECT sees it again
    }
    for (const [k, v] of Object.entries(routes.services ?? {})) if (!table.services.has(k)) table.services.set(k, v);
    for (const [k, v] of Object.entries(routes.pods ?? {})) if (!table.pods.has(k)) table.pods.set(k, v);
  }
  return table;
}

/** Replaces one writer's file atomically (write, then rename): the proxy never reads half a file. */
export function writeRoutes(file: string, routes: EgressRoutes): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(routes, null, 2)}\n`);
  fs.renameSync(tmp, file);
}
