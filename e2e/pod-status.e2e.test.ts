/**
 * The emulated kubelet (e2e/dataplane/kubelet.ts) on the real API server and the real
 * Flagger v1.44.0: in the emulated namespace kwok only starts pods (e2e/cluster/stages)
 * and the emulator reports their status as a kubelet does.
 *
 * 1. Images: a pod of an image the emulated node does not model (the seed's
 *    cyrilbkr/testapp) is never run: Pending, waiting CreateContainerError with the
 *    reason, logged by the emulator; the load tester's pod (a stand-in) is Ready; every
 *    status is written by the emulator as field manager `kubelet`.
 * 2. Crashes: a test-API process killed twice: not Ready while down (the Service's
 *    EndpointSlice marks it not ready), restartCount 1 then 2, the kill kept as lastState,
 *    the second restart after the kubelet's 10 s back-off (CrashLoopBackOff), Ready again.
 * 3. Releases whose pods never become ready are rolled back by Flagger at the Canary's
 *    progress deadline (40 s): a process that exits at start (FAILURE_MODE refused by the
 *    test API, exit 2), a readiness path that fails, an image the node cannot run. Flagger
 *    1.44 says why in its events: the canary's not-ready message each interval, then
 *    `Canary failed!` no sooner than the deadline, with no failed check and no weight.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Duration } from 'cdk8s';
import { CanaryDemoProps } from '../charts';
import { TESTAPI_IMAGE } from './dataplane/images';
import {
  applyObjects, CANARY, canaryEvents, FlaggerEvent, getJson, NAMESPACE, orderedSteps, sleep, until, watchVerdict,
} from './features/support';
import { Release, rehearsalProps, synthDemo } from './rehearse/app';
import { dataplaneLogPath, kubectl, resetNamespace, stackInfo, StackInfo, startRehearsalParts, stopRehearsalParts } from './rehearse/stack';
import { Timeline } from './rehearse/timeline';

const stack: StackInfo = stackInfo();
const PROGRESS_DEADLINE_S = 40;
const times: string[] = [];

/** The demo with the rehearsal's short intervals and a short progress deadline. */
function demo(release: Release, extra: Partial<CanaryDemoProps> = {}): any[] {
  return synthDemo(release, { ...rehearsalProps('demo', release.version), progressDeadline: Duration.seconds(PROGRESS_DEADLINE_S), ...extra });
}

/** The demo's api Deployment and a Service for it, renamed: a workload Flagger does not know. */
function standalone(name: string, image: string): any[] {
  const objects = demo({ version: '1.0' });
  const deployment = JSON.parse(JSON.stringify(objects.find((o) => o.kind === 'Deployment' && o.metadata.name === CANARY)));
  const labels = { app: name };
  deployment.metadata = { name, namespace: NAMESPACE, labels };
  deployment.spec.replicas = 1;
  deployment.spec.selector = { matchLabels: labels };
  deployment.spec.template.metadata = { labels };
  deployment.spec.template.spec.containers[0].image = image;
  const service = { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: NAMESPACE }, spec: { selector: labels, ports: [{ port: 3000 }] } };
  return [deployment, service];
}

function podsOf(app: string): any[] {
  return JSON.parse(kubectl(stack, ['get', 'pods', '-n', NAMESPACE, '-l', `app=${app}`, '-o', 'json', '--show-managed-fields'])).items;
}

const condition = (pod: any, type: string) => pod.status?.conditions?.find((c: any) => c.type === type);
const readyOf = (pod: any) => condition(pod, 'Ready')?.status;

/** `status.phase Ready=… restarts … state`, for the timeline. */
function describePod(pod: any): string {
  const c = pod.status?.containerStatuses?.[0] ?? {};
  const state = Object.entries(c.state ?? {}).map(([k, v]: [string, any]) => `${k}${v.reason ? ` ${v.reason}` : ''}${v.exitCode !== undefined ? ` exit ${v.exitCode}` : ''}`).join('');
  return `${pod.metadata.name} ${pod.status?.phase} Ready=${readyOf(pod)} restarts ${c.restartCount ?? 0} ${state}`;
}

/** The test-API process the emulator runs for a pod: found by the pod's address in its environment. */
function processOf(pod: string): number | undefined {
  const routes = JSON.parse(fs.readFileSync(path.join(stack.egressRoutes, 'dataplane.json'), 'utf8'));
  const host: string | undefined = routes.pods?.[`${NAMESPACE}/${pod}`];
  if (!host) return undefined;
  for (const entry of fs.readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      const environ = fs.readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0');
      if (environ.includes(`HOST=${host}`) && fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('testapi/server.js')) return Number(entry);
    } catch {
      // gone meanwhile, or not ours
    }
  }
  return undefined;
}

/** Whether the Service's EndpointSlices list the pod, and as ready. */
function endpointOf(service: string, pod: string): 'ready' | 'not ready' | 'absent' {
  const slices = JSON.parse(kubectl(stack, ['get', 'endpointslices', '-n', NAMESPACE, '-l', `kubernetes.io/service-name=${service}`, '-o', 'json'])).items;
  const e = slices.flatMap((s: any) => s.endpoints ?? []).find((x: any) => x.targetRef?.name === pod);
  return e ? (e.conditions?.ready ? 'ready' : 'not ready') : 'absent';
}

function report(part: string, timeline: Timeline): void {
  const seconds = (Date.now() - timeline.startedAt) / 1000;
  times.push(`  ${part.padEnd(48)} ${seconds.toFixed(1).padStart(6)}s`);
  console.log(`${part} (${seconds.toFixed(1)}s)\n${timeline.render()}`);
}

beforeAll(async () => {
  resetNamespace(stack);
  await startRehearsalParts(stack);
  // The namespace, the load tester (a stand-in) and the watcher's RBAC, without the Canary yet.
  applyObjects(stack, demo({ version: '1.0' }).filter((o) => o.kind !== 'Canary' && !(o.kind === 'Deployment' && o.metadata.name === CANARY)));
}, 180_000);

afterAll(() => {
  // Leave the namespace empty and no emulator running for the other suites.
  resetNamespace(stack);
  stopRehearsalParts();
  console.log(`pod-status times:\n${times.join('\n')}`);
}, 240_000);

describe('images: the emulated node runs the test API, stands in for the load tester, refuses the rest', () => {
  test('the seed\'s image is never run: Pending, waiting CreateContainerError with the reason, in the emulator\'s log', async () => {
    const timeline = new Timeline();
    applyObjects(stack, standalone('seed', 'cyrilbkr/testapp:1.0'));
    const pod = await until('the seed pod refused', 60_000, () => podsOf('seed').find((p) =>
      p.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'CreateContainerError'));
    timeline.add('test', describePod(pod));
    expect(pod.status.phase).toBe('Pending');
    expect(readyOf(pod)).toBe('False');
    expect(condition(pod, 'Ready')).toMatchObject({ reason: 'ContainersNotReady', message: 'containers with unready status: [api]' });
    const message = `emulated node: image "cyrilbkr/testapp:1.0" is not modelled by the emulated node: it runs the test API `
      + '(<registry>/testapi:<release>, testapi/Dockerfile) and stands in for ghcr.io/fluxcd/flagger-loadtester, registry.k8s.io/pause';
    expect(pod.status.containerStatuses[0]).toMatchObject({ ready: false, started: false, restartCount: 0, state: { waiting: { message } } });
    // Written by the emulator as the kubelet; kwok only started the pod (pod IP, start time).
    expect(pod.metadata.managedFields.filter((f: any) => f.subresource === 'status').map((f: any) => f.manager).sort()).toEqual(['kubelet', 'kwok']);
    expect(pod.status.podIP).toMatch(/^10\.244\.0\.\d+$/);
    const log = fs.readFileSync(dataplaneLogPath(stack), 'utf8');
    expect(log).toContain(`pod ${NAMESPACE}/${pod.metadata.name} refused: container api: image "cyrilbkr/testapp:1.0" is not modelled`);
    expect(processOf(pod.metadata.name)).toBeUndefined();
    await sleep(3000);
    expect(endpointOf('seed', pod.metadata.name)).toBe('not ready');
    expect(getJson(stack, 'deployment', 'seed').status.unavailableReplicas).toBe(1);
    kubectl(stack, ['delete', 'deployment,service', 'seed', '-n', NAMESPACE, '--wait=true']);
    report('refused image', timeline);
  }, 120_000);

  test('the load tester\'s pod (a stand-in) is Running and Ready, reported by the emulator', async () => {
    const pod = await until('the load tester Ready', 60_000, () => podsOf('flagger-loadtester').find((p) => readyOf(p) === 'True'));
    expect(pod.status.phase).toBe('Running');
    expect(pod.status.containerStatuses[0]).toMatchObject({ name: 'loadtester', ready: true, started: true, restartCount: 0, state: { running: {} } });
    expect(pod.metadata.managedFields.some((f: any) => f.subresource === 'status' && f.manager === 'kubelet')).toBe(true);
    // Written once: the emulator patches a status only when it changes.
    const writes = fs.readFileSync(dataplaneLogPath(stack), 'utf8').split('\n').filter((l) => l.includes(` status pod ${NAMESPACE}/${pod.metadata.name}: `));
    expect(writes).toEqual([expect.stringMatching(/: Running Ready=True: loadtester running ready, restarts 0$/)]);
  }, 90_000);
});

describe('crashes: the pod status follows its process', () => {
  test('killed twice: not Ready while down, restartCount 1 then 2, CrashLoopBackOff for 10 s, Ready again', async () => {
    const timeline = new Timeline();
    applyObjects(stack, standalone('crash', `${TESTAPI_IMAGE}:1.0`));
    let pod = await until('the crash pod Ready', 90_000, () => podsOf('crash').find((p) => readyOf(p) === 'True'));
    const name = pod.metadata.name;
    timeline.add('test', describePod(pod));
    expect(pod.status.containerStatuses[0]).toMatchObject({ image: `${TESTAPI_IMAGE}:1.0`, ready: true, restartCount: 0 });
    await until('a ready endpoint', 30_000, () => endpointOf('crash', name) === 'ready');

    const seen: string[] = [];
    const sample = (): any => {
      const p = podsOf('crash').find((x) => x.metadata.name === name);
      const line = `${describePod(p)}; endpoint ${endpointOf('crash', name)}`;
      if (seen.at(-1) !== line) {
        seen.push(line);
        timeline.add('test', line);
      }
      return p;
    };
    const kill = () => {
      const pid = processOf(name);
      expect(pid).toBeDefined();
      timeline.add('test', `kill -9 ${pid} (the pod's test-API process)`);
      process.kill(pid!, 'SIGKILL');
    };

    kill();
    pod = await until('restart 1, Ready again', 60_000, () => {
      const p = sample();
      return p.status.containerStatuses[0].restartCount === 1 && readyOf(p) === 'True' ? p : undefined;
    }, 300);
    expect(pod.status.containerStatuses[0].lastState).toMatchObject({ terminated: { exitCode: 137, signal: 9, reason: 'Error' } });

    kill();
    const backoff = await until('CrashLoopBackOff', 30_000, () => {
      const p = sample();
      return p.status.containerStatuses[0].state.waiting?.reason === 'CrashLoopBackOff' ? p : undefined;
    }, 300);
    expect(backoff.status.phase).toBe('Running');
    expect(readyOf(backoff)).toBe('False');
    expect(backoff.status.containerStatuses[0]).toMatchObject({
      ready: false, restartCount: 1,
      state: { waiting: { message: `back-off 10s restarting failed container=api pod=${name}_${NAMESPACE}(${backoff.metadata.uid})` } },
      lastState: { terminated: { exitCode: 137, reason: 'Error' } },
    });
    await until('the endpoint not ready', 15_000, () => endpointOf('crash', name) === 'not ready', 300);
    pod = await until('restart 2, Ready again', 60_000, () => {
      const p = sample();
      return p.status.containerStatuses[0].restartCount === 2 && readyOf(p) === 'True' ? p : undefined;
    }, 300);
    await until('the endpoint ready again', 30_000, () => endpointOf('crash', name) === 'ready');
    timeline.add('test', `${describePod(pod)}; endpoint ready`);
    expect(seen.some((l) => / Ready=False restarts 1 waiting CrashLoopBackOff; endpoint not ready$/.test(l))).toBe(true);
    const log = fs.readFileSync(dataplaneLogPath(stack), 'utf8');
    expect(log).toContain(`pod ${NAMESPACE}/${name}: container api exited with code 137 (SIGKILL)`);
    expect(log).toMatch(new RegExp(`status pod ${NAMESPACE}/${name}: Running Ready=False: api waiting CrashLoopBackOff`));
    kubectl(stack, ['delete', 'deployment,service', 'crash', '-n', NAMESPACE, '--wait=true']);
    report('crash and restart', timeline);
  }, 240_000);
});

describe('a release whose pods never become ready: Flagger rolls it back at the progress deadline', () => {
  const step = orderedSteps();

  /** Applies a release, waits for the watcher's verdict; returns Flagger's events of the rollout. */
  async function ship(release: Release, expectVerdict: 'initialized' | 'failed', timeline: Timeline, extra: Partial<CanaryDemoProps> = {}): Promise<FlaggerEvent[]> {
    const objects = demo(release, extra);
    timeline.add('test', `apply ${objects.find((o) => o.kind === 'Deployment' && o.metadata.name === CANARY).spec.template.spec.containers[0].image}`
      + `${release.env ? ` ${JSON.stringify(release.env)}` : ''}${Object.keys(extra).length ? ` ${JSON.stringify(extra)}` : ''}`);
    const since = applyObjects(stack, objects);
    const canaryPods = new Map<string, string>();
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        for (const p of podsOf(CANARY)) {
          const line = describePod(p);
          if (canaryPods.get(p.metadata.name) !== line) {
            canaryPods.set(p.metadata.name, line);
            timeline.add('pods', line);
          }
        }
        await sleep(1000);
      }
    })();
    const code = await watchVerdict(stack, expectVerdict, since, 240, timeline);
    sampling = false;
    await sampler;
    timeline.add('test', `watcher exit ${code} (expected ${expectVerdict}: 0)`);
    expect(code).toBe(0);
    // Repeats of a message fold into one event (count, last time): this release's are those last seen since it.
    const events = canaryEvents(stack).filter((e) => e.last >= since.getTime() - 1000).sort((a, b) => a.last - b.last);
    for (const e of events) timeline.add('flagger', `${e.type} ${e.message}${e.count > 1 ? ` (x${e.count} in all)` : ''}`, e.last);
    return events;
  }

  /** The rollback's reason as Flagger 1.44 gives it for a Deployment (pkg/controller/scheduler.go advanceCanary, IsCanaryReady). */
  function expectDeadlineRollback(events: FlaggerEvent[]): void {
    const messages = events.map((e) => `${e.type} ${e.message}`);
    const notReady = `Warning canary deployment ${CANARY}.${NAMESPACE} not ready: waiting for rollout to finish: 0 of 1 (readyThreshold 100%) updated replicas are available`;
    const scaledUp = events.find((e) => e.message === `New revision detected! Scaling up ${CANARY}.${NAMESPACE}`);
    const failed = events.find((e) => e.message === `Canary failed! Scaling down ${CANARY}.${NAMESPACE}`);
    expect(scaledUp).toBeDefined();
    expect(messages).toContain(notReady);
    expect(failed?.type).toBe('Warning');
    // The canary not being ready is the last thing Flagger says before the rollback...
    const waiting = events.find((e) => `${e.type} ${e.message}` === notReady)!;
    expect(waiting.last).toBeGreaterThanOrEqual(scaledUp!.last);
    expect(waiting.last).toBeLessThanOrEqual(failed!.last);
    expect(events.filter((e) => e.last > waiting.last && e !== failed).map((e) => e.message)).toEqual([]);
    // ...and the rollback comes no sooner than the deadline (times in whole seconds: a second of slack).
    expect((failed!.last - scaledUp!.last) / 1000).toBeGreaterThanOrEqual(PROGRESS_DEADLINE_S - 1);
    // Not the analysis: no traffic was ever shifted, no check failed.
    expect(messages.filter((m) => /Advance|Halt|failed checks threshold|Rolling back/.test(m))).toEqual([]);
    const canary = getJson(stack, 'canary', CANARY);
    expect(canary.status).toMatchObject({ phase: 'Failed', canaryWeight: 0 });
    expect(canary.status.failedChecks ?? 0).toBe(0);
    expect(getJson(stack, 'deployment', `${CANARY}-primary`).spec.template.spec.containers[0].image).toBe(`${TESTAPI_IMAGE}:1.0`);
  }

  step(`1.0 initialized (progress deadline ${PROGRESS_DEADLINE_S}s)`, async () => {
    const timeline = new Timeline();
    await ship({ version: '1.0' }, 'initialized', timeline);
    expect(getJson(stack, 'canary', CANARY).spec.progressDeadlineSeconds).toBe(PROGRESS_DEADLINE_S);
    report('1.0 initialized', timeline);
  }, 240_000);

  step('2.0 whose process exits at start (FAILURE_MODE refused, exit 2): CrashLoopBackOff, rolled back at the deadline', async () => {
    const timeline = new Timeline();
    const events = await ship({ version: '2.0', env: { FAILURE_MODE: 'explode' } }, 'failed', timeline);
    expectDeadlineRollback(events);
    const crashed = timeline.of('pods').map((e) => e.text);
    expect(crashed.some((l) => / Ready=False restarts [1-9]\d* (terminated Error exit 2|waiting CrashLoopBackOff)$/.test(l))).toBe(true);
    expect(crashed.some((l) => / Ready=True /.test(l))).toBe(false);
    expect(fs.readFileSync(dataplaneLogPath(stack), 'utf8')).toContain('last output: testapi: FAILURE_MODE ("explode") must be one of');
    report('2.0 exits at start', timeline);
  }, 300_000);

  step('2.1 whose readiness path fails: running, never Ready, rolled back at the deadline', async () => {
    const timeline = new Timeline();
    const events = await ship({ version: '2.1' }, 'failed', timeline, { readinessPath: '/never-ready' });
    expectDeadlineRollback(events);
    const lines = timeline.of('pods').map((e) => e.text);
    expect(lines.some((l) => / Running Ready=False restarts 0 running$/.test(l))).toBe(true);
    expect(lines.some((l) => / Ready=True /.test(l))).toBe(false);
    report('2.1 readiness fails', timeline);
  }, 300_000);

  step('2.2 of the seed\'s image, which the node cannot run: never started, rolled back at the deadline', async () => {
    const timeline = new Timeline();
    const events = await ship({ version: '2.2' }, 'failed', timeline, { image: 'cyrilbkr/testapp' });
    expectDeadlineRollback(events);
    const lines = timeline.of('pods').map((e) => e.text);
    expect(lines.some((l) => / Pending Ready=False restarts 0 waiting CreateContainerError$/.test(l))).toBe(true);
    report('2.2 image refused', timeline);
  }, 300_000);
});
