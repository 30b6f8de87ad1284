import { Chart, Duration, Testing } from 'cdk8s';
import { Canary, CanaryProps, CanaryProvider, CanaryTarget, WebhookType } from '../../lib';
import { only, synthWith } from '../schema/synth';
import { expectSchemaValid } from '../schema/validate';

type Json = { [key: string]: any };

function canaryObject(props: Partial<CanaryProps> = {}, namespace: string | null = 'testapi', extra?: (c: Canary) => void): Json {
  const objects = synthWith((scope) => {
    const c = new Canary(scope, 'canary', { targetName: 'api', port: 3000, ...props });
    extra?.(c);
  }, namespace);
  expectSchemaValid(objects);
  return only(objects, 'Canary');
}

describe('Canary', () => {
  test('defaults: flagger.app/v1beta1, Deployment target, gatewayapi:v1beta1, 1m interval, 10% steps to 50%, threshold 5', () => {
    const c = canaryObject();
    expect(c.apiVersion).toBe('flagger.app/v1beta1');
    expect(c.metadata).toEqual({ name: 'api', namespace: 'testapi' });
    expect(c.spec.targetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'api' });
    expect(c.spec.provider).toBe('gatewayapi:v1beta1');
    expect(c.spec.analysis).toEqual({ interval: '1m', threshold: 5, maxWeight: 50, stepWeight: 10 });
    expect(c.spec).not.toHaveProperty('canaryAnalysis');
  });

  test('gatewayRefs point at the apex Service (core/Service, namespace, port)', () => {
    expect(canaryObject().spec.service).toEqual({
      port: 3000,
      targetPort: 3000,
      gatewayRefs: [{ name: 'api', namespace: 'testapi', group: 'core', kind: 'Service', port: 3000 }],
    });
    expect(canaryObject({ provider: CanaryProvider.GATEWAY_API_V1, routeStatusReportsGeneration: true, port: 80, targetPort: 'http' }).spec.service).toEqual({
      port: 80,
      targetPort: 'http',
      gatewayRefs: [{ name: 'api', namespace: 'testapi', group: 'core', kind: 'Service', port: 80 }],
    });
  });

  test('Flagger names its Services after the target unless spec.service.name is set', () => {
    const named = canaryObject({ name: 'api-release' });
    expect(named.metadata.name).toBe('api-release');
    expect(named.spec.service).not.toHaveProperty('name');
    expect(named.spec.service.gatewayRefs[0].name).toBe('api');
    const renamed = canaryObject({ serviceName: 'web' });
    expect(renamed.spec.service.name).toBe('web');
    expect(renamed.spec.service.gatewayRefs[0].name).toBe('web');
    synthWith((scope) => {
      const c = new Canary(scope, 'c', { targetName: 'api', name: 'release', serviceName: 'web', port: 80 });
      expect([c.name, c.serviceName, c.canaryUrl, c.apexUrl]).toEqual(['release', 'web', 'http://web-canary.testapi:80/', 'http://web.testapi:80/']);
    });
  });

  test('custom gatewayRefs fill in defaults', () => {
    const refs = canaryObject({ gatewayRefs: [{ name: 'mesh-gw', namespace: 'gw', group: 'gateway.networking.k8s.io', kind: 'Gateway' }] }).spec.service.gatewayRefs;
    expect(refs).toEqual([{ name: 'mesh-gw', namespace: 'gw', group: 'gateway.networking.k8s.io', kind: 'Gateway', port: 3000 }]);
  });

  test('linkerd provider (SMI TrafficSplit) has no gatewayRefs and may use built-in metrics', () => {
    const c = canaryObject({ provider: CanaryProvider.LINKERD, metrics: [{ name: 'request-success-rate', thresholdRange: { min: 99 } }] });
    expect(c.spec.provider).toBe('linkerd');
    expect(c.spec.service).not.toHaveProperty('gatewayRefs');
    expect(c.spec.analysis.metrics).toEqual([{ name: 'request-success-rate', interval: '1m', thresholdRange: { min: 99 } }]);
  });

  test('namespace comes from props, else from the chart', () => {
    expect(canaryObject({ namespace: 'shop' }, 'other').metadata.namespace).toBe('shop');
    expect(canaryObject({ namespace: 'shop' }, 'other').spec.service.gatewayRefs[0].namespace).toBe('shop');
    expect(canaryObject({ namespace: 'shop' }, null).metadata.namespace).toBe('shop');
  });

  test('analysis settings in Flagger terms', () => {
    const c = canaryObject({
      interval: Duration.seconds(30), threshold: 2, maxWeight: 80, stepWeight: 20,
      progressDeadline: Duration.minutes(5), skipAnalysis: true, suspend: true,
    });
    expect(c.spec.analysis).toMatchObject({ interval: '30s', threshold: 2, maxWeight: 80, stepWeight: 20 });
    expect(c.spec).toMatchObject({ progressDeadlineSeconds: 300, skipAnalysis: true, suspend: true });
    expect(canaryObject({ interval: Duration.seconds(90) }).spec.analysis.interval).toBe('90s');
    expect(canaryObject({ interval: Duration.hours(1) }).spec.analysis.interval).toBe('60m');
  });

  test('stepWeights', () => {
    expect(canaryObject({ stepWeights: [1, 5, 20, 60] }).spec.analysis).toEqual({ interval: '1m', threshold: 5, stepWeights: [1, 5, 20, 60] });
  });

  test('metrics and webhooks from props and from addMetric()/addWebhook(), in order', () => {
    const c = canaryObject({
      metrics: [{ name: 'a', templateRef: { name: 'tpl-a' }, thresholdRange: { min: 1, max: 2 }, interval: Duration.seconds(30) }],
      webhooks: [{ name: 'gate', type: WebhookType.CONFIRM_ROLLOUT, url: 'http://gate.example/' }],
    }, 'testapi', (canary) => {
      const m = canary.addMetric({ name: 'b', templateRef: { name: 'tpl-b', namespace: 'shared' }, thresholdRange: { max: 5 }, templateVariables: { route: '/' } });
      expect(m.name).toBe('b');
      canary.addWebhook({ name: 'smoke', type: WebhookType.PRE_ROLLOUT, url: 'https://tester.example:8443/run', timeout: Duration.seconds(30), retries: 2, metadata: { type: 'bash', cmd: 'curl -s http://x' } });
    });
    expect(c.spec.analysis.metrics).toEqual([
      { name: 'a', interval: '30s', thresholdRange: { min: 1, max: 2 }, templateRef: { name: 'tpl-a' } },
      { name: 'b', interval: '1m', thresholdRange: { max: 5 }, templateRef: { name: 'tpl-b', namespace: 'shared' }, templateVariables: { route: '/' } },
    ]);
    expect(c.spec.analysis.webhooks).toEqual([
      { name: 'gate', type: 'confirm-rollout', url: 'http://gate.example/' },
      { name: 'smoke', type: 'pre-rollout', url: 'https://tester.example:8443/run', timeout: '30s', retries: 2, metadata: { type: 'bash', cmd: 'curl -s http://x' } },
    ]);
  });

  test('exposes the Service URLs Flagger creates; primary child is Resource', () => {
    synthWith((scope) => {
      const c = new Canary(scope, 'c', { targetName: 'api', port: 3000 });
      expect(c.canaryUrl).toBe('http://api-canary.testapi:3000/');
      expect(c.targetName).toBe('api');
      expect(c.apexUrl).toBe('http://api.testapi:3000/');
      expect(c.node.defaultChild).toBe(c.resource);
    });
  });

  describe('with a CanaryTarget', () => {
    const build = (props: Partial<CanaryProps>, targetPort = 3000) => synthWith((scope) => {
      const target = new CanaryTarget(scope, 'api', { name: 'shop', image: 'registry.local/shop', version: '1', port: targetPort, portName: 'web' });
      new Canary(scope, 'canary', { target, ...props });
    });

    test('the target gives targetName, port and targetPort', () => {
      const c = only(build({}), 'Canary');
      expect(c.metadata.name).toBe('shop');
      expect(c.spec.targetRef.name).toBe('shop');
      expect(c.spec.service).toMatchObject({ port: 3000, targetPort: 3000 });
    });

    test('a Service port of its own still sends traffic to the container port', () => {
      expect(only(build({ port: 80 }), 'Canary').spec.service).toMatchObject({ port: 80, targetPort: 3000 });
    });

    test('targetPort may name the container port, by number or by name', () => {
      expect(only(build({ port: 80, targetPort: 'web' }), 'Canary').spec.service).toMatchObject({ port: 80, targetPort: 'web' });
      expect(only(build({ targetPort: 3000 }), 'Canary').spec.service).toMatchObject({ targetPort: 3000 });
    });
  });

  describe('uniqueness is per namespace and per app', () => {
    test('one target may have a Canary in each of two namespaces', () => {
      const app = Testing.app();
      new Canary(new Chart(app, 'a', { namespace: 'team-a' }), 'c', { targetName: 'api', port: 3000 });
      new Canary(new Chart(app, 'b', { namespace: 'team-b' }), 'c', { targetName: 'api', port: 3000 });
      expect(app.charts.flatMap((c) => Testing.synth(c)).map((o) => o.metadata.namespace)).toEqual(['team-a', 'team-b']);
    });

    test('two apps in one process do not see each other\'s Canaries', () => {
      const build = (id: string) => new Canary(new Chart(Testing.app(), id, { namespace: 'shop' }), 'c', { targetName: 'api', port: 3000 });
      expect(build('one').namespace).toBe('shop');
      expect(() => build('two')).not.toThrow();
    });
  });

  test('the spec is rendered at synth: a check added after construction is in it', () => {
    const chart = new Chart(Testing.app(), 'late', { namespace: 'shop' });
    const canary = new Canary(chart, 'c', { targetName: 'api', port: 3000 });
    const before = Testing.synth(chart)[0];
    expect(before.spec.analysis).not.toHaveProperty('metrics');
    canary.addMetric({ name: 'm', templateRef: { name: 't' }, thresholdRange: { max: 1 } });
    expect(Testing.synth(chart)[0].spec.analysis.metrics).toEqual([{ name: 'm', templateRef: { name: 't' }, thresholdRange: { max: 1 }, interval: '1m' }]);
  });
});
