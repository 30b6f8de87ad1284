/**
 * Flagger's built-in checks, read by canary-watch, against the values the REAL Flagger
 * v1.44.0 computed for them. The demo's Canary gets provider linkerd (weights in an SMI
 * TrafficSplit) and two built-in checks beside its templates: Flagger runs its own Linkerd
 * queries for them (pkg/metrics/observers/linkerd.go) on its -metrics-server, and the
 * watcher runs the same queries through the API server's service proxy on
 * --metrics-server. 2.0 is held by the promotion gate while both are compared with
 * Flagger's flagger_canary_metric_analysis gauge, then promoted.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { Duration } from 'cdk8s';
import { CanaryProvider } from '../lib';
import { REPO, stackInfo, StackInfo } from './rehearse/stack';
import { Timeline } from './rehearse/timeline';
import {
  applyObjects, CANARY, flaggerAnalysisGauge, getJson, NAMESPACE, orderedSteps, sleep, synthFeatureDemo, until, useRehearsalParts, watchVerdict,
} from './features/support';

const stack: StackInfo = stackInfo();
const CLI = path.join(REPO, 'watch/build/cli.js');
/** The stack's Prometheus, as Flagger's -metrics-server names it (e2e/cluster/up.sh). */
const METRICS_SERVER = process.env.CLUSTER_METRICS_SERVER || 'http://prometheus.linkerd-viz:9090';

function demo(version: string): any[] {
  return synthFeatureDemo(version, { provider: CanaryProvider.LINKERD, gates: true }, (d) => {
    d.appChart.canary.addMetric({ name: 'request-success-rate', thresholdRange: { min: 99 } });
    d.appChart.canary.addMetric({ name: 'request-duration', thresholdRange: { max: 500 }, interval: Duration.seconds(30) });
  });
}

function cli(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args, '-n', NAMESPACE, '--kubeconfig', stack.kubeconfig, '--no-color'],
    { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const phase = (): string | undefined => getJson(stack, 'canary', CANARY)?.status?.phase;

useRehearsalParts(stack);

describe('built-in checks of a linkerd Canary: the watcher\'s values are Flagger\'s', () => {
  const step = orderedSteps();

  step('1.0 with two built-in checks initializes', async () => {
    const timeline = new Timeline();
    const since = applyObjects(stack, demo('1.0'));
    const spec = getJson(stack, 'canary', CANARY).spec;
    expect(spec.provider).toBe('linkerd');
    expect(spec.analysis.metrics.filter((m: { templateRef?: unknown }) => !m.templateRef).map((m: { name: string }) => m.name))
      .toEqual(['request-success-rate', 'request-duration']);
    const code = await watchVerdict(stack, 'initialized', since, 150, timeline);
    console.log(timeline.render());
    expect(code).toBe(0);
  }, 200_000);

  step('2.0 held at its gate: status reads both built-in checks as Flagger saw them; promote releases it', async () => {
    applyObjects(stack, demo('2.0'));
    await until('WaitingPromotion', 180_000, () => phase() === 'WaitingPromotion');
    // One more interval (10 s) of checks in WaitingPromotion, so that the gauge is recent.
    await sleep(10_000);
    const status = cli('status', CANARY, '-o', 'json', '--metrics-server', METRICS_SERVER);
    const gauge = await flaggerAnalysisGauge(stack);
    expect(status.stderr).toBe('');
    expect(status.code).toBe(2);
    const checks = Object.fromEntries(JSON.parse(status.stdout).checks.map((c: { name: string }) => [c.name, c]));
    console.log(`status: ${JSON.stringify(checks)}\nFlagger's gauge: ${JSON.stringify(gauge)}`);
    // Every request of the healthy 2.0 is a success, for both.
    expect(checks['request-success-rate']).toEqual({ name: 'request-success-rate', min: 99, value: 100, failing: false });
    expect(gauge['request-success-rate']).toBe(100);
    // Latency moves between the two reads: whole milliseconds (Flagger's gauge is in seconds), the same
    // order of magnitude, under the bound.
    const p99 = checks['request-duration'];
    expect(p99).toMatchObject({ name: 'request-duration', max: 500, failing: false });
    expect(Number.isInteger(p99.value)).toBe(true);
    expect(gauge['request-duration']).toBeGreaterThan(0);
    expect(Math.abs(p99.value - gauge['request-duration'] * 1000)).toBeLessThanOrEqual(Math.max(5, gauge['request-duration'] * 500));

    const promote = cli('promote', CANARY);
    expect(promote.stderr).toBe('');
    expect(promote.code).toBe(0);
    await until('Succeeded', 120_000, () => phase() === 'Succeeded');
  }, 360_000);
});
