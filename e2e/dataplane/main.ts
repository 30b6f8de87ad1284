#!/usr/bin/env node
/**
 * CLI of the data-plane emulator (see dataplane.ts for what it emulates).
 *
 *   node --require tsx/cjs e2e/dataplane/main.ts --kubeconfig <file> [--namespace testapi]
 *     [--hosts-file <file>] [--metrics 127.0.0.1:9911]
 *     [--forward flagger-loadtester.testapi:80=127.0.0.1:18080]...
 *     [--load http://api.testapi:3000/]... [--load-qps 10]   (one generator per --load URL)
 *     [--pod-prefix 127.0.10] [--service-prefix 127.0.20]
 *     [--egress-routes <state>/egress-routes/dataplane.json]
 *
 * GET /traffic on the metrics address: responses by destination pod and client workload
 * (`load-generator`, `flagger-loadtester/hey`, ...), see client-identity.ts.
 * Logs one timestamped line per change (pods up/down, Service addresses,
 * weights, HTTPRoute status written, routes Linkerd would refuse) on stdout; runs until SIGTERM/SIGINT, then stops its processes.
 */
import * as http from 'node:http';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { DataPlane, StaticForward } from './dataplane';
import { KubeSource, PodStatusWriter, RouteStatusWriter } from './kube-source';
import { LoadGenerator } from './load-generator';
import { LoadTarget, loadTargets } from './load-targets';

function hostPort(value: string, what: string): { host: string; port: number } {
  const m = value.match(/^([^:]+):(\d+)$/);
  if (!m) throw new Error(`${what} (${value}) must be host:port`);
  return { host: m[1], port: Number(m[2]) };
}

/** `name.namespace:port=host:port` */
function parseForward(value: string): StaticForward {
  const m = value.match(/^([a-z0-9-]+)\.([a-z0-9-]+):(\d+)=([^:]+):(\d+)$/);
  if (!m) throw new Error(`--forward (${value}) must be name.namespace:port=host:port`);
  return { name: m[1], namespace: m[2], port: Number(m[3]), targetHost: m[4], targetPort: Number(m[5]) };
}

/** The client name of the emulator's load generator in the /traffic ledger. */
const LOAD_GENERATOR = 'load-generator';

function log(line: string): void {
  process.stdout.write(`${new Date().toISOString()} ${line}\n`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'kubeconfig': { type: 'string', default: process.env.KUBECONFIG },
      'namespace': { type: 'string', default: 'testapi' },
      'hosts-file': { type: 'string' },
      'metrics': { type: 'string', default: '127.0.0.1:9911' },
      'forward': { type: 'string', multiple: true, default: [] },
      'server': { type: 'string', default: path.resolve(__dirname, '../../testapi/server.js') },
      'load': { type: 'string', multiple: true, default: [] },
      'load-qps': { type: 'string', default: '10' },
      'interval-ms': { type: 'string', default: '1000' },
      'pod-prefix': { type: 'string', default: '127.0.10' },
      'service-prefix': { type: 'string', default: '127.0.20' },
      // The stack's egress proxy maps the API server's service/pod proxy through this file.
      'egress-routes': { type: 'string' },
    },
  });
  if (!values.kubeconfig) throw new Error('--kubeconfig (or KUBECONFIG) is required');
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(values.kubeconfig);
  const source = new KubeSource(kc, values.namespace!, log);
  // There is no Linkerd: its policy controller's HTTPRoute status is written here.
  const routeStatus = new RouteStatusWriter(kc, log);
  // There is no kubelet: the emulated one's pod status is written here.
  const podStatus = new PodStatusWriter(kc, log);
  const plane = new DataPlane({
    serverPath: values.server!,
    hostsFile: values['hosts-file'],
    podPrefix: values['pod-prefix'],
    servicePrefix: values['service-prefix'],
    forwards: values.forward!.map(parseForward),
    egressRoutes: values['egress-routes'],
    log,
  });
  await plane.start();

  const metrics = hostPort(values.metrics!, '--metrics');
  const metricsServer = http.createServer(plane.metricsHandler());
  await new Promise<void>((resolve) => metricsServer.listen(metrics.port, metrics.host, resolve));
  log(`metrics on http://${values.metrics}/metrics`);

  let stopping = false;
  const loads = new Map<string, LoadGenerator>();
  const targets = loadTargets(values.load!, values.namespace!);
  const loadCounts = new Map<number, number>();
  const intervalMs = Number(values['interval-ms']);
  let lastError = '';
  const loop = async () => {
    while (!stopping) {
      try {
        const snapshot = await source.snapshot();
        // The pods' status goes out even when a Service listener fails to open.
        await plane.apply(snapshot).finally(() => podStatus.reconcile(plane.podStatuses(), snapshot.pods));
        await routeStatus.reconcile(snapshot.httpRoutes, snapshot.services);
        lastError = '';
      } catch (err) {
        const msg = (err as Error).message;
        if (msg !== lastError) log(`kube: ${msg}`);
        lastError = msg;
      }
      for (const target of targets) {
        const gen = loads.has(target.url) ? undefined : startLoad(target, Number(values['load-qps']));
        if (gen) loads.set(target.url, gen);
      }
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  };
  const startLoad = ({ url, name, namespace, port, path: urlPath }: LoadTarget, qps: number): LoadGenerator | undefined => {
    const host = plane.serviceAddress(name, namespace);
    if (!host) return undefined;
    const localAddress = plane.clientAddress(LOAD_GENERATOR);
    const gen = new LoadGenerator({
      host, port, path: urlPath, qps, localAddress,
      onResponse: (s) => loadCounts.set(s, (loadCounts.get(s) ?? 0) + 1),
    });
    gen.start();
    log(`load ${qps} QPS to ${url} (${host}) from ${localAddress} (client ${LOAD_GENERATOR})`);
    return gen;
  };
  // A periodic summary of what the load generator saw: the user's view of the rollout.
  const summary = setInterval(() => {
    if (loadCounts.size === 0) return;
    log(`load responses ${[...loadCounts].sort().map(([s, n]) => `${s}:${n}`).join(' ')}`);
    loadCounts.clear();
  }, 15000);

  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: stopping`);
    clearInterval(summary);
    for (const gen of loads.values()) gen.stop();
    metricsServer.close();
    await plane.stop();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  await loop();
}

main().catch((err: Error) => {
  process.stderr.write(`dataplane: ${err.message}\n`);
  process.exit(1);
});
