import { Duration } from 'cdk8s';
import { LinkerdMetricTemplates } from '../../lib';
import { find, only, synthWith } from '../schema/synth';
import { expectSchemaValid } from '../schema/validate';

describe('LinkerdMetricTemplates', () => {
  let templates!: LinkerdMetricTemplates;
  const objects = synthWith((c) => { templates = new LinkerdMetricTemplates(c, 't'); });
  const query = (name: string) => only(objects, 'MetricTemplate', name).spec.query as string;

  test('three schema-valid Prometheus templates at linkerd-viz', () => {
    expectSchemaValid(objects);
    expect(find(objects, 'MetricTemplate').map((t) => t.metadata.name)).toEqual(['linkerd-success-rate', 'linkerd-4xx-percentage', 'linkerd-latency-p99']);
    for (const t of objects) {
      expect(t.metadata.namespace).toBe('testapi');
      expect(t.spec.provider).toEqual({ type: 'prometheus', address: 'http://prometheus.linkerd-viz:9090' });
    }
  });

  test('queries read Linkerd proxy metrics of the target inbound, with Flagger\'s variables', () => {
    for (const t of objects) {
      expect(t.spec.query).toContain('namespace="{{ namespace }}",deployment=~"{{ target }}",direction="inbound"');
      expect(t.spec.query).toContain('[{{ interval }}]');
    }
    const sel = 'namespace="{{ namespace }}",deployment=~"{{ target }}",direction="inbound"';
    expect(query('linkerd-success-rate')).toBe(
      `(sum(rate(response_total{${sel},classification!="failure"}[{{ interval }}])) or vector(0)) / sum(rate(response_total{${sel}}[{{ interval }}])) * 100`);
    expect(query('linkerd-latency-p99')).toBe(
      `histogram_quantile(0.99, sum(rate(response_latency_ms_bucket{${sel}}[{{ interval }}])) by (le))`);
  });

  test('4xx check counts status codes 4xx as failures (Linkerd success rate counts a 404 as success)', () => {
    const q = query('linkerd-4xx-percentage');
    expect(q).toContain('status_code!~"4.."');
    expect(q).not.toContain('classification');
    // 100 minus the non-4xx share: a healthy release gives 0 rather than an empty result,
    // and a release with no non-4xx series at all reads 100 through vector(0).
    const sel = 'namespace="{{ namespace }}",deployment=~"{{ target }}",direction="inbound"';
    expect(q).toBe(
      `100 - (sum(rate(response_total{${sel},status_code!~"4.."}[{{ interval }}])) or vector(0)) / sum(rate(response_total{${sel}}[{{ interval }}])) * 100`);
  });

  test('checks reference the templates with thresholds: success rate >= 99, 4xx <= 1%, p99 <= 500ms', () => {
    expect(templates.successRate()).toEqual({ name: 'success-rate', templateRef: { name: 'linkerd-success-rate', namespace: 'testapi' }, thresholdRange: { min: 99 }, interval: undefined });
    expect(templates.clientErrors({ max: 5, interval: Duration.seconds(30) })).toMatchObject({ name: '4xx-percentage', thresholdRange: { max: 5 } });
    expect(templates.latencyP99()).toMatchObject({ name: 'latency-p99', templateRef: { name: 'linkerd-latency-p99' }, thresholdRange: { max: 500 } });
  });

  test('Prometheus address, name prefix and namespace are configurable', () => {
    const objs = synthWith((c) => new LinkerdMetricTemplates(c, 't', { prometheusAddress: 'http://127.0.0.1:9090', namePrefix: 'shop-', namespace: 'metrics' }), null);
    expect(objs.map((o) => [o.metadata.name, o.metadata.namespace, o.spec.provider.address])).toEqual([
      ['shop-success-rate', 'metrics', 'http://127.0.0.1:9090'],
      ['shop-4xx-percentage', 'metrics', 'http://127.0.0.1:9090'],
      ['shop-latency-p99', 'metrics', 'http://127.0.0.1:9090'],
    ]);
  });

  test('primary child is Resource (the success-rate template)', () => {
    expect(templates.node.defaultChild).toBe(templates.successRateTemplate);
  });
});
