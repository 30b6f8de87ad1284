/**
 * Synth benchmark: N canaried services (CanaryTarget + Canary with three
 * metric checks and a load-test webhook, sharing one set of metric templates
 * and one load tester) synthesized to YAML in one process, for N = 1, 10, 100,
 * 1000. Each N runs in a fresh child process so its peak RSS is its own.
 * Then the wall time of `npx cdk8s synth` for the demo app.
 * Prints figures only; targets: <= 3 ms/service at N=1000, synth < 2 s.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ApiObject, App, Chart } from 'cdk8s';
import { Canary, CanaryTarget, LinkerdMetricTemplates, LoadTester } from '../lib';

const SIZES = [1, 10, 100, 1000];
const ROOT = path.resolve(__dirname, '..');
/** Runs TypeScript sources in a child node process, as cdk8s.yaml's app does. */
const TSX = ['--require', 'tsx/cjs'];

/** Builds and synthesizes N services; returns elapsed ms and YAML size. */
function synthServices(n: number): { ms: number; objects: number; bytes: number } {
  const start = process.hrtime.bigint();
  const app = new App({ outdir: os.tmpdir() });
  const chart = new Chart(app, 'bench', { namespace: 'bench' });
  const templates = new LinkerdMetricTemplates(chart, 'templates');
  const tester = new LoadTester(chart, 'tester');
  for (let i = 0; i < n; i++) {
    const api = new CanaryTarget(chart, `api${i}`, { name: `api-${i}`, image: 'registry.local/api', version: '2.0' });
    const canary = new Canary(chart, `canary${i}`, {
      target: api,
      metrics: [templates.successRate(), templates.clientErrors(), templates.latencyP99()],
    });
    canary.addWebhook(tester.loadTest(canary));
  }
  const yaml = app.synthYaml();
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  return { ms, objects: chart.node.findAll().filter((c) => c instanceof ApiObject).length, bytes: yaml.length };
}

function child(n: number): void {
  synthServices(10); // warm up the JIT and module caches
  const runs = n >= 1000 ? 3 : 5;
  let best = Infinity;
  let last = { ms: 0, objects: 0, bytes: 0 };
  for (let r = 0; r < runs; r++) {
    last = synthServices(n);
    best = Math.min(best, last.ms);
  }
  const peakRssMiB = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(JSON.stringify({ n, bestMs: best, objects: last.objects, bytes: last.bytes, peakRssMiB }));
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function timeCommand(cmd: string, args: string[], runs: number, env: NodeJS.ProcessEnv): number[] {
  const times: number[] = [];
  for (let r = 0; r < runs; r++) {
    const start = process.hrtime.bigint();
    const res = spawnSync(cmd, args, { cwd: ROOT, env, encoding: 'utf8' });
    if (res.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${res.stderr}`);
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return times;
}

function parent(): void {
  console.log(`synth benchmark (node ${process.version}, ${os.cpus().length} CPUs)`);
  console.log('services  objects  YAML KiB  best total ms  ms/service  peak RSS MiB');
  for (const n of SIZES) {
    const res = spawnSync(process.execPath, [...TSX, __filename, '--child', String(n)], { encoding: 'utf8' });
    if (res.status !== 0) throw new Error(`child N=${n} failed: ${res.stderr}`);
    const r = JSON.parse(res.stdout);
    console.log([
      String(n).padStart(8), String(r.objects).padStart(8), (r.bytes / 1024).toFixed(0).padStart(9),
      r.bestMs.toFixed(1).padStart(14), (r.bestMs / n).toFixed(3).padStart(11), r.peakRssMiB.toFixed(0).padStart(13),
    ].join(' '));
  }
  console.log('target: <= 3 ms/service at N=1000');

  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-canary-bench-'));
  try {
    const env = { ...process.env, API_VERSION: '2.0' };
    const synth = timeCommand('npx', ['cdk8s', 'synth', '--no-check-upgrade', '--output', outdir], 5, env);
    const direct = timeCommand(process.execPath, [...TSX, path.join(ROOT, 'main.ts')], 5, { ...env, CDK8S_OUTDIR: outdir });
    console.log(`npx cdk8s synth (demo app from sources):  median ${median(synth).toFixed(0)} ms, min ${Math.min(...synth).toFixed(0)} ms over ${synth.length} runs (target < 2000 ms)`);
    console.log(`node --require tsx/cjs main.ts alone:    median ${median(direct).toFixed(0)} ms, min ${Math.min(...direct).toFixed(0)} ms over ${direct.length} runs`);
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--child') child(Number(process.argv[3]));
else parent();
