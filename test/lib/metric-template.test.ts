import { Duration, Testing } from 'cdk8s';
import { Construct } from 'constructs';
import * as flagger from '../../imports/flagger.app';
import { Canary } from '../../lib/canary';
import { MetricProvider, MetricTemplate, MetricTemplateProps } from '../../lib/metric-template';
import { only, synthWith, testChart } from '../schema/synth';
import { expectSchemaValid } from '../schema/validate';

const PROM = 'http://prometheus.linkerd-viz:9090';
const ERRORS = 'sum(rate(response_total{namespace="{{ namespace }}",deployment=~"{{ target }}",status_code=~"5.."}[{{ interval }}]))';
const template = (props: Partial<MetricTemplateProps>, scope: Construct = testChart(), id = 't') =>
  new MetricTemplate(scope, id, { name: 'errors', provider: MetricProvider.prometheus({ address: PROM }), query: ERRORS, ...props });
// A JavaScript caller (or a cast) can hand over what the types forbid.
const loose = <T>(value: unknown) => value as T;

describe('MetricTemplate', () => {
  test('a Prometheus template with credentials and a tenant header: schema-valid', () => {
    const objects = synthWith((c) => template({
      provider: MetricProvider.prometheus({ address: 'https://mimir.monitoring/prometheus', secretName: 'mimir-auth', headers: { 'X-Scope-OrgID': 'team-a' } }),
    }, c));
    expectSchemaValid(objects);
    const t = only(objects, 'MetricTemplate', 'errors');
    expect(t.metadata).toEqual({ name: 'errors', namespace: 'testapi' });
    expect(t.spec).toEqual({
      provider: { type: 'prometheus', address: 'https://mimir.monitoring/prometheus', secretRef: { name: 'mimir-auth' }, headers: { 'X-Scope-OrgID': ['team-a'] } },
      query: ERRORS,
    });
    expect(objects).toMatchSnapshot();
  });

  test('every provider type of the CRD renders what Flagger reads of it, schema-valid', () => {
    const cases: Array<[MetricProvider, string, object]> = [
      [MetricProvider.prometheus({ address: PROM, insecureSkipVerify: true }), 'up', { type: 'prometheus', address: PROM, insecureSkipVerify: true }],
      [MetricProvider.graphite({ address: 'http://graphite.monitoring', secretName: 'graphite-auth' }), 'target=x',
        { type: 'graphite', address: 'http://graphite.monitoring', secretRef: { name: 'graphite-auth' } }],
      [MetricProvider.influxDb({ address: 'http://influxdb:8086', secretName: 'influx' }), 'from(bucket: "b")',
        { type: 'influxdb', address: 'http://influxdb:8086', secretRef: { name: 'influx' } }],
      [MetricProvider.datadog({ secretName: 'datadog' }), 'sum:x{*}', { type: 'datadog', secretRef: { name: 'datadog' } }],
      [MetricProvider.newRelic({ secretName: 'newrelic', address: 'https://insights-api.eu.newrelic.com' }), 'SELECT 1',
        { type: 'newrelic', address: 'https://insights-api.eu.newrelic.com', secretRef: { name: 'newrelic' } }],
      [MetricProvider.dynatrace({ address: 'https://abc123.live.dynatrace.com', secretName: 'dynatrace' }), 'builtin:x',
        { type: 'dynatrace', address: 'https://abc123.live.dynatrace.com', secretRef: { name: 'dynatrace' } }],
      [MetricProvider.splunk({ address: 'https://api.us1.signalfx.com', secretName: 'splunk' }), 'data("x").publish()',
        { type: 'splunk', address: 'https://api.us1.signalfx.com', secretRef: { name: 'splunk' } }],
      [MetricProvider.stackdriver({ secretName: 'gcloud-sa' }), 'fetch k8s_container', { type: 'stackdriver', secretRef: { name: 'gcloud-sa' } }],
      [MetricProvider.cloudWatch({ region: 'ap-northeast-1' }), '[{"Id":"e1"}]', { type: 'cloudwatch', region: 'ap-northeast-1' }],
      [MetricProvider.externalMetrics(), '{{ namespace }}/job-success-rate?labelSelector=env%3Dprod', { type: 'externalmetrics' }],
      [MetricProvider.keptn(), 'keptnmetric/{{ namespace }}/response-time', { type: 'keptn' }],
    ];
    const objects = synthWith((c) => cases.forEach(([provider, query], i) => template({ name: `m${i}`, provider, query }, c, `t${i}`)));
    expectSchemaValid(objects);
    expect(objects.map((o) => o.spec.provider)).toEqual(cases.map(([, , spec]) => spec));
    expect(new Set(cases.map(([p]) => p.type))).toEqual(new Set(Object.values(flagger.MetricTemplateSpecProviderType)));
  });

  test('metric() gives the check a Canary takes, referring to the template by name and namespace', () => {
    const scope = testChart();
    const t = template({ namespace: 'flagger' }, scope);
    expect(t.metric({ max: 1 })).toEqual({
      name: 'errors', templateRef: { name: 'errors', namespace: 'flagger' }, thresholdRange: { min: undefined, max: 1 },
      interval: undefined, templateVariables: undefined,
    });
    const check = t.metric({ name: '5xx-rate', min: 0, max: 0.5, interval: Duration.seconds(30) });
    expect(check).toMatchObject({ name: '5xx-rate', thresholdRange: { min: 0, max: 0.5 } });
    expect(check.interval?.toSeconds()).toBe(30);

    new Canary(scope, 'c', { targetName: 'api', port: 3000, metrics: [check] });
    const objects = Testing.synth(scope);
    expectSchemaValid(objects);
    expect(only(objects, 'Canary', 'api').spec.analysis.metrics).toEqual([
      { name: '5xx-rate', templateRef: { name: 'errors', namespace: 'flagger' }, thresholdRange: { min: 0, max: 0.5 }, interval: '30s' },
    ]);
  });

  test('template variables: every {{ variables.<key> }} of the query must be given to metric()', () => {
    const t = template({ query: 'sum(rate(response_total{direction="{{ variables.direction }}",le="{{- variables.bucket -}}"}[{{ interval }}]))' });
    expect(t.metric({ max: 1, templateVariables: { direction: 'inbound', bucket: '100' } }).templateVariables)
      .toEqual({ direction: 'inbound', bucket: '100' });
    expect(() => t.metric({ max: 1, templateVariables: { direction: 'inbound' } })).toThrow(
      /MetricTemplate 't': metric\.templateVariables \(\{"direction":"inbound"\}\) must set 'bucket': the query reads \{\{ variables\.bucket \}\}, and Flagger fails the check on a missing key/);
  });

  test('Go template constructs beyond Flagger\'s functions are left to Flagger', () => {
    const query = '{{ if eq (variables.mode) "strict" }}x{{ else }}y{{ end }} {{/* note */}} {{ printf "%s" target }} {{- service -}}';
    expect(template({ query }).metric({ max: 1, templateVariables: { mode: 'strict' } }).name).toBe('errors');
  });

  test('namespace: own, or the chart\'s; the name is claimed once per namespace', () => {
    const scope = testChart(null);
    expect(template({ namespace: 'metrics' }, scope, 'one').namespace).toBe('metrics');
    expect(template({ namespace: 'flagger' }, scope, 'two').resource.metadata.namespace).toBe('flagger');
    expect(() => template({ namespace: 'metrics' }, scope, 'three')).toThrow(
      /MetricTemplate 'three': name \('errors'\) is already the name of a MetricTemplate in namespace 'metrics' \(already used by test\/one\)/);
  });

  test('exposes name, provider, query and the resource; the resource is the primary child', () => {
    const provider = MetricProvider.datadog({ secretName: 'dd' });
    const t = template({ provider, query: 'avg:x{*}' });
    expect([t.name, t.namespace, t.query, t.provider]).toEqual(['errors', 'testapi', 'avg:x{*}', provider]);
    expect(t.resource).toBeInstanceOf(flagger.MetricTemplate);
    expect(t.node.defaultChild).toBe(t.resource);
  });
});

describe('MetricTemplate refuses bad input naming the prop, the value and the rule', () => {
  const withTemplate = (fn: (t: MetricTemplate) => unknown, props: Partial<MetricTemplateProps> = {}) => () => fn(template(props));
  const provider = (fields: object) => loose<MetricProvider>(fields);
  const cases: Array<[string, () => unknown, RegExp]> = [
    ['name not DNS-1123', () => template({ name: 'Errors_5xx' }), /MetricTemplate 't': name \('Errors_5xx'\) must be a DNS-1123 subdomain/],
    ['namespace not DNS-1123', () => template({ namespace: 'Metrics' }), /namespace \('Metrics'\) must be a DNS-1123 label/],
    ['no namespace anywhere', () => template({}, testChart(null)),
      /namespace \(undefined\) must be set, on the MetricTemplate or on its chart: Canaries refer to it by namespace and Flagger reads its Secret there/],
    ['no provider', () => template({ provider: loose(undefined) }), /provider \(undefined\) must be set, for example MetricProvider\.prometheus/],
    ['unknown provider type', () => template({ provider: provider({ type: 'victoriametrics', address: PROM }) }),
      /provider\.type \('victoriametrics'\) must be one of prometheus, influxdb, datadog, externalmetrics, stackdriver, cloudwatch, newrelic, graphite, dynatrace, keptn, splunk/],
    ['Prometheus without address', () => template({ provider: MetricProvider.prometheus(loose({})) }), /provider\.address \(undefined\) must be set for prometheus/],
    ['Prometheus address without scheme', () => template({ provider: MetricProvider.prometheus({ address: 'prometheus:9090' }) }),
      /provider\.address \('prometheus:9090'\) must be an absolute http:\/\/ or https:\/\/ URL with a host/],
    ['Dynatrace without address', () => template({ provider: MetricProvider.dynatrace(loose({ secretName: 'dt' })) }),
      /provider\.address \(undefined\) must be set for dynatrace/],
    ['Datadog without Secret', () => template({ provider: MetricProvider.datadog(loose({})) }),
      /provider\.secretName \(undefined\) must be set for datadog: Flagger reads datadog_api_key and datadog_application_key from that Secret/],
    ['Stackdriver without Secret', () => template({ provider: MetricProvider.stackdriver(loose({})) }),
      /provider\.secretName \(undefined\) must be set for stackdriver: Flagger reads project/],
    ['Datadog address with a trailing slash', () => template({ provider: MetricProvider.datadog({ secretName: 'dd', address: 'https://api.datadoghq.eu/' }) }),
      /provider\.address \('https:\/\/api\.datadoghq\.eu\/'\) must not end with '\/': Flagger appends '\/api\/v1\/query' to it/],
    ['Secret name not DNS-1123', () => template({ provider: MetricProvider.prometheus({ address: PROM, secretName: 'Prom Auth' }) }),
      /provider\.secretName \('Prom Auth'\) must be a DNS-1123 subdomain/],
    ['CloudWatch region malformed', () => template({ provider: MetricProvider.cloudWatch({ region: 'Tokyo' }) }),
      /provider\.region \('Tokyo'\) must be an AWS region such as 'eu-west-1' \(cloudwatch needs it\)/],
    ['CloudWatch with an address (JavaScript)', () => template({ provider: MetricProvider.cloudWatch(loose({ region: 'eu-west-1', address: PROM })) }),
      /provider\.address \('http:\/\/prometheus\.linkerd-viz:9090'\) is not read by Flagger's cloudwatch provider: remove it/],
    ['Keptn with a Secret (JavaScript)', () => template({ provider: provider({ type: 'keptn', secretName: 's' }), query: 'analysis/a/b' }),
      /provider\.secretName \('s'\) is not read by Flagger's keptn provider: remove it/],
    ['headers for Datadog (JavaScript)', () => template({ provider: MetricProvider.datadog(loose({ secretName: 'dd', headers: { 'X-A': 'b' } })) }),
      /provider\.headers \(\{"X-A":"b"\}\) is not read by Flagger's datadog provider: remove it/],
    ['insecureSkipVerify not a boolean', () => template({ provider: MetricProvider.prometheus({ address: PROM, insecureSkipVerify: loose('yes') }) }),
      /provider\.insecureSkipVerify \('yes'\) must be true or false/],
    ['Authorization header', () => template({ provider: MetricProvider.prometheus({ address: PROM, headers: { authorization: 'Bearer s3cr3t' } }) }),
      /provider\.headers\.authorization \('…'\) is a credential written into the manifest, and so into Git: put a token \(or username and password\) in the Secret/],
    ['header name with a space', () => template({ provider: MetricProvider.prometheus({ address: PROM, headers: { 'X Org': 'a' } }) }),
      /provider\.headers \('X Org'\) must be HTTP header names \(RFC 9110 tokens\)/],
    ['header value with a line break', () => template({ provider: MetricProvider.prometheus({ address: PROM, headers: { 'X-Org': 'a\r\nX-Evil: 1' } }) }),
      /provider\.headers\.X-Org \('a(\\r\\n|\r\n)X-Evil: 1'\) must be a string without line breaks/],
    ['blank query', () => template({ query: '   ' }), /query \(' {3}'\) must be a non-empty query/],
    ['unclosed action', () => template({ query: 'sum(rate(x{ns="{{ namespace }}"}[{{ interval ]))' }),
      /query \('sum\(rate\(x\{ns="\{\{ namespace \}\}"\}\[\{\{ interval \]\)\)'\) has a '\{\{' without its '\}\}': Flagger could not parse the template/],
    ['misspelt function', () => template({ query: 'up{job="{{ targt }}"}' }),
      /query \('\{\{ targt \}\}'\) is not a function Flagger defines: use name, namespace, target, service, ingress, route, interval or variables\.<key>/],
    ['Keptn query of another form', () => template({ provider: MetricProvider.keptn(), query: 'response-time' }),
      /query \('response-time'\) must be '<keptnmetric\|analysis>\/<namespace>\/<name>\[\/<timeframe>\/<args>\]', the form Flagger's keptn provider parses/],
    ['external metrics query with too many slashes', () => template({ provider: MetricProvider.externalMetrics(), query: 'a/b/c' }),
      /query \('a\/b\/c'\) must be '<namespace>\/<metric>\?labelSelector=<selector>' on one line/],
    ['metric without bounds', withTemplate((t) => t.metric({})), /metric \(\{\}\) must set min, max or both: a check needs a bound/],
    ['metric min above max', withTemplate((t) => t.metric({ min: 5, max: 1 })), /metric\.min \(5\) must not exceed metric\.max \(1\)/],
    ['metric max not a number', withTemplate((t) => t.metric({ max: Number.NaN })), /metric\.max \(null\) must be a number/],
    ['metric interval under 1s', withTemplate((t) => t.metric({ max: 1, interval: Duration.millis(500) })),
      /metric\.interval \(500ms\) must be a whole number of seconds, at least 1s/],
    ['metric name not DNS-1123', withTemplate((t) => t.metric({ name: '5xx rate', max: 1 })), /metric\.name \('5xx rate'\) must be a DNS-1123 subdomain/],
    ['template variable not a string', withTemplate((t) => t.metric({ max: 1, templateVariables: loose({ direction: 1 }) })),
      /metric\.templateVariables\.direction \(1\) must be a string/],
    ['template variable missing', withTemplate((t) => t.metric({ max: 1 }), { query: 'x{d="{{ variables.direction }}"}' }),
      /metric\.templateVariables \(\{\}\) must set 'direction'/],
  ];

  test.each(cases)('%s', (_label, build, message) => {
    expect(build).toThrow(message);
  });

  test('no message carries a credential header value', () => {
    expect(() => template({ provider: MetricProvider.prometheus({ address: PROM, headers: { Authorization: 'Bearer s3cr3t' } }) }))
      .toThrow(expect.objectContaining({ message: expect.not.stringContaining('s3cr3t') }));
  });
});
