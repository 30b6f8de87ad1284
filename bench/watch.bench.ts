/**
 * canary-watch latency and memory on loopback (`npm run bench:watch`).
 *
 * For each run: a fake API server (test/watch/fake-apiserver) with a Canary,
 * the compiled CLI watching it, Flagger's status writes replayed, and the time
 * from the terminal status write (Succeeded, or Failed for a rollback) to the
 * watcher's process exit. Peak RSS is the CLI's own maxRSS, reported from a
 * preloaded exit hook. Prints figures; asserts nothing.
 * Targets: median under 100 ms, peak RSS under 100 MB.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { FakeApiServer } from '../test/watch/fake-apiserver';
import { CLI, FAST_TUNING } from '../test/watch/harness';
import { initialized, NAME, play, promotion2, rollback3, SPEC, Step, succeeded2 } from '../test/watch/scenarios';

const RUNS = Number(process.env.BENCH_RUNS ?? 20);

interface Sample {
  readonly exitMs: number;
  readonly startupMs: number;
  readonly maxRssMb: number;
  readonly code: number | null;
}

const RSS_HOOK = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'canary-watch-bench-')), 'rss.js');
fs.writeFileSync(RSS_HOOK,
  "process.on('exit', () => require('fs').writeSync(2, `\\nBENCH_MAXRSS_KB=${process.resourceUsage().maxRSS}\\n`));\n");

async function once(start: Record<string, unknown>, steps: Step[], expect: string): Promise<Sample> {
  const server = new FakeApiServer();
  await server.start();
  try {
    server.createCanary(NAME, SPEC, start);
    const kubeconfig = server.writeKubeconfig();
    const spawnedAt = performance.now();
    const child = spawn(process.execPath, ['--require', RSS_HOOK, CLI, NAME, '-n', server.namespace,
      '--kubeconfig', kubeconfig, '-o', 'json', '--expect', expect], {
      env: { ...process.env, ...FAST_TUNING, CANARY_WATCH_REGET_MS: '60000' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    let exitedAt = 0;
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => {
      exitedAt = performance.now();
      resolve(code);
    }));
    const closed = new Promise<void>((resolve) => child.on('close', () => resolve()));
    await Promise.all([server.waitForWatch('canaries'), server.waitForWatch('events')]);
    const startupMs = performance.now() - spawnedAt;
    await play(server, steps.slice(0, -1), 2);
    const terminal = steps[steps.length - 1];
    const writtenAt = performance.now();
    await play(server, [terminal], 0);
    const code = await exited;
    await closed;
    const rss = /BENCH_MAXRSS_KB=(\d+)/.exec(stderr);
    return { exitMs: exitedAt - writtenAt, startupMs, maxRssMb: rss ? Number(rss[1]) / 1024 : NaN, code };
  } finally {
    await server.stop();
  }
}

/** The scenario up to and including its terminal status write (trailing events dropped). */
function untilTerminal(steps: Step[], phase: string): Step[] {
  const index = steps.findIndex((s) => 'status' in s && s.status.phase === phase);
  return steps.slice(0, index + 1);
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

async function series(label: string, start: Record<string, unknown>, steps: Step[], expect: string): Promise<void> {
  const samples: Sample[] = [];
  for (let i = 0; i < RUNS; i++) samples.push(await once(start, steps, expect));
  const wrong = samples.filter((s) => s.code !== 0).length;
  const exit = samples.map((s) => s.exitMs);
  const rss = samples.map((s) => s.maxRssMb);
  const startup = samples.map((s) => s.startupMs);
  console.log(`${label} (${RUNS} runs${wrong ? `, ${wrong} with a wrong exit code!` : ', all exit 0'})`);
  console.log(`  terminal status write -> exit: median ${percentile(exit, 50).toFixed(1)} ms, p95 ${percentile(exit, 95).toFixed(1)} ms, `
    + `max ${Math.max(...exit).toFixed(1)} ms (target: median < 100 ms)`);
  console.log(`  peak RSS: median ${percentile(rss, 50).toFixed(1)} MB, max ${Math.max(...rss).toFixed(1)} MB (target < 100 MB)`);
  console.log(`  startup (spawn -> both watches open): median ${percentile(startup, 50).toFixed(0)} ms`);
}

async function main(): Promise<void> {
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build -w canary-watch first`);
  console.log(`canary-watch bench: node ${process.version}, ${os.cpus().length} CPUs, loopback fake API server`);
  await series('promotion (Succeeded)', initialized, untilTerminal(promotion2, 'Succeeded'), 'succeeded');
  await series('rollback (Failed)', succeeded2, untilTerminal(rollback3, 'Failed'), 'failed');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
