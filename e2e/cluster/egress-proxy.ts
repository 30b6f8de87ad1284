#!/usr/bin/env node
/**
 * The e2e stack's egress proxy. up.sh gives the kube-apiserver an EgressSelectorConfiguration
 * whose `cluster` selection is HTTP CONNECT over this process's Unix socket, so the API server
 * sends every connection it opens towards pods and nodes here as `CONNECT <ip>:<port>`: the
 * service and pod `proxy` subresources, and the kubelet's logs, exec and port-forward
 * (k8s.io/apiserver pkg/server/egressselector, cmd/kube-apiserver/app/server.go).
 *
 * Why: the service proxy only goes to Endpoints addresses that are pod IPs, which kwok invents
 * (10.244.0.0/24) and the stack must never send a packet to; Endpoints cannot hold loopback
 * addresses. Here each CONNECT is mapped to the loopback address standing in for that pod:
 *  1. the pod holding the IP (pods list, field selector status.podIP) has a pod route (the
 *     data-plane emulator's process for it): that host, same port;
 *  2. else a Service whose Endpoints list that pod address and port (the API server picked the
 *     address from them) has a service route `<ns>/<service>:<service port>`: that host:port.
 * Routes come from the files of --routes (egress-routes.ts). Anything else, the kubelet's
 * connections included (kwok runs no kubelet), gets a 502 whose reason phrase says why; the
 * API server passes it on ("error trying to reach service: proxy error from <socket> while
 * dialing <ip:port>, code 502: ..."). Only loopback addresses are ever dialled.
 *
 *   node --require tsx/cjs e2e/cluster/egress-proxy.ts --kubeconfig <file> --socket <path> --routes <dir>
 *
 * Also answers GET /healthz on the socket (up.sh's readiness probe). One log line per CONNECT.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import { parseArgs } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { withTimeout } from '../dataplane/kube-source';
import { isLoopback, readRoutes } from './egress-routes';

/** An answer other than 200 to a CONNECT: status code and reason phrase. */
class Refusal extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

export interface EgressTarget {
  readonly host: string;
  readonly port: number;
  /** What the address was mapped through, for the log. */
  readonly via: string;
}

const API_TIMEOUT_MS = 5000;
const DIAL_TIMEOUT_MS = 5000;

export class EgressResolver {
  private readonly core: k8s.CoreV1Api;

  constructor(kubeconfig: k8s.KubeConfig, private readonly routesDir: string) {
    this.core = kubeconfig.makeApiClient(k8s.CoreV1Api);
  }

  /** Maps `ip:port` to a loopback target, or throws a Refusal. */
  async resolve(authority: string): Promise<EgressTarget> {
    const m = /^(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/.exec(authority);
    if (!m || !net.isIPv4(m[1])) throw new Refusal(400, `${authority} is not an IPv4 address:port (kwok pod IPs are IPv4)`);
    const [ip, port] = [m[1], Number(m[2])];
    const routes = readRoutes(this.routesDir);
    const pod = await this.podAt(ip);
    const ns = pod.metadata!.namespace!;
    const name = pod.metadata!.name!;
    const podHost = routes.pods.get(`${ns}/${name}`);
    if (podHost) return checked({ host: podHost, port, via: `pod ${ns}/${name}` });
    const services = await this.servicePortsOf(ns, ip, port);
    for (const key of services) {
      const target = routes.services.get(key);
      const hp = target && /^(.+):(\d+)$/.exec(target);
      if (hp) return checked({ host: hp[1], port: Number(hp[2]), via: `service ${key}` });
    }
    throw new Refusal(502, `pod ${ns}/${name} (${ip}:${port}) has no loopback stand-in`
      + (services.length ? ` (no route for service ${services.join(', ')})` : ' (no Service endpoint and no emulated process)'));
  }

  private async podAt(ip: string): Promise<k8s.V1Pod> {
    const pods = await this.api('list pods', this.core.listPodForAllNamespaces({ fieldSelector: `status.podIP=${ip}` }));
    const live = pods.items.filter((p) => p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed');
    // A terminating pod may still hold its IP next to nothing else: prefer one that is not.
    const pod = live.find((p) => !p.metadata?.deletionTimestamp) ?? live[0];
    if (pod) return pod;
    const nodes = await this.api('list nodes', this.core.listNode());
    const node = nodes.items.find((n) => (n.status?.addresses ?? []).some((a) => a.address === ip));
    if (node) {
      throw new Refusal(502, `${ip} is node ${node.metadata?.name}: kwok runs no kubelet, so logs, exec and port-forward are not emulated`);
    }
    throw new Refusal(502, `no pod or node has IP ${ip}`);
  }

  /** `<ns>/<service>:<service port>` of each Service whose ready Endpoints hold ip:port. */
  private async servicePortsOf(ns: string, ip: string, port: number): Promise<string[]> {
    const endpoints = await this.api('list endpoints', this.core.listNamespacedEndpoints({ namespace: ns }));
    const keys: string[] = [];
    for (const ep of endpoints.items) {
      for (const subset of ep.subsets ?? []) {
        if (!(subset.addresses ?? []).some((a) => a.ip === ip)) continue;
        for (const p of (subset.ports ?? []).filter((x) => x.port === port)) {
          // Endpoints name their ports after the Service's; the route names the Service's port number.
          const svc = await this.api('get service', this.core.readNamespacedService({ namespace: ns, name: ep.metadata!.name! }));
          const sp = (svc.spec?.ports ?? []).find((x) => (x.name ?? '') === (p.name ?? ''));
          if (sp) keys.push(`${ns}/${ep.metadata!.name}:${sp.port}`);
        }
      }
    }
    return keys;
  }

  private api<T>(what: string, call: Promise<T>): Promise<T> {
    return withTimeout(call, API_TIMEOUT_MS, what).catch((err: Error) => {
      throw new Refusal(503, `cannot map the address: ${what}: ${err.message}`);
    });
  }
}

/** Never dial anything but loopback, whatever a route file says. */
function checked(target: EgressTarget): EgressTarget {
  if (!isLoopback(target.host)) throw new Refusal(502, `route of ${target.via} points at ${target.host}, not a loopback address`);
  return target;
}

/** A status line's reason phrase may not hold CR or LF (nor should it run on forever). */
const reasonPhrase = (s: string) => s.replace(/[\r\n]+/g, ' ').slice(0, 400);

function refuse(client: net.Socket, status: number, reason: string): void {
  const body = `${reason}\n`;
  client.end(`HTTP/1.1 ${status} ${reasonPhrase(reason)}\r\nContent-Type: text/plain\r\n`
    + `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

/** The CONNECT tunnel: 200 only once the loopback target accepted, so dial errors are refusals too. */
function tunnel(client: net.Socket, head: Buffer, target: EgressTarget, log: (line: string) => void, authority: string): void {
  const upstream = net.connect({ host: target.host, port: target.port });
  const timer = setTimeout(() => upstream.destroy(new Error(`no answer in ${DIAL_TIMEOUT_MS} ms`)), DIAL_TIMEOUT_MS);
  let open = false;
  upstream.once('connect', () => {
    clearTimeout(timer);
    open = true;
    log(`CONNECT ${authority} -> ${target.host}:${target.port} (${target.via})`);
    client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    if (head.length > 0) upstream.write(head);
    client.pipe(upstream).pipe(client);
  });
  upstream.on('error', (err) => {
    clearTimeout(timer);
    if (open) {
      client.destroy();
      return;
    }
    const reason = `${target.via} at ${target.host}:${target.port} does not answer: ${err.message}`;
    log(`refused CONNECT ${authority}: ${reason}`);
    refuse(client, 502, reason);
  });
  client.on('close', () => upstream.destroy());
}

function log(line: string): void {
  process.stdout.write(`${new Date().toISOString()} ${line}\n`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      kubeconfig: { type: 'string', default: process.env.KUBECONFIG },
      socket: { type: 'string' },
      routes: { type: 'string' },
    },
  });
  if (!values.kubeconfig || !values.socket || !values.routes) throw new Error('--kubeconfig, --socket and --routes are required');
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(values.kubeconfig);
  const resolver = new EgressResolver(kc, values.routes);

  const server = http.createServer((req, res) => {
    res.writeHead(req.method === 'GET' && req.url === '/healthz' ? 200 : 405, { 'content-type': 'text/plain' });
    res.end(req.url === '/healthz' ? 'ok\n' : 'only CONNECT <pod ip>:<port> (the API server\'s egress)\n');
  });
  server.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    const authority = req.url ?? '';
    client.on('error', () => client.destroy());
    resolver.resolve(authority).then((target) => tunnel(client, head, target, log, authority), (err: Error) => {
      const status = err instanceof Refusal ? err.status : 500;
      log(`refused CONNECT ${authority}: ${status} ${err.message}`);
      refuse(client, status, err.message);
    });
  });

  fs.rmSync(values.socket, { force: true }); // a stale socket of an earlier run
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(values.socket, resolve);
  });
  fs.chmodSync(values.socket, 0o600);
  log(`egress proxy on ${values.socket}, routes from ${values.routes}`);

  const shutdown = (signal: string) => {
    log(`${signal}: stopping`);
    server.close();
    fs.rmSync(values.socket!, { force: true });
    process.exit(0);
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

if (require.main === module) {
  main().catch((err: Error) => {
    process.stderr.write(`egress-proxy: ${err.message}\n`);
    process.exit(1);
  });
}
