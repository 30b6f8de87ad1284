/**
 * A platform team's own chart: two canaried services (different ports and providers) sharing one
 * set of metric templates and one load tester, as a user of the package writes it.
 */
import { Chart, ChartProps, Duration, Size } from 'cdk8s';
import { Canary, CanaryProvider, CanaryTarget, LinkerdMetricTemplates, LoadGenerator, LoadTester } from 'cdk8s-canary';
import { Construct } from 'constructs';

export class ShopChart extends Chart {
  public constructor(scope: Construct, id: string, props: ChartProps) {
    super(scope, id, props);
    const templates = new LinkerdMetricTemplates(this, 'Templates', { namePrefix: 'shop-' });
    const tester = new LoadTester(this, 'Tester');
    const services: Array<[string, number, CanaryProvider]> = [
      ['orders', 8080, CanaryProvider.GATEWAY_API_V1BETA1],
      ['payments', 9090, CanaryProvider.LINKERD],
    ];
    for (const [name, port, provider] of services) {
      const target = new CanaryTarget(this, `${name}-target`, {
        name, image: `registry.example/shop/${name}`, version: '1.4.2', port,
        resources: { memoryLimit: Size.mebibytes(256) },
      });
      const canary = new Canary(this, `${name}-canary`, {
        target,
        provider,
        interval: Duration.seconds(30),
        metrics: [templates.successRate({ min: 99.5 }), templates.clientErrors()],
      });
      tester.addLoadTest(canary, { qps: 4 });
      new LoadGenerator(this, `${name}-load`, { canary, qps: 2 });
    }
  }
}
