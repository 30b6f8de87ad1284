/**
 * The demo's objects, built exactly as examples/python/app.py builds them (same ids, same
 * props), so the two syntheses can be compared object for object.
 */
import { App, Chart } from 'cdk8s';
import { Canary, CanaryTarget, LinkerdMetricTemplates, LoadGenerator, LoadTester, MeshNamespace, PodSecurityLevel } from 'cdk8s-canary';

export function synthDemoObjects(outdir: string): void {
  const app = new App({ outdir });

  const namespaceChart = new Chart(app, 'testapi-namespace');
  new MeshNamespace(namespaceChart, 'Namespace', { name: 'testapi', podSecurity: PodSecurityLevel.RESTRICTED });

  const chart = new Chart(app, 'testapi', { namespace: 'testapi' });
  chart.addDependency(namespaceChart);
  const api = new CanaryTarget(chart, 'Api', { name: 'api', image: 'cyrilbkr/testapp', version: '2.0', port: 3000 });
  const templates = new LinkerdMetricTemplates(chart, 'MetricTemplates');
  const tester = new LoadTester(chart, 'LoadTester');
  const canary = new Canary(chart, 'Canary', {
    target: api,
    metrics: [templates.successRate({ min: 99 }), templates.clientErrors({ max: 1 }), templates.latencyP99({ maxMs: 500 })],
  });
  tester.addLoadTest(canary, { qps: 10, concurrency: 2 });
  new LoadGenerator(chart, 'LoadGenerator', { canary, qps: 10 });

  app.synth();
}
