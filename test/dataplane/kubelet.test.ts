import * as http from 'node:http';
import * as path from 'node:path';
import { TESTAPI_IMAGE } from '../../e2e/dataplane/images';
import { EmulatedKubelet, goDuration, KubeletOptions } from '../../e2e/dataplane/kubelet';
import { LoopbackPool } from '../../e2e/dataplane/loopback';
import { ContainerStatusView, PodStatusView } from '../../e2e/dataplane/pod-status';
import { Endpoint } from '../../e2e/dataplane/router';
import { PodSpecSummary, summarizePod } from '../../e2e/dataplane/topology';

const SERVER = path.resolve(__dirname, '../../testapi/server.js');
// Loopback addresses of this run: another run of this suite at the same time must not answer for it.
const NET = `127.${1 + Math.floor(Math.random() * 250)}`;
let subnet = 110;

function get(e: Endpoint, p: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http.get({ host: e.host, port: e.port, path: p }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

/** A summary built by hand, as the data-plane tests make them: a test-API pod of a release. */
function handPod(name: string, version: string, env: Record<string, string> = {}): PodSpecSummary {
  return { namespace: 'testapi', name, deployment: 'api', labels: { app: 'api' }, version, port: 3000, env, ready: true };
}

interface ContainerOptions {
  readonly image?: string;
  readonly env?: Record<string, string>;
  readonly readinessPath?: string;
  readonly livenessPath?: string;
  readonly startupPort?: number;
}

/** A pod as the API server lists it once kwok's start stage ran (pod IP, Pending, not Ready). */
function nodePod(name: string, o: ContainerOptions = {}): PodSpecSummary {
  const probe = (p: string) => ({ httpGet: { path: p, port: 3000 }, periodSeconds: 1, failureThreshold: 2 });
  return summarizePod({
    metadata: { name, namespace: 'testapi', uid: `uid-${name}`, labels: { app: 'api' } },
    spec: {
      nodeName: 'kwok-node-0',
      containers: [{
        name: 'api', image: o.image ?? `${TESTAPI_IMAGE}:2.0`, ports: [{ name: 'http', containerPort: 3000 }],
        env: Object.entries(o.env ?? {}).map(([k, value]) => ({ name: k, value })),
        startupProbe: { tcpSocket: { port: o.startupPort ?? 'http' }, periodSeconds: 1, failureThreshold: 3 },
        readinessProbe: probe(o.readinessPath ?? '/readyz'),
        ...(o.livenessPath ? { livenessProbe: probe(o.livenessPath) } : {}),
      }],
    },
    status: {
      phase: 'Pending', podIP: '10.244.0.9',
      conditions: [{ type: 'Ready', status: 'False', reason: 'ContainersNotReady', lastTransitionTime: new Date('2026-01-02T03:04:05Z') }],
    },
  })!;
}

class Harness {
  readonly events: string[] = [];
  readonly logs: string[] = [];
  readonly kubelet: EmulatedKubelet;

  constructor(options: Partial<KubeletOptions> = {}) {
    this.kubelet = new EmulatedKubelet({
      serverPath: SERVER,
      addresses: new LoopbackPool(`${NET}.${subnet++}`),
      onChange: (event, e) => this.events.push(`${event} ${e.pod.name}`),
      log: (l) => this.logs.push(l),
      restartDelayMs: 200,
      ...options,
    });
  }

  status(name: string): PodStatusView | undefined {
    return this.kubelet.statuses().find((s) => s.name === name);
  }

  container(name: string): ContainerStatusView | undefined {
    return this.status(name)?.containerStatuses[0];
  }

  /** Polls the status until `ok` holds; returns every distinct status seen on the way. */
  async until(what: string, ok: () => boolean, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!ok()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(this.kubelet.statuses())}\n${this.logs.join('\n')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  endpoint(name: string): Endpoint | undefined {
    return this.kubelet.endpoints().find((e) => e.pod.name === name);
  }

  kill(name: string, signal: NodeJS.Signals = 'SIGKILL'): void {
    const p = this.kubelet.processOf('testapi', name);
    if (!p) throw new Error(`no process for ${name}`);
    process.kill(p.pid, signal);
  }
}

const ready = (s: PodStatusView | undefined) => s?.conditions.find((c) => c.type === 'Ready')?.status === 'True';

describe('EmulatedKubelet runs the real test API', () => {
  let h: Harness;
  afterEach(async () => h.kubelet.stopAll());

  test('the release of the image tag on the pod address, ready once /readyz answers, stopped with the pod', async () => {
    h = new Harness();
    h.kubelet.reconcile([handPod('api-a', '3.0', { FAILURE_MODE: 'server-error' }), { ...handPod('api-b', '2.0'), ready: false }]);
    await h.until('api-a ready', () => h.endpoint('api-a') !== undefined);
    const endpoint = h.endpoint('api-a')!;
    expect(endpoint.host).toMatch(new RegExp(`^${NET.replace('.', '\\.')}\\.\\d+\\.\\d+$`));
    expect((await get(endpoint, '/')).status).toBe(500);
    expect(h.kubelet.endpoints().map((e) => e.pod.name)).toEqual(['api-a']);
    h.kubelet.reconcile([]);
    expect(h.kubelet.endpoints()).toEqual([]);
    expect(h.kubelet.statuses()).toEqual([]);
    expect(h.events).toEqual(['up api-a', 'down api-a']);
  });

  test('a changed image replaces the container with the new release (a restart)', async () => {
    h = new Harness();
    h.kubelet.reconcile([handPod('api-primary-x', '1.0')]);
    await h.until('1.0 ready', () => h.endpoint('api-primary-x') !== undefined);
    expect((await get(h.endpoint('api-primary-x')!, '/')).body).toContain('Hello v1');
    h.kubelet.reconcile([handPod('api-primary-x', '2.0')]);
    await h.until('2.0 ready', () => h.endpoint('api-primary-x') !== undefined);
    expect((await get(h.endpoint('api-primary-x')!, '/')).body).toContain('Hello v2');
    expect(h.container('api-primary-x')?.restartCount).toBe(1);
  });

  test('a started pod: Running, not Ready until its readiness path answers, then Ready with a new transition time', async () => {
    h = new Harness();
    const pod = nodePod('api-1');
    h.kubelet.reconcile([pod]);
    const first = h.status('api-1')!;
    expect(first).toMatchObject({ phase: 'Running', uid: 'uid-api-1' });
    expect(first.conditions).toEqual([
      expect.objectContaining({ type: 'ContainersReady', status: 'False', reason: 'ContainersNotReady', message: 'containers with unready status: [api]' }),
      // kwok's start stage made it unready: the kubelet keeps that transition time.
      { type: 'Ready', status: 'False', reason: 'ContainersNotReady', message: 'containers with unready status: [api]', lastTransitionTime: '2026-01-02T03:04:05Z' },
    ]);
    expect(first.containerStatuses[0]).toMatchObject({ name: 'api', image: `${TESTAPI_IMAGE}:2.0`, ready: false, restartCount: 0, state: { running: {} } });
    await h.until('Ready', () => ready(h.status('api-1')));
    expect(h.container('api-1')).toMatchObject({ ready: true, started: true });
    expect(h.status('api-1')!.conditions[1].lastTransitionTime).not.toBe('2026-01-02T03:04:05Z');
    expect(h.events).toEqual(['up api-1']);
  });

  test('a readiness path that fails keeps the pod unready and out of the endpoints; it runs all along', async () => {
    h = new Harness();
    h.kubelet.reconcile([nodePod('api-2', { readinessPath: '/never-ready' })]);
    await h.until('started', () => h.container('api-2')?.started === true);
    await new Promise((r) => setTimeout(r, 2500));
    expect(h.status('api-2')).toMatchObject({ phase: 'Running', containerStatuses: [{ ready: false, restartCount: 0, state: { running: {} } }] });
    expect(ready(h.status('api-2'))).toBe(false);
    expect(h.kubelet.endpoints()).toEqual([]);
    expect(h.events).toEqual([]);
  });

  test('a crash: not ready while down, restartCount counts, the exit kept as lastState; Ready again once it answers', async () => {
    h = new Harness({ backoff: { initialMs: 2000, maxMs: 8000 } });
    h.kubelet.reconcile([nodePod('api-3')]);
    await h.until('Ready', () => ready(h.status('api-3')));
    h.kill('api-3');
    // The first restart comes at once (after the node's sync delay): terminated until then.
    await h.until('down', () => !ready(h.status('api-3')));
    expect(h.endpoint('api-3')).toBeUndefined();
    await h.until('restarted and Ready', () => ready(h.status('api-3')));
    expect(h.container('api-3')).toMatchObject({
      ready: true, restartCount: 1, state: { running: {} }, lastState: { terminated: { exitCode: 137, signal: 9, reason: 'Error' } },
    });
    // The second crash within the back-off window waits: CrashLoopBackOff, as the kubelet says it.
    h.kill('api-3');
    await h.until('back-off', () => 'waiting' in (h.container('api-3')?.state ?? {}));
    expect(h.status('api-3')).toMatchObject({
      phase: 'Running',
      conditions: [{ status: 'False' }, { type: 'Ready', status: 'False' }],
      containerStatuses: [{
        ready: false, started: false, restartCount: 1,
        state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 2s restarting failed container=api pod=api-3_testapi(uid-api-3)' } },
        lastState: { terminated: { exitCode: 137, reason: 'Error' } },
      }],
    });
    await h.until('Ready after the back-off', () => ready(h.status('api-3')));
    expect(h.container('api-3')?.restartCount).toBe(2);
    expect(h.events).toEqual(['up api-3', 'down api-3', 'up api-3', 'down api-3', 'up api-3']);
    expect(h.logs.filter((l) => l.includes('exited'))).toEqual([
      expect.stringMatching(/^pod testapi\/api-3: container api exited with code 137 \(SIGKILL\), last output: .*; restart 1 at once$/),
      expect.stringMatching(/^pod testapi\/api-3: container api exited with code 137 \(SIGKILL\), last output: .*; restart 2 after a back-off of 2s$/),
    ]);
  }, 30_000);

  test('a process that exits at start (a refused setting) crash-loops with growing back-off and is never ready', async () => {
    h = new Harness({ backoff: { initialMs: 500, maxMs: 1000 } });
    h.kubelet.reconcile([nodePod('api-4', { env: { FAILURE_MODE: 'explode' } })]);
    await h.until('3 restarts', () => (h.container('api-4')?.restartCount ?? 0) >= 3);
    await h.until('in back-off', () => 'waiting' in (h.container('api-4')?.state ?? {}));
    expect(h.container('api-4')).toMatchObject({
      ready: false, lastState: { terminated: { exitCode: 2, reason: 'Error' } },
      state: { waiting: { reason: 'CrashLoopBackOff', message: expect.stringMatching(/^back-off (500ms|1s) restarting failed container=api pod=api-4_testapi\(uid-api-4\)$/) } },
    });
    expect(h.logs[0]).toBe('pod testapi/api-4: container api exited with code 2, last output: '
      + 'testapi: FAILURE_MODE ("explode") must be one of not-found|server-error|slow:<ms>|none; restart 1 at once');
    expect(h.events).toEqual([]);
  }, 30_000);

  test('a failing liveness probe kills the process; the kubelet restarts it', async () => {
    h = new Harness();
    h.kubelet.reconcile([nodePod('api-5', { livenessPath: '/no-such-path' })]);
    await h.until('a restart', () => (h.container('api-5')?.restartCount ?? 0) >= 1);
    expect(h.logs).toContain('pod testapi/api-5: container api failed its liveness probe 2 times, will be restarted');
    // SIGTERM: the test API drains and exits 0.
    expect(h.container('api-5')?.lastState).toMatchObject({ terminated: { exitCode: 0, reason: 'Completed' } });
  }, 30_000);

  test('a startup probe that never succeeds kills the process before readiness is ever probed', async () => {
    h = new Harness();
    h.kubelet.reconcile([nodePod('api-6', { startupPort: 3999 })]);
    await h.until('a restart', () => (h.container('api-6')?.restartCount ?? 0) >= 1);
    expect(h.logs).toContain('pod testapi/api-6: container api failed its startup probe 3 times, will be restarted');
    expect(h.events).toEqual([]);
  }, 30_000);
});

describe('EmulatedKubelet: images it does not run', () => {
  let h: Harness;
  afterEach(async () => h.kubelet.stopAll());

  test('an image it does not model is refused: never run, Pending, waiting with the reason, logged once', async () => {
    const pool = new LoopbackPool(`${NET}.${subnet++}`);
    h = new Harness({ addresses: pool });
    const pod = nodePod('api-seed', { image: 'cyrilbkr/testapp:1.0' });
    h.kubelet.reconcile([pod]);
    h.kubelet.reconcile([pod]);
    expect(h.status('api-seed')).toEqual({
      namespace: 'testapi', name: 'api-seed', uid: 'uid-api-seed', phase: 'Pending',
      conditions: [
        { type: 'ContainersReady', status: 'False', reason: 'ContainersNotReady', message: 'containers with unready status: [api]', lastTransitionTime: '2026-01-02T03:04:05Z' },
        { type: 'Ready', status: 'False', reason: 'ContainersNotReady', message: 'containers with unready status: [api]', lastTransitionTime: '2026-01-02T03:04:05Z' },
      ],
      containerStatuses: [{
        name: 'api', image: 'cyrilbkr/testapp:1.0', ready: false, started: false, restartCount: 0,
        state: { waiting: { reason: 'CreateContainerError', message: expect.stringMatching(/^emulated node: image "cyrilbkr\/testapp:1.0" is not modelled/) } },
      }],
    });
    expect(h.kubelet.processOf('testapi', 'api-seed')).toBeUndefined();
    expect(h.logs).toEqual([expect.stringMatching(/^pod testapi\/api-seed refused: container api: image "cyrilbkr\/testapp:1.0" is not modelled by the emulated node/)]);
    await new Promise((r) => setTimeout(r, 1000));
    expect(h.kubelet.endpoints()).toEqual([]);
    expect(h.events).toEqual([]);
  });

  test('a stand-in (the load tester image) is running and ready at once, with no process', () => {
    h = new Harness();
    h.kubelet.reconcile([nodePod('flagger-loadtester-x', { image: 'ghcr.io/fluxcd/flagger-loadtester:0.38.0' })]);
    expect(h.status('flagger-loadtester-x')).toMatchObject({
      phase: 'Running', conditions: [{ status: 'True' }, { type: 'Ready', status: 'True' }],
      containerStatuses: [{ ready: true, started: true, restartCount: 0, state: { running: {} } }],
    });
    expect(h.kubelet.processOf('testapi', 'flagger-loadtester-x')).toBeUndefined();
    expect(h.kubelet.endpoints()).toEqual([]);
  });

  test('a pod not yet started by kwok, or terminating, is not run', () => {
    h = new Harness();
    h.kubelet.reconcile([{ ...nodePod('api-7'), onNode: false }]);
    expect(h.kubelet.statuses()).toEqual([]);
  });
});

test('Go durations as the kubelet prints its back-off', () => {
  expect([500, 1500, 10_000, 20_000, 80_000, 300_000].map(goDuration)).toEqual(['500ms', '1.5s', '10s', '20s', '1m20s', '5m0s']);
});
