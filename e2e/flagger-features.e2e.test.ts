/**
 * Library features on the REAL Flagger v1.44.0 (with the data-plane emulator of
 * e2e/dataplane standing in for Linkerd's proxies):
 *
 * 1. CanaryAutoscaler: Flagger copies the HPA as `api-primary` (owned by the
 *    Canary), scales the target to zero, and scales it from zero to the HPA's
 *    minimum for an analysis; the cluster's HPA controller scales the primary.
 * 2. AlertProvider (slack, inline URL): what Flagger posts, for which events
 *    and severities (pkg/controller/events.go alert(), pkg/notifier/slack.go),
 *    to a webhook on 127.0.0.1 recording the posts.
 * 3. gatewayapi:v1 stalls on Linkerd's HTTPRoute status (Accepted True without
 *    observedGeneration, as the emulator writes it like Linkerd's policy
 *    controller): the reason the library refuses v1 unless
 *    `routeStatusReportsGeneration`; gatewayapi:v1beta1 advances on the same status.
 *
 * 1 and 2 share one Canary, in order: 1.0 initialized, 2.0 promoted, 3.0 rolled back;
 * 3 starts two new Canaries (v1, then v1beta1) in a fresh namespace each.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AlertProvider, AlertAddress, AlertProviderType, AlertSeverity, CanaryProvider } from '../lib';
import { flaggerLogPath, kubectl, resetNamespace, stackInfo, StackInfo, startRehearsalParts, stopRehearsalParts } from './rehearse/stack';
import { analysisReasons, checkRollbackReason, flaggerEventMessages } from './rehearse/reasons';
import { LogTail, Timeline } from './rehearse/timeline';
import {
  addEvents, AlertReceiver, applyObjects, CANARY, canaryEvents, fieldManager, getJson, NAMESPACE, netnsOf, objectEvents, sampleChanges,
  orderedSteps, sleep, synthFeatureDemo, until, watchVerdict,
} from './features/support';

const stack: StackInfo = stackInfo();
const receiver = new AlertReceiver();
const times: string[] = [];
const HPA_V2 = 'horizontalpodautoscalers.v2.autoscaling';
const ROUTE_V1 = 'httproutes.v1.gateway.networking.k8s.io';
const ROUTE_V1BETA1 = 'httproutes.v1beta1.gateway.networking.k8s.io';
const INIT_ALERT = 'New Deployment detected, initialization completed.';
const PROGRESS_ALERT = 'New revision detected, progressing canary analysis.';
const SUCCESS_ALERT = 'Canary analysis completed successfully, promotion finished.';
const ROLLBACK_ALERT = 'Failed checks threshold reached 2';

/**
 * The demo with an HPA (2..maxReplicas) and one alert per severity, each to its own
 * path of the receiver. Weights step 25 up to 50: a promotion in two steps.
 */
function autoscaledAlertingDemo(version: string, maxReplicas = 4): any[] {
  return synthFeatureDemo(version, {
    stepWeight: 25,
    maxWeight: 50,
    autoscaling: { minReplicas: 2, maxReplicas },
    alerts: {
      type: AlertProviderType.SLACK,
      address: AlertAddress.inlineUrl(receiver.url('/info'), { acknowledgeCommittedToGit: true }),
      severity: AlertSeverity.INFO,
    },
  }, (demo) => {
    for (const severity of [AlertSeverity.WARN, AlertSeverity.ERROR]) {
      const provider = new AlertProvider(demo.appChart, `Alerts-${severity}`, {
        name: `demo-alerts-${severity}`, type: AlertProviderType.SLACK,
        address: AlertAddress.inlineUrl(receiver.url(`/${severity}`), { acknowledgeCommittedToGit: true }),
      });
      demo.appChart.canary.addAlert({ name: `demo-${severity}`, provider, severity });
    }
  });
}

/** What an analysis does to the autoscaled pair, sampled while it runs. */
interface ScaleSample {
  readonly phase?: string;
  readonly targetReplicas?: number;
  readonly primaryMax?: number;
}

function scaleSample(): ScaleSample {
  return {
    phase: canaryStatus().phase,
    targetReplicas: replicasOf(CANARY),
    primaryMax: getJson(stack, HPA_V2, `${CANARY}-primary`)?.spec.maxReplicas,
  };
}

const describeScale = (v: ScaleSample) =>
  `phase ${v.phase}, Deployment ${CANARY} replicas ${v.targetReplicas}, HPA ${CANARY}-primary maxReplicas ${v.primaryMax}`;

/** The distinct values one field went through, in order. */
function distinct<T>(values: T[]): T[] {
  return values.filter((v, i) => i === 0 || v !== values[i - 1]);
}

const texts = (pathname: string) => receiver.to(pathname).map((p) => p.body.attachments?.[0]?.text);

function canaryStatus(): { phase?: string; canaryWeight?: number; lastAppliedSpec?: string } {
  return getJson(stack, 'canary', CANARY)?.status ?? {};
}

function replicasOf(deployment: string): number | undefined {
  return getJson(stack, 'deployment', deployment)?.spec.replicas;
}

function primaryImage(): string {
  return getJson(stack, 'deployment', `${CANARY}-primary`).spec.template.spec.containers[0].image;
}

/** Weights of the route's backends, by Service name. */
function routeWeights(route: any): Record<string, number> {
  const weights: Record<string, number> = {};
  for (const rule of route.spec.rules) for (const b of rule.backendRefs ?? []) weights[b.name] = b.weight;
  return weights;
}

function flaggerLog(): string {
  return fs.readFileSync(flaggerLogPath(stack), 'utf8');
}

/** Applies a release and waits for the watcher's verdict (exit 0: the expected one). */
async function ship(objects: any[], version: string, expect: 'initialized' | 'succeeded' | 'failed', timeline: Timeline, timeoutS: number): Promise<number> {
  timeline.add('test', `apply release ${version} (${objects.length} objects)`);
  const since = applyObjects(stack, objects);
  const code = await watchVerdict(stack, expect, since, timeoutS, timeline);
  timeline.add('test', `watcher exit ${code} (expected ${expect}: 0)`);
  return code;
}

/**
 * Ships a release of the autoscaled demo (HPA 2..5) to its verdict, sampling phase, target
 * replicas and the primary HPA's maximum throughout; a few seconds more for the last alerts.
 */
async function shipSampled(version: string, expect: 'succeeded' | 'failed', part: string): Promise<{ code: number; samples: ScaleSample[] }> {
  const timeline = new Timeline();
  const sampler = sampleChanges(timeline, scaleSample, describeScale);
  const code = await ship(autoscaledAlertingDemo(version, 5), version, expect, timeline, 240);
  await sleep(3000);
  const samples = await sampler.stop();
  report(part, timeline);
  return { code, samples };
}

/** Prints the part's timeline with Flagger's events and the alerts posted since it began. */
function report(part: string, timeline: Timeline): void {
  addEvents(timeline, canaryEvents(stack), timeline.startedAt);
  for (const p of receiver.posts.filter((x) => x.at >= timeline.startedAt)) {
    timeline.add('alert', `POST ${p.path}: ${p.body.attachments?.[0]?.color} ${p.body.attachments?.[0]?.text}`, p.at);
  }
  const seconds = (Date.now() - timeline.startedAt) / 1000;
  times.push(`  ${part.padEnd(34)} ${seconds.toFixed(1).padStart(6)}s`);
  console.log(`${part} (${seconds.toFixed(1)}s)\n${timeline.render()}`);
}

beforeAll(async () => {
  resetNamespace(stack);
  await startRehearsalParts(stack);
  await receiver.start();
}, 180_000);

afterAll(async () => {
  // Leave the namespace empty and no emulator running for the other suites.
  resetNamespace(stack);
  stopRehearsalParts();
  await receiver.close();
  console.log(`flagger-features times:\n${times.join('\n')}`);
}, 240_000);

describe('CanaryAutoscaler and AlertProvider on the real Flagger', () => {
  // One Canary through 1.0, 2.0 and 3.0: each step starts from the previous one's end.
  const step = orderedSteps();

  test('Flagger runs in this process\'s network namespace, so it reaches the receiver on 127.0.0.1', () => {
    const flaggerPid = Number(fs.readFileSync(path.join(stack.state, 'pids', 'flagger'), 'utf8'));
    expect(netnsOf(flaggerPid)).not.toBe('');
    expect(netnsOf(flaggerPid)).toBe(netnsOf(process.pid));
    expect(receiver.url('/info')).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/info$/);
  });

  step('1.0 with autoscaling 2..4: Flagger creates HPA api-primary (autoscaling/v2) controlled by the Canary, '
    + 'scales the target to 0; the HPA controller scales the primary to 2', async () => {
    const timeline = new Timeline();
    const objects = autoscaledAlertingDemo('1.0');
    const deployment = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === CANARY);
    expect(deployment.spec).not.toHaveProperty('replicas');
    expect(objects.find((o) => o.kind === 'Canary').spec.autoscalerRef)
      .toEqual({ apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', name: CANARY });

    expect(await ship(objects, '1.0', 'initialized', timeline, 150)).toBe(0);
    const canary = getJson(stack, 'canary', CANARY);
    expect(canary.status.phase).toBe('Initialized');

    const hpa = getJson(stack, HPA_V2, CANARY);
    const primaryHpa = getJson(stack, HPA_V2, `${CANARY}-primary`);
    expect(primaryHpa.apiVersion).toBe('autoscaling/v2');
    expect(primaryHpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: `${CANARY}-primary` });
    expect([primaryHpa.spec.minReplicas, primaryHpa.spec.maxReplicas]).toEqual([2, 4]);
    expect(primaryHpa.spec.metrics).toEqual(hpa.spec.metrics);
    expect(primaryHpa.metadata.ownerReferences).toEqual([{
      apiVersion: 'flagger.app/v1beta1', kind: 'Canary', name: CANARY, uid: canary.metadata.uid,
      controller: true, blockOwnerDeletion: true,
    }]);
    timeline.add('test', `HPA ${primaryHpa.metadata.name}: ${primaryHpa.apiVersion} -> Deployment/${primaryHpa.spec.scaleTargetRef.name}, `
      + `min ${primaryHpa.spec.minReplicas} max ${primaryHpa.spec.maxReplicas}, controller Canary/${CANARY}`);

    // The target: our manifest leaves replicas out; the only writer of spec.replicas is Flagger (scale to zero).
    const target = getJson(stack, 'deployment', CANARY);
    expect(target.spec.replicas).toBe(0);
    const owners = (target.metadata.managedFields as any[])
      .filter((f) => f.fieldsV1?.['f:spec']?.['f:replicas'] !== undefined).map((f) => `${f.manager}/${f.operation}`);
    expect(owners).toEqual(['flagger/Update']);
    expect((target.metadata.managedFields as any[]).some((f) => f.manager === fieldManager)).toBe(true);
    timeline.add('test', `Deployment ${CANARY}: replicas 0, spec.replicas written only by ${owners.join(', ')}`);

    // Flagger created the primary with the target's defaulted single replica; the HPA controller raises it to its minimum.
    const primary = await until('api-primary scaled to 2 ready replicas by the HPA controller', 90_000, () => {
      const d = getJson(stack, 'deployment', `${CANARY}-primary`);
      return d.spec.replicas === 2 && d.status.readyReplicas === 2 ? d : undefined;
    });
    timeline.add('test', `Deployment ${primary.metadata.name}: ${primary.status.readyReplicas} ready replicas`);
    const rescales = objectEvents(stack, 'HorizontalPodAutoscaler', `${CANARY}-primary`).map((e) => `${e.reason} ${e.message}`);
    expect(rescales).toContain('SuccessfulRescale New size: 2; reason: Current number of replicas below Spec.MinReplicas');
    // The target's own HPA leaves a Deployment at zero alone.
    const scalingActive = await until('HPA api reports ScalingActive', 60_000, () =>
      getJson(stack, HPA_V2, CANARY)?.status?.conditions?.find((c: any) => c.type === 'ScalingActive'));
    expect([scalingActive.status, scalingActive.reason]).toEqual(['False', 'ScalingDisabled']);
    timeline.add('test', `HPA ${CANARY}: ScalingActive ${scalingActive.status} ${scalingActive.reason}: ${scalingActive.message}`);

    // The initialization alert, to the info subscriber only.
    await until('the initialization alert', 20_000, () => receiver.to('/info').length >= 1);
    expect(texts('/info')).toEqual([INIT_ALERT]);
    expect(receiver.to('/warn')).toEqual([]);
    expect(receiver.to('/error')).toEqual([]);
    report('1.0 initialized with an HPA', timeline);
  }, 240_000);

  step('2.0 promoted with the HPA present: the canary runs at the HPA minimum (2) during the analysis, '
    + 'and the HPA change of 2.0 (maxReplicas 4 -> 5) reaches api-primary only at promotion', async () => {
    const { code, samples } = await shipSampled('2.0', 'succeeded', '2.0 promoted with an HPA');
    expect(code).toBe(0);
    expect(getJson(stack, HPA_V2, CANARY).spec.maxReplicas).toBe(5);

    // ScaleFromZero takes the target HPA's minimum; after promotion the target is at zero again.
    expect(distinct(samples.map((v) => v.targetReplicas))).toEqual([0, 2, 0]);
    // The primary's HPA follows the target's only when Flagger promotes (ReconcilePrimaryScaler in Promoting).
    for (const v of samples.filter((x) => x.phase === 'Initialized' || x.phase === 'Progressing')) expect(v.primaryMax).toBe(4);
    expect(samples.at(-1)).toEqual({ phase: 'Succeeded', targetReplicas: 0, primaryMax: 5 });
    expect(primaryImage()).toMatch(/:2\.0$/);
    expect(getJson(stack, 'deployment', `${CANARY}-primary`).spec.replicas).toBe(2);
    expect(texts('/info')).toEqual([INIT_ALERT, PROGRESS_ALERT, SUCCESS_ALERT]);
    expect(receiver.to('/warn')).toEqual([]);
    expect(receiver.to('/error')).toEqual([]);
  }, 300_000);

  step('3.0 rolled back: the canary ran at the HPA minimum (2) and went back to 0; Slack posts follow severity: '
    + 'info gets every event, warn and error only the failure, which names the canary and the failed checks', async () => {
    const flaggerLog = new LogTail(flaggerLogPath(stack));
    const { code, samples } = await shipSampled('3.0', 'failed', '3.0 rolled back, alerts');
    expect(code).toBe(0);
    // Every failed check before the rollback was the 4xx check: not "no values", not another
    // check (Flagger's log holds every event message; the Events below are throttled).
    const reasons = analysisReasons(flaggerEventMessages(flaggerLog.newLines(), `${CANARY}.${NAMESPACE}`));
    expect(checkRollbackReason(reasons, { check: '4xx-percentage' })).toEqual([]);
    expect(canaryStatus().phase).toBe('Failed');
    expect(primaryImage()).toMatch(/:2\.0$/);
    expect(distinct(samples.map((v) => v.targetReplicas))).toEqual([0, 2, 0]);

    // What the analysis halted on, and what Flagger says when it gives up.
    const warnings = canaryEvents(stack).filter((e) => e.type === 'Warning');
    const byMetric = warnings.filter((e) => /^Halt api\.testapi advancement 4xx-percentage \d+\.\d\d > 1$/.test(e.message));
    expect(byMetric.reduce((n, e) => n + e.count, 0)).toBeGreaterThanOrEqual(2);
    expect(warnings.map((e) => e.message)).toContain('Rolling back api.testapi failed checks threshold reached 2');

    expect(texts('/info')).toEqual([INIT_ALERT, PROGRESS_ALERT, SUCCESS_ALERT, PROGRESS_ALERT, ROLLBACK_ALERT]);
    for (const severity of [AlertSeverity.WARN, AlertSeverity.ERROR]) expect(texts(`/${severity}`)).toEqual([ROLLBACK_ALERT]);
    for (const p of receiver.posts) expect(p.contentType).toBe('application/json');

    // slack.go: one attachment; "danger" for error severity, else "good"; metadata fields on initialization and progress only.
    const metadata = [
      { title: 'Target', value: `Deployment/${CANARY}.${NAMESPACE}`, short: false },
      { title: 'Failed checks threshold', value: '2', short: false },
      { title: 'Progress deadline', value: '600s', short: false },
      { title: 'Traffic routing', value: 'Weight step: 25 max: 50', short: false },
    ];
    const payload = (color: string, text: string, fields: object[]) => ({
      channel: 'general', username: 'flagger', icon_url: '', icon_emoji: ':rocket:',
      attachments: [{ color, author_name: `${CANARY}.${NAMESPACE}`, text, mrkdwn_in: ['text'], fields }],
    });
    expect(receiver.to('/info').map((p) => p.body)).toEqual([
      payload('good', INIT_ALERT, metadata),
      payload('good', PROGRESS_ALERT, metadata),
      payload('good', SUCCESS_ALERT, []),
      payload('good', PROGRESS_ALERT, metadata),
      payload('danger', ROLLBACK_ALERT, []),
    ]);
    for (const severity of [AlertSeverity.WARN, AlertSeverity.ERROR]) {
      expect(receiver.to(`/${severity}`).map((p) => p.body)).toEqual([payload('danger', ROLLBACK_ALERT, [])]);
    }
  }, 300_000);
});

describe('gatewayapi:v1 on Linkerd\'s HTTPRoute status (Accepted without observedGeneration)', () => {
  const STALL_MS = 60_000;

  /** The parent statuses the emulator wrote as Linkerd's policy controller, and the route's generation. */
  function linkerdStatus(route: any): { parents: any[]; generation: number } {
    const parents = (route.status?.parents ?? []).filter((p: any) => p.controllerName === 'linkerd.io/policy-controller');
    return { parents, generation: route.metadata.generation };
  }

  /** The route's Linkerd status in one line, for the timeline. */
  function describeStatus(route: any): string {
    const { parents, generation } = linkerdStatus(route);
    return `HTTPRoute ${CANARY} (${route.apiVersion}) generation ${generation}, status: ${parents.map((p: any) => {
      const ref = p.parentRef;
      const conditions = p.conditions.map((c: any) => `${c.type} ${c.status}${'observedGeneration' in c ? ` observedGeneration ${c.observedGeneration}` : ''}`);
      return `parent ${ref.group}/${ref.kind} ${ref.namespace}/${ref.name}:${ref.port} by ${p.controllerName}: ${conditions.join(', ')}`;
    }).join('; ') || 'none'}`;
  }

  function expectLinkerdAccepted(route: any): void {
    const { parents } = linkerdStatus(route);
    expect(parents).toHaveLength(1);
    // Flagger compares parentRefs with reflect.DeepEqual: the status must name the parent exactly as the spec does.
    expect(parents[0].parentRef).toEqual(route.spec.parentRefs[0]);
    expect(parents[0].parentRef).toEqual({ group: 'core', kind: 'Service', namespace: NAMESPACE, name: CANARY, port: 3000 });
    const accepted = parents[0].conditions.find((c: any) => c.type === 'Accepted');
    expect([accepted.status, accepted.reason]).toEqual(['True', 'Accepted']);
    expect(accepted).not.toHaveProperty('observedGeneration');
  }

  test('the HTTPRoute CRD serves v1 (the storage version, read by gatewayapi:v1) and v1beta1 (read by gatewayapi:v1beta1)', () => {
    const crd = JSON.parse(kubectl(stack, ['get', 'crd', 'httproutes.gateway.networking.k8s.io', '-o', 'json']));
    expect(crd.spec.versions.map((v: any) => `${v.name} served=${v.served} storage=${v.storage}`))
      .toEqual(['v1 served=true storage=true', 'v1beta1 served=true storage=false']);
  });

  test(`v1 (routeStatusReportsGeneration: true): 1.0 initializes, then 2.0 does not advance for ${STALL_MS / 1000}s: `
    + 'Flagger reports the parent not ready (observed generation 0)', async () => {
    resetNamespace(stack);
    const timeline = new Timeline();
    timeline.add('test', `namespace ${NAMESPACE} deleted: a new Canary with provider gatewayapi:v1`);
    const demo = (version: string) => synthFeatureDemo(version, { provider: CanaryProvider.GATEWAY_API_V1, routeStatusReportsGeneration: true });
    expect(demo('1.0').find((o) => o.kind === 'Canary').spec.provider).toBe('gatewayapi:v1');
    expect(await ship(demo('1.0'), '1.0', 'initialized', timeline, 150)).toBe(0);

    const initialized = canaryStatus().lastAppliedSpec;
    const shippedAt = Date.now();
    timeline.add('test', 'apply release 2.0');
    applyObjects(stack, demo('2.0'));
    const seen = new Set<string>();
    while (Date.now() - shippedAt < STALL_MS) {
      const status = canaryStatus();
      const route = getJson(stack, ROUTE_V1, CANARY);
      const sample = `phase ${status.phase}, canaryWeight ${status.canaryWeight ?? 0}, lastAppliedSpec ${status.lastAppliedSpec}, `
        + `route weights ${JSON.stringify(routeWeights(route))}, route generation ${route.metadata.generation}`;
      if (!seen.has(sample)) timeline.add('test', sample);
      seen.add(sample);
      await sleep(2000);
    }
    const route = getJson(stack, ROUTE_V1, CANARY);
    const generation = linkerdStatus(route).generation;
    const expected = `HTTPRoute ${CANARY}.${NAMESPACE} parent ${CANARY} is not ready (status: True, observed generation: 0, current generation: ${generation})`;
    timeline.add('test', describeStatus(route));
    const events = canaryEvents(stack).filter((e) => e.first >= shippedAt - 1000);
    report('gatewayapi:v1 stalled', timeline);

    // Every sample over the whole wait: no progress at all, not even the new revision taken up.
    expect([...seen]).toEqual([`phase Initialized, canaryWeight 0, lastAppliedSpec ${initialized}, `
      + `route weights {"${CANARY}-primary":100,"${CANARY}-canary":0}, route generation ${generation}`]);
    expectLinkerdAccepted(route);
    const notReady = events.filter((e) => e.message.includes('is not ready'));
    expect(notReady.map((e) => `${e.type} ${e.message}`)).toEqual([`Warning ${expected}`]);
    expect(notReady[0].count).toBeGreaterThanOrEqual(STALL_MS / 10_000 - 1);
    expect(events.map((e) => e.message).filter((m) => /New revision detected|Advance|Starting canary analysis/.test(m))).toEqual([]);
    expect(flaggerLog()).toContain(expected);
  }, 300_000);

  test('control: v1beta1 (the default) on a fresh namespace advances on the same route status', async () => {
    resetNamespace(stack);
    const timeline = new Timeline();
    timeline.add('test', `namespace ${NAMESPACE} deleted: a new Canary with the default provider gatewayapi:v1beta1`);
    const demo = (version: string) => synthFeatureDemo(version, {});
    expect(demo('1.0').find((o) => o.kind === 'Canary').spec.provider).toBe('gatewayapi:v1beta1');
    expect(await ship(demo('1.0'), '1.0', 'initialized', timeline, 150)).toBe(0);

    const shippedAt = Date.now();
    timeline.add('test', 'apply release 2.0');
    applyObjects(stack, demo('2.0'));
    const status = await until('the canary to take its first step', 90_000, () => {
      const s = canaryStatus();
      return s.phase === 'Progressing' && (s.canaryWeight ?? 0) > 0 ? s : undefined;
    });
    timeline.add('test', `phase ${status.phase}, canaryWeight ${status.canaryWeight}`);
    const route = getJson(stack, ROUTE_V1BETA1, CANARY);
    timeline.add('test', describeStatus(route));
    const events = canaryEvents(stack).filter((e) => e.first >= shippedAt - 1000);
    report('gatewayapi:v1beta1 advances', timeline);

    expect(route.apiVersion).toBe('gateway.networking.k8s.io/v1beta1');
    expectLinkerdAccepted(route);
    const weights = routeWeights(route);
    expect(weights[`${CANARY}-canary`]).toBeGreaterThanOrEqual(10);
    expect(weights[`${CANARY}-primary`]).toBe(100 - weights[`${CANARY}-canary`]);
    expect(events.map((e) => e.message)).toEqual(expect.arrayContaining([
      `New revision detected! Scaling up ${CANARY}.${NAMESPACE}`, `Advance ${CANARY}.${NAMESPACE} canary weight 10`,
    ]));
    expect(events.filter((e) => e.message.includes('is not ready'))).toEqual([]);
  }, 240_000);
});
