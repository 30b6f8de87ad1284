/**
 * The rehearsal's parts on top of the e2e control plane (e2e/cluster): the
 * data-plane emulator, the real flagger-loadtester (in the stack's hosts-file
 * mount namespace, so `hey` resolves `api-canary.testapi`), and the stack's
 * Prometheus scraping the emulated proxies every 2 s. Every process is started
 * through e2e/cluster/component.sh, so `cluster:down` stops it with the rest.
 * The emulator publishes egress routes (e2e/cluster/egress-proxy.ts), so the API
 * server's service proxy reaches the load tester's Service, the emulated api pods
 * and (set up by up.sh) linkerd-viz/prometheus:9090.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';

/** The repository root: the nearest folder up with a package.json. */
export const REPO = ((dir: string): string => {
  while (!fs.existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
  return dir;
})(__dirname);
const CLUSTER = path.join(REPO, 'e2e/cluster');

/** Ports outside the launcher's block (base+1..base+80), on 127.0.0.1. */
const PORT_BASE = Number(process.env.CLUSTER_PORT_BASE ?? 36400);
export const DATAPLANE_METRICS = `127.0.0.1:${PORT_BASE + 91}`;
export const LOADTESTER_PORT = PORT_BASE + 92;
/** Pod and Service loopback /24s of this stack's emulator: two stacks (port bases) never share one. */
const LOOPBACK_NET = Math.floor(PORT_BASE / 100) % 256;
/** The stack's Prometheus (up.sh: CLUSTER_PROMETHEUS_IP, default 127.0.90.1). */
const PROMETHEUS_ADDR = `${process.env.CLUSTER_PROMETHEUS_IP ?? '127.0.90.1'}:9090`;
const PROMETHEUS = `http://${PROMETHEUS_ADDR}`;

export interface StackInfo {
  readonly state: string;
  readonly kubeconfig: string;
  readonly kubectl: string;
  readonly hostsFile: string;
  readonly flaggerBin: string;
  /** The egress proxy's route folder and socket (up.sh). */
  readonly egressRoutes: string;
  readonly egressSocket: string;
}

function run(cmd: string, args: string[], opts: { quiet?: boolean; env?: NodeJS.ProcessEnv } = {}): string {
  const r = spawnSync(cmd, args, {
    encoding: 'utf8', env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20,
  });
  if (!opts.quiet && r.stdout) process.stdout.write(r.stdout);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr || r.stdout}`);
  return r.stdout;
}

/** Reads the live stack's env file (written by up.sh). */
export function stackInfo(): StackInfo {
  const pointer = path.join(process.env.TMPDIR || os.tmpdir(), 'cdk8s-canary-e2e', 'current');
  if (!fs.existsSync(pointer)) throw new Error('no e2e stack is up: npm run cluster:up');
  const state = fs.readFileSync(pointer, 'utf8').trim();
  const env: Record<string, string> = {};
  for (const line of fs.readFileSync(path.join(state, 'env'), 'utf8').split('\n')) {
    const m = /^export (\w+)=(.*)$/.exec(line);
    if (m) env[m[1]] = m[2];
  }
  return {
    state, kubeconfig: env.KUBECONFIG, kubectl: env.CLUSTER_KUBECTL, hostsFile: env.CLUSTER_HOSTS_FILE, flaggerBin: env.CLUSTER_BIN_FLAGGER,
    egressRoutes: env.CLUSTER_EGRESS_ROUTES, egressSocket: env.CLUSTER_EGRESS_SOCKET,
  };
}

export function clusterUp(): void {
  run('bash', [path.join(CLUSTER, 'build.sh')], { quiet: true });
  run('bash', [path.join(CLUSTER, 'up.sh')]);
}

export function clusterDown(): void {
  run('bash', [path.join(CLUSTER, 'down.sh')]);
}

function component(args: string[]): void {
  run('bash', [path.join(CLUSTER, 'component.sh'), ...args], { quiet: true });
}

function isAlive(name: string): boolean {
  return spawnSync('bash', [path.join(CLUSTER, 'component.sh'), 'alive', name]).status === 0;
}

interface HttpAnswer {
  readonly status: number;
  readonly body: string;
  readonly headers: http.IncomingHttpHeaders;
}

function httpRequest(url: string, method: string, body?: string, extraHeaders: Record<string, string> = {}): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const headers = {
      ...extraHeaders,
      ...(body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }),
    };
    const req = http.request(url, { method, timeout: 5000, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { text += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text, headers: res.headers }));
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${url} timed out`)));
    req.on('error', reject);
    req.end(body);
  });
}

export const httpGet = (url: string, headers: Record<string, string> = {}) => httpRequest(url, 'GET', undefined, headers);
export const httpPost = (url: string, body = '') => httpRequest(url, 'POST', body);

export async function waitFor(what: string, timeoutMs: number, probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/**
 * Starts the emulator, the load tester and the 2 s scrape; idempotent, so a
 * test file and the rehearse CLI can both call it on one stack. The emulator's
 * load generator sends 10 QPS to each of `loadUrls` (the apex Services).
 */
export async function startRehearsalParts(stack: StackInfo, namespace = 'testapi',
  loadUrls: readonly string[] = [`http://api.${namespace}:3000/`]): Promise<void> {
  if (!isAlive('loadtester')) {
    component(['start', 'loadtester', '--hosts', '--', path.join(stack.flaggerBin, 'loadtester'),
      '-port', String(LOADTESTER_PORT), '-timeout', '1h', '-log-level', 'info']);
  }
  if (!isAlive('dataplane')) {
    component(['start', 'dataplane', '--', process.execPath, '--require', require.resolve('tsx/cjs'), path.join(REPO, 'e2e/dataplane/main.ts'),
      '--kubeconfig', stack.kubeconfig, '--namespace', namespace, '--hosts-file', stack.hostsFile,
      '--pod-prefix', `127.${LOOPBACK_NET}.10`, '--service-prefix', `127.${LOOPBACK_NET}.20`,
      '--metrics', DATAPLANE_METRICS, '--egress-routes', path.join(stack.egressRoutes, 'dataplane.json'),
      '--forward', `flagger-loadtester.${namespace}:80=127.0.0.1:${LOADTESTER_PORT}`,
      ...loadUrls.flatMap((url) => ['--load', url]), '--load-qps', '10']);
  }
  await waitFor('the data plane /metrics', 30_000, async () => (await httpGet(`http://${DATAPLANE_METRICS}/metrics`)).status === 200);
  await waitFor('the load tester', 30_000, async () => (await httpGet(`http://127.0.0.1:${LOADTESTER_PORT}/healthz`)).status === 200);
  // The stack's Prometheus runs with <state>/prometheus.yml and --web.enable-lifecycle:
  // add the emulated proxies as a target and reload, rather than restarting it.
  const config = path.join(stack.state, 'prometheus.yml');
  fs.writeFileSync(config, [
    'global: {scrape_interval: 2s, evaluation_interval: 2s}',
    'scrape_configs:',
    `- {job_name: prometheus, static_configs: [{targets: ['${PROMETHEUS_ADDR}']}]}`,
    `- {job_name: linkerd-proxy, honor_labels: true, static_configs: [{targets: ['${DATAPLANE_METRICS}']}]}`,
    '',
  ].join('\n'));
  const reload = await httpPost(`${PROMETHEUS}/-/reload`);
  if (reload.status !== 200) throw new Error(`Prometheus reload failed (${reload.status}): ${reload.body}`);
  await waitFor('Prometheus scraping the data plane', 30_000, async () => {
    const r = await httpGet(`${PROMETHEUS}/api/v1/targets?state=active`);
    const targets = (JSON.parse(r.body) as { data: { activeTargets: { labels: Record<string, string>; health: string }[] } }).data.activeTargets;
    return targets.some((t) => t.labels.job === 'linkerd-proxy' && t.health === 'up');
  });
}

/** Stops what startRehearsalParts started (the stack's own parts keep running). */
export function stopRehearsalParts(): void {
  for (const name of ['dataplane', 'loadtester']) component(['stop', name]);
}

/** Address a Service name resolves to in the emulated mesh (from the data plane's /state). */
export async function serviceAddress(name: string, namespace = 'testapi'): Promise<string | undefined> {
  const r = await httpGet(`http://${DATAPLANE_METRICS}/state`);
  return (JSON.parse(r.body) as { services: Record<string, string> }).services[`${namespace}/${name}`];
}

export function dataplaneLogPath(stack: StackInfo): string {
  return path.join(stack.state, 'logs', 'dataplane.log');
}

/** Flagger's JSON log, where every event message is written (see reasons.ts). */
export function flaggerLogPath(stack: StackInfo): string {
  return path.join(stack.state, 'logs', 'flagger.log');
}

/** kubectl bound to the stack's kubeconfig; throws with stderr on failure. */
export function kubectl(stack: StackInfo, args: string[], input?: string): string {
  const r = spawnSync(stack.kubectl, ['--kubeconfig', stack.kubeconfig, ...args], { input, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

/** Deletes the namespace and waits until it is gone, so a run starts from nothing. */
export function resetNamespace(stack: StackInfo, namespace = 'testapi'): void {
  kubectl(stack, ['delete', 'namespace', namespace, '--ignore-not-found', '--wait=true', '--timeout=180s']);
}
