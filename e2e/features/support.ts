/**
 * Support for e2e/flagger-features.e2e.test.ts: the rehearsal's short-interval
 * demo with a feature's props, applied to the stack; the watcher's verdict;
 * Flagger's events on the Canary; and a local chat webhook that records what
 * Flagger posts to it. Everything talks to 127.0.0.1 only.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { App } from 'cdk8s';
import { CanaryDemo, CanaryDemoProps } from '../../charts';
import { rehearsalProps } from '../rehearse/app';
import { httpGet, kubectl, REPO, resetNamespace, StackInfo, startRehearsalParts, stopRehearsalParts } from '../rehearse/stack';
import { Timeline } from '../rehearse/timeline';

/** The namespace the stack's data-plane emulator serves, and the demo's Canary. */
export const NAMESPACE = 'testapi';
export const CANARY = 'api';
const FIELD_MANAGER = 'cdk8s-canary-features';

/**
 * The objects `cdk8s synth` writes for the rehearsal's demo variant (10 s
 * interval, threshold 2, the test API's image and health paths) with a feature's props;
 * `customise` may add constructs through the library before synthesis.
 */
export function synthFeatureDemo(version: string, feature: Partial<CanaryDemoProps>,
  customise?: (demo: CanaryDemo) => void): any[] {
  const app = new App();
  const demo = new CanaryDemo(app, { ...rehearsalProps('demo', version), ...feature, version });
  customise?.(demo);
  return app.charts.flatMap((chart) => chart.toJson());
}

/**
 * Server-side apply of the objects as our own field manager. Returns the time
 * to give the watcher's --since: whole seconds, as condition times are, a
 * second early so that a rollout Flagger starts at once still counts.
 */
export function applyObjects(stack: StackInfo, objects: any[]): Date {
  const appliedAt = new Date(Math.floor(Date.now() / 1000) * 1000 - 1000);
  kubectl(stack, ['apply', '--server-side', '--force-conflicts', '--field-manager', FIELD_MANAGER, '-f', '-'],
    JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }));
  return appliedAt;
}

export const fieldManager = FIELD_MANAGER;

/** An object as JSON with its managedFields (`resource` may name a version: `horizontalpodautoscalers.v2.autoscaling`), or undefined. */
export function getJson(stack: StackInfo, resource: string, name: string, namespace = NAMESPACE): any {
  const r = spawnSync(stack.kubectl, ['--kubeconfig', stack.kubeconfig, 'get', resource, name, '-n', namespace, '-o', 'json', '--show-managed-fields'],
    { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) {
    if (/NotFound|not found/.test(r.stderr)) return undefined;
    throw new Error(`kubectl get ${resource} ${name}: ${r.stderr}`);
  }
  return JSON.parse(r.stdout);
}

/** Runs canary-watch (watch/build/cli.js) to its verdict; its lines go to the timeline. Resolves with its exit code. */
export function watchVerdict(stack: StackInfo, expect: 'initialized' | 'succeeded' | 'failed', since: Date,
  timeoutS: number, timeline: Timeline): Promise<number> {
  const args = [path.join(REPO, 'watch/build/cli.js'), CANARY, '-n', NAMESPACE, '--expect', expect,
    '--since', since.toISOString().replace(/\.\d+Z$/, 'Z'), '--timeout', `${timeoutS}s`,
    '--kubeconfig', stack.kubeconfig, '--no-color'];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  readline.createInterface({ input: child.stdout }).on('line', (l) => timeline.add('watch', l));
  readline.createInterface({ input: child.stderr }).on('line', (l) => timeline.add('watch', l));
  return new Promise((resolve) => child.on('close', (code) => resolve(code ?? -1)));
}

export interface FlaggerEvent {
  readonly type: string;
  readonly reason: string;
  readonly message: string;
  readonly count: number;
  /** Epoch ms of the first occurrence. */
  readonly first: number;
  /** Epoch ms of the last occurrence (client-go folds repeats of a message into one event). */
  readonly last: number;
}

/** The events recorded on an object of the namespace, oldest first. */
export function objectEvents(stack: StackInfo, kind: string, name: string): FlaggerEvent[] {
  const out = kubectl(stack, ['get', 'events', '-n', NAMESPACE, '-o', 'json',
    '--field-selector', `involvedObject.kind=${kind},involvedObject.name=${name}`]);
  return (JSON.parse(out).items as any[]).map((e) => ({
    type: e.type, reason: e.reason, message: e.message, count: e.count ?? 1,
    first: Date.parse(e.firstTimestamp ?? e.eventTime ?? e.metadata.creationTimestamp),
    last: Date.parse(e.lastTimestamp ?? e.firstTimestamp ?? e.eventTime ?? e.metadata.creationTimestamp),
  })).sort((a, b) => a.first - b.first);
}

/** Flagger's events on the Canary (reason `Synced`, Normal or Warning). */
export const canaryEvents = (stack: StackInfo): FlaggerEvent[] => objectEvents(stack, 'Canary', CANARY);

/** Adds the Canary's events since `since` to the timeline, as source `flagger`. */
export function addEvents(timeline: Timeline, events: FlaggerEvent[], since: number): void {
  for (const e of events) {
    if (e.first < since - 1000) continue;
    timeline.add('flagger', `${e.type} ${e.message}${e.count > 1 ? ` (x${e.count})` : ''}`, e.first);
  }
}

/** One request Flagger sent to the receiver. */
export interface Post {
  readonly at: number;
  readonly path: string;
  readonly contentType: string | undefined;
  readonly body: any;
}

/**
 * A chat webhook on 127.0.0.1 (an ephemeral port, so no fixed port of the
 * stack can clash): answers 200 to every POST and keeps the JSON bodies.
 * Flagger must share this process's network namespace to reach it.
 */
export class AlertReceiver {
  readonly posts: Post[] = [];
  private readonly server = http.createServer((req, res) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => { text += c; });
    req.on('end', () => {
      let body: any = text;
      try {
        body = JSON.parse(text);
      } catch {
        // kept as text: a test then sees it is not JSON
      }
      if (req.method === 'POST') this.posts.push({ at: Date.now(), path: req.url ?? '', contentType: req.headers['content-type'], body });
      res.writeHead(req.method === 'POST' ? 200 : 405, { 'content-type': 'text/plain' }).end('ok');
    });
  });

  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => resolve());
    });
  }

  url(pathname: string): string {
    const address = this.server.address();
    if (address === null || typeof address === 'string') throw new Error('the alert receiver is not listening');
    return `http://127.0.0.1:${address.port}${pathname}`;
  }

  /** Posts to one path, in arrival order. */
  to(pathname: string): Post[] {
    return this.posts.filter((p) => p.path === pathname);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `probe` every `everyMs` until it gives a value (neither undefined nor false). */
export async function until<T>(what: string, timeoutMs: number, probe: () => T | undefined | false, everyMs = 1000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}`);
    await sleep(everyMs);
  }
}

/**
 * A `test` for steps that build on each other (one Canary through its releases): each
 * starts from the previous one's end, so once one fails the later ones fail at once.
 */
export function orderedSteps(): (name: string, fn: () => Promise<void>, timeoutMs: number) => void {
  let previousOk = true;
  return (name, fn, timeoutMs) => test(name, async () => {
    expect(previousOk).toBe(true);
    previousOk = false;
    await fn();
    previousOk = true;
  }, timeoutMs);
}

/** Network namespace of a process (`ip netns identify`), '' for the host's. */
export function netnsOf(pid: number): string {
  return spawnSync('ip', ['netns', 'identify', String(pid)], { encoding: 'utf8' }).stdout.trim();
}

/**
 * Polls `probe` every `everyMs` until stopped, keeping each value that differs
 * from the one before (and adding it to the timeline): what changed, in order.
 */
export function sampleChanges<T>(timeline: Timeline, probe: () => T, describe: (value: T) => string,
  everyMs = 1000): { stop: () => Promise<T[]> } {
  const values: T[] = [];
  let last: string | undefined;
  let running = true;
  const loop = (async () => {
    while (running) {
      const value = probe();
      const key = JSON.stringify(value);
      if (key !== last) {
        last = key;
        values.push(value);
        timeline.add('test', describe(value));
      }
      await sleep(everyMs);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return values;
    },
  };
}

/**
 * Flagger's own gauge of each check's last value for the demo's Canary (pkg/metrics/recorder.go
 * canary_metric_analysis; built-in request-duration in seconds), from its /metrics port.
 */
export async function flaggerAnalysisGauge(stack: StackInfo): Promise<Record<string, number>> {
  const env = fs.readFileSync(path.join(stack.state, 'env'), 'utf8');
  const port = /CLUSTER_PORTS="([\d ]+)"/.exec(env)![1].trim().split(' ').pop();
  const text = (await httpGet(`http://127.0.0.1:${port}/metrics`)).body;
  const values: Record<string, number> = {};
  for (const m of text.matchAll(/^flagger_canary_metric_analysis\{([^}]*)\} (\S+)$/gm)) {
    const labels = Object.fromEntries([...m[1].matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]));
    if (labels.name === CANARY && labels.namespace === NAMESPACE) values[labels.metric] = Number(m[2]);
  }
  return values;
}

/**
 * A suite's load tester and emulator: started on an empty namespace before its tests, stopped after
 * them with the namespace emptied again, so the next suite on the stack starts clean.
 */
export function useRehearsalParts(stack: StackInfo): void {
  beforeAll(async () => {
    resetNamespace(stack);
    await startRehearsalParts(stack);
  }, 180_000);
  afterAll(() => {
    resetNamespace(stack);
    stopRehearsalParts();
  }, 240_000);
}
