/**
 * Runs rehearsal scenarios: apply a release synthesized through the demo
 * chart's props, let the REAL Flagger analyse it on metrics of real requests,
 * take the verdict from the watcher (canary-watch), and check what the
 * verdict alone does not show: weights stepped, which release the primary runs,
 * why a rollback happened (the check that halted the analysis, from Flagger's
 * events: reasons.ts), and that both load sources reached the canary's pods
 * (the load tester's hey and the emulator's generator: traffic.ts).
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { CanaryDemoProps } from '../../charts';
import { StrategyKind } from '../../lib';
import { createRenderer } from '../../watch/render';
import type { WatchRecord } from '../../watch/verdict';
import { AnalysisVariant, analysisSteps, DEFAULT_SETTINGS, expectedWeights, RehearsalSettings, Release, rehearsalProps, synthDemo } from './app';
import {
  dataplaneLogPath, flaggerLogPath, httpGet, httpPost, kubectl, LOADTESTER_PORT, REPO, resetNamespace, serviceAddress, StackInfo,
} from './stack';
import { analysisReasons, checkRollbackReason, describeExpected, ExpectedReason, flaggerEventMessages, parseHalt } from './reasons';
import { canaryWeights, LogTail, Timeline } from './timeline';
import { checkLoad, describeLoad, heyCommandOf, LoadExpectation, readTraffic, stepLoad, summarizeLoad } from './traffic';

export type Verdict = 'initialized' | 'succeeded' | 'failed';

export interface ScenarioStep {
  readonly release: Release;
  readonly expect: Verdict;
  /**
   * With expect 'failed' (required there): what the rollback must be for, the
   * check or webhook named in Flagger's `Halt` events; any other failed check
   * (another metric, "no values found") fails the step.
   */
  readonly reason?: ExpectedReason;
  /**
   * Which load sources must reach the canary's pods. @default - for an analysed
   * release: hey always; the generator on a weighted canary (at most its max
   * weight), on blue/green only when promoted (all traffic is switched to the
   * canary first), never on A/B testing (it sends no matching header)
   */
  readonly load?: LoadExpectation;
  /** The metric checks the Canary's analysis must have, in order (`analysis.metrics[].name`). */
  readonly checks?: readonly string[];
  /** Check that the apex split stepped through the analysis' weights, in order. */
  readonly checkWeights?: boolean;
  /** With checkWeights: the canary must never get a weight (it failed before any traffic moved). */
  readonly expectNoWeights?: boolean;
  /** What the primary Service answers on `/` afterwards. */
  readonly primary: { readonly release: string; readonly status: number; readonly body?: RegExp };
  /** Hold in WaitingPromotion for this long (checking it stays), then open the gate. */
  readonly gateHoldMs?: number;
  /** Requests sent once the analysis has taken its first step, and who must answer them. */
  readonly probes?: readonly Probe[];
  /** Mid-analysis, check that a client given the affinity cookie by the canary sticks to it. */
  readonly sticky?: { readonly cookie: string; readonly canaryBody: RegExp; readonly primaryBody: RegExp };
}

/** A request through a Service of the emulated mesh, mid-analysis, and the answer it must get. */
export interface Probe {
  /** What the probe shows, for the timeline. */
  readonly what: string;
  /** @default 'apex': the Service whose route Flagger writes */
  readonly via?: 'apex' | 'canary';
  readonly headers?: Readonly<Record<string, string>>;
  readonly status: number;
  readonly body?: RegExp;
}

export interface Scenario {
  readonly name: string;
  /** What the scenario proves, printed with its result. */
  readonly proves: string;
  readonly analysis: AnalysisVariant;
  /** Start from an empty namespace (a new Canary) instead of the previous scenario's end. */
  readonly fresh?: boolean;
  readonly steps: readonly ScenarioStep[];
}

/** What one release's step showed, for the results table. */
export interface StepReport {
  readonly release: string;
  readonly expect: Verdict;
  /** The failed checks before the verdict, from Flagger's events (`4xx-percentage x2`), `-` without any. */
  readonly reason: string;
  /** Requests that reached the canary's pods by source (`hey 512, gen 63/1210`), `-` without an analysis. */
  readonly load: string;
}

export interface ScenarioResult {
  readonly name: string;
  readonly ok: boolean;
  readonly seconds: number;
  readonly failures: string[];
  readonly timeline: Timeline;
  readonly steps?: readonly StepReport[];
}

const NAMESPACE = 'testapi';
const CANARY = 'api';

function canaryPhase(stack: StackInfo): string | undefined {
  return canaryStatus(stack).phase || undefined;
}

function primaryImage(stack: StackInfo): string {
  return kubectl(stack, ['get', 'deployment', `${CANARY}-primary`, '-n', NAMESPACE,
    '-o', 'jsonpath={.spec.template.spec.containers[0].image}']).trim();
}

/** Where the rehearsal writes each release's report page (REHEARSE_REPORTS, default dist/rehearsal-reports). */
export const REPORT_DIR = process.env.REHEARSE_REPORTS || path.join(REPO, 'dist', 'rehearsal-reports');

/**
 * Runs the watcher to its verdict (`-o json --metrics`: its records, with each check's
 * value), showing its records as text lines in the timeline, then draws them with
 * `canary-watch report --from` into `<REPORT_DIR>/<report>.html`. `since` is taken just
 * before the apply: Flagger may pick the new revision up before the watcher's first
 * read, and a rollout that began after `since` still counts.
 */
async function watch(stack: StackInfo, expect: Verdict, timeoutS: number, since: Date, timeline: Timeline, report: string,
  events: string[]): Promise<number> {
  const cli = path.join(REPO, 'watch/build/cli.js');
  const child = spawn(process.execPath, [
    cli, CANARY, '-n', NAMESPACE, '--expect', expect,
    '--since', since.toISOString().replace(/\.\d+Z$/, 'Z'),
    '--timeout', `${timeoutS}s`, '--kubeconfig', stack.kubeconfig, '--no-color', '-o', 'json', '--metrics',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const text = createRenderer({ format: 'text', tty: false, color: false,
    write: (chunk) => chunk.split('\n').filter(Boolean).forEach((l) => timeline.add('watch', l)) });
  readline.createInterface({ input: child.stdout }).on('line', (line) => {
    lines.push(line);
    const record = JSON.parse(line) as WatchRecord | { type: 'error'; message: string };
    if (record.type === 'error') timeline.add('watch', `error: ${record.message}`);
    else text.record(record);
    if (record.type === 'event') events.push(record.message);
  });
  readline.createInterface({ input: child.stderr }).on('line', (line) => timeline.add('watch', line));
  const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? -1)));
  fs.mkdirSync(REPORT_DIR, { recursive: true });
  const records = path.join(REPORT_DIR, `${report}.ndjson`);
  const page = path.join(REPORT_DIR, `${report}.html`);
  fs.writeFileSync(records, lines.map((l) => `${l}\n`).join(''));
  const drawn = spawnSync(process.execPath, [cli, 'report', '--from', records, '--out', page, '--title', report], { encoding: 'utf8' });
  timeline.add('rehearse', drawn.status === 0 ? `report: ${page}` : `report not drawn (exit ${drawn.status}): ${drawn.stderr.trim()}`);
  return code;
}

const gateBody = JSON.stringify({ name: CANARY, namespace: NAMESPACE });

async function holdThenOpenGate(stack: StackInfo, holdMs: number, timeline: Timeline, failures: string[], done: () => boolean): Promise<void> {
  while (!done() && canaryPhase(stack) !== 'WaitingPromotion') await sleep(1000);
  if (done()) return;
  timeline.add('rehearse', `canary is WaitingPromotion: holding the gate closed for ${holdMs / 1000}s`);
  const until = Date.now() + holdMs;
  while (Date.now() < until) {
    await sleep(2000);
    const phase = canaryPhase(stack);
    if (phase !== 'WaitingPromotion') {
      failures.push(`with the gate closed the canary left WaitingPromotion for ${phase}`);
      return;
    }
  }
  await httpPost(`http://127.0.0.1:${LOADTESTER_PORT}/gate/open`, gateBody);
  timeline.add('rehearse', 'gate opened (POST /gate/open to the load tester)');
}

function canaryStatus(stack: StackInfo): { phase?: string; iterations: number; weight: number } {
  try {
    const status = JSON.parse(kubectl(stack, ['get', 'canary', CANARY, '-n', NAMESPACE, '-o', 'jsonpath={.status}']) || '{}');
    return { phase: status.phase, iterations: status.iterations ?? 0, weight: status.canaryWeight ?? 0 };
  } catch {
    return { iterations: 0, weight: 0 };
  }
}

/** Waits until the analysis has taken its first step (an iteration or a weight); false if it ended first. */
async function firstStep(stack: StackInfo, failures: string[], done: () => boolean): Promise<boolean> {
  for (;;) {
    if (done()) {
      failures.push('the analysis ended before it took a step: the mid-analysis checks were not made');
      return false;
    }
    const status = canaryStatus(stack);
    if (status.phase === 'Progressing' && (status.iterations >= 1 || status.weight > 0)) break;
    await sleep(500);
  }
  // The emulator applies the route within a second of Flagger writing it.
  await sleep(1500);
  return true;
}

/**
 * Session affinity as a browser sees it: requests without the cookie until one is
 * answered by the canary with Set-Cookie, then that cookie on every request: each
 * must reach the canary, whatever the weight.
 */
async function checkSticky(stack: StackInfo, sticky: NonNullable<ScenarioStep['sticky']>, timeline: Timeline,
  failures: string[], done: () => boolean): Promise<void> {
  if (!await firstStep(stack, failures, done)) return;
  const addr = await serviceAddress(CANARY, NAMESPACE);
  const url = `http://${addr}:3000/`;
  let cookie: string | undefined;
  let tries = 0;
  let primaryAnswers = 0;
  for (; tries < 100 && !cookie; tries++) {
    const answer = await httpGet(url);
    const setCookie = (answer.headers['set-cookie'] ?? []).find((c) => c.startsWith(`${sticky.cookie}=`));
    if (setCookie && sticky.canaryBody.test(answer.body)) cookie = setCookie.split(';')[0];
    if (setCookie && !sticky.canaryBody.test(answer.body)) failures.push(`Set-Cookie came with a primary answer: ${answer.body.trim()}`);
    if (sticky.primaryBody.test(answer.body)) primaryAnswers++;
  }
  if (!cookie) {
    failures.push(`no canary answer carried Set-Cookie ${sticky.cookie} in ${tries} requests`);
    return;
  }
  timeline.add('rehearse', `sticky: request ${tries} reached the canary and got Set-Cookie ${cookie} (${primaryAnswers} primary answers before)`);
  const bodies: string[] = [];
  for (let i = 0; i < 20; i++) bodies.push((await httpGet(url, { cookie: `other=1; ${cookie}` })).body.trim());
  const strays = bodies.filter((b) => !sticky.canaryBody.test(b));
  timeline.add('rehearse', `sticky: 20 requests with the cookie -> ${20 - strays.length} canary, ${strays.length} elsewhere ${strays.length ? 'WRONG' : 'ok'}`);
  if (strays.length) failures.push(`with the affinity cookie ${strays.length}/20 requests left the canary: ${strays[0]}`);
}

/**
 * Once the analysis has taken its first step, sends each probe through the
 * emulated mesh and checks who answers: the route Flagger wrote decides.
 */
async function probeMidAnalysis(stack: StackInfo, probes: readonly Probe[], timeline: Timeline, failures: string[],
  done: () => boolean): Promise<void> {
  if (!await firstStep(stack, failures, done)) return;
  for (const probe of probes) {
    const service = probe.via === 'canary' ? `${CANARY}-canary` : CANARY;
    const addr = await serviceAddress(service, NAMESPACE);
    const answer = addr ? await httpGet(`http://${addr}:3000/`, { ...probe.headers }).catch((err: Error) => ({ status: 0, body: err.message })) : undefined;
    const got = answer ? `${answer.status} ${answer.body.trim()}` : 'no address';
    const headers = Object.entries(probe.headers ?? {}).map(([k, v]) => `${k}: ${v}`).join(', ') || 'no headers';
    const ok = answer !== undefined && answer.status === probe.status && (!probe.body || probe.body.test(answer.body));
    timeline.add('rehearse', `probe ${service} (${headers}) -> ${got}: ${probe.what} ${ok ? 'ok' : 'WRONG'}`);
    if (!ok) failures.push(`probe "${probe.what}" via ${service} (${headers}) answered ${got}, expected ${probe.status} ${probe.body ?? ''}`);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function describe(release: Release): string {
  const env = Object.entries(release.env ?? {}).map(([k, v]) => `${k}=${v}`).join(' ');
  return `${release.version}${env ? ` (${env})` : ''}`;
}

/** Generous bound for one analysis: every step, every allowed failure, set-up and promotion. */
function watchTimeoutS(props: CanaryDemoProps, gateHoldMs = 0): number {
  const intervalS = props.interval?.toSeconds() ?? 60;
  return Math.ceil(intervalS * (analysisSteps(props) + (props.threshold ?? 5) + 6) + gateHoldMs / 1000 + 120);
}

async function runStep(stack: StackInfo, scenario: Scenario, step: ScenarioStep, settings: RehearsalSettings,
  timeline: Timeline, tail: LogTail, reports: StepReport[]): Promise<string[]> {
  const failures: string[] = [];
  const stepStart = Date.now();
  const flaggerLog = new LogTail(flaggerLogPath(stack));
  const trafficBefore = await readTraffic();
  if (step.gateHoldMs !== undefined) {
    await httpPost(`http://127.0.0.1:${LOADTESTER_PORT}/gate/close`, gateBody);
  }
  const props = rehearsalProps(scenario.analysis, step.release.version, settings);
  const objects = synthDemo(step.release, props);
  const checks: string[] = (objects.find((o) => o.kind === 'Canary')?.spec?.analysis?.metrics ?? []).map((m: { name: string }) => m.name);
  timeline.add('rehearse', `apply release ${describe(step.release)}, analysis "${scenario.analysis}" `
    + `(${objects.length} objects; checks: ${checks.join(', ') || 'none'})`);
  if (step.checks && JSON.stringify(checks) !== JSON.stringify(step.checks)) {
    failures.push(`release ${step.release.version}: the Canary checks ${JSON.stringify(checks)}, expected ${JSON.stringify(step.checks)}`);
  }
  // Whole seconds, as Kubernetes condition times are: round down so the rollout is not missed.
  const appliedAt = new Date(Math.floor(Date.now() / 1000) * 1000 - 1000);
  kubectl(stack, ['apply', '--server-side', '--force-conflicts', '--field-manager', 'cdk8s-canary-rehearse', '-f', '-'],
    JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }));
  let finished = false;
  const drain = setInterval(() => tail.drainDataplane(timeline), 1000);
  const gate = step.gateHoldMs !== undefined
    ? holdThenOpenGate(stack, step.gateHoldMs, timeline, failures, () => finished)
    : Promise.resolve();
  const probes = step.probes ? probeMidAnalysis(stack, step.probes, timeline, failures, () => finished) : Promise.resolve();
  const sticky = step.sticky ? checkSticky(stack, step.sticky, timeline, failures, () => finished) : Promise.resolve();
  const events: string[] = [];
  const code = await watch(stack, step.expect, watchTimeoutS(props, step.gateHoldMs), appliedAt, timeline,
    `${scenario.name}${scenario.name.endsWith(step.release.version) ? '' : `-${step.release.version}`}`.replace(/[^\w.-]+/g, '_'), events);
  finished = true;
  await gate;
  await probes;
  await sticky;
  clearInterval(drain);
  await sleep(1500);
  tail.drainDataplane(timeline);
  const trafficAfter = await readTraffic();
  if (code !== 0) failures.push(`release ${step.release.version}: watcher exit ${code}, expected ${step.expect} (exit 0)`);
  const reason = checkReason(step, flaggerEventMessages(flaggerLog.newLines(), `${CANARY}.${NAMESPACE}`), events, timeline, failures);
  const load = loadExpectation(step, props);
  let loadSummary = '-';
  if (load) {
    const hey = heyCommandOf(objects);
    const measured = stepLoad(trafficBefore, trafficAfter, CANARY, (Date.now() - stepStart) / 1000);
    for (const line of describeLoad(measured)) timeline.add('rehearse', `load: ${line}`);
    loadSummary = summarizeLoad(measured);
    if (!hey) failures.push(`release ${step.release.version}: the Canary has no hey load-test webhook`);
    else failures.push(...checkLoad(measured, load, hey).map((f) => `release ${step.release.version}: ${f}`));
  }
  reports.push({ release: step.release.version, expect: step.expect, reason, load: loadSummary });

  if (step.checkWeights) {
    const seen = canaryWeights(filterSince(timeline, stepStart)).filter((w) => w > 0);
    const expected = step.expectNoWeights ? [] : expectedWeights(props);
    if (JSON.stringify(seen) !== JSON.stringify(expected)) {
      failures.push(`release ${step.release.version}: canary weights ${JSON.stringify(seen)}, expected ${JSON.stringify(expected)}`);
    }
  }
  const image = primaryImage(stack);
  if (!image.endsWith(`:${step.primary.release}`)) {
    failures.push(`primary runs ${image}, expected release ${step.primary.release}`);
  }
  const addr = await serviceAddress(`${CANARY}-primary`, NAMESPACE);
  const answer = addr ? await httpGet(`http://${addr}:3000/`) : undefined;
  timeline.add('rehearse', `primary (${image}) answers ${answer ? `${answer.status} ${answer.body.trim()}` : 'nothing: no address'}`);
  if (!answer || answer.status !== step.primary.status || (step.primary.body && !step.primary.body.test(answer.body))) {
    failures.push(`primary answered ${answer?.status} ${answer?.body.trim()}, expected ${step.primary.status} ${step.primary.body ?? ''}`);
  }
  return failures;
}

/**
 * The failed checks of the analysis, from Flagger's event messages (its log:
 * complete, where the API server's Events are throttled; see reasons.ts);
 * a rollback must be for the step's reason alone, and a release that passed
 * must not have been rolled back. Returns the summary for the table.
 */
function checkReason(step: ScenarioStep, messages: string[], apiEvents: string[], timeline: Timeline, failures: string[]): string {
  const reasons = analysisReasons(messages);
  const halts = messages.filter((m) => parseHalt(m));
  const shown = halts.filter((m) => apiEvents.some((e) => e.endsWith(m))).length;
  timeline.add('rehearse', `Flagger's events: failed checks ${reasons.summary}${reasons.rollback ? `, rollback (${reasons.rollback.kind})` : ''}; `
    + `${shown} of ${halts.length} halt messages reached the API server as Events`);
  const where = `release ${step.release.version}`;
  if (step.expect === 'failed') {
    if (!step.reason) {
      failures.push(`${where}: the scenario names no expected rollback reason`);
      return reasons.summary;
    }
    const wrong = checkRollbackReason(reasons, step.reason);
    failures.push(...wrong.map((f) => `${where}: ${f}`));
    return `${reasons.summary} (${wrong.length ? `expected ${describeExpected(step.reason)}` : 'as expected'})`;
  }
  if (reasons.rollback) failures.push(`${where}: rolled back (${reasons.rollback.kind}) after ${reasons.summary}, expected ${step.expect}`);
  return reasons.summary;
}

/** The load sources that must reach the canary (see ScenarioStep.load); none without an analysis. */
function loadExpectation(step: ScenarioStep, props: CanaryDemoProps): LoadExpectation | undefined {
  if (step.load) return step.load;
  if (step.expect === 'initialized') return undefined;
  if (props.strategy === StrategyKind.AB_TESTING) return { hey: true, generator: false };
  if (props.strategy === StrategyKind.BLUE_GREEN) return { hey: true, generator: step.expect === 'succeeded' };
  return { hey: true, generator: true, maxWeight: Math.max(...expectedWeights(props)) };
}

/** Entries from a point in time, to look at one step's weights. */
function filterSince(timeline: Timeline, since: number): Timeline {
  const t = new Timeline(timeline.startedAt);
  for (const e of timeline.of('dataplane')) if (e.at >= since) t.add(e.source, e.text, e.at);
  return t;
}

export async function runScenario(stack: StackInfo, scenario: Scenario,
  settings: RehearsalSettings = DEFAULT_SETTINGS): Promise<ScenarioResult> {
  const timeline = new Timeline();
  const tail = new LogTail(dataplaneLogPath(stack));
  timeline.add('rehearse', `scenario "${scenario.name}": ${scenario.proves}`);
  const failures: string[] = [];
  const steps: StepReport[] = [];
  if (scenario.fresh) {
    resetNamespace(stack, NAMESPACE);
    timeline.add('rehearse', `namespace ${NAMESPACE} deleted: a new Canary from here`);
  }
  for (const step of scenario.steps) {
    try {
      failures.push(...await runStep(stack, scenario, step, settings, timeline, tail, steps));
    } catch (err) {
      failures.push(`release ${step.release.version}: ${(err as Error).message}`);
    }
    if (failures.length > 0) break;
  }
  const seconds = Math.round((Date.now() - timeline.startedAt) / 100) / 10;
  return { name: scenario.name, ok: failures.length === 0, seconds, failures, timeline, steps };
}
