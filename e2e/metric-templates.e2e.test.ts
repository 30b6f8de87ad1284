/**
 * The package's Linkerd MetricTemplates evaluated by the real PromQL engine (Debian's promtool,
 * `promtool test rules`) over synthetic Linkerd proxy series: what Flagger would read for a
 * healthy release, the demo's 3.0 (404 only), a 5xx release, a mixed one and an idle one.
 * Needs no cluster; e2e/run.sh installs prometheus (and with it promtool).
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Chart, Testing } from 'cdk8s';
import { LinkerdMetricTemplates } from '../lib';

const LABELS = 'namespace="testapi",deployment="api",direction="inbound",pod="api-7d9c-x1"';

const app = Testing.app();
const chart = new Chart(app, 'templates', { namespace: 'testapi' });
const templates = new LinkerdMetricTemplates(chart, 'Templates');

/** The query as Flagger renders it for target `api` in `testapi` with a 1m window. */
function rendered(template: { name: string }): string {
  const obj = Testing.synth(chart).find((o) => o.metadata.name === template.name);
  return (obj.spec.query as string)
    .replace(/\{\{ namespace \}\}/g, 'testapi')
    .replace(/\{\{ target \}\}/g, 'api')
    .replace(/\{\{ interval \}\}/g, '1m');
}

interface Series { labels: string; values: string }
interface Expectation { expr: string; value?: number | 'NaN' }

/** Runs one promtool unit test: series sampled every 15s, expressions evaluated at 5m. */
function promtool(series: Series[], expectations: Expectation[]): { code: number; out: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'promtool-'));
  const file = path.join(dir, 'test.yaml');
  // JSON is YAML: promtool reads it as its test file.
  fs.writeFileSync(file, JSON.stringify({
    rule_files: [],
    evaluation_interval: '15s',
    tests: [{
      interval: '15s',
      input_series: series.map((s) => ({ series: `response_total{${s.labels}}`, values: s.values })),
      promql_expr_test: expectations.map((e) => ({
        expr: e.expr,
        eval_time: '5m',
        exp_samples: e.value === undefined ? [] : [{ labels: '{}', value: e.value }],
      })),
    }],
  }));
  const run = spawnSync('promtool', ['test', 'rules', file], { encoding: 'utf8' });
  fs.rmSync(dir, { recursive: true, force: true });
  return { code: run.status ?? -1, out: `${run.stdout}${run.stderr}` };
}

/** 10 responses every 15 s with the given status (a counter rising 0, 10, 20, ...). */
const steady = (status: string, classification = 'success'): Series =>
  ({ labels: `${LABELS},classification="${classification}",status_code="${status}"`, values: '0+10x40' });

const successRate = rendered(templates.successRateTemplate);
const clientErrors = rendered(templates.clientErrorTemplate);

describe('Linkerd metric templates under the real PromQL engine', () => {
  test('promtool is installed', () => {
    expect(spawnSync('promtool', ['--version'], { encoding: 'utf8' }).status).toBe(0);
  });

  test('a healthy release: 100% success, 0% 4xx', () => {
    const r = promtool([steady('200')], [{ expr: successRate, value: 100 }, { expr: clientErrors, value: 0 }]);
    expect(r.out).toContain('SUCCESS');
    expect(r.code).toBe(0);
  });

  test('the demo\'s 3.0 (404 only): Linkerd\'s success rate says 100%, the 4xx check says 100%', () => {
    const r = promtool([steady('404')], [{ expr: successRate, value: 100 }, { expr: clientErrors, value: 100 }]);
    expect(r.out).toContain('SUCCESS');
    expect(r.code).toBe(0);
  });

  test('a 5xx release: 0% success (a figure, not "no values"), 0% 4xx', () => {
    const r = promtool([steady('500', 'failure')], [{ expr: successRate, value: 0 }, { expr: clientErrors, value: 0 }]);
    expect(r.out).toContain('SUCCESS');
    expect(r.code).toBe(0);
  });

  test('a mixed release: 3 in 10 answers 404 reads 30% 4xx', () => {
    const r = promtool([
      { labels: `${LABELS},classification="success",status_code="200"`, values: '0+7x40' },
      { labels: `${LABELS},classification="success",status_code="404"`, values: '0+3x40' },
    ], [{ expr: clientErrors, value: 30 }, { expr: successRate, value: 100 }]);
    expect(r.out).toContain('SUCCESS');
    expect(r.code).toBe(0);
  });

  test('no traffic at all gives no value, which Flagger counts as a failed check', () => {
    const r = promtool([{ labels: `namespace="other",deployment="x",direction="inbound",classification="success",status_code="200"`, values: '0+10x40' }],
      [{ expr: successRate }, { expr: clientErrors }]);
    expect(r.out).toContain('SUCCESS');
    expect(r.code).toBe(0);
  });

  test('the harness can fail: a wrong expectation is reported by promtool', () => {
    const r = promtool([steady('404')], [{ expr: clientErrors, value: 0 }]);
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/FAILED/);
  });
});
