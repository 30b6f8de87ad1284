/**
 * Runs the compiled CLI (watch/build/cli.js, the canary-watch package's bin) as a
 * subprocess against a FakeApiServer. client-node is ESM-only, so the CLI is
 * exercised exactly as users run it.
 */
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FakeApiServer } from './fake-apiserver';

/** This file only runs from sources (ts-jest, tsx), so the repository root is two levels up. */
const REPO = path.resolve(__dirname, '../..');

export const CLI = path.join(REPO, 'watch/build/cli.js');

/** Short periods so fault tests take well under a second each. */
export const FAST_TUNING: Record<string, string> = {
  CANARY_WATCH_WATCHDOG_MS: '600',
  CANARY_WATCH_REGET_MS: '400',
  CANARY_WATCH_BACKOFF_MS: '50',
  CANARY_WATCH_BACKOFF_MAX_MS: '300',
  CANARY_WATCH_SETTLE_MS: '300',
  CANARY_WATCH_REQUEST_TIMEOUT_MS: '2000',
};

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout parsed as NDJSON (json output only). */
  readonly records: Array<Record<string, unknown>>;
  readonly verdict?: Record<string, unknown>;
}

export interface RunningCli {
  readonly child: ChildProcess;
  readonly result: Promise<CliResult>;
  /** Resolves once the stdout so far satisfies `test` (a test's sync point instead of a sleep). */
  printed(test: (stdout: string) => boolean, timeoutMs?: number): Promise<void>;
}

export function startCli(args: readonly string[], env: Record<string, string> = {}): RunningCli {
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build -w canary-watch first`);
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { ...process.env, ...FAST_TUNING, NO_COLOR: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const result = new Promise<CliResult>((resolve) => {
    child.on('close', (code) => {
      const records = args.includes('json')
        ? stdout.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as Record<string, unknown>)
        : [];
      resolve({ code, stdout, stderr, records, verdict: records.find((r) => r.type === 'verdict') });
    });
  });
  const printed = async (test: (stdout: string) => boolean, timeoutMs = 10_000): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    while (!test(stdout)) {
      if (Date.now() > deadline) throw new Error(`the CLI did not print what the test waits for within ${timeoutMs} ms; stdout so far:\n${stdout}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  return { child, result, printed };
}

/** Starts the CLI on `server` and waits until both of its watches are open (the `nth` client's, when several run). */
export async function watchCli(server: FakeApiServer, kubeconfig: string, extra: readonly string[] = [],
  env: Record<string, string> = {}, nth = 1): Promise<RunningCli> {
  const running = startCli(['api', '-n', server.namespace, '--kubeconfig', kubeconfig, '-o', 'json', ...extra], env);
  const early = running.result.then((r) => {
    throw new Error(`CLI exited early (${r.code}): ${r.stderr}${r.stdout}`);
  });
  await Promise.race([Promise.all([server.waitForWatch('canaries', nth), server.waitForWatch('events', nth)]), early]);
  early.catch(() => undefined);
  return running;
}

/** A fresh FakeApiServer (and a kubeconfig for it) around each test of the calling file. */
export function fakeServerPerTest(): { readonly server: FakeApiServer; readonly kubeconfig: string } {
  const current: { server?: FakeApiServer; kubeconfig?: string } = {};
  beforeEach(async () => {
    current.server = new FakeApiServer();
    await current.server.start();
    current.kubeconfig = current.server.writeKubeconfig();
  });
  afterEach(async () => {
    await current.server?.stop();
  });
  return {
    get server() {
      return current.server!;
    },
    get kubeconfig() {
      return current.kubeconfig!;
    },
  };
}
