/**
 * The rehearsal's variant of the demo: the same charts (charts/), with short
 * analysis intervals and per-scenario settings given as props. Nothing here
 * edits YAML; `synthDemo` returns the objects `cdk8s synth` would write.
 */
import { App, Duration } from 'cdk8s';
import { EnvValue } from 'cdk8s-plus-28';
import { CanaryDemo, CanaryDemoProps } from '../../charts';
import { CanaryProvider, StrategyKind } from '../../lib';
import { TESTAPI_IMAGE } from '../dataplane/images';

/** A release of the API: the image tag, plus env for a simulated bug. */
export interface Release {
  readonly version: string;
  readonly env?: Readonly<Record<string, string>>;
}

/** Analysis settings a scenario runs with. */
export type AnalysisVariant =
  /** The demo's checks: success rate, 4xx percentage, p99 latency. */
  | 'demo'
  /**
   * The control run: the demo's checks without the 4xx one (success rate and
   * latency kept), so the 4xx check alone stands between a 404 release and promotion.
   */
  | 'without-4xx-check'
  /** Fixed weights instead of stepWeight/maxWeight. */
  | 'step-weights'
  /** A confirm-promotion gate on the load tester. */
  | 'promotion-gate'
  /** Flagger's `linkerd` provider: weights in an SMI TrafficSplit instead of an HTTPRoute. */
  | 'linkerd-smi'
  /** Blue/green: `iterations` checks on the canary Service, then the switch. */
  | 'blue-green'
  /** A/B testing: requests with `x-canary: insider` or cookie `canary=always` go to the canary. */
  | 'ab-testing'
  /** A weighted canary with session affinity (cookie `flagger-cookie`). */
  | 'session-affinity'
  /** The demo plus the pre-rollout acceptance test (curl --fail on the canary). */
  | 'acceptance-test';

/** The cookie of the session-affinity variant. */
export const AFFINITY_COOKIE = 'flagger-cookie';

export const REHEARSAL_STEP_WEIGHTS = [5, 15, 35];

/** The analysis settings a user rehearses (`npm run rehearse -- --interval 15s ...`). */
export interface RehearsalSettings {
  readonly interval: Duration;
  readonly threshold: number;
  readonly stepWeight: number;
  readonly maxWeight: number;
  /** Replaces stepWeight/maxWeight when set. */
  readonly stepWeights?: number[];
  readonly metricInterval: Duration;
  /** Checks of a blue/green or A/B analysis. */
  readonly iterations: number;
  readonly successRateMin?: number;
  readonly clientErrorMax?: number;
  readonly latencyMaxMs?: number;
}

/**
 * Short-interval defaults: Flagger checks every 10 s, rolls back after 2 failed
 * checks, and queries 30 s windows of metrics scraped every 2 s.
 */
export const DEFAULT_SETTINGS: RehearsalSettings = {
  interval: Duration.seconds(10),
  threshold: 2,
  stepWeight: 10,
  maxWeight: 50,
  metricInterval: Duration.seconds(30),
  iterations: 4,
};

export function rehearsalProps(variant: AnalysisVariant, version: string, settings: RehearsalSettings = DEFAULT_SETTINGS): CanaryDemoProps {
  return {
    ...settings,
    version,
    // The project's test API image, which the emulator runs (e2e/dataplane/images.ts), and its
    // health endpoints; the seed's images (the chart's default) served none: the emulator refuses them.
    image: TESTAPI_IMAGE,
    livenessPath: '/healthz',
    readinessPath: '/readyz',
    loadTest: { duration: Duration.minutes(1) },
    ...(variant === 'without-4xx-check' ? { clientErrorCheck: false } : {}),
    ...(variant === 'step-weights' ? { stepWeights: REHEARSAL_STEP_WEIGHTS } : {}),
    ...(variant === 'promotion-gate' ? { promotionGate: true } : {}),
    ...(variant === 'linkerd-smi' ? { provider: CanaryProvider.LINKERD } : {}),
    ...(variant === 'blue-green' ? { strategy: StrategyKind.BLUE_GREEN } : {}),
    ...(variant === 'ab-testing' ? { strategy: StrategyKind.AB_TESTING } : {}),
    ...(variant === 'session-affinity' ? { sessionAffinity: { cookieName: AFFINITY_COOKIE } } : {}),
    ...(variant === 'acceptance-test' ? { acceptanceTest: true } : {}),
  };
}

/** Analysis steps of a successful rollout: the weights, or one per iteration. */
export function analysisSteps(props: CanaryDemoProps): number {
  const iterative = props.strategy === StrategyKind.BLUE_GREEN || props.strategy === StrategyKind.AB_TESTING;
  return iterative ? props.iterations ?? 10 : expectedWeights(props).length;
}

/** Canary weights a successful analysis steps through with these props. */
export function expectedWeights(props: CanaryDemoProps): number[] {
  if (props.stepWeights) return props.stepWeights;
  const step = props.stepWeight ?? 10;
  const max = props.maxWeight ?? 50;
  const weights: number[] = [];
  for (let w = step; w < max; w += step) weights.push(w);
  return [...weights, max];
}

export function synthDemo(release: Release, props: CanaryDemoProps): any[] {
  const app = new App();
  const demo = new CanaryDemo(app, { ...props, version: release.version });
  // The chart has no env prop (a release is its image tag); a simulated bug is
  // set on the workload construct, which changes the pod template like a release.
  const container = demo.appChart.api.resource.containers[0];
  for (const [name, value] of Object.entries(release.env ?? {})) {
    container.env.addVariable(name, EnvValue.fromValue(value));
  }
  return app.charts.flatMap((chart) => chart.toJson());
}
