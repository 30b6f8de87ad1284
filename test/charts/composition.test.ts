import { Chart, ChartProps, Duration, Testing } from 'cdk8s';
import { Construct } from 'constructs';
import {
  Canary, CanaryProvider, CanaryTarget, LinkerdMetricTemplates, LoadGenerator, LoadTester, MeshNamespace,
} from '../../lib';
import { podTemplates, restrictedViolations } from '../schema/pod-security';
import { find, only } from '../schema/synth';
import { expectSchemaValid } from '../schema/validate';

/** A user's own chart: two canaried services sharing templates and a load tester. */
class ShopChart extends Chart {
  public constructor(scope: Construct, id: string, props: ChartProps) {
    super(scope, id, props);
    const templates = new LinkerdMetricTemplates(this, 'Templates', { namePrefix: 'shop-', prometheusAddress: 'http://prometheus.monitoring:9090' });
    const tester = new LoadTester(this, 'Tester', { name: 'shop-loadtester' });
    const services: Array<[string, number, CanaryProvider]> = [['orders', 8080, CanaryProvider.GATEWAY_API_V1BETA1], ['payments', 9090, CanaryProvider.LINKERD]];
    for (const [name, port, provider] of services) {
      const workload = new CanaryTarget(this, `${name}-workload`, { name, port, image: 'registry.local:5000/shop', version: '1.4.2', readinessPath: '/readyz' });
      const canary = new Canary(this, `${name}-canary`, {
        target: workload,
        targetPort: workload.portName,
        provider,
        interval: Duration.seconds(30),
        metrics: [templates.successRate({ min: 99.5 }), templates.clientErrors()],
      });
      canary.addWebhook(tester.loadTest(canary, { qps: 5 }));
      new LoadGenerator(this, `${name}-load`, { canary, qps: 2 });
    }
  }
}

describe('constructs inside a user\'s own chart', () => {
  const app = Testing.app();
  new Chart(app, 'cluster'); // an unrelated chart in the same app does not interfere
  const nsChart = new Chart(app, 'namespaces');
  new MeshNamespace(nsChart, 'shop', { name: 'shop' });
  const shop = new ShopChart(app, 'shop', { namespace: 'shop' });
  const objects = Testing.synth(shop);
  const all = [...Testing.synth(nsChart), ...objects];

  test('schema-valid and restricted', () => {
    expectSchemaValid(all);
    for (const { name, spec } of podTemplates(objects)) expect([name, restrictedViolations(spec)]).toEqual([name, []]);
  });

  test('two canaries side by side with their own names, ports and providers', () => {
    const orders = only(objects, 'Canary', 'orders');
    const payments = only(objects, 'Canary', 'payments');
    expect(orders.spec.targetRef.name).toBe('orders');
    expect(orders.spec.service).toEqual({
      port: 8080, targetPort: 'http',
      gatewayRefs: [{ name: 'orders', namespace: 'shop', group: 'core', kind: 'Service', port: 8080 }],
    });
    expect(payments.spec.provider).toBe('linkerd');
    expect(payments.spec.service).toEqual({ port: 9090, targetPort: 'http' });
    expect(orders.spec.analysis.webhooks[0].metadata.cmd).toBe('hey -z 1m -q 2.5 -c 2 http://orders-canary.shop:8080/');
    expect(payments.spec.analysis.webhooks[0].metadata.cmd).toBe('hey -z 1m -q 2.5 -c 2 http://payments-canary.shop:9090/');
    expect(orders.spec.analysis.webhooks[0].url).toBe('http://shop-loadtester.shop/');
    for (const c of [orders, payments]) {
      expect(c.spec.analysis.metrics.map((m: any) => m.templateRef)).toEqual([
        { name: 'shop-success-rate', namespace: 'shop' },
        { name: 'shop-4xx-percentage', namespace: 'shop' },
      ]);
    }
  });

  test('object names are unique per kind and nothing Flagger owns is synthesized', () => {
    const keys = objects.map((o) => `${o.kind}/${o.metadata.name}`);
    expect(new Set(keys).size).toBe(keys.length);
    for (const name of ['orders', 'orders-primary', 'orders-canary', 'payments', 'payments-primary', 'payments-canary']) {
      expect(find(objects, 'Service', name)).toHaveLength(0);
    }
    expect(find(objects, 'Deployment', 'orders-load-generator')[0].spec.template.spec.containers[0].args[0]).toContain('http://orders.shop:8080/');
  });

  test('no hard-coded namespace or demo name leaks in', () => {
    const text = JSON.stringify(all);
    expect(text).not.toMatch(/testapi(?!\/)|linkerd-viz|"api"/);
    for (const o of objects) expect(o.metadata.namespace).toBe('shop');
  });

  test('a chart without a namespace works when the constructs are told theirs', () => {
    const chart = new Chart(Testing.app(), 'bare');
    const api = new CanaryTarget(chart, 'api', { name: 'web', image: 'registry.local/web', version: '1' });
    const canary = new Canary(chart, 'canary', { target: api, namespace: 'team-a' });
    const templates = new LinkerdMetricTemplates(chart, 'templates', { namespace: 'team-a' });
    canary.addMetric(templates.successRate());
    const objs = Testing.synth(chart);
    expectSchemaValid(objs);
    expect(only(objs, 'Canary').metadata.namespace).toBe('team-a');
    expect(only(objs, 'Deployment').metadata).not.toHaveProperty('namespace');
  });
});
