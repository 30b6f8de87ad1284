/**
 * status, get, promote, abort, --version, the kubectl plugin name and the missing
 * kubeconfig, through the compiled CLI against the fake API server, which also
 * answers MetricTemplate reads and the service proxy (FakeApiServer.routes).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { apiStatus, FakeApiServer } from './fake-apiserver';
import { CLI, fakeServerPerTest, startCli } from './harness';
import { H1, H2, H3, NAME, SPEC } from './scenarios';

jest.setTimeout(20_000);

const LOADTESTER = 'http://flagger-loadtester.testapi/';
const PROXY = '/api/v1/namespaces/testapi/services/http:flagger-loadtester:80/proxy';
const PROMETHEUS = '/api/v1/namespaces/linkerd-viz/services/http:prometheus:9090/proxy/api/v1/query';
const TEMPLATES = '/apis/flagger.app/v1beta1/namespaces/testapi/metrictemplates';
const FORBIDDEN_USER = 'User "system:serviceaccount:testapi:canary-watch"';

const GATES = [
  { name: 'load-test', url: LOADTESTER, type: 'rollout' },
  { name: 'promotion-gate', type: 'confirm-promotion', url: `${LOADTESTER}gate/check` },
  { name: 'rollback-gate', type: 'rollback', url: `${LOADTESTER}rollback/check` },
];
const METRICS = [
  { name: 'success-rate', templateRef: { name: 'linkerd-success-rate', namespace: 'testapi' }, thresholdRange: { min: 99 }, interval: '30s' },
  { name: '4xx-percentage', templateRef: { name: 'linkerd-4xx-percentage' }, thresholdRange: { max: 1 }, interval: '30s' },
  { name: 'request-duration', thresholdRange: { max: 500 }, interval: '1m' },
];
const progressing = { phase: 'Progressing', canaryWeight: 20, failedChecks: 2, iterations: 0, lastAppliedSpec: H3, lastPromotedSpec: H2 };

const fake = fakeServerPerTest();
let server: FakeApiServer;
let kubeconfig: string;
beforeEach(() => {
  ({ server, kubeconfig } = fake);
});

const run = (args: string[], env: Record<string, string> = {}) => startCli([...args, '--kubeconfig', kubeconfig], env).result;

function template(name: string, query: string, address = 'http://prometheus.linkerd-viz:9090'): void {
  server.routes.set(`GET ${TEMPLATES}/${name}`, {
    body: JSON.stringify({ apiVersion: 'flagger.app/v1beta1', kind: 'MetricTemplate', metadata: { name, namespace: 'testapi' },
      spec: { provider: { type: 'prometheus', address }, query } }),
  });
}

/** Prometheus answers by query text; an unknown query gets an empty vector. */
function prometheus(values: Record<string, string>): void {
  server.routes.set(`GET ${PROMETHEUS}`, (_body, query) => {
    const value = values[query.get('query') ?? ''];
    return { body: JSON.stringify({ status: 'success', data: { resultType: 'vector', result: value === undefined ? [] : [{ metric: {}, value: [1, value] }] } }) };
  });
}

describe('promote and abort open the load tester gates through the service proxy', () => {
  test('promote POSTs /gate/open with the Canary\'s name and namespace', async () => {
    server.createCanary(NAME, { ...SPEC, analysis: { ...SPEC.analysis, webhooks: GATES } }, { ...progressing, phase: 'WaitingPromotion' });
    server.routes.set(`POST ${PROXY}/gate/open`, { status: 202, contentType: 'text/plain', body: 'Gate opened' });
    const r = await run(['promote', NAME, '-n', 'testapi']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe('promotion gate "promotion-gate" of canary testapi/api opened (phase WaitingPromotion): '
      + 'Flagger promotes the canary once its analysis passes');
    expect(server.other).toEqual([{ method: 'POST', path: `${PROXY}/gate/open`, query: '', body: '{"name":"api","namespace":"testapi"}' }]);
  });

  test('abort POSTs /rollback/open while the canary is Progressing', async () => {
    server.createCanary(NAME, { ...SPEC, analysis: { ...SPEC.analysis, webhooks: GATES } }, progressing);
    server.routes.set(`POST ${PROXY}/rollback/open`, { status: 202, body: 'Rollback opened' });
    const r = await run(['abort', NAME, '-n', 'testapi']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^rollback gate "rollback-gate" of canary testapi\/api opened \(phase Progressing\): Flagger rolls the canary back/);
    expect(server.other.map((o) => `${o.method} ${o.path}`)).toEqual([`POST ${PROXY}/rollback/open`]);
  });

  test('a Canary without the gate is refused before anything is sent', async () => {
    server.createCanary(NAME, { ...SPEC, analysis: { ...SPEC.analysis, webhooks: [GATES[0], GATES[1]] } }, progressing);
    const r = await run(['abort', NAME, '-n', 'testapi']);
    expect(r.code).toBe(3);
    expect(r.stderr).toBe('canary-watch: canary testapi/api has no rollback gate: no rollback webhook on a load tester\'s '
      + '/rollback/check (add one with the LoadTester construct\'s addGates)\n');
    expect(server.other).toEqual([]);
  });

  test('a gate webhook on another path is not a gate', async () => {
    server.createCanary(NAME, { ...SPEC, analysis: { ...SPEC.analysis, webhooks: [{ name: 'x', type: 'confirm-promotion', url: `${LOADTESTER}gate/approve` }] } }, progressing);
    const r = await run(['promote', NAME, '-n', 'testapi']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/has no promotion gate/);
  });

  test.each(['Succeeded', 'Failed', 'Initialized', 'Promoting', 'Finalising'])('a Canary in phase %s is not in analysis: refused', async (phase) => {
    server.createCanary(NAME, { ...SPEC, analysis: { ...SPEC.analysis, webhooks: GATES } }, { ...progressing, phase });
    const r = await run(['promote', NAME, '-n', 'testapi']);
    expect(r.code).toBe(3);
    expect(r.stderr).toBe(`canary-watch: canary testapi/api is not in analysis (phase ${phase}): an opened promotion gate would act on a later rollout; `
      + 'run promote while the phase is Progressing, Waiting, WaitingPromotion\n');
    expect(server.other).toEqual([]);
  });

  test('two gates need --gate, which picks one', async () => {
    const two = [...GATES, { name: 'second-gate', type: 'confirm-promotion', url: 'http://other-tester.testapi:8080/gate/check' }];
    server.createCanary(NAME, { ...SPEC, analysis: { ...SPEC.analysis, webhooks: two } }, { ...progressing, phase: 'WaitingPromotion' });
    const both = await run(['promote', NAME, '-n', 'testapi']);
    expect(both.code).toBe(3);
    expect(both.stderr).toMatch(/has 2 promotion gates \(promotion-gate, second-gate\): pick one with --gate/);
    server.routes.set('POST /api/v1/namespaces/testapi/services/http:other-tester:8080/proxy/gate/open', { status: 202, body: '' });
    const picked = await run(['promote', NAME, '-n', 'testapi', '--gate', 'second-gate']);
    expect(picked.code).toBe(0);
    const missing = await run(['promote', NAME, '-n', 'testapi', '--gate', 'nope']);
    expect(missing.stderr).toMatch(/has no promotion gate named "nope"/);
  });

  test('a 403 on the service proxy names the verb, the subresource and the account', async () => {
    server.createCanary(NAME, { ...SPEC, analysis: { ...SPEC.analysis, webhooks: GATES } }, progressing);
    server.routes.set(`POST ${PROXY}/rollback/open`, { status: 403, body: JSON.stringify(apiStatus(403, 'Forbidden',
      `services "http:flagger-loadtester:80" is forbidden: ${FORBIDDEN_USER} cannot create resource "services/proxy" in API group "" in the namespace "testapi"`, {})) });
    const r = await run(['abort', NAME, '-n', 'testapi']);
    expect(r.code).toBe(3);
    expect(r.stderr).toBe('canary-watch: forbidden: "system:serviceaccount:testapi:canary-watch" cannot create services/proxy '
      + '"flagger-loadtester" in namespace "testapi"\n');
  });

  test('the load tester unreachable (503 from the proxy) and a missing Canary', async () => {
    server.createCanary(NAME, { ...SPEC, analysis: { ...SPEC.analysis, webhooks: GATES } }, progressing);
    server.routes.set(`POST ${PROXY}/rollback/open`, { status: 503, body: JSON.stringify(apiStatus(503, 'ServiceUnavailable', 'no endpoints available for service "flagger-loadtester"', {})) });
    const down = await run(['abort', NAME, '-n', 'testapi']);
    expect(down.code).toBe(3);
    expect(down.stderr).toMatch(/the load tester did not open the rollback gate \(HTTP 503: no endpoints available for service "flagger-loadtester"\)/);
    const gone = await run(['abort', 'nope', '-n', 'testapi']);
    expect(gone.stderr).toBe('canary-watch: canary "nope" not found in namespace "testapi" (check the name and -n; list them with: kubectl get canaries.flagger.app -n testapi)\n');
  });
});

describe('status, get, promote and abort read the Canary with one GET: each failure is the same line, exit 3', () => {
  const CANARY = `/apis/flagger.app/v1beta1/namespaces/testapi/canaries/${NAME}`;
  const status = (code: number, reason: string, message: string) => ({ status: code, body: JSON.stringify(apiStatus(code, reason, message, {})) });
  test.each<[string, () => Promise<unknown> | unknown, string | RegExp]>([
    ['a missing Canary', () => server.deleteCanary(), `canary "${NAME}" not found in namespace "testapi" (check the name and -n; list them with: kubectl get canaries.flagger.app -n testapi)`],
    ['Flagger not installed', () => (server.crdMissing = true),
      /^http:\/\/127\.0\.0\.1:\d+ does not serve canaries\.flagger\.app\/v1beta1 in namespace "testapi" \(HTTP 404\): is Flagger installed \(its Canary CRD\) and the namespace right\?$/],
    ['no get on canaries', () => server.forbidden.add('get canaries'), 'forbidden: "system:serviceaccount:ci:deployer" cannot get canaries.flagger.app in namespace "testapi"'],
    ['expired credentials', () => server.answers.set('get canaries', status(401, 'Unauthorized', 'Unauthorized')),
      /^unauthorized: http:\/\/127\.0\.0\.1:\d+ rejected the credentials \(HTTP 401\); refresh them or pick another --context$/],
    ['an API server in trouble', () => server.answers.set('get canaries', status(500, 'InternalError', 'etcdserver: request timed out')), `cannot get canary testapi/${NAME}: etcdserver: request timed out`],
    ['a proxy\'s HTML page', () => server.answers.set('get canaries', { contentType: 'text/html', body: '<html>sign in</html>' }), `the API server's answer to GET ${CANARY} is not JSON (text/html)`],
    ['another kind', () => server.answers.set('get canaries', { body: JSON.stringify({ kind: 'Deployment', metadata: { name: NAME } }) }), `the API server's answer to GET ${CANARY} is not a Canary`],
    ['the API server down', () => server.stop(), /^cannot reach the API server at http:\/\/127\.0\.0\.1:\d+ \(connect ECONNREFUSED 127\.0\.0\.1:\d+\); check --kubeconfig\/--context$/],
  ])('%s', async (_what, fault, message) => {
    server.createCanary(NAME, { ...SPEC, analysis: { ...SPEC.analysis, webhooks: GATES } }, progressing);
    await fault();
    for (const command of ['status', 'get', 'promote', 'abort']) {
      const r = await run([command, NAME, '-n', 'testapi']);
      expect([command, r.code, r.stdout]).toEqual([command, 3, '']);
      const line = r.stderr.replace(/^canary-watch: /, '').replace(/\n$/, '');
      if (typeof message === 'string') expect(line).toBe(message);
      else expect(line).toMatch(message);
    }
    // Nothing was opened on the load tester.
    expect(server.other.filter((o) => o.method === 'POST')).toEqual([]);
  });
});

describe('status and get show each check\'s value', () => {
  const successQuery = 'sum(rate(response_total{namespace="{{ namespace }}",deployment=~"{{ target }}",classification!="failure"}[{{ interval }}]))';
  const clientQuery = '100 * sum(rate(response_total{namespace="{{ namespace }}",deployment=~"{{ target }}",status_code=~"4.."}[{{ interval }}]))';

  beforeEach(() => {
    template('linkerd-success-rate', successQuery);
    template('linkerd-4xx-percentage', clientQuery);
    prometheus({
      'sum(rate(response_total{namespace="testapi",deployment=~"api",classification!="failure"}[30s]))': '100',
      '100 * sum(rate(response_total{namespace="testapi",deployment=~"api",status_code=~"4.."}[30s]))': '12.5',
    });
  });

  test('status: values rendered with Flagger\'s variables, checks judged, exit 2 in analysis', async () => {
    server.createCanary(NAME, { ...SPEC, analysis: { ...SPEC.analysis, webhooks: GATES, metrics: METRICS } }, progressing);
    server.addEvent('Warning', 'Halt api.testapi advancement 4xx-percentage 12.50 > 1');
    const r = await run(['status', NAME, '-n', 'testapi']);
    expect(r.code).toBe(2);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe('canary testapi/api: Progressing (in-analysis)');
    expect(lines[1]).toBe(`  weight 20/50  failed checks 2/5  iterations 0  applied ${H3}  promoted ${H2}`);
    expect(lines).toContain('  ok   success-rate 100 (min 99)');
    expect(lines).toContain('  FAIL 4xx-percentage 12.5 (max 1)');
    expect(lines).toContain('  ?    request-duration ? (a built-in check of provider unset: Flagger picks its query from the provider and its own '
      + '-mesh-provider (Linkerd\'s when that names linkerd), which canary-watch cannot see; it runs them for provider linkerd only) (max 500)');
    expect(lines).toContain('  rollback-gate (rollback) http://flagger-loadtester.testapi/rollback/check');
    expect(r.stdout).toMatch(/Warning Halt api\.testapi advancement 4xx-percentage 12\.50 > 1/);
  });

  test('status -o json; exit 0 promoted, 1 rolled back', async () => {
    server.createCanary(NAME, { ...SPEC, analysis: { ...SPEC.analysis, metrics: METRICS.slice(0, 2) } },
      { phase: 'Failed', canaryWeight: 0, failedChecks: 5, lastAppliedSpec: H3, lastPromotedSpec: H2 });
    const failed = await run(['status', NAME, '-n', 'testapi', '-o', 'json']);
    expect(failed.code).toBe(1);
    const view = JSON.parse(failed.stdout) as Record<string, unknown>;
    expect(view).toMatchObject({ phase: 'Failed', state: 'rolled-back', exitCode: 1, failedChecks: 5, threshold: 5, maxWeight: 50 });
    expect(view.checks).toEqual([
      { name: 'success-rate', min: 99, value: 100, failing: false },
      { name: '4xx-percentage', max: 1, value: 12.5, failing: true },
    ]);
    server.setStatus({ phase: 'Succeeded', lastAppliedSpec: H2, lastPromotedSpec: H2 });
    expect((await run(['status', NAME, '-n', 'testapi'])).code).toBe(0);
    server.setStatus({ phase: 'Initialized', lastAppliedSpec: H1, lastPromotedSpec: H1 });
    expect((await run(['status', NAME, '-n', 'testapi'])).code).toBe(0);
  });

  test('no values, a Prometheus error, a missing template and no permission each say why', async () => {
    const metrics = [
      { name: 'empty', templateRef: { name: 'empty' }, thresholdRange: { max: 1 }, interval: '1m' },
      { name: 'broken', templateRef: { name: 'broken' }, thresholdRange: { max: 1 }, interval: '1m' },
      { name: 'gone', templateRef: { name: 'gone' }, thresholdRange: { max: 1 }, interval: '1m' },
      { name: 'secret', templateRef: { name: 'secret' }, thresholdRange: { max: 1 }, interval: '1m' },
      { name: 'denied', templateRef: { name: 'denied' }, thresholdRange: { max: 1 }, interval: '1m' },
      { name: 'vars', templateRef: { name: 'vars' }, thresholdRange: { max: 1 }, interval: '1m', templateVariables: { code: '404' } },
    ];
    template('empty', 'up{job="nothing"}');
    template('broken', 'bad(');
    template('vars', 'x{code="{{ variables.code }}",ns="{{- namespace -}}"}');
    server.routes.set(`GET ${TEMPLATES}/secret`, { body: JSON.stringify({ kind: 'MetricTemplate', spec: { provider: { type: 'prometheus', address: 'http://prometheus.linkerd-viz:9090', secretRef: { name: 'prom-auth' } }, query: 'up' } }) });
    server.routes.set(`GET ${TEMPLATES}/denied`, { status: 403, body: JSON.stringify(apiStatus(403, 'Forbidden', `metrictemplates.flagger.app "denied" is forbidden: ${FORBIDDEN_USER} cannot get resource`, {})) });
    server.routes.set(`GET ${PROMETHEUS}`, (_b, q) => (q.get('query') === 'bad('
      ? { status: 400, body: JSON.stringify({ status: 'error', errorType: 'bad_data', error: '1:5: parse error: unclosed left parenthesis' }) }
      : q.get('query') === 'x{code="404",ns="testapi"}'
        ? { body: JSON.stringify({ status: 'success', data: { resultType: 'vector', result: [{ value: [1, '0'] }] } }) }
        : { body: JSON.stringify({ status: 'success', data: { resultType: 'vector', result: [{ value: [1, 'NaN'] }] } }) }));
    server.createCanary(NAME, { ...SPEC, analysis: { ...SPEC.analysis, metrics } }, progressing);
    const r = await run(['status', NAME, '-n', 'testapi', '-o', 'json']);
    const checks = (JSON.parse(r.stdout) as { checks: unknown[] }).checks;
    expect(checks).toEqual([
      { name: 'empty', max: 1, error: 'no values' },
      { name: 'broken', max: 1, error: 'Prometheus: 1:5: parse error: unclosed left parenthesis' },
      { name: 'gone', max: 1, error: 'MetricTemplate testapi/gone not found' },
      { name: 'secret', max: 1, error: 'the provider needs Secret prom-auth\'s credentials, which canary-watch does not read' },
      { name: 'denied', max: 1, error: 'forbidden: "system:serviceaccount:testapi:canary-watch" cannot get metrictemplates.flagger.app in namespace "testapi"' },
      { name: 'vars', max: 1, value: 0, failing: false },
    ].map((c) => ('value' in c ? c : { ...c, failing: undefined })).map((c) => JSON.parse(JSON.stringify(c))));
  });

  test('built-in checks of provider linkerd: Flagger\'s own Linkerd queries on --metrics-server or spec.metricsServer', async () => {
    const builtins = [
      { name: 'request-success-rate', thresholdRange: { min: 99 } },
      { name: 'request-duration', thresholdRange: { max: 500 }, interval: '30s' },
    ];
    // v1.44.0 pkg/metrics/observers/linkerd.go, whitespace aside; a check without interval gets 1m.
    const successRate = 'sum(rate(response_total{namespace="testapi",deployment=~"api",classification!="failure",direction="inbound"}[1m]))'
      + ' / sum(rate(response_total{namespace="testapi",deployment=~"api",direction="inbound"}[1m])) * 100';
    const p99 = 'histogram_quantile(0.99, sum(rate(response_latency_ms_bucket{namespace="testapi",deployment=~"api",direction="inbound"}[30s])) by (le))';
    prometheus({ [successRate]: '98.5', [p99]: '17.9' });
    const spec = (extra: Record<string, unknown>) => ({ ...SPEC, ...extra, analysis: { ...SPEC.analysis, metrics: builtins } });
    const checks = async (...flags: string[]) => (JSON.parse((await run(['status', NAME, '-n', 'testapi', '-o', 'json', ...flags])).stdout) as { checks: unknown }).checks;

    server.createCanary(NAME, spec({ provider: 'linkerd' }), progressing);
    // Flagger compares whole milliseconds: 17.9 ms is 17.
    const read = [
      { name: 'request-success-rate', min: 99, value: 98.5, failing: true },
      { name: 'request-duration', max: 500, value: 17, failing: false },
    ];
    expect(await checks('--metrics-server', 'http://prometheus.linkerd-viz:9090')).toEqual(read);
    const unnamed = 'Flagger runs this check on its -metrics-server: name it with --metrics-server (Linkerd\'s Flagger: http://prometheus.linkerd-viz:9090)';
    expect(await checks()).toEqual([{ name: 'request-success-rate', min: 99, error: unnamed }, { name: 'request-duration', max: 500, error: unnamed }]);
    const bare = 'http://prometheus:9090: name Prometheus\' Service with its namespace (http://<service>.<namespace>:<port>); '
      + 'Flagger resolves a bare name in its own namespace';
    // The flag refuses such addresses (args.test.ts); the Canary's own metricsServer is explained per check.
    const own = async (metricsServer: string) => {
      server.deleteCanary();
      server.createCanary(NAME, spec({ provider: 'linkerd', metricsServer }), progressing);
      return checks();
    };
    expect(await own('http://prometheus:9090')).toEqual([
      { name: 'request-success-rate', min: 99, error: bare },
      { name: 'request-duration', max: 500, error: bare },
    ]);
    expect(await own('http://10.0.0.9:9090')).toEqual([
      { name: 'request-success-rate', min: 99, error: 'http://10.0.0.9:9090 is not a Service URL the API server can proxy to' },
      { name: 'request-duration', max: 500, error: 'http://10.0.0.9:9090 is not a Service URL the API server can proxy to' },
    ]);
    // The Canary's own metricsServer wins over the flag, as it does over Flagger's.
    server.deleteCanary();
    server.createCanary(NAME, spec({ provider: 'linkerd', metricsServer: 'http://prometheus.linkerd-viz:9090' }), progressing);
    expect(await checks('--metrics-server', 'http://elsewhere.monitoring:9090')).toEqual(read);
    server.deleteCanary();
    server.createCanary(NAME, spec({ provider: 'gatewayapi:v1' }), progressing);
    expect((await checks('--metrics-server', 'http://prometheus.linkerd-viz:9090') as Array<{ error: string }>)[0].error)
      .toBe('a built-in check of provider gatewayapi:v1: Flagger picks its query from the provider and its own -mesh-provider '
        + '(Linkerd\'s when that names linkerd), which canary-watch cannot see; it runs them for provider linkerd only');
    server.deleteCanary();
    server.createCanary(NAME, { ...spec({ provider: 'linkerd' }), targetRef: { apiVersion: 'v1', kind: 'Service', name: 'api' } }, progressing);
    expect((await checks('--metrics-server', 'http://prometheus.linkerd-viz:9090') as Array<{ error: string }>)[1].error)
      .toBe('a built-in check of a Service target: Flagger queries it with its ":service" metrics, which canary-watch does not run');
  });

  test('the legacy threshold is a minimum for the built-in success rate, a maximum elsewhere; inline queries run on Flagger\'s Prometheus', async () => {
    const successRate = 'sum(rate(response_total{namespace="testapi",deployment=~"api",classification!="failure",direction="inbound"}[1m]))'
      + ' / sum(rate(response_total{namespace="testapi",deployment=~"api",direction="inbound"}[1m])) * 100';
    prometheus({ [successRate]: '100', 'sum(up{namespace="testapi",job="api"}[1m])': '3' });
    server.createCanary(NAME, { ...SPEC, provider: 'linkerd', metricsServer: 'http://prometheus.linkerd-viz:9090', analysis: { ...SPEC.analysis, metrics: [
      { name: 'request-success-rate', threshold: 99 },
      { name: 'pods-up', threshold: 2, query: 'sum(up{namespace="{{ namespace }}",job="{{ target }}"}[{{ interval }}])' },
    ] } }, progressing);
    const r = await run(['status', NAME, '-n', 'testapi', '-o', 'json']);
    expect((JSON.parse(r.stdout) as { checks: unknown }).checks).toEqual([
      { name: 'request-success-rate', min: 99, value: 100, failing: false },
      { name: 'pods-up', max: 2, value: 3, failing: true },
    ]);
  });

  test('watch --metrics records each check\'s value every analysis interval; the verdict keeps the last', async () => {
    server.createCanary(NAME, { ...SPEC, analysis: { ...SPEC.analysis, interval: '1s', metrics: METRICS.slice(0, 2) } }, progressing);
    const cli = startCli([NAME, '-n', 'testapi', '--include-running', '--metrics', '-o', 'json', '--kubeconfig', kubeconfig]);
    await server.waitForWatch('canaries');
    // Two reads of the values (one per 1 s interval) before the rollout ends.
    await cli.printed((out) => (out.match(/"type":"metrics"/g) ?? []).length >= 2);
    server.setStatus({ phase: 'Promoting' });
    server.setStatus({ phase: 'Succeeded', lastPromotedSpec: H3 });
    const r = await cli.result;
    expect(r.code).toBe(0);
    const metrics = r.records.filter((x) => x.type === 'metrics');
    expect(metrics.length).toBeGreaterThanOrEqual(2);
    expect(metrics[0].checks).toEqual([{ name: 'success-rate', min: 99, value: 100 }, { name: '4xx-percentage', max: 1, value: 12.5 }]);
    expect(r.verdict!.checks).toEqual(metrics[metrics.length - 1].checks);
  });

  test('get prints the detailed view; get -w follows changes and stops at --timeout', async () => {
    server.createCanary(NAME, { ...SPEC, analysis: { ...SPEC.analysis, metrics: METRICS.slice(0, 2) } }, progressing);
    const once = await run(['get', NAME, '-n', 'testapi']);
    expect(once.code).toBe(0);
    expect(once.stdout).toMatch(/^canary testapi\/api: Progressing \(in-analysis\)\n {2}weight 20\/50/);
    const live = startCli(['get', NAME, '-n', 'testapi', '-w', '--timeout', '5s', '--kubeconfig', kubeconfig], { CANARY_WATCH_REGET_MS: '200' });
    // The first view is out before the change (a slow start under load printed only the second).
    await live.printed((out) => /weight 20\/50/.test(out));
    server.setStatus({ canaryWeight: 30 });
    const r = await live.result;
    expect(r.code).toBe(0);
    const blocks = r.stdout.split('\n\n').filter((b) => b.trim());
    expect(blocks.length).toBe(2);
    expect(blocks[0]).toMatch(/weight 20\/50/);
    expect(blocks[1]).toMatch(/weight 30\/50/);
  });

  test('get -w on a terminal redraws the view in place (a pseudo-terminal from util-linux script)', async () => {
    server.createCanary(NAME, { ...SPEC, analysis: { ...SPEC.analysis, metrics: METRICS.slice(0, 1) } }, progressing);
    const command = [process.execPath, CLI, 'get', NAME, '-n', 'testapi', '-w', '--timeout', '1s', '--kubeconfig', kubeconfig]
      .map((a) => `'${a}'`).join(' ');
    // Not spawnSync: the fake API server answers from this process's event loop.
    const child = spawn('script', ['-qfec', command, '/dev/null'], {
      env: { ...process.env, CANARY_WATCH_REGET_MS: '300', NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    const status = await new Promise((resolve) => child.on('close', resolve));
    expect(status).toBe(0);
    const frames = stdout.split('\x1b[H\x1b[2J').slice(1);
    expect(frames.length).toBeGreaterThanOrEqual(3);
    for (const frame of frames) expect(frame).toMatch(/^canary testapi\/api: Progressing \(in-analysis\)\r?\n/);
  });
});

describe('report', () => {
  test('a live report: watches to the verdict (exit as watch), then writes the page', async () => {
    server.createCanary(NAME, { ...SPEC, analysis: { ...SPEC.analysis, interval: '1s', metrics: [] } }, { ...progressing, failedChecks: 0 });
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'report-')), 'r.html');
    const cli = startCli(['report', NAME, '-n', 'testapi', '--include-running', '--out', out, '--kubeconfig', kubeconfig]);
    await server.waitForWatch('canaries');
    server.setStatus({ canaryWeight: 30 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    server.setStatus({ phase: 'Succeeded', canaryWeight: 0, lastPromotedSpec: H3 });
    const r = await cli.result;
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(`succeeded: revision ${H3} passed the analysis and was promoted\nreport written to ${out}\n`);
    const html = fs.readFileSync(out, 'utf8');
    expect(html).toMatch(/^<!DOCTYPE html>/i);
    expect(html).toContain('<svg');
    expect(html).toContain(`revision ${H3} passed the analysis and was promoted`);
    expect(html).toContain('canary testapi/api');
  });

  test('report --from: bad records are one line, exit 3; a missing file too', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'report-'));
    fs.writeFileSync(path.join(dir, 'bad.ndjson'), '{"type":"status"\n');
    const bad = await startCli(['report', '--from', path.join(dir, 'bad.ndjson')]).result;
    expect(bad.code).toBe(3);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/bad\.ndjson: line 1: not JSON/);
    const missing = await startCli(['report', '--from', path.join(dir, 'none.ndjson')]).result;
    expect(missing).toMatchObject({ code: 3, stderr: `canary-watch: cannot read ${path.join(dir, 'none.ndjson')} (ENOENT)\n` });
  });
});

describe('conventions', () => {
  test('--version prints the package version', async () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '../../watch/package.json'), 'utf8')) as { version: string };
    const r = await startCli(['--version']).result;
    expect(r).toMatchObject({ code: 0, stdout: `canary-watch ${pkg.version}\n`, stderr: '' });
  });

  test('usage errors are one line in our words, exit 3', async () => {
    const r = await startCli(['api', '--foo']).result;
    expect(r.code).toBe(3);
    expect(r.stderr).toBe('canary-watch: unknown flag: --foo (see canary-watch --help)\n');
    const t = await startCli(['api', '--timeout', '300']).result;
    expect(t.stderr).toBe('canary-watch: --timeout: missing unit in duration "300"; use a Go duration such as 90s, 10m, 1h30m (0 waits forever) (see canary-watch --help)\n');
  });

  test('no kubeconfig anywhere says so instead of blaming localhost:8080', async () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'no-kube-'));
    const r = await startCli(['status', 'api'], { HOME: home, KUBECONFIG: '', KUBERNETES_SERVICE_HOST: '' }).result;
    expect(r.code).toBe(3);
    expect(r.stderr).toBe('canary-watch: no kubeconfig: pass --kubeconfig, set KUBECONFIG, or create ~/.kube/config (in a pod, the ServiceAccount is used)\n');
  });

  test('run as kubectl-canary, it names itself "kubectl canary"', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plugin-'));
    const plugin = path.join(dir, 'kubectl-canary');
    fs.symlinkSync(CLI, plugin);
    const r = spawnSync(process.execPath, [plugin, 'promote', '--help'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe('Usage: kubectl canary promote <canary> [flags]');
    const bad = spawnSync(process.execPath, [plugin, 'promote'], { encoding: 'utf8' });
    expect(bad.stderr).toBe('kubectl canary: missing the Canary name (usage: canary-watch promote <canary> [flags]) (see kubectl canary --help)\n');
  });

  test('--timeout 0 waits past the derived timeout until the rollout ends', async () => {
    server.createCanary(NAME, { ...SPEC, analysis: { interval: '1s', threshold: 1, maxWeight: 10, stepWeight: 10 }, progressDeadlineSeconds: 0 },
      { phase: 'Succeeded', canaryWeight: 0, lastAppliedSpec: H1, lastPromotedSpec: H1 });
    const cli = startCli(['api', '-n', 'testapi', '--timeout', '0', '-o', 'json', '--kubeconfig', kubeconfig]);
    await server.waitForWatch('canaries');
    // The derived timeout here is (1 step + 1 check + 5 ticks) x 1 s x 1.2 + 30 s = 38.4 s; the test cannot wait that
    // long, so it checks the note, then ends the rollout.
    await new Promise((resolve) => setTimeout(resolve, 300));
    server.setStatus({ phase: 'Progressing', lastAppliedSpec: H2 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    server.setStatus({ phase: 'Succeeded', lastAppliedSpec: H2, lastPromotedSpec: H2 });
    const r = await cli.result;
    expect(r.code).toBe(0);
    expect(r.records.some((x) => x.type === 'note' && x.message === 'no timeout (--timeout 0): waiting until the rollout ends')).toBe(true);
  });
});
