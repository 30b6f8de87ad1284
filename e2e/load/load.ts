/**
 * `npm run rehearse -- --services N`: N canaried services rolled out at once on
 * one Flagger. Each service is the demo chart's app objects under its own app
 * name (`svc-01`..) in the one namespace `testapi`, which the emulator follows
 * (its KubeSource lists the namespace; pods, Services and routes are keyed by
 * name, so many apps share it). Every service gets 1.0 (Initialized), then all
 * at once get their next release: odd ones the good 2.0 (expect succeeded),
 * even ones the bad 3.0 answering 404 (expect failed, by the 4xx check). A
 * canary-watch per service judges; the rollout phase's wall time, Flagger's
 * and the emulator's CPU and memory, and evidence of where time goes (Flagger's
 * spacing of each canary's checks, Prometheus' and the API server's request
 * latency, the machine's busy share) are printed. `--services 1,5,20` runs the
 * sizes in turn on one stack (the namespace emptied between them) and prints
 * the growth table.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RehearsalSettings, rehearsalProps, synthDemo } from '../rehearse/app';
import { clusterDown, clusterUp, flaggerLogPath, httpGet, kubectl, REPO, resetNamespace, StackInfo, stackInfo, startRehearsalParts } from '../rehearse/stack';
import { PhaseFigures, ResourceSampler } from './resources';

const NAMESPACE = 'testapi';
const PROMETHEUS = `http://${process.env.CLUSTER_PROMETHEUS_IP ?? '127.0.90.1'}:9090`;

type Verdict = 'initialized' | 'succeeded' | 'failed';

interface Service {
  readonly app: string;
  readonly release: '2.0' | '3.0';
  readonly expect: Verdict;
}

interface ServiceResult extends Service {
  readonly code: number;
  /** Seconds from the apply to the watcher's verdict. */
  readonly seconds: number;
  /** Failed checks from Flagger's log (`4xx-percentage x2`), `-` without any. */
  readonly halts: string;
  readonly reasonOk: boolean;
  /** Mean spacing of the canary's analysis steps in Flagger's log (s), against the interval. */
  readonly stepSpacingS?: number;
}

interface SizeResult {
  readonly services: number;
  readonly initSeconds: number;
  readonly initOk: number;
  readonly wallSeconds: number;
  readonly results: ServiceResult[];
  readonly figures: PhaseFigures;
  readonly evidence: string[];
}

export const appName = (i: number): string => `svc-${String(i + 1).padStart(2, '0')}`;

/** Odd services (svc-01, svc-03, ..) get the good 2.0, even ones the 404 release 3.0. */
export function plan(count: number): Service[] {
  return Array.from({ length: count }, (_, i) => i % 2 === 0
    ? { app: appName(i), release: '2.0', expect: 'succeeded' }
    : { app: appName(i), release: '3.0', expect: 'failed' });
}

/** The objects of every service at a release; the ones the charts share (namespace, templates, load tester) once. */
export function objectsFor(apps: readonly { app: string; release: string }[], settings: RehearsalSettings): any[] {
  const seen = new Map<string, any>();
  for (const { app, release } of apps) {
    for (const o of synthDemo({ version: release }, { ...rehearsalProps('demo', release, settings), appName: app })) {
      const key = `${o.apiVersion}/${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
      if (!seen.has(key)) seen.set(key, o);
    }
  }
  return [...seen.values()];
}

function apply(stack: StackInfo, objects: any[]): void {
  kubectl(stack, ['apply', '--server-side', '--force-conflicts', '--field-manager', 'cdk8s-canary-rehearse', '-f', '-'],
    JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }));
}

interface Watcher {
  readonly log: string;
  /** Exit code and seconds from `from` (set it to the apply's time) to the verdict. */
  readonly done: Promise<{ code: number; at: number }>;
}

/**
 * canary-watch to its verdict; its text output goes to <dir>/<app>-<expect>.log.
 * `--current` for a new Canary's initialization (an outcome reached before the
 * watcher's first read counts). A release is watched from before its apply, with
 * `--image` naming the release's image (else the watched revision is the template
 * at the watcher's start, the old one): an outcome reached before a watcher's first
 * read never counts, and 40 watchers take long to start on a busy machine.
 */
function watch(stack: StackInfo, app: string, expect: Verdict, since: Date, timeoutS: number, dir: string,
  pin: { current: true } | { image: string }): Watcher {
  const log = path.join(dir, `${app}-${expect}.log`);
  const out = fs.openSync(log, 'w');
  const child = spawn(process.execPath, [
    path.join(REPO, 'watch/build/cli.js'), app, '-n', NAMESPACE, '--expect', expect,
    '--since', since.toISOString().replace(/\.\d+Z$/, 'Z'), '--timeout', `${timeoutS}s`,
    '--kubeconfig', stack.kubeconfig, '--no-color', ...('image' in pin ? ['--image', pin.image] : ['--current']),
  ], { stdio: ['ignore', out, out] });
  return {
    log,
    done: new Promise((resolve) => child.on('close', (c) => {
      fs.closeSync(out);
      resolve({ code: c ?? -1, at: Date.now() });
    })),
  };
}

/** Waits until each watcher has read its Canary (its "waiting for a new rollout" line) or ended. */
async function watchersReady(watchers: readonly Watcher[], timeoutMs: number): Promise<void> {
  const ended = new Set<Watcher>();
  for (const w of watchers) void w.done.then(() => ended.add(w));
  const deadline = Date.now() + timeoutMs;
  while (!watchers.every((w) => ended.has(w) || /waiting for a new rollout/.test(fs.readFileSync(w.log, 'utf8')))) {
    if (Date.now() > deadline) throw new Error(`the watchers were not up after ${timeoutMs / 1000}s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

interface FlaggerLine { readonly ts: number; readonly msg: string; readonly canary?: string }

function flaggerLines(stack: StackInfo, since: number): FlaggerLine[] {
  const text = fs.readFileSync(flaggerLogPath(stack), 'utf8');
  return text.split('\n').flatMap((line) => {
    try {
      const l = JSON.parse(line) as { ts: string; msg: string; canary?: string };
      const ts = Date.parse(l.ts);
      return ts >= since ? [{ ts, msg: l.msg, canary: l.canary }] : [];
    } catch {
      return [];
    }
  });
}

/** A failed check named by a `Halt` message: the metric, `no-values:<metric>`, or the message's start. */
export function haltName(msg: string): string | undefined {
  if (!msg.startsWith('Halt ')) return undefined;
  if (/waiting for .*approval/.test(msg)) return undefined;
  const noValues = /no values found for (?:custom metric: |metric: |\S+ metric )(\S+?):?(?:\s|$)/.exec(msg);
  if (noValues) return `no-values:${noValues[1]}`;
  const check = /^Halt \S+ advancement (.+?) (\S+) ([<>]) (\S+)$/.exec(msg);
  if (check) return check[1];
  return msg.slice(0, 60);
}

/** Failed checks and step spacing of one canary, from Flagger's log lines since the rollout's apply. */
export function analysisOf(lines: readonly FlaggerLine[], app: string): { halts: string[]; rolledBack: boolean; stepSpacingS?: number } {
  const mine = lines.filter((l) => l.canary === `${app}.${NAMESPACE}` || l.msg.includes(` ${app}.${NAMESPACE} `));
  const halts = mine.map((l) => haltName(l.msg)).filter((h): h is string => h !== undefined);
  // One analysis step per interval: an advance, a halt, the promotion's copy or the rollback
  // (messages of one run, within 2 s of each other, count once).
  const steps = mine.filter((l) => /^(Advance|Halt|Copying|Rolling back)/.test(l.msg)).map((l) => l.ts)
    .filter((t, i, all) => i === 0 || t - all[i - 1] > 2000);
  const gaps = steps.slice(1).map((t, i) => (t - steps[i]) / 1000);
  return {
    halts, rolledBack: mine.some((l) => l.msg.startsWith('Rolling back')),
    stepSpacingS: gaps.length ? gaps.reduce((a, b) => a + b, 0) / gaps.length : undefined,
  };
}

function countNames(names: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const n of names) counts.set(n, (counts.get(n) ?? 0) + 1);
  return [...counts].map(([n, c]) => `${n} x${c}`).join(', ') || '-';
}

/** Sums of a Prometheus-format metric's samples whose labels match. */
function metricSum(text: string, name: string, labels: RegExp = /.*/): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const m = /^(\S+?)(\{.*\})?\s+(\S+)/.exec(line);
    if (m && labels.test(m[2] ?? '')) sum += Number(m[3]);
  }
  return sum;
}

interface ServerCounters {
  readonly promQueries: number;
  readonly promQuerySeconds: number;
  readonly apiRequests: number;
  readonly apiSeconds: number;
  readonly apiInflightMax: number;
}

/** Prometheus' query API and the API server's non-watch requests: counts and summed seconds. */
async function serverCounters(stack: StackInfo): Promise<ServerCounters> {
  const prom = (await httpGet(`${PROMETHEUS}/metrics`).catch(() => ({ body: '' }))).body;
  let api: string;
  try {
    api = kubectl(stack, ['get', '--raw', '/metrics']);
  } catch {
    api = '';
  }
  const notWatch = /verb="(?!WATCH|CONNECT)/;
  return {
    promQueries: metricSum(prom, 'prometheus_http_request_duration_seconds_count', /handler="\/api\/v1\/query"/),
    promQuerySeconds: metricSum(prom, 'prometheus_http_request_duration_seconds_sum', /handler="\/api\/v1\/query"/),
    apiRequests: metricSum(api, 'apiserver_request_duration_seconds_count', notWatch),
    apiSeconds: metricSum(api, 'apiserver_request_duration_seconds_sum', notWatch),
    apiInflightMax: metricSum(api, 'apiserver_current_inflight_requests', /mutating|readOnly/),
  };
}

function mean(seconds: number, count: number): string {
  return count > 0 ? `${((seconds / count) * 1000).toFixed(1)} ms` : 'n/a';
}

/** One size: reset, 1.0 for all, then the rollout of all at once, measured. */
async function runSize(stack: StackInfo, count: number, settings: RehearsalSettings, reportDir: string): Promise<SizeResult> {
  const services = plan(count);
  resetNamespace(stack, NAMESPACE);
  const dir = path.join(reportDir, `services-${count}`);
  fs.mkdirSync(dir, { recursive: true });
  const intervalS = settings.interval.toSeconds();
  // Generous: every step, every allowed failure, set-up and promotion, and room for N canaries.
  const timeoutS = Math.ceil(intervalS * 20 + 300 + count * 10);

  const initStart = Date.now();
  const initSince = new Date(Math.floor(initStart / 1000) * 1000 - 1000);
  apply(stack, objectsFor(services.map((s) => ({ app: s.app, release: '1.0' })), settings));
  const inits = await Promise.all(services.map((s) => watch(stack, s.app, 'initialized', initSince, timeoutS, dir, { current: true }).done));
  const initSeconds = (Date.now() - initStart) / 1000;
  const initOk = inits.filter((r) => r.code === 0).length;
  console.log(`[load] ${count} services: 1.0 initialized ${initOk}/${count} in ${initSeconds.toFixed(0)}s`);

  const since = new Date(Math.floor(Date.now() / 1000) * 1000 - 1000);
  const objects = objectsFor(services, settings);
  const imageOf = (app: string): string => objects.find((o) => o.kind === 'Deployment' && o.metadata.name === app).spec.template.spec.containers[0].image;
  const watchers = services.map((s) => watch(stack, s.app, s.expect, since, timeoutS, dir, { image: imageOf(s.app) }));
  await watchersReady(watchers, 180_000);
  const sampler = new ResourceSampler(stack.state);
  const before = await serverCounters(stack);
  sampler.start();
  const start = Date.now();
  apply(stack, objects);
  const verdicts = (await Promise.all(watchers.map((w) => w.done))).map((v) => ({ code: v.code, seconds: (v.at - start) / 1000 }));
  const wallSeconds = (Date.now() - start) / 1000;
  const figures = sampler.stop();
  const after = await serverCounters(stack);

  const lines = flaggerLines(stack, since.getTime());
  const results = services.map((s, i): ServiceResult => {
    const a = analysisOf(lines, s.app);
    // A good release: no rollback. A bad one: rolled back for the 4xx check alone.
    const reasonOk = s.expect === 'succeeded' ? !a.rolledBack : a.rolledBack && a.halts.length > 0 && a.halts.every((h) => h === '4xx-percentage');
    return { ...s, code: verdicts[i].code, seconds: verdicts[i].seconds, halts: countNames(a.halts), reasonOk, stepSpacingS: a.stepSpacingS };
  });
  const spacing = results.map((r) => r.stepSpacingS).filter((x): x is number => x !== undefined);
  const promQ = after.promQueries - before.promQueries;
  const apiQ = after.apiRequests - before.apiRequests;
  const evidence = [
    `Flagger's spacing of a canary's analysis steps: mean ${(spacing.reduce((a, b) => a + b, 0) / Math.max(1, spacing.length)).toFixed(1)}s, `
      + `max ${Math.max(0, ...spacing).toFixed(1)}s (interval ${intervalS}s)`,
    `Prometheus /api/v1/query: ${promQ} queries (${(promQ / wallSeconds).toFixed(1)}/s), mean ${mean(after.promQuerySeconds - before.promQuerySeconds, promQ)}`,
    `API server (non-watch): ${apiQ} requests (${(apiQ / wallSeconds).toFixed(1)}/s), mean ${mean(after.apiSeconds - before.apiSeconds, apiQ)}`,
    `machine: both cores ${(figures.machineBusy * 100).toFixed(0)}% busy; load average ${figures.loadavgBefore} before, ${figures.loadavgAfter} after`,
    `CPU share of the ${wallSeconds.toFixed(0)}s by component (group CPU s / wall s): ${figures.components
      .map((c) => [c.name, c.groupCpuS / wallSeconds] as const).sort((a, b) => b[1] - a[1])
      .map(([n, x]) => `${n} ${(x * 100).toFixed(0)}%`).join(', ')}`,
  ];
  return { services: count, initSeconds, initOk, wallSeconds, results, figures, evidence };
}

function component(figures: PhaseFigures, name: string) {
  return figures.components.find((c) => c.name === name);
}

function report(size: SizeResult): string {
  const rows = size.results.map((r) => `  ${r.code === 0 && r.reasonOk ? 'ok  ' : 'FAIL'} ${r.app} ${r.release} expect ${r.expect.padEnd(9)} `
    + `watcher exit ${r.code}  ${r.seconds.toFixed(0).padStart(4)}s  steps every ${r.stepSpacingS?.toFixed(1) ?? '-'}s  failed checks: ${r.halts}`);
  const comps = size.figures.components.map((c) => `  ${c.name.padEnd(18)} main pid ${c.mainPid}: CPU ${c.mainCpuS.toFixed(1)}s, peak RSS ${c.mainPeakRssMiB.toFixed(0)} MiB `
    + `(VmHWM ${c.mainVmHwmMiB.toFixed(0)}); group: CPU ${c.groupCpuS.toFixed(1)}s, peak RSS ${c.groupPeakRssMiB.toFixed(0)} MiB in ${c.groupPeakProcs} processes`);
  return [
    `[load] ${size.services} services rolled out at once: wall ${size.wallSeconds.toFixed(0)}s`,
    ...rows,
    '  resources during the rollout:',
    ...comps,
    '  evidence:',
    ...size.evidence.map((e) => `  - ${e}`),
  ].join('\n');
}

export function growthTable(sizes: readonly SizeResult[]): string {
  const header = '  services  wall s  init s  Flagger peak RSS MiB / CPU s  emulator peak RSS MiB (group) / CPU s (group)  verdicts right';
  const rows = sizes.map((s) => {
    const f = component(s.figures, 'flagger');
    const d = component(s.figures, 'dataplane');
    const right = s.results.filter((r) => r.code === 0 && r.reasonOk).length;
    return `  ${String(s.services).padStart(8)}  ${s.wallSeconds.toFixed(0).padStart(6)}  ${s.initSeconds.toFixed(0).padStart(6)}  `
      + `${`${f?.mainPeakRssMiB.toFixed(0)} / ${f?.mainCpuS.toFixed(1)}`.padEnd(28)}  `
      + `${`${d?.mainPeakRssMiB.toFixed(0)} (${d?.groupPeakRssMiB.toFixed(0)}) / ${d?.mainCpuS.toFixed(1)} (${d?.groupCpuS.toFixed(1)})`.padEnd(46)}  `
      + `${right}/${s.services}`;
  });
  return ['growth table (the rollout phase: all services get 2.0 or 3.0 at once):', header, ...rows].join('\n');
}

export function parseSizes(text: string): number[] {
  const sizes = text.split(',').map((t) => Number(t.trim()));
  for (const n of sizes) {
    if (!Number.isInteger(n) || n < 1 || n > 60) throw new Error(`--services (${text}) must be whole numbers from 1 to 60, comma separated`);
  }
  return sizes;
}

/** Runs each size in turn on one stack; exit 0 when every verdict and reason is right. */
export async function runLoad(sizes: readonly number[], settings: RehearsalSettings, keep: boolean): Promise<number> {
  const started = Date.now();
  const done: SizeResult[] = [];
  let failed = false;
  const reportDir = process.env.REHEARSE_REPORTS || path.join(REPO, 'dist', 'rehearsal-reports', 'load');
  try {
    clusterUp();
    const stack = stackInfo();
    resetNamespace(stack, NAMESPACE);
    const most = Math.max(...sizes);
    await startRehearsalParts(stack, NAMESPACE, Array.from({ length: most }, (_, i) => `http://${appName(i)}.${NAMESPACE}:3000/`));
    console.log(`[load] stack ready after ${((Date.now() - started) / 1000).toFixed(0)}s; sizes ${sizes.join(', ')}; watcher logs in ${reportDir}`);
    for (const count of sizes) {
      const size = await runSize(stack, count, settings, reportDir);
      done.push(size);
      console.log(report(size));
      if (size.initOk !== count || size.results.some((r) => r.code !== 0 || !r.reasonOk)) failed = true;
    }
  } catch (err) {
    console.error(`[load] error: ${(err as Error).message}`);
    failed = true;
  } finally {
    if (!keep) {
      try {
        clusterDown();
      } catch (err) {
        console.error(`[load] teardown: ${(err as Error).message}`);
      }
    }
  }
  console.log(`\n${growthTable(done)}\n[load] total ${((Date.now() - started) / 1000).toFixed(0)}s`);
  return failed || done.length !== sizes.length ? 1 : 0;
}
