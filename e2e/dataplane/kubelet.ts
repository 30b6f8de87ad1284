/**
 * Emulated kubelet. The control plane's node is kwok's, with no container
 * runtime; for the pods of the emulator's namespace kwok only starts them (pod
 * IP, Pending, not Ready: e2e/cluster/stages) and this does the rest, as a
 * kubelet would (Kubernetes v1.34 pkg/kubelet, prober and kuberuntime):
 *
 * - each container is run as its image is modelled (images.ts): the test API
 *   as a real process on the pod's own loopback address, stand-ins as running
 *   and ready, other images refused (never run, waiting CreateContainerError);
 * - the container's probes run as the kubelet runs them: startup first, then
 *   readiness and liveness, with their periods and thresholds (an unready
 *   container is probed again within a second, as the kubelet's manual
 *   readiness trigger does); a failed liveness or startup probe kills it;
 * - a process that exits is restarted with the kubelet's crash-loop back-off
 *   (first restart at once, then 10 s doubling to 5 min, reset after 10 min
 *   without a restart), `restartCount` counting the restarts, the exit kept as
 *   `lastState`, the container not ready while it is down;
 * - `statuses()` is the resulting pod status (pod-status.ts) that the
 *   emulator writes to the API server (PodStatusWriter in kube-source.ts),
 *   and `endpoints()` the ready pods the emulated mesh routes to.
 */
import { ChildProcess, spawn } from 'node:child_process';
import * as http from 'node:http';
import * as net from 'node:net';
import { testApiImageEnv } from './images';
import { LoopbackPool } from './loopback';
import { ContainerState, ContainerStatusView, podPhase, PodStatusView, readinessConditions } from './pod-status';
import { Endpoint } from './router';
import { ContainerSummary, PodSpecSummary, ProbeAction, ProbeSpec } from './topology';

export interface KubeletOptions {
  /** Path of `testapi/server.js`. */
  readonly serverPath: string;
  readonly addresses: LoopbackPool;
  /** Where the processes' output goes. @default - discarded */
  readonly output?: NodeJS.WritableStream;
  /** Called when a pod becomes ready (its endpoint is added), and when it stops being ready. */
  readonly onChange?: (event: 'up' | 'down', endpoint: Endpoint) => void;
  /** One line per refused container, process exit, failed probe kill. @default - none */
  readonly log?: (line: string) => void;
  /** The crash-loop back-off. @default - the kubelet's: 10 s doubling to 300 s */
  readonly backoff?: { readonly initialMs: number; readonly maxMs: number };
  /** A dead container is restarted no sooner than this (PLEG relist and pod sync). @default 1000 */
  readonly restartDelayMs?: number;
}

/** The kubelet's `flowcontrol.Backoff` entry for one container. */
interface Backoff {
  ms: number;
  lastUpdate: number;
}

class ContainerRun {
  restartCount = 0;
  state: ContainerState = { waiting: { reason: 'ContainerCreating' } };
  lastState?: ContainerState;
  ready = false;
  started = false;
  child?: ChildProcess;
  /** Increments per process: probes and exits of an older one are ignored. */
  instance = 0;
  startedAt = '';
  backoff?: Backoff;
  lastLine = '';
  readonly timers = new Set<NodeJS.Timeout>();
  readonly reported = new Set<string>();

  constructor(readonly spec: ContainerSummary) {}

  clearTimers(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}

interface PodRun {
  pod: PodSpecSummary;
  readonly signature: string;
  /** The pod's address (its pod IP), for a pod with a test-API container. */
  readonly host?: string;
  readonly containers: readonly ContainerRun[];
  ready: boolean;
  readyChangedAt: string;
  stopping: boolean;
}

const KILL_GRACE_MS = 5000;

const podKey = (p: PodSpecSummary) => `${p.namespace}/${p.name}`;
const signatureOf = (p: PodSpecSummary) => JSON.stringify(p.containers ?? [p.version, p.port, p.env]);
const kubeTime = (d = new Date()) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');
const onNode = (p: PodSpecSummary) => p.onNode ?? p.ready;

/** `2.0` from a tag such as `2.0` or `v2.0`; other tags leave the app's default. */
function appVersion(tag: string | undefined): string {
  const m = tag?.match(/^v?(\d+(?:\.\d+)*)/);
  return m ? m[1] : '1.0';
}

/** A summary built by hand (tests): one test-API container, ready once /readyz answers. */
function legacyContainer(pod: PodSpecSummary): ContainerSummary {
  const version = appVersion(pod.version);
  return {
    name: 'main',
    image: `testapi:${version}`,
    model: { kind: 'test-api', version },
    env: { PORT: String(pod.port), ...pod.env },
    readinessProbe: {
      action: { kind: 'http', path: '/readyz', port: pod.port },
      initialDelaySeconds: 0, periodSeconds: 1, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3,
    },
  };
}

/** Go's time.Duration String, to the millisecond: `500ms`, `10s`, `1.5s`, `1m20s`, `5m0s`. */
export function goDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const m = Math.floor(ms / 60_000);
  const s = `${(ms % 60_000) / 1000}s`;
  return m > 0 ? `${m}m${s}` : s;
}

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGSEGV: 11, SIGTERM: 15 };

export class EmulatedKubelet {
  private readonly pods = new Map<string, PodRun>();
  private readonly exits = new Set<Promise<void>>();
  private readonly log: (line: string) => void;
  private readonly backoff: { readonly initialMs: number; readonly maxMs: number };

  constructor(private readonly options: KubeletOptions) {
    this.log = options.log ?? (() => undefined);
    this.backoff = options.backoff ?? { initialMs: 10_000, maxMs: 300_000 };
  }

  /** Make the pods run match the pods on the node. */
  reconcile(pods: readonly PodSpecSummary[]): void {
    const wanted = new Map(pods.filter(onNode).map((p) => [podKey(p), p]));
    for (const [key, run] of this.pods) {
      const pod = wanted.get(key);
      if (!pod || (pod.uid !== undefined && run.pod.uid !== undefined && pod.uid !== run.pod.uid)) {
        this.stopPod(key);
      } else if (signatureOf(pod) !== run.signature) {
        // A changed image or env: the containers are replaced (each a restart), as the kubelet does.
        const restarts = run.containers.map((c) => c.restartCount + 1);
        this.stopPod(key);
        this.startPod(pod, restarts);
      } else {
        run.pod = pod;
      }
    }
    for (const [key, pod] of wanted) {
      if (!this.pods.has(key)) this.startPod(pod);
    }
  }

  /** Ready pods with a test-API process, where the mesh sends their traffic. */
  endpoints(): Endpoint[] {
    return [...this.pods.values()].filter((r) => r.ready && r.host !== undefined && !r.stopping)
      .map((r) => ({ pod: r.pod, host: r.host!, port: r.pod.port }));
  }

  /** The status of each pod this kubelet runs, as a kubelet reports it. */
  statuses(): PodStatusView[] {
    return [...this.pods.values()].filter((r) => !r.stopping).map((run) => {
      const containerStatuses: ContainerStatusView[] = run.containers.map((c) => ({
        name: c.spec.name, image: c.spec.image, ready: c.ready, started: c.started, restartCount: c.restartCount,
        state: c.state, ...(c.lastState ? { lastState: c.lastState } : {}),
      }));
      return {
        namespace: run.pod.namespace, name: run.pod.name, ...(run.pod.uid ? { uid: run.pod.uid } : {}),
        phase: podPhase(containerStatuses),
        conditions: readinessConditions(containerStatuses, run.readyChangedAt),
        containerStatuses,
      };
    });
  }

  /** The test-API process of a pod (for tests that crash it), if one runs. */
  processOf(namespace: string, name: string): { pid: number; host: string } | undefined {
    const run = this.pods.get(`${namespace}/${name}`);
    const pid = run?.containers.find((c) => c.child)?.child?.pid;
    return run?.host && pid !== undefined ? { pid, host: run.host } : undefined;
  }

  async stopAll(): Promise<void> {
    for (const key of [...this.pods.keys()]) this.stopPod(key);
    await Promise.all([...this.exits]);
  }

  private startPod(pod: PodSpecSummary, restarts: readonly number[] = []): void {
    const containers = (pod.containers ?? [legacyContainer(pod)]).map((spec, i) => {
      const c = new ContainerRun(spec);
      c.restartCount = restarts[i] ?? 0;
      return c;
    });
    const testApi = containers.filter((c) => c.spec.model.kind === 'test-api');
    const observedReady = pod.observed?.conditions.find((c) => c.type === 'Ready');
    const run: PodRun = {
      pod, signature: signatureOf(pod), containers, ready: false, stopping: false,
      host: testApi.length > 0 ? this.options.addresses.allocate() : undefined,
      readyChangedAt: observedReady?.status === 'False' && observedReady.lastTransitionTime ? kubeTime(new Date(observedReady.lastTransitionTime)) : kubeTime(),
    };
    this.pods.set(podKey(pod), run);
    for (const c of containers) {
      const model = c.spec.model;
      if (model.kind === 'refused' || (model.kind === 'test-api' && c !== testApi[0])) {
        const reason = model.kind === 'refused' ? model.reason
          : `container ${c.spec.name}: one test-API process per pod address (container ${testApi[0].spec.name} has it)`;
        c.state = { waiting: { reason: 'CreateContainerError', message: `emulated node: ${reason}` } };
        this.log(`pod ${podKey(pod)} refused: container ${c.spec.name}: ${reason}`);
      } else if (model.kind === 'stand-in') {
        c.state = { running: { startedAt: kubeTime() } };
        c.started = true;
        c.ready = true;
      } else {
        this.spawn(run, c);
      }
    }
    this.updateReady(run);
  }

  private stopPod(key: string): void {
    const run = this.pods.get(key);
    if (!run) return;
    run.stopping = true;
    this.pods.delete(key);
    if (run.ready && run.host) this.options.onChange?.('down', { pod: run.pod, host: run.host, port: run.pod.port });
    run.ready = false;
    const exits: Promise<void>[] = [];
    for (const c of run.containers) {
      c.clearTimers();
      const child = c.child;
      if (!child) continue;
      exits.push(new Promise<void>((resolve) => child.once('exit', () => resolve())));
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
      killer.unref();
      child.once('exit', () => clearTimeout(killer));
    }
    // The address is free again once nothing listens on it.
    const done = Promise.all(exits).then(() => {
      if (run.host) this.options.addresses.release(run.host);
    });
    this.exits.add(done);
    void done.then(() => this.exits.delete(done));
  }

  private spawn(run: PodRun, c: ContainerRun): void {
    const model = c.spec.model;
    if (model.kind !== 'test-api' || !run.host) return;
    const instance = ++c.instance;
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      ...testApiImageEnv(model.version),
      ...c.spec.env,
      // The pod's own address: 0.0.0.0 in a pod, here one loopback address per pod.
      HOST: run.host,
    };
    const child = spawn(process.execPath, [this.options.serverPath], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    for (const stream of [child.stdout, child.stderr]) {
      stream?.setEncoding('utf8');
      stream?.on('data', (text: string) => {
        const line = text.trimEnd().split('\n').pop();
        if (line) c.lastLine = line;
        this.options.output?.write(text);
      });
    }
    child.once('error', (err) => this.log(`pod ${podKey(run.pod)}: container ${c.spec.name} did not start: ${err.message}`));
    child.once('exit', (code, signal) => this.onExit(run, c, instance, code, signal));
    c.child = child;
    c.startedAt = kubeTime();
    c.state = { running: { startedAt: c.startedAt } };
    c.lastLine = '';
    const startup = c.spec.startupProbe;
    if (startup) this.probeLoop(run, c, instance, 'startup', startup);
    else this.onStarted(run, c, instance);
  }

  private onStarted(run: PodRun, c: ContainerRun, instance: number): void {
    c.started = true;
    if (c.spec.readinessProbe) this.probeLoop(run, c, instance, 'readiness', c.spec.readinessProbe);
    else this.setReady(run, c, true);
    if (c.spec.livenessProbe) this.probeLoop(run, c, instance, 'liveness', c.spec.livenessProbe);
  }

  private onExit(run: PodRun, c: ContainerRun, instance: number, code: number | null, signal: NodeJS.Signals | null): void {
    if (c.instance !== instance) return;
    c.child = undefined;
    c.clearTimers();
    if (run.stopping) return;
    const exitCode = code ?? 128 + (SIGNALS[signal ?? ''] ?? 0);
    const finishedAt = kubeTime();
    c.lastState = {
      terminated: {
        exitCode, ...(signal && SIGNALS[signal] ? { signal: SIGNALS[signal] } : {}),
        reason: exitCode === 0 ? 'Completed' : 'Error', startedAt: c.startedAt, finishedAt,
      },
    };
    c.state = c.lastState;
    c.started = false;
    this.setReady(run, c, false);
    // The kubelet's back-off: none before the first restart, an entry expires 2 x max after its last use.
    const now = Date.now();
    if (c.backoff && now - c.backoff.lastUpdate > 2 * this.backoff.maxMs) c.backoff = undefined;
    const delay = c.backoff?.ms ?? 0;
    const { name, namespace, uid } = run.pod;
    if (delay > 0) {
      c.state = {
        waiting: {
          reason: 'CrashLoopBackOff',
          message: `back-off ${goDuration(delay)} restarting failed container=${c.spec.name} pod=${name}_${namespace}(${uid ?? ''})`,
        },
      };
    }
    this.log(`pod ${namespace}/${name}: container ${c.spec.name} exited with code ${exitCode}${signal ? ` (${signal})` : ''}`
      + `${c.lastLine ? `, last output: ${c.lastLine}` : ''}; restart ${c.restartCount + 1} ${delay > 0 ? `after a back-off of ${goDuration(delay)}` : 'at once'}`);
    this.schedule(c, Math.max(delay, this.options.restartDelayMs ?? 1000), () => {
      if (run.stopping || c.instance !== instance) return;
      c.backoff = c.backoff
        ? { ms: Math.min(c.backoff.ms * 2, this.backoff.maxMs), lastUpdate: Date.now() }
        : { ms: this.backoff.initialMs, lastUpdate: Date.now() };
      c.restartCount++;
      this.spawn(run, c);
    });
  }

  private kill(run: PodRun, c: ContainerRun, why: string): void {
    const child = c.child;
    if (!child) return;
    this.log(`pod ${podKey(run.pod)}: container ${c.spec.name} ${why}, will be restarted`);
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
    killer.unref();
    child.once('exit', () => clearTimeout(killer));
  }

  private probeLoop(run: PodRun, c: ContainerRun, instance: number, kind: 'startup' | 'readiness' | 'liveness', spec: ProbeSpec): void {
    let successes = 0;
    let failures = 0;
    const alive = () => !run.stopping && c.instance === instance && c.child !== undefined;
    if (spec.action.kind === 'unsupported' && !c.reported.has(kind)) {
      c.reported.add(kind);
      this.log(`pod ${podKey(run.pod)}: container ${c.spec.name} ${kind} probe always fails: ${spec.action.why}`);
    }
    const tick = async (): Promise<void> => {
      if (!alive()) return;
      const ok = await probe(spec.action, run.host!, spec.timeoutSeconds * 1000);
      if (!alive()) return;
      if (ok) {
        successes++;
        failures = 0;
      } else {
        failures++;
        successes = 0;
      }
      if (kind === 'startup') {
        if (ok && successes >= spec.successThreshold) return this.onStarted(run, c, instance);
        if (!ok && failures >= spec.failureThreshold) return this.kill(run, c, `failed its startup probe ${failures} times`);
      } else if (kind === 'liveness') {
        if (!ok && failures >= spec.failureThreshold) return this.kill(run, c, `failed its liveness probe ${failures} times`);
      } else if (ok && successes >= spec.successThreshold) {
        this.setReady(run, c, true);
      } else if (!ok && failures >= spec.failureThreshold) {
        this.setReady(run, c, false);
      }
      const periodMs = spec.periodSeconds * 1000;
      this.schedule(c, kind === 'readiness' && !c.ready ? Math.min(periodMs, 1000) : periodMs, tick);
    };
    this.schedule(c, spec.initialDelaySeconds * 1000, tick);
  }

  private schedule(c: ContainerRun, ms: number, fn: () => void | Promise<void>): void {
    const t = setTimeout(() => {
      c.timers.delete(t);
      void fn();
    }, ms);
    c.timers.add(t);
  }

  private setReady(run: PodRun, c: ContainerRun, ready: boolean): void {
    c.ready = ready;
    this.updateReady(run);
  }

  private updateReady(run: PodRun): void {
    const ready = run.containers.every((c) => c.ready);
    if (ready === run.ready || run.stopping) return;
    run.ready = ready;
    run.readyChangedAt = kubeTime();
    if (run.host) this.options.onChange?.(ready ? 'up' : 'down', { pod: run.pod, host: run.host, port: run.pod.port });
  }
}

/** The kubelet's probers: HTTP GET answered 200-399 on a fresh connection, or a TCP connect. */
export function probe(action: ProbeAction, host: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (action.kind === 'unsupported') {
      resolve(false);
      return;
    }
    if (action.kind === 'tcp') {
      const socket = net.connect({ host, port: action.port, timeout: timeoutMs });
      socket.once('connect', () => { socket.destroy(); resolve(true); });
      socket.once('timeout', () => { socket.destroy(); resolve(false); });
      socket.once('error', () => resolve(false));
      return;
    }
    const req = http.get({
      host, port: action.port, path: action.path, timeout: timeoutMs, agent: false,
      headers: { 'User-Agent': 'kube-probe/1.34', 'Accept': '*/*', 'Connection': 'close' },
    }, (res) => {
      res.resume();
      const status = res.statusCode ?? 0;
      resolve(status >= 200 && status < 400);
    });
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(false));
  });
}
