/**
 * The rehearsal's variant of the demo: the same charts (charts/), with short
 * analysis intervals and per-scenario settings given as props. Nothing here
 * edits YAML; `synthDemo` returns the objects `cdk8s synth` would write.
 */
import { App, Duration } from 'cdk8s';
import { EnvValue } from 'cdk8s-plus-28';
import { CanaryDemo, CanaryDemoProps } from '../../charts';

/** A release of the API: the image tag, plus env for a simulated bug. */
export interface Release {
  readonly version: string;
  readonly env?: Readonly<Record<string, string>>;
}

/** Analysis settings a scenario runs with. */
export type AnalysisVariant =
  /** The demo's checks: success rate, 4xx percentage, p99 latency. */
  | 'demo'
  /** Only Linkerd's success rate (5xx): the trap that promotes a 404 release. */
  | 'success-rate-only'
  /** Fixed weights instead of stepWeight/maxWeight. */
  | 'step-weights'
  /** A confirm-promotion gate on the load tester. */
  | 'promotion-gate';

export const REHEARSAL_STEP_WEIGHTS = [5, 15, 35];

/**
 * Short-interval settings: Flagger checks every 10 s, rolls back after 2 failed
 * checks, and queries 30 s windows of metrics scraped every 2 s.
 */
export function rehearsalProps(variant: AnalysisVariant, version: string): CanaryDemoProps {
  return {
    version,
    // The test API serves health endpoints; the seed images did not.
    livenessPath: '/healthz',
    readinessPath: '/readyz',
    interval: Duration.seconds(10),
    threshold: 2,
    stepWeight: 10,
    maxWeight: 50,
    metricInterval: Duration.seconds(30),
    loadTest: { duration: Duration.minutes(1) },
    ...(variant === 'success-rate-only' ? { clientErrorCheck: false, latencyCheck: false } : {}),
    ...(variant === 'step-weights' ? { stepWeights: REHEARSAL_STEP_WEIGHTS } : {}),
    ...(variant === 'promotion-gate' ? { promotionGate: true } : {}),
  };
}

/* eslint-disable @typescript-eslint/no-explicit-any -- manifests are plain JSON */
export function synthDemo(release: Release, variant: AnalysisVariant): any[] {
  const app = new App();
  const demo = new CanaryDemo(app, rehearsalProps(variant, release.version));
  // The chart has no env prop (a release is its image tag); a simulated bug is
  // set on the workload construct, which changes the pod template like a release.
  const container = demo.appChart.api.resource.containers[0];
  for (const [name, value] of Object.entries(release.env ?? {})) {
    container.env.addVariable(name, EnvValue.fromValue(value));
  }
  return app.charts.flatMap((chart) => chart.toJson());
}
/* eslint-enable @typescript-eslint/no-explicit-any */
