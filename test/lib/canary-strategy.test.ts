import { Duration } from 'cdk8s';
import { Construct } from 'constructs';
import {
  AlertAddress, AlertProvider, AlertProviderType, AlertSeverity, Canary, CanaryAutoscaler, CanaryProps, CanaryProvider, CanaryStrategy,
  CanaryTarget, CookieSameSite, LoadTester, StrategyKind, StringMatch,
} from '../../lib';
import { only, synthWith } from '../schema/synth';
import { expectSchemaValid } from '../schema/validate';

type Json = { [key: string]: any };

const target = (scope: Construct, props: { replicas?: number } = {}) =>
  new CanaryTarget(scope, 'api', { name: 'api', image: 'registry.local/api', version: '1.0', port: 3000, ...props });

/** The synthesized, schema-checked Canary of a chart holding a target and these props. */
function canaryOf(props: Partial<CanaryProps>, build?: (scope: Construct, t: CanaryTarget) => Partial<CanaryProps>): Json {
  const objects = synthWith((scope) => {
    const t = target(scope);
    new Canary(scope, 'canary', { target: t, ...props, ...build?.(scope, t) });
  });
  const canary = only(objects, 'Canary');
  expectSchemaValid([canary]);
  return canary;
}

describe('strategies', () => {
  test('the default is a weighted canary, as before', () => {
    const analysis = canaryOf({}).spec.analysis;
    expect(analysis).toMatchObject({ stepWeight: 10, maxWeight: 50 });
    expect(analysis.iterations).toBeUndefined();
    expect(analysis.match).toBeUndefined();
  });

  test('canary() carries weights, stepWeightPromotion and the strategy kind', () => {
    const objects = synthWith((scope) => {
      const c = new Canary(scope, 'canary', {
        target: target(scope), strategy: CanaryStrategy.canary({ stepWeight: 20, maxWeight: 60, stepWeightPromotion: 30 }),
      });
      expect(c.strategy.kind).toBe(StrategyKind.CANARY);
    });
    const analysis = only(objects, 'Canary').spec.analysis;
    expect(analysis).toEqual(expect.objectContaining({ stepWeight: 20, maxWeight: 60, stepWeightPromotion: 30 }));
    expectSchemaValid([only(objects, 'Canary')]);
  });

  test('canary() with explicit stepWeights', () => {
    expect(canaryOf({ strategy: CanaryStrategy.canary({ stepWeights: [1, 5, 25] }) }).spec.analysis)
      .toEqual(expect.objectContaining({ stepWeights: [1, 5, 25] }));
  });

  test('blueGreen() sets iterations and no weights', () => {
    const analysis = canaryOf({ strategy: CanaryStrategy.blueGreen({ iterations: 4 }) }).spec.analysis;
    expect(analysis.iterations).toBe(4);
    for (const field of ['stepWeight', 'maxWeight', 'stepWeights', 'match', 'sessionAffinity']) expect(analysis[field]).toBeUndefined();
  });

  test('blueGreen() defaults to 10 iterations and works with the SMI provider', () => {
    const analysis = canaryOf({ strategy: CanaryStrategy.blueGreen(), provider: CanaryProvider.LINKERD }).spec.analysis;
    expect(analysis.iterations).toBe(10);
  });

  test('abTesting() renders headers, cookies and query params as Flagger matches', () => {
    const analysis = canaryOf({
      strategy: CanaryStrategy.abTesting({
        iterations: 5,
        match: [
          { headers: { 'X-Canary': StringMatch.exact('insider'), 'user-agent': StringMatch.regex('.*Firefox.*') } },
          { cookies: { canary: 'always' } },
          { queryParams: { beta: StringMatch.exact('1'), lang: StringMatch.prefix('en.') } },
        ],
      }),
    }).spec.analysis;
    expect(analysis.iterations).toBe(5);
    expect(analysis.match).toEqual([
      { headers: { 'x-canary': { exact: 'insider' }, 'user-agent': { regex: '.*Firefox.*' } } },
      { headers: { cookie: { regex: '^(.*;\\s*)?canary=always(;.*)?$' } } },
      // A prefix becomes the anchored regex it means: the Gateway API routers map only exact and regex.
      { queryParams: { beta: { exact: '1' }, lang: { regex: '^en\\..*' } } },
    ]);
    expect(analysis.stepWeight).toBeUndefined();
  });

  test('the cookie regex finds the cookie anywhere in the Cookie header, and nothing else', () => {
    const analysis = canaryOf({ strategy: CanaryStrategy.abTesting({ match: [{ cookies: { canary: 'always' } }] }) }).spec.analysis;
    const re = new RegExp(analysis.match[0].headers.cookie.regex);
    for (const yes of ['canary=always', 'a=1; canary=always', 'a=1;canary=always; b=2', 'canary=always;b=2']) expect(re.test(yes)).toBe(true);
    for (const no of ['canary=never', 'xcanary=always', 'canary=always2', 'a=canary=always', '']) expect(re.test(no)).toBe(false);
  });

  test('two cookies in one match are both required', () => {
    const analysis = canaryOf({ strategy: CanaryStrategy.abTesting({ match: [{ cookies: { a: '1', b: '2' } }] }) }).spec.analysis;
    const re = new RegExp(analysis.match[0].headers.cookie.regex);
    expect(re.test('a=1; b=2')).toBe(true);
    expect(re.test('x=0; a=1; y=9; b=2; z')).toBe(true);
    expect(re.test('a=1')).toBe(false);
    expect(re.test('b=2')).toBe(false);
  });

  test('session affinity on a weighted canary', () => {
    const analysis = canaryOf({
      strategy: CanaryStrategy.canary({
        stepWeight: 20,
        sessionAffinity: {
          cookieName: 'flagger-cookie', maxAge: Duration.hours(2), path: '/', httpOnly: true, secure: true, sameSite: CookieSameSite.NONE,
        },
      }),
    }).spec.analysis;
    expect(analysis.sessionAffinity).toEqual({
      cookieName: 'flagger-cookie', maxAge: 7200, path: '/', httpOnly: true, secure: true, sameSite: 'None',
    });
  });
});

describe('the rest of the spec', () => {
  test('service fields, metadata, thresholds and revertOnDeletion', () => {
    const spec = canaryOf({
      portName: 'http-api',
      appProtocol: 'kubernetes.io/h2c',
      portDiscovery: true,
      revertOnDeletion: true,
      primaryReadyThreshold: 50,
      canaryReadyThreshold: 75,
      headers: { request: { set: { 'x-env': 'prod' }, remove: ['x-debug'] }, response: { add: { 'x-served-by': 'api' } } },
      apexMetadata: { labels: { tier: 'web' }, annotations: { 'example.com/owner': 'team-a' } },
      primaryMetadata: { labels: { role: 'primary' } },
      canaryMetadata: { annotations: { note: 'canary' } },
    }).spec;
    expect(spec.revertOnDeletion).toBe(true);
    expect(spec.service).toEqual(expect.objectContaining({
      portName: 'http-api',
      appProtocol: 'kubernetes.io/h2c',
      portDiscovery: true,
      headers: { request: { set: { 'x-env': 'prod' }, remove: ['x-debug'] }, response: { add: { 'x-served-by': 'api' } } },
      apex: { labels: { tier: 'web' }, annotations: { 'example.com/owner': 'team-a' } },
      primary: { labels: { role: 'primary' } },
      canary: { annotations: { note: 'canary' } },
    }));
    expect(spec.analysis).toEqual(expect.objectContaining({ primaryReadyThreshold: 50, canaryReadyThreshold: 75 }));
  });

  test('timeout is written with gatewayapi:v1 when the mesh reports route generations', () => {
    const spec = canaryOf({ provider: CanaryProvider.GATEWAY_API_V1, routeStatusReportsGeneration: true, timeout: Duration.seconds(15) }).spec;
    expect(spec.provider).toBe('gatewayapi:v1');
    expect(spec.service.timeout).toBe('15s');
  });

  test('webhooks carry muteAlert and disableTLS', () => {
    const spec = canaryOf({
      webhooks: [
        { name: 'quiet', url: 'http://flagger-loadtester.testapi/', muteAlert: true },
        { name: 'self-signed', url: 'https://hooks.internal/check', disableTls: true },
      ],
    }).spec;
    expect(spec.analysis.webhooks[0]).toEqual(expect.objectContaining({ muteAlert: true }));
    expect(spec.analysis.webhooks[1]).toEqual(expect.objectContaining({ disableTLS: true }));
  });

  test('none of the new fields appear when unset', () => {
    const spec = canaryOf({}).spec;
    for (const field of ['revertOnDeletion', 'autoscalerRef']) expect(spec[field]).toBeUndefined();
    for (const field of ['portName', 'appProtocol', 'portDiscovery', 'timeout', 'headers', 'apex', 'primary', 'canary']) {
      expect(spec.service[field]).toBeUndefined();
    }
    for (const field of ['primaryReadyThreshold', 'canaryReadyThreshold', 'alerts', 'stepWeightPromotion', 'sessionAffinity']) {
      expect(spec.analysis[field]).toBeUndefined();
    }
  });
});

describe('autoscaling', () => {
  test('a CanaryAutoscaler: HPA autoscaling/v2 on the target, no replicas on the Deployment, autoscalerRef on the Canary', () => {
    const objects = synthWith((scope) => {
      const t = target(scope);
      const hpa = new CanaryAutoscaler(scope, 'hpa', { target: t, minReplicas: 2, maxReplicas: 6, cpuUtilization: 70 });
      new Canary(scope, 'canary', { target: t, autoscaler: hpa, primaryScalerReplicas: { minReplicas: 3 } });
    });
    const hpa = only(objects, 'HorizontalPodAutoscaler');
    expect(hpa.apiVersion).toBe('autoscaling/v2');
    expect(hpa.metadata.name).toBe('api');
    expect(hpa.spec).toEqual(expect.objectContaining({
      minReplicas: 2, maxReplicas: 6, scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'api' },
    }));
    expect(hpa.spec.metrics).toEqual([{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } }]);
    expect(only(objects, 'Deployment', 'api').spec.replicas).toBeUndefined();
    const canary = only(objects, 'Canary');
    expectSchemaValid([canary]);
    expect(canary.spec.autoscalerRef).toEqual({
      apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', name: 'api', primaryScalerReplicas: { minReplicas: 3 },
    });
  });

  test('without an autoscaler the Deployment keeps its replicas', () => {
    const objects = synthWith((scope) => new Canary(scope, 'canary', { target: target(scope) }));
    expect(only(objects, 'Deployment', 'api').spec.replicas).toBe(1);
  });

  test("a user's HPA by name", () => {
    expect(canaryOf({ autoscalerName: 'api-hpa' }).spec.autoscalerRef).toEqual({
      apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', name: 'api-hpa',
    });
  });
});

describe('alerts', () => {
  test('addAlert references the AlertProvider by name and namespace, with the severity', () => {
    const objects = synthWith((scope) => {
      const provider = new AlertProvider(scope, 'chat', {
        name: 'on-call', namespace: 'ops', type: AlertProviderType.MSTEAMS, address: AlertAddress.fromSecret('teams-url'),
      });
      const c = new Canary(scope, 'canary', { target: target(scope), alerts: [{ name: 'on-call', provider }] });
      c.addAlert({ name: 'errors', provider, severity: AlertSeverity.ERROR });
    });
    const canary = only(objects, 'Canary');
    expectSchemaValid([canary]);
    expect(canary.spec.analysis.alerts).toEqual([
      { name: 'on-call', severity: 'info', providerRef: { name: 'on-call', namespace: 'ops' } },
      { name: 'errors', severity: 'error', providerRef: { name: 'on-call', namespace: 'ops' } },
    ]);
  });
});

describe('load tests per strategy', () => {
  const webhooks = (strategy: CanaryStrategy, add: (lt: LoadTester, c: Canary) => void) => {
    const objects = synthWith((scope) => {
      const c = new Canary(scope, 'canary', { target: target(scope), strategy });
      add(new LoadTester(scope, 'lt'), c);
    });
    return only(objects, 'Canary').spec.analysis.webhooks;
  };

  test('A/B: through the apex with the headers of the first match (cookies in one Cookie header)', () => {
    const [hook] = webhooks(CanaryStrategy.abTesting({ match: [{ headers: { 'X-User': StringMatch.exact("o'brien") }, cookies: { a: '1', b: '2' } }] }),
      (lt, c) => lt.addLoadTest(c));
    expect(hook.metadata.cmd).toBe("hey -z 1m -q 5 -c 2 -H 'X-User: o'\\''brien' -H 'Cookie: a=1; b=2' http://api.testapi:3000/");
  });

  test('A/B with a regex first match needs explicit headers', () => {
    expect(() => webhooks(CanaryStrategy.abTesting({ match: [{ headers: { 'x-user': StringMatch.regex('.*') } }] }), (lt, c) => lt.addLoadTest(c)))
      .toThrow(/loadTest\.headers \(undefined\) must be given for Canary 'api': its first A\/B match has a prefix, regex or query condition/);
    const [hook] = webhooks(CanaryStrategy.abTesting({ match: [{ headers: { 'x-user': StringMatch.regex('.*') } }] }),
      (lt, c) => lt.addLoadTest(c, { headers: { 'x-user': 'bot' } }));
    expect(hook.metadata.cmd).toBe("hey -z 1m -q 5 -c 2 -H 'x-user: bot' http://api.testapi:3000/");
  });

  test('blue/green and canary: straight to the canary Service; throughApex goes to the apex', () => {
    expect(webhooks(CanaryStrategy.blueGreen(), (lt, c) => lt.addLoadTest(c))[0].metadata.cmd)
      .toBe('hey -z 1m -q 5 -c 2 http://api-canary.testapi:3000/');
    expect(webhooks(CanaryStrategy.canary(), (lt, c) => lt.addLoadTest(c, { throughApex: true, path: '/api' }))[0].metadata.cmd)
      .toBe('hey -z 1m -q 5 -c 2 http://api.testapi:3000/api');
  });

  test('warm-up: blue/green and A/B also start the same hey from a pre-rollout webhook; a weighted canary does not', () => {
    const kinds = (strategy: CanaryStrategy, options = {}) => webhooks(strategy, (lt, c) => lt.addLoadTest(c, { name: 'load', ...options }))
      .map((h: { name: string; type: string; metadata: { cmd: string } }) => `${h.name}:${h.type}:${h.metadata.cmd}`);
    const abMatch = { match: [{ headers: { 'x-user': StringMatch.exact('bot') } }] };
    expect(kinds(CanaryStrategy.blueGreen())).toEqual([
      'load:rollout:hey -z 1m -q 5 -c 2 http://api-canary.testapi:3000/',
      'load-warm-up:pre-rollout:hey -z 1m -q 5 -c 2 http://api-canary.testapi:3000/',
    ]);
    expect(kinds(CanaryStrategy.abTesting(abMatch))).toEqual([
      "load:rollout:hey -z 1m -q 5 -c 2 -H 'x-user: bot' http://api.testapi:3000/",
      "load-warm-up:pre-rollout:hey -z 1m -q 5 -c 2 -H 'x-user: bot' http://api.testapi:3000/",
    ]);
    expect(kinds(CanaryStrategy.canary())).toEqual(['load:rollout:hey -z 1m -q 5 -c 2 http://api-canary.testapi:3000/']);
    expect(kinds(CanaryStrategy.canary(), { warmUp: true })).toHaveLength(2);
    expect(kinds(CanaryStrategy.blueGreen(), { warmUp: false })).toEqual(['load:rollout:hey -z 1m -q 5 -c 2 http://api-canary.testapi:3000/']);
  });

  test('acceptance test: a pre-rollout curl --fail on the canary Service', () => {
    expect(webhooks(CanaryStrategy.canary(), (lt, c) => lt.addAcceptanceTest(c, { path: '/api' }))).toEqual([{
      name: 'acceptance-test',
      type: 'pre-rollout',
      url: 'http://flagger-loadtester.testapi/',
      timeout: '30s',
      metadata: { type: 'bash', cmd: "curl --silent --show-error --fail --max-time 10 'http://api-canary.testapi:3000/api'" },
    }]);
    expect(() => webhooks(CanaryStrategy.canary(), (lt, c) => lt.addAcceptanceTest(c, { path: "/a'b" })))
      .toThrow(/acceptanceTest\.path \('\/a'b'\) must start with '\/' and contain no spaces or quotes/);
  });

  test('load test header names and values are checked', () => {
    expect(() => webhooks(CanaryStrategy.canary(), (lt, c) => lt.addLoadTest(c, { headers: { 'a b': '1' } })))
      .toThrow(/loadTest\.headers \('a b'\) must be a header name/);
    expect(() => webhooks(CanaryStrategy.canary(), (lt, c) => lt.addLoadTest(c, { headers: { a: 'x\ny' } })))
      .toThrow(/loadTest\.headers\.a \('x\\ny'\) must be a string without CR, LF or NUL/);
  });
});
