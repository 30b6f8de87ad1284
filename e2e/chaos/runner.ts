/**
 * Plays a chaos scenario on the real stack: apply a release synthesized from
 * the demo chart's props, let canary-watch judge it, inject the scenario's
 * fault at its trigger, repair it, and check what the verdict alone does not
 * show: the halting check Flagger named, false promotions, no second rollout,
 * the Canary's status kept across the fault, the primary still serving.
 */
import { ChildProcess, spawn } from 'node:child_process';
import * as readline from 'node:readline';
import * as path from 'node:path';
import { createRenderer } from '../../watch/render';
import type { VerdictRecord, WatchRecord } from '../../watch/verdict';
import { RehearsalSettings, Release, analysisSteps, rehearsalProps, synthDemo } from '../rehearse/app';
import {
  LOADTESTER_PORT, REPO, StackInfo, dataplaneLogPath, httpGet, kubectl, serviceAddress,
} from '../rehearse/stack';
import { LogTail, Timeline } from '../rehearse/timeline';
import { componentNames, isAlive, Outage } from './components';
import { FlaggerLine, flaggerLines, rollbackOf, shortMessage, story } from './flagger-log';
import { CanaryObserver, Sample } from './observer';
import { ChaosScenario, Expected, Major, Trigger } from './scenarios';

const NAMESPACE = 'testapi';
const CANARY = 'api';
const PROMETHEUS = `http://${process.env.CLUSTER_PROMETHEUS_IP ?? '127.0.90.1'}:9090`;

/** One verdict of a scenario: a row of the table. */
export interface Row {
  readonly scenario: string;
  readonly pass: number;
  readonly release: string;
  readonly expected: string;
  observed: string;
  reason: string;
  seconds: number;
  falsePromotions: number;
  ok: boolean;
}

export interface ScenarioRun {
  readonly scenario: string;
  readonly pass: number;
  readonly rows: Row[];
  readonly ok: boolean;
  readonly seconds: number;
  readonly failures: string[];
  /** What Flagger did, and other observations. */
  readonly notes: string[];
  readonly timeline: Timeline;
  readonly pending?: string;
}

interface WatchResult {
  readonly code: number;
  readonly verdict?: VerdictRecord;
  readonly error?: string;
  readonly reconnects: number;
  readonly endedAt: number;
}

/** Watchers still running: stopped on teardown (Ctrl-C) with the rest. */
const children = new Set<ChildProcess>();

export function stopWatchers(): void {
  for (const child of children) child.kill('SIGTERM');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const tagOf = (image?: string) => image?.split(':').pop();
const secondsSince = (t: number, now = Date.now()) => Math.round((now - t) / 100) / 10;

/** `--expect` for an expected ending: a superseded watch is judged by its exit code (4). */
function expectFlag(expected: Expected): string {
  return expected === 'superseded' ? 'any' : expected;
}

function exitFor(expected: Expected): number {
  return expected === 'superseded' ? 4 : 0;
}

export class ChaosRun {
  /** Release numbers of this run: 2.10, 3.11, ... (never one an earlier rollout used). */
  private seq = 10;
  /** The release the primary runs. */
  promoted = '1.0';

  constructor(readonly stack: StackInfo, readonly settings: RehearsalSettings, readonly observer: CanaryObserver) {}

  private get intervalMs(): number {
    return this.settings.interval.toMilliseconds();
  }

  private release(major: Major, env?: Readonly<Record<string, string>>): Release {
    return { version: `${major}.${this.seq++}`, env };
  }

  /** Applies a release as `kubectl apply --server-side`; returns the time to pass as the watcher's `--since`. */
  private apply(release: Release, scenario: Partial<ChaosScenario>, timeline: Timeline): Date {
    const props = { ...rehearsalProps('demo', release.version, this.settings), ...scenario.props };
    const objects = synthDemo(release, props);
    if (scenario.replicas !== undefined) {
      // The demo chart has no replicas prop (one pod); the target construct's Deployment takes the count.
      const target = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === CANARY);
      target.spec.replicas = scenario.replicas;
    }
    const env = Object.entries(release.env ?? {}).map(([k, v]) => ` ${k}=${v}`).join('');
    timeline.add('chaos', `apply release ${release.version}${env}${scenario.replicas ? `, ${scenario.replicas} replicas` : ''}`);
    // Whole seconds, as condition times are: round down so the rollout is not missed.
    const since = new Date(Math.floor(Date.now() / 1000) * 1000 - 1000);
    kubectl(this.stack, ['apply', '--server-side', '--force-conflicts', '--field-manager', 'cdk8s-canary-chaos', '-f', '-'],
      JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }));
    return since;
  }

  /** Generous: every step and allowed failure, the fault's hold, set-up, promotion, and a slow machine. */
  private watchTimeoutS(holdMs: number): number {
    const props = rehearsalProps('demo', '2.0', this.settings);
    return Math.ceil((this.intervalMs * (analysisSteps(props) + this.settings.threshold + 8) + holdMs) / 1000 + 300);
  }

  /** canary-watch to its verdict (`-o json`), its records shown in the timeline. */
  private watch(expect: string, since: Date, timeoutS: number, timeline: Timeline, label: string): Promise<WatchResult> {
    const cli = path.join(REPO, 'watch/build/cli.js');
    const child = spawn(process.execPath, [
      cli, CANARY, '-n', NAMESPACE, '--expect', expect,
      '--since', since.toISOString().replace(/\.\d+Z$/, 'Z'),
      '--timeout', `${timeoutS}s`, '--kubeconfig', this.stack.kubeconfig, '--no-color', '-o', 'json',
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    child.on('close', () => children.delete(child));
    let verdict: VerdictRecord | undefined;
    let error: string | undefined;
    let reconnects = 0;
    const text = createRenderer({ format: 'text', tty: false, color: false,
      write: (chunk) => chunk.split('\n').filter(Boolean).forEach((l) => timeline.add(label, l)) });
    readline.createInterface({ input: child.stdout }).on('line', (line) => {
      let record: WatchRecord | { type: 'error'; message: string };
      try {
        record = JSON.parse(line);
      } catch {
        timeline.add(label, `not JSON: ${line}`);
        return;
      }
      if (record.type === 'error') {
        error = record.message;
        timeline.add(label, `error: ${record.message}`);
        return;
      }
      if (record.type === 'verdict') verdict = record;
      if (record.type === 'note' && /reconnecting/.test(record.message)) reconnects++;
      text.record(record);
    });
    readline.createInterface({ input: child.stderr }).on('line', (line) => timeline.add(label, line));
    return new Promise((resolve) => child.on('close', (c) => resolve({ code: c ?? -1, verdict, error, reconnects, endedAt: Date.now() })));
  }

  /** Waits until the component the fault stopped answers again. */
  private async ready(component: string, since: number): Promise<void> {
    const deadline = Date.now() + 180_000;
    const probe = async (): Promise<boolean> => {
      switch (component) {
        case 'prometheus': return (await httpGet(`${PROMETHEUS}/-/ready`)).status === 200;
        case 'loadtester': return (await httpGet(`http://127.0.0.1:${LOADTESTER_PORT}/healthz`)).status === 200;
        case 'flagger': return flaggerLines(this.stack, since, Infinity, null).some((l) => /Started operator workers/.test(l.msg));
        case 'kube-apiserver': return !(await this.observer.read()).error;
        default: return isAlive(component);
      }
    };
    while (!await probe().catch(() => false)) {
      if (!isAlive(component)) throw new Error(`${component} exited after its restart`);
      if (Date.now() > deadline) throw new Error(`${component} not ready 180 s after its restart`);
      await sleep(500);
    }
  }

  /** Every component of the stack runs, the canary rests in a final phase: the next scenario starts clean. */
  async health(): Promise<string[]> {
    const problems = componentNames(this.stack).filter((n) => !isAlive(n)).map((n) => `${n} is not running`);
    const terminal = await this.observer.until((s) => ['Succeeded', 'Failed', 'Initialized'].includes(s.phase ?? ''),
      Date.now(), () => false, 60_000);
    if (!terminal) problems.push(`the canary is not at rest: ${this.observer.latest()?.phase ?? 'unreadable'}`);
    return problems;
  }

  /** The first revision: Initialized, no analysis. */
  async initialize(): Promise<ScenarioRun> {
    const timeline = new Timeline();
    const since = this.apply({ version: '1.0' }, {}, timeline);
    const r = await this.watch('initialized', since, 300, timeline, 'watch');
    const ok = r.code === 0 && r.verdict?.outcome === 'initialized';
    const seconds = secondsSince(timeline.startedAt);
    const observed = r.verdict?.outcome ?? r.error ?? `exit ${r.code}`;
    return {
      scenario: 'initialize-1.0', pass: 0, ok, seconds, timeline, notes: [],
      failures: ok ? [] : [`the first revision: watcher exit ${r.code} (${observed}), expected initialized`],
      rows: [{ scenario: 'initialize-1.0', pass: 0, release: '1.0', expected: 'initialized', observed, reason: '-', seconds, falsePromotions: 0, ok }],
    };
  }

  async run(scenario: ChaosScenario, pass: number): Promise<ScenarioRun> {
    const timeline = new Timeline();
    const t0 = timeline.startedAt;
    const failures: string[] = [];
    const notes: string[] = [];
    const marks: { at: number; text: string }[] = [];
    const tail = new LogTail(dataplaneLogPath(this.stack));
    const drain = setInterval(() => tail.drainDataplane(timeline), 1000);
    timeline.add('chaos', `scenario "${scenario.name}": ${scenario.proves}`);

    const before = this.observer.latest();
    const first = this.release(scenario.major, scenario.env);
    const holdMs = 'intervals' in scenario.fault ? scenario.fault.intervals * this.intervalMs : 0;
    const timeoutS = this.watchTimeoutS(holdMs);
    const rows: Row[] = [];
    const row = (release: string, expected: Expected): Row => {
      const r: Row = { scenario: scenario.name, pass, release, expected, observed: '-', reason: '-', seconds: 0, falsePromotions: 0, ok: false };
      rows.push(r);
      return r;
    };
    const watches: { row: Row; expected: Expected; reason?: RegExp; appliedAt: number; watch: Promise<WatchResult> }[] = [];

    const firstApplied = Date.now();
    const since = this.apply(first, scenario, timeline);
    watches.push({ row: row(first.version, scenario.expect), expected: scenario.expect, reason: scenario.reason, appliedAt: firstApplied,
      watch: this.watch(expectFlag(scenario.expect), since, timeoutS, timeline, 'watch') });
    let watchDone = false;
    void watches[0].watch.then(() => { watchDone = true; });

    // The trigger: Flagger analyses the new revision (a new lastAppliedSpec), at the weight asked for.
    const fired = await this.observer.until(triggerTest(scenario.trigger, before?.lastAppliedSpec), firstApplied, () => watchDone,
      timeoutS * 1000);
    let outage: Outage | undefined;
    let faultEnd: number | undefined;
    let restartedAt: number | undefined;
    let snapshot = this.observer.latest();
    if (!fired) {
      failures.push(`the trigger (${JSON.stringify(scenario.trigger)}) never came: the fault was not injected`);
    } else {
      timeline.add('chaos', `trigger: phase ${fired.phase}, weight ${fired.canaryWeight}, failed checks ${fired.failedChecks}`);
      marks.push({ at: Date.now(), text: `${faultName(scenario)}` });
      try {
        const fault = scenario.fault;
        switch (fault.kind) {
          case 'stop':
          case 'kill': {
            outage = fault.kind === 'stop' ? Outage.stop(this.stack, fault.component) : Outage.kill(this.stack, fault.component);
            // With Flagger dead the status is frozen: this is what must survive the restart.
            if (fault.kind === 'kill' && fault.component === 'flagger') snapshot = await this.observer.read();
            timeline.add('chaos', `${fault.component} ${fault.kind === 'stop' ? 'stopped (SIGTERM)' : 'killed (SIGKILL)'} for ${holdMs / 1000}s`);
            await sleep(holdMs / 2);
            if (fault.component === 'loadtester') {
              notes.push(`mid-outage the canary answers ${await canaryRps()} requests/s (the load generator's share at weight ${fired.canaryWeight}; no hey)`);
            }
            await sleep(holdMs / 2);
            restartedAt = Date.now();
            outage.restart();
            timeline.add('chaos', `${fault.component} started again with its command line`);
            await this.ready(fault.component, restartedAt);
            faultEnd = Date.now();
            timeline.add('chaos', `${fault.component} ready after ${secondsSince(restartedAt)}s`);
            marks.push({ at: restartedAt, text: `${fault.component} back` });
            break;
          }
          case 'lose-pods': {
            const pods = await this.observer.podsOf(CANARY);
            await this.observer.scaleTarget(fault.replicas);
            timeline.add('chaos', `canary scaled ${pods.length} -> ${fault.replicas} pods (had ${pods.join(', ')}) for ${holdMs / 1000}s`);
            await sleep(holdMs / 2);
            const left = await this.observer.podsOf(CANARY);
            const serving = await canaryPodsServing();
            notes.push(`mid-outage: ${left.length} canary pod(s) in the API, ${serving} answering traffic in the proxy metrics (last 10 s)`);
            if (left.length !== fault.replicas) failures.push(`the canary kept ${left.length} pods, expected ${fault.replicas}`);
            await sleep(holdMs / 2);
            restartedAt = Date.now();
            // Once Flagger has scaled the canary to zero (analysis over), scaling it back would leave pods behind.
            const phase = (await this.observer.read()).phase;
            if (phase === 'Progressing' || phase === 'Promoting') {
              await this.observer.scaleTarget(scenario.replicas ?? 1);
              timeline.add('chaos', `canary scaled back to ${scenario.replicas ?? 1} pods`);
            } else {
              notes.push(`the analysis left ${phase} before the pods came back: not scaled back`);
            }
            faultEnd = Date.now();
            marks.push({ at: restartedAt, text: 'pods back' });
            break;
          }
          case 'new-revision': {
            const second = this.release(fault.major);
            const appliedAt = Date.now();
            const since2 = this.apply(second, {}, timeline);
            watches.push({ row: row(second.version, fault.expect), expected: fault.expect, reason: fault.reason, appliedAt,
              watch: this.watch(expectFlag(fault.expect), since2, timeoutS, timeline, 'watch2') });
            faultEnd = appliedAt;
            break;
          }
          case 'none':
            break;
        }
      } catch (err) {
        failures.push(`fault: ${(err as Error).message}`);
        if (outage && !isAlive(outage.name)) {
          try {
            outage.restart();
          } catch (again) {
            failures.push(`fault repair: ${(again as Error).message}`);
          }
        }
      }
    }

    const results = await Promise.all(watches.map((w) => w.watch));
    clearInterval(drain);
    await sleep(1500);
    tail.drainDataplane(timeline);
    const end = Date.now();
    const lines = flaggerLines(this.stack, firstApplied, end);
    for (const l of lines) timeline.add('flagger', l.msg, l.at);
    notes.push(`flagger: ${story(lines, marks)}`);

    // Releases that must never become the primary in this scenario.
    const forbidden = new Set(watches.filter((w) => w.expected !== 'succeeded').map((w) => w.row.release));
    const samples = this.observer.between(t0 - 1000);
    const final = await this.observer.read();

    for (const [i, w] of watches.entries()) {
      const r = results[i];
      const next = watches[i + 1]?.appliedAt ?? Infinity;
      w.row.seconds = secondsSince(w.appliedAt, r.endedAt);
      w.row.observed = r.verdict ? r.verdict.outcome : r.error ? `error: ${r.error}` : `exit ${r.code}`;
      const expectedCode = exitFor(w.expected);
      const verdictOk = r.code === expectedCode && r.verdict?.outcome === w.expected;
      if (!verdictOk) failures.push(`release ${w.row.release}: watcher exit ${r.code} (${w.row.observed}), expected ${w.expected} (exit ${expectedCode})`);
      // Flagger's lines of this release's rollout: from its apply to the next apply or the end.
      const own = lines.filter((l) => l.at >= w.appliedAt && l.at < next);
      let reasonOk = true;
      if (w.expected === 'failed') {
        const rollback = rollbackOf(own);
        w.row.reason = rollback?.reason ? `${rollback.reason}${rollback.count > 1 ? ` (x${rollback.count})` : ''}` : 'no rollback logged';
        reasonOk = !!rollback?.message && (!w.reason || w.reason.test(rollback.message));
        if (!reasonOk) failures.push(`release ${w.row.release}: rolled back for "${rollback?.message ?? 'nothing logged'}", expected a halt matching ${w.reason}`);
      } else if (w.expected === 'superseded') {
        const restart = lines.find((l) => l.at >= w.appliedAt && /^New revision detected! Restarting analysis/.test(l.msg));
        w.row.reason = restart ? shortMessage(restart.msg) : 'no restart logged';
        reasonOk = !!restart;
        if (!restart) failures.push(`release ${w.row.release}: Flagger logged no "New revision detected! Restarting analysis"`);
      } else if (r.verdict) {
        w.row.reason = `- (failed checks ${r.verdict.failedChecks}/${r.verdict.threshold})`;
      }
      w.row.falsePromotions = promotionsOf([...samples, final], w.row.release, forbidden);
      if (w.row.falsePromotions > 0) failures.push(`release ${w.row.release} reached the primary ${w.row.falsePromotions} time(s)`);
      w.row.ok = verdictOk && reasonOk && w.row.falsePromotions === 0;
    }

    // The primary: the last promoted release, still serving through the emulated mesh.
    const promotedNow = watches.filter((w, i) => w.expected === 'succeeded' && results[i].verdict?.outcome === 'succeeded').pop();
    const expectPrimary = promotedNow ? promotedNow.row.release : this.promoted;
    if (final.error) failures.push(`the Canary could not be read at the end: ${final.error}`);
    else if (tagOf(final.primaryImage) !== expectPrimary) failures.push(`the primary runs ${final.primaryImage}, expected release ${expectPrimary}`);
    else this.promoted = expectPrimary;
    const answer = await primaryAnswer();
    timeline.add('chaos', `primary (${final.primaryImage}) answers ${answer}`);
    if (!answer.startsWith(`200 Hello v${expectPrimary.split('.')[0]}`)) failures.push(`the primary answers ${answer}, expected 200 Hello v${expectPrimary.split('.')[0]}`);

    if (fired && scenario.fault.kind !== 'new-revision') {
      failures.push(...oneRollout(lines));
      failures.push(...statusKept(samples.filter((s) => s.at >= fired.at), fired.lastAppliedSpec));
    }
    if (scenario.fault.kind === 'kill' && snapshot && restartedAt) {
      const after = samples.find((s) => s.at > (faultEnd ?? restartedAt) && !s.error);
      failures.push(...nothingLost(snapshot, after));
    }
    if (scenario.fault.kind === 'new-revision' && faultEnd) {
      const reset = samples.find((s) => s.at > faultEnd! && !s.error && s.phase === 'Progressing' && s.canaryWeight === 0
        && s.lastAppliedSpec !== fired?.lastAppliedSpec);
      if (!reset) failures.push('after the new revision the status never showed Progressing at weight 0 with a new lastAppliedSpec');
      else notes.push(`analysis restarted: weight ${fired?.canaryWeight} -> 0, lastAppliedSpec ${fired?.lastAppliedSpec} -> ${reset.lastAppliedSpec}`);
    }
    if (restartedAt && (scenario.fault.kind === 'stop' || scenario.fault.kind === 'kill')) {
      const component = scenario.fault.component;
      const rollback = rollbackOf(lines);
      const r0 = results[0];
      if (rollback?.at && outage) {
        notes.push(`${component} down at +${secondsSince(t0, outage.at)}s, back at +${secondsSince(t0, restartedAt)}s; `
          + `Flagger rolled back at +${secondsSince(t0, rollback.at)}s (${rollback.at < restartedAt ? 'during' : 'after'} the outage), `
          + `${rollback.halts} halt(s) before`);
      }
      if (component === 'kube-apiserver' || component === 'flagger') {
        const moved = samples.some((s) => s.at > (faultEnd ?? restartedAt) && !s.error
          && (s.canaryWeight !== snapshot?.canaryWeight || s.phase !== snapshot?.phase || s.failedChecks !== snapshot?.failedChecks));
        if (!moved) failures.push(`Flagger did not move the Canary after the ${component} came back`);
        if (r0.verdict && Date.parse(r0.verdict.time) < restartedAt) failures.push(`the verdict came before the ${component} was back: the fault did not span the analysis`);
        if (component === 'kube-apiserver') notes.push(`watcher reconnects: ${r0.reconnects}; reads failed for ${gapSeconds(samples)}s`);
      }
    }
    const deadline = scenario.props?.progressDeadline?.toSeconds();
    if (deadline !== undefined) failures.push(...rolledBackAtDeadline(lines, deadline));
    const seconds = secondsSince(t0);
    return { scenario: scenario.name, pass, rows, ok: failures.length === 0 && rows.every((r) => r.ok), seconds, failures, notes, timeline };
  }
}

function faultName(s: ChaosScenario): string {
  const f = s.fault;
  switch (f.kind) {
    case 'stop': return `${f.component} stopped`;
    case 'kill': return `${f.component} killed`;
    case 'lose-pods': return `canary down to ${f.replicas} pod(s)`;
    case 'new-revision': return `release ${f.major}.x applied`;
    default: return 'no fault: the release itself';
  }
}

function triggerTest(trigger: Trigger, previousSpec: string | undefined): (s: Sample) => boolean {
  const analysing = (s: Sample) => s.phase === 'Progressing' && s.lastAppliedSpec !== previousSpec;
  if (trigger === 'progressing') return analysing;
  return (s) => analysing(s) && (s.canaryWeight ?? 0) >= trigger.weight;
}

/** A canary that never got ready: rolled back no sooner than the deadline, with no weight moved and no check run. */
function rolledBackAtDeadline(lines: readonly FlaggerLine[], deadlineS: number): string[] {
  const scaledUp = lines.find((l) => /^New revision detected! Scaling up/.test(l.msg));
  const failed = lines.find((l) => /^Canary failed!/.test(l.msg));
  if (!scaledUp || !failed) return ['no "New revision detected! Scaling up" then "Canary failed!" in Flagger\'s log'];
  const out: string[] = [];
  const waited = (failed.at - scaledUp.at) / 1000;
  // The deadline counts from the Deployment's Available condition, in whole seconds: a second of slack.
  if (waited < deadlineS - 1) out.push(`rolled back ${waited.toFixed(1)}s after the scale-up, before the ${deadlineS}s progress deadline`);
  const analysis = lines.filter((l) => /^Advance |^Halt |^Rolling back /.test(l.msg)).map((l) => l.msg);
  if (analysis.length) out.push(`the analysis ran for a canary that never got ready: ${analysis.join('; ')}`);
  return out;
}

/** Times the primary switched to a release that must not be promoted. */
function promotionsOf(samples: readonly Sample[], release: string, forbidden: ReadonlySet<string>): number {
  if (!forbidden.has(release)) return 0;
  let count = 0;
  let previous: string | undefined;
  for (const s of samples) {
    if (s.error) continue;
    const tag = tagOf(s.primaryImage);
    if (tag === release && previous !== release) count++;
    previous = tag;
  }
  return count;
}

/** One rollout per revision: Flagger started the analysis once, whatever the fault. */
function oneRollout(lines: readonly { msg: string }[]): string[] {
  const out: string[] = [];
  const scaleUps = lines.filter((l) => /^New revision detected! Scaling up/.test(l.msg)).length;
  const starts = lines.filter((l) => /^Starting canary analysis/.test(l.msg)).length;
  if (scaleUps > 1) out.push(`Flagger detected the revision ${scaleUps} times ("New revision detected! Scaling up"): a second rollout`);
  if (starts > 1) out.push(`Flagger started the analysis ${starts} times ("Starting canary analysis"): a second rollout`);
  return out;
}

/**
 * From the fault on: the same revision under analysis, and progress that never
 * goes back (weight and failed checks only grow while Progressing).
 */
function statusKept(samples: readonly Sample[], spec: string | undefined): string[] {
  const out: string[] = [];
  let weight = 0;
  let failed = 0;
  for (const s of samples) {
    if (s.error) continue;
    if (s.phase === 'Progressing' && s.lastAppliedSpec !== spec) {
      out.push(`lastAppliedSpec changed during the analysis: ${spec} -> ${s.lastAppliedSpec}`);
      break;
    }
    if (s.phase !== 'Progressing') continue;
    if ((s.canaryWeight ?? 0) < weight) out.push(`canary weight went back from ${weight} to ${s.canaryWeight}`);
    if ((s.failedChecks ?? 0) < failed) out.push(`failed checks went back from ${failed} to ${s.failedChecks}`);
    weight = Math.max(weight, s.canaryWeight ?? 0);
    failed = Math.max(failed, s.failedChecks ?? 0);
  }
  return [...new Set(out)];
}

/** The status before the kill against the first one after the restart: every field still there, none reset. */
function nothingLost(before: Sample, after: Sample | undefined): string[] {
  if (!after?.status || !before.status) return ['no status read after the restart'];
  const out: string[] = [];
  for (const key of Object.keys(before.status)) {
    if (!(key in after.status)) out.push(`status.${key} lost across the restart`);
  }
  for (const key of ['lastAppliedSpec', 'lastPromotedSpec'] as const) {
    if (before[key] !== after[key]) out.push(`status.${key} changed across the restart: ${before[key]} -> ${after[key]}`);
  }
  if (after.phase === 'Progressing') {
    for (const key of ['canaryWeight', 'failedChecks'] as const) {
      if ((after[key] ?? 0) < (before[key] ?? 0)) out.push(`status.${key} reset across the restart: ${before[key]} -> ${after[key]}`);
    }
  }
  return out;
}

function gapSeconds(samples: readonly Sample[]): number {
  const failed = samples.filter((s) => s.error);
  return failed.length ? secondsSince(failed[0].at, failed[failed.length - 1].at) : 0;
}

async function primaryAnswer(): Promise<string> {
  try {
    const addr = await serviceAddress(`${CANARY}-primary`, NAMESPACE);
    if (!addr) return 'nothing: no address';
    const r = await httpGet(`http://${addr}:3000/`);
    return `${r.status} ${r.body.trim()}`;
  } catch (err) {
    return `nothing: ${(err as Error).message}`;
  }
}

/** Requests per second the canary's pods answered, over the last 10 s (the proxy metrics). */
async function canaryRps(): Promise<string> {
  const v = await promValue(`sum(rate(response_total{namespace="${NAMESPACE}",deployment="${CANARY}",direction="inbound"}[10s]))`);
  return Number.isFinite(Number(v)) ? Number(v).toFixed(1) : v;
}

async function promValue(query: string): Promise<string> {
  try {
    const r = await httpGet(`${PROMETHEUS}/api/v1/query?query=${encodeURIComponent(query)}`);
    const result = (JSON.parse(r.body) as { data: { result: { value: [number, string] }[] } }).data.result;
    return result[0]?.value[1] ?? '0';
  } catch (err) {
    return `unknown (${(err as Error).message})`;
  }
}

/** Canary pods whose proxy metrics counted responses in the last 10 s. */
async function canaryPodsServing(): Promise<string> {
  return promValue(`count(sum by (pod) (rate(response_total{namespace="${NAMESPACE}",deployment="${CANARY}",direction="inbound"}[10s])) > 0)`);
}
