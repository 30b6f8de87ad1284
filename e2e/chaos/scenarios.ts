/**
 * The fault scenarios of `npm run chaos`, as data: which release is applied,
 * what verdict the watcher must give, which fault is injected when, and which
 * halting check Flagger must name for a rollback. `runner.ts` plays them on the
 * real stack; this file imports nothing that talks to it, so the jest wrapper
 * can list the scenarios.
 */
import { Duration } from 'cdk8s';
import type { CanaryDemoProps } from '../../charts';
import { DEFAULT_SETTINGS, RehearsalSettings } from '../rehearse/app';

/**
 * The chaos run's analysis settings, given to the demo chart as props: a check
 * every 10 s (Flagger's floor: it runs a shorter interval every 10 s,
 * `GetAnalysisInterval`), rollback at 2 failed checks, weights 30 and 60, 30 s
 * metric windows.
 */
export const CHAOS_SETTINGS: RehearsalSettings = {
  ...DEFAULT_SETTINGS,
  stepWeight: 30,
  maxWeight: 60,
};

/** Releases: 2.x answers 200 (healthy), 3.x answers 404 (the demo's bad release). */
export type Major = 2 | 3;
export type Expected = 'succeeded' | 'failed' | 'superseded';

/** Components of the stack a fault acts on (names in e2e/cluster: component.sh). */
export type Component = 'prometheus' | 'flagger' | 'kube-apiserver' | 'loadtester';

/** When the fault is injected. */
export type Trigger =
  /** The canary took its first weight step (before any metric check of this rollout). */
  | { readonly weight: number }
  /** Flagger picked the new revision up (phase Progressing, new lastAppliedSpec). */
  | 'progressing';

export type Fault =
  /** Stop a component (SIGTERM) for a number of analysis intervals, then start it again with the same command line. */
  | { readonly kind: 'stop'; readonly component: Component; readonly intervals: number }
  /** SIGKILL a component's process group, keep it down for a number of intervals, start it again. */
  | { readonly kind: 'kill'; readonly component: Component; readonly intervals: number }
  /** Scale the canary Deployment down to `replicas` (its pods' processes and metrics go), and back after the intervals. */
  | { readonly kind: 'lose-pods'; readonly replicas: number; readonly intervals: number }
  /** Apply a newer release mid-analysis; a second watcher follows it. */
  | { readonly kind: 'new-revision'; readonly major: Major; readonly expect: Expected; readonly reason?: RegExp }
  /** No fault injected: the release itself is the fault. */
  | { readonly kind: 'none' };

export interface ChaosScenario {
  readonly name: string;
  /** What the scenario proves, printed with its result. */
  readonly proves: string;
  readonly major: Major;
  /** Env of the release's container (a simulated bug). */
  readonly env?: Readonly<Record<string, string>>;
  /** Replicas of the target Deployment in this release. @default 1 */
  readonly replicas?: number;
  /** Chart props of this release over the rehearsal's (e.g. `progressDeadline`, `readinessPath`). */
  readonly props?: Partial<CanaryDemoProps>;
  readonly expect: Expected;
  /** For a rollback: the halting check or cause Flagger must name (in the messages it logs and records as Events). */
  readonly reason?: RegExp;
  readonly trigger: Trigger;
  readonly fault: Fault;
  /** Left out of a run, with why (work it depends on has not landed). */
  readonly pending?: string;
}

/** The first weight step of CHAOS_SETTINGS: the canary took traffic, no metric check ran yet. */
const FIRST_STEP = { weight: CHAOS_SETTINGS.stepWeight };
const FOUR_XX = /advancement 4xx-percentage [\d.]+ > 1\b/;
const QUERY_FAILED = /^Metric query failed for /;

export const SCENARIOS: readonly ChaosScenario[] = [
  {
    name: 'prometheus-down-3.0',
    proves: 'with Prometheus stopped mid-analysis (then started again) the 404 release is never promoted',
    major: 3, expect: 'failed', reason: new RegExp(`${FOUR_XX.source}|${QUERY_FAILED.source}`),
    trigger: FIRST_STEP, fault: { kind: 'stop', component: 'prometheus', intervals: 3 },
  },
  {
    name: 'prometheus-down-2.0',
    proves: 'blind (Prometheus stopped for 3 intervals), Flagger counts each failed query as a failed check and rolls the healthy release back; it does not wait',
    major: 2, expect: 'failed', reason: QUERY_FAILED,
    trigger: FIRST_STEP, fault: { kind: 'stop', component: 'prometheus', intervals: 3 },
  },
  {
    name: 'flagger-killed-2.0',
    proves: 'Flagger SIGKILLed mid-analysis and restarted: 2.0 still promoted, the same rollout continues (no new one), the status kept',
    major: 2, expect: 'succeeded',
    trigger: FIRST_STEP, fault: { kind: 'kill', component: 'flagger', intervals: 2 },
  },
  {
    name: 'flagger-killed-3.0',
    proves: 'Flagger SIGKILLed mid-analysis and restarted: 3.0 still rolled back by the 4xx check, no new rollout, the status kept',
    major: 3, expect: 'failed', reason: FOUR_XX,
    trigger: FIRST_STEP, fault: { kind: 'kill', component: 'flagger', intervals: 2 },
  },
  {
    name: 'apiserver-restart-2.0',
    proves: 'the API server stopped and started again mid-analysis (kine keeps the storage): Flagger and the watcher recover, 2.0 promoted',
    major: 2, expect: 'succeeded',
    trigger: FIRST_STEP, fault: { kind: 'stop', component: 'kube-apiserver', intervals: 2 },
  },
  {
    name: 'loadtester-down-2.0',
    proves: "the load tester stopped while its rollout webhook is due: each failed call counts against the threshold and rolls back even a healthy release",
    major: 2, expect: 'failed', reason: /advancement external check load-test failed/,
    trigger: FIRST_STEP, fault: { kind: 'stop', component: 'loadtester', intervals: 3 },
  },
  {
    name: 'new-revision-mid-analysis',
    proves: 'a new revision (3.0) applied while 2.0 is analysed: Flagger restarts the analysis from weight 0, the 2.0 watcher ends superseded (exit 4), the 3.0 one sees it rolled back',
    major: 2, expect: 'superseded',
    trigger: FIRST_STEP,
    fault: { kind: 'new-revision', major: 3, expect: 'failed', reason: FOUR_XX },
  },
  {
    name: 'scrape-target-lost-2.0',
    proves: 'one of two canary pods gone for 2 intervals (its process and its proxy metrics with it): 2.0 still promoted on the remaining pod',
    major: 2, replicas: 2, expect: 'succeeded',
    trigger: FIRST_STEP, fault: { kind: 'lose-pods', replicas: 1, intervals: 2 },
  },
  {
    name: 'never-ready-2.0',
    proves: 'a canary whose pods never become ready (its readiness probe path answers 404) is rolled back at the progress deadline (30 s), before any traffic or check',
    major: 2, props: { readinessPath: '/not-served', progressDeadline: Duration.seconds(30) }, expect: 'failed',
    reason: /progress deadline|not ready/,
    trigger: 'progressing', fault: { kind: 'none' },
  },
];
