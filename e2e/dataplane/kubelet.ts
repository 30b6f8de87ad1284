/**
 * Emulated kubelet: the control plane's pods are simulated (kwok), so for each
 * Ready pod of the api Deployments this runs the real test API as a process on
 * the pod's own loopback address, and stops it when the pod goes away.
 */
import { ChildProcess, spawn } from 'node:child_process';
import * as http from 'node:http';
import { LoopbackPool } from './loopback';
import { Endpoint } from './router';
import { PodSpecSummary } from './topology';

export interface KubeletOptions {
  /** Path of `testapi/server.js`. */
  readonly serverPath: string;
  readonly addresses: LoopbackPool;
  /** Where the processes' output goes. @default - discarded */
  readonly output?: NodeJS.WritableStream;
  /** Called when a pod's process starts answering, and when it stops. */
  readonly onChange?: (event: 'up' | 'down', endpoint: Endpoint) => void;
  /** @default 15000 */
  readonly startTimeoutMs?: number;
}

interface Running {
  readonly endpoint: Endpoint;
  readonly child: ChildProcess;
  /** Which pod spec the process runs: a changed image or env restarts it. */
  readonly signature: string;
  ready: boolean;
  exited: boolean;
  /** Set while a deleted pod keeps serving until its replacement answers. */
  draining?: NodeJS.Timeout;
}

/**
 * kwok reports a pod Ready before its emulated process listens, so the
 * Deployment controller deletes the old pod of a rolling update a moment too
 * early. A deleted pod whose replacement is still starting keeps serving until
 * the replacement answers (at most this long), as a truthful readiness would.
 */
const DRAIN_MAX_MS = 5000;

const podKey = (p: PodSpecSummary) => `${p.namespace}/${p.name}`;
const signatureOf = (p: PodSpecSummary) => JSON.stringify([p.version, p.port, p.env]);
const sameDeployment = (a: Running, b: Running) => a !== b
  && a.endpoint.pod.namespace === b.endpoint.pod.namespace && a.endpoint.pod.deployment === b.endpoint.pod.deployment;

/** `2.0` from a tag such as `2.0` or `v2.0`; other tags leave the app's default. */
function appVersion(tag: string | undefined): string | undefined {
  const m = tag?.match(/^v?(\d+(?:\.\d+)*)/);
  return m ? m[1] : undefined;
}

export class EmulatedKubelet {
  private readonly running = new Map<string, Running>();

  constructor(private readonly options: KubeletOptions) {}

  /** Make the set of processes match the Ready pods. */
  reconcile(pods: readonly PodSpecSummary[]): void {
    const wanted = new Map(pods.filter((p) => p.ready).map((p) => [podKey(p), p]));
    for (const [key, run] of this.running) {
      const pod = wanted.get(key);
      if (pod && !run.exited && signatureOf(pod) === run.signature) continue;
      if (pod || run.exited) this.stop(key);
    }
    for (const [key, pod] of wanted) {
      if (!this.running.has(key)) this.start(key, pod);
    }
    // Stops come after starts so that a replacement seen in the same snapshot counts.
    for (const [key, run] of this.running) {
      if (wanted.has(key) || run.draining) continue;
      if (run.ready && this.replacementStarting(run)) {
        run.draining = setTimeout(() => this.stop(key), DRAIN_MAX_MS);
      } else {
        this.stop(key);
      }
    }
  }

  /** Pods whose process answers its readiness probe. */
  endpoints(): Endpoint[] {
    return [...this.running.values()].filter((r) => r.ready && !r.exited).map((r) => r.endpoint);
  }

  async stopAll(): Promise<void> {
    const children = [...this.running.values()].map((r) => r.child);
    for (const key of [...this.running.keys()]) this.stop(key);
    await Promise.all(children.map((c) => new Promise<void>((resolve) => {
      if (c.exitCode !== null || c.signalCode !== null) resolve();
      else c.once('exit', () => resolve());
    })));
  }

  private start(key: string, pod: PodSpecSummary): void {
    const host = this.options.addresses.allocate();
    const version = appVersion(pod.version);
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      ...pod.env,
      HOST: host,
      PORT: String(pod.port),
      ...(version ? { APP_VERSION: version } : {}),
    };
    const child = spawn(process.execPath, [this.options.serverPath], {
      env,
      stdio: ['ignore', this.options.output ? 'pipe' : 'ignore', this.options.output ? 'pipe' : 'ignore'],
    });
    if (this.options.output) {
      child.stdout?.pipe(this.options.output, { end: false });
      child.stderr?.pipe(this.options.output, { end: false });
    }
    const run: Running = { endpoint: { pod, host, port: pod.port }, child, signature: signatureOf(pod), ready: false, exited: false };
    this.running.set(key, run);
    child.once('exit', () => {
      run.exited = true;
      this.options.addresses.release(host);
      if (run.ready) this.options.onChange?.('down', run.endpoint);
      run.ready = false;
    });
    void this.probeUntilReady(run);
  }

  private replacementStarting(run: Running): boolean {
    return [...this.running.values()].some((r) => !r.ready && !r.exited && sameDeployment(r, run));
  }

  /** A replacement answers: the drained pods of its Deployment can go. */
  private endDrains(ready: Running): void {
    for (const [key, run] of this.running) {
      if (run.draining && sameDeployment(run, ready)) this.stop(key);
    }
  }

  private stop(key: string): void {
    const run = this.running.get(key);
    if (!run) return;
    clearTimeout(run.draining);
    this.running.delete(key);
    if (run.ready) this.options.onChange?.('down', run.endpoint);
    run.ready = false;
    if (!run.exited) {
      run.child.kill('SIGTERM');
      const killer = setTimeout(() => run.child.kill('SIGKILL'), 5000);
      killer.unref();
      run.child.once('exit', () => clearTimeout(killer));
    }
  }

  private async probeUntilReady(run: Running): Promise<void> {
    const deadline = Date.now() + (this.options.startTimeoutMs ?? 15000);
    while (!run.exited && Date.now() < deadline) {
      if (await probe(run.endpoint.host, run.endpoint.port)) {
        if (this.running.get(podKey(run.endpoint.pod)) !== run) return;
        run.ready = true;
        this.options.onChange?.('up', run.endpoint);
        this.endDrains(run);
        return;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    // Never became ready: a later reconcile starts it again, as a kubelet restarts a container.
    if (!run.exited) run.child.kill('SIGKILL');
  }
}

function probe(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get({ host, port, path: '/readyz', timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}
