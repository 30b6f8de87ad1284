/**
 * The data-plane EMULATOR of the e2e stack. The control plane is real but its
 * kubelets are simulated (kwok) and there is no Linkerd, so this stands in for:
 *  - the kubelet: runs the pods' containers (the test API as real processes)
 *    and reports their status (kubelet.ts);
 *  - Linkerd's proxies: Service listeners on loopback that split the apex
 *    Service by Flagger's weights, balance over ready pods, and count every
 *    inbound response per pod in Linkerd's metric format on /metrics, and by
 *    client workload on /traffic (see client-identity.ts).
 * It applies a snapshot of the cluster (see KubeSource) every second.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import { writeRoutes } from '../cluster/egress-routes';
import { ClientIdentity } from './client-identity';
import { HostsFile, serviceNames } from './hosts';
import { EmulatedKubelet } from './kubelet';
import { LoopbackPool } from './loopback';
import { PodStatusView } from './pod-status';
import { ProxyMetrics } from './proxy-metrics';
import { Endpoint, ServiceRouter } from './router';
import { describeSplit, ServiceSplit, ServiceSummary, PodSpecSummary } from './topology';

export interface Snapshot {
  readonly pods: readonly PodSpecSummary[];
  readonly services: readonly ServiceSummary[];
  readonly splits: readonly ServiceSplit[];
}

/** A Service whose backend is a process outside the emulation (e.g. the load tester). */
export interface StaticForward {
  readonly name: string;
  readonly namespace: string;
  readonly port: number;
  readonly targetHost: string;
  readonly targetPort: number;
}

export interface DataPlaneOptions {
  readonly serverPath: string;
  /** Hosts file to publish Service addresses in. @default - addresses are not published */
  readonly hostsFile?: string;
  /** @default '127.0.10' */
  readonly podPrefix?: string;
  /** @default '127.0.20' */
  readonly servicePrefix?: string;
  readonly forwards?: readonly StaticForward[];
  /**
   * Route file for the stack's egress proxy (e2e/cluster/egress-proxy.ts), kept up to date with
   * the forwards and the emulated pods, so that the API server's service and pod proxy reach
   * them; removed on stop. @default - the API server's proxy reaches none of them
   */
  readonly egressRoutes?: string;
  readonly log?: (line: string) => void;
  readonly processOutput?: NodeJS.WritableStream;
}

interface Listener {
  readonly address: string;
  readonly close: () => void;
}

export class DataPlane {
  readonly metrics = new ProxyMetrics();
  readonly router = new ServiceRouter(this.metrics, (socket) => this.clients.identify(socket));
  private readonly clients: ClientIdentity;
  private readonly clientAddresses = new Map<string, string>();
  private readonly kubelet: EmulatedKubelet;
  private readonly servicePool: LoopbackPool;
  private readonly hosts?: HostsFile;
  private readonly listeners = new Map<string, Listener>();
  private readonly addresses = new Map<string, string>();
  private lastSnapshot: Snapshot = { pods: [], services: [], splits: [] };
  private readonly splitText = new Map<string, string>();
  private readonly log: (line: string) => void;

  constructor(private readonly options: DataPlaneOptions) {
    this.log = options.log ?? (() => undefined);
    this.servicePool = new LoopbackPool(options.servicePrefix ?? '127.0.20');
    this.hosts = options.hostsFile ? new HostsFile(options.hostsFile) : undefined;
    // Names an earlier run published keep their address: a new name must not be given one of them.
    for (const address of this.hosts?.addresses() ?? []) this.servicePool.reserve(address);
    // The load tester's processes are known by the forward's target, which the load tester serves.
    this.clients = new ClientIdentity({
      addresses: this.clientAddresses,
      listeners: (options.forwards ?? []).map((f) => ({ name: f.name, host: f.targetHost, port: f.targetPort })),
    });
    this.kubelet = new EmulatedKubelet({
      serverPath: options.serverPath,
      addresses: new LoopbackPool(options.podPrefix ?? '127.0.10'),
      output: options.processOutput,
      onChange: (event, endpoint) => this.onPodChange(event, endpoint),
      log: this.log,
    });
  }

  /** Address a Service name resolves to (the in-process DNS of the emulated mesh). */
  serviceAddress(name: string, namespace: string): string | undefined {
    return this.addresses.get(`${namespace}/${name}`);
  }

  /**
   * A loopback address of its own for a client the emulator runs (its load
   * generator binds it): requests from it are counted as `name`'s.
   */
  clientAddress(name: string): string {
    const address = this.servicePool.allocate();
    this.clientAddresses.set(address, name);
    return address;
  }

  async start(): Promise<void> {
    for (const f of this.options.forwards ?? []) {
      const address = this.addressFor(f.name, f.namespace);
      await this.listen(`${f.namespace}/${f.name}:${f.port}`, address, f.port, net.createServer((client) => {
        const upstream = net.connect(f.targetPort, f.targetHost);
        client.pipe(upstream).pipe(client);
        const drop = () => { client.destroy(); upstream.destroy(); };
        client.on('error', drop);
        upstream.on('error', drop);
      }));
      this.log(`forward ${f.name}.${f.namespace}:${f.port} (${address}) -> ${f.targetHost}:${f.targetPort}`);
    }
    this.publishEgressRoutes();
  }

  async apply(snapshot: Snapshot): Promise<void> {
    this.lastSnapshot = snapshot;
    this.kubelet.reconcile(snapshot.pods);
    for (const svc of snapshot.services) {
      for (const port of svc.ports) {
        const key = `${svc.namespace}/${svc.name}:${port}`;
        if (this.listeners.has(key)) continue;
        const address = this.addressFor(svc.name, svc.namespace);
        await this.listen(key, address, port, http.createServer(this.router.handler(svc.namespace, svc.name, port)));
        this.log(`service ${svc.name}.${svc.namespace}:${port} at ${address}:${port}`);
      }
    }
    const current = new Set(snapshot.splits.map((s) => `${s.namespace}/${s.service}`));
    for (const key of [...this.splitText.keys()].filter((k) => !current.has(k))) {
      this.splitText.delete(key);
      this.log(`weights ${key.split('/').reverse().join('.')} removed`);
    }
    for (const split of snapshot.splits) {
      const key = `${split.namespace}/${split.service}`;
      const text = `${split.source} ${describeSplit(split)}`;
      if (this.splitText.get(key) !== text) {
        this.splitText.set(key, text);
        this.log(`weights ${split.service}.${split.namespace} ${text}`);
      }
    }
    this.updateRoutes();
  }

  /** The pods' status as the emulated kubelet reports it (written by kube-source.ts PodStatusWriter). */
  podStatuses(): PodStatusView[] {
    return this.kubelet.statuses();
  }

  /** Current view, for the rehearsal's checks and for debugging (`GET /state`). */
  state(): object {
    return {
      services: Object.fromEntries(this.addresses),
      endpoints: this.kubelet.endpoints().map((e) => ({
        pod: e.pod.name, deployment: e.pod.deployment, version: e.pod.version, address: `${e.host}:${e.port}`,
      })),
      splits: this.lastSnapshot.splits,
    };
  }

  /** Serves /metrics (Prometheus text format), /state and /traffic (the ledger by client, JSON). */
  metricsHandler(): http.RequestListener {
    return (req, res) => {
      if (req.url === '/metrics') {
        this.metrics.exposition().then((text) => {
          res.writeHead(200, { 'content-type': this.metrics.registry.contentType });
          res.end(text);
        }, (err: Error) => {
          res.writeHead(500);
          res.end(err.message);
        });
      } else if (req.url === '/traffic') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(this.metrics.traffic()));
      } else if (req.url === '/state') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(this.state(), null, 2));
      } else {
        res.writeHead(404);
        res.end();
      }
    };
  }

  async stop(): Promise<void> {
    for (const l of this.listeners.values()) l.close();
    this.listeners.clear();
    this.router.close();
    if (this.options.egressRoutes) fs.rmSync(this.options.egressRoutes, { force: true });
    await this.kubelet.stopAll();
  }

  private onPodChange(event: 'up' | 'down', endpoint: Endpoint): void {
    const id = { namespace: endpoint.pod.namespace, deployment: endpoint.pod.deployment, pod: endpoint.pod.name };
    if (event === 'up') this.metrics.addPod(id);
    else this.metrics.removePod(id);
    this.log(`pod ${event} ${endpoint.pod.name} (${endpoint.pod.deployment}, release ${endpoint.pod.version ?? '?'}) at ${endpoint.host}:${endpoint.port}`);
    this.updateRoutes();
    this.publishEgressRoutes();
  }

  /** The forwards' targets by Service port, and each answering pod's process address. */
  private publishEgressRoutes(): void {
    if (!this.options.egressRoutes) return;
    writeRoutes(this.options.egressRoutes, {
      services: Object.fromEntries((this.options.forwards ?? []).map((f) =>
        [`${f.namespace}/${f.name}:${f.port}`, `${f.targetHost}:${f.targetPort}`])),
      pods: Object.fromEntries(this.kubelet.endpoints().map((e) => [`${e.pod.namespace}/${e.pod.name}`, e.host])),
    });
  }

  private updateRoutes(): void {
    this.router.update({
      services: this.lastSnapshot.services,
      endpoints: this.kubelet.endpoints(),
      splits: this.lastSnapshot.splits,
    });
  }

  private addressFor(name: string, namespace: string): string {
    const key = `${namespace}/${name}`;
    let address = this.addresses.get(key);
    if (!address) {
      const names = serviceNames(name, namespace);
      const published = this.hosts?.lookup(names[0]);
      if (published) this.servicePool.reserve(published);
      address = published ?? this.servicePool.allocate();
      this.hosts?.ensure(names, address);
      this.addresses.set(key, address);
    }
    return address;
  }

  private listen(key: string, address: string, port: number, server: net.Server): Promise<void> {
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, address, () => {
        server.off('error', reject);
        this.listeners.set(key, { address, close: () => server.close() });
        resolve();
      });
    });
  }
}
