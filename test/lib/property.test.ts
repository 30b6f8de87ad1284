import { Duration, Testing } from 'cdk8s';
import fc from 'fast-check';
import { CanaryDemo, CanaryDemoProps } from '../../charts';
import { CanaryProvider, PodSecurityLevel, StrategyKind } from '../../lib';
import { podTemplates, restrictedViolations } from '../schema/pod-security';
import { find, only, synthApp } from '../schema/synth';
import { schemaErrors } from '../schema/validate';

const dnsLabel = fc.stringMatching(/^[a-z]([-a-z0-9]{0,14}[a-z0-9])?$/);
const weights = fc.oneof(
  fc.record({ stepWeight: fc.integer({ min: 1, max: 100 }), maxWeight: fc.integer({ min: 1, max: 100 }) })
    .map(({ stepWeight, maxWeight }) => ({ stepWeight: Math.min(stepWeight, maxWeight), maxWeight })),
  fc.uniqueArray(fc.integer({ min: 1, max: 100 }), { minLength: 1, maxLength: 10 })
    .map((w) => ({ stepWeights: [...w].sort((a, b) => a - b) })),
  fc.constant({}),
);

const props: fc.Arbitrary<CanaryDemoProps> = fc.record({
  namespace: dnsLabel,
  appName: dnsLabel,
  version: fc.tuple(fc.nat(20), fc.nat(20)).map(([a, b]) => `${a}.${b}`),
  port: fc.integer({ min: 1, max: 65535 }),
  provider: fc.constantFrom(...Object.values(CanaryProvider)),
  strategy: fc.constantFrom(...Object.values(StrategyKind)),
  iterations: fc.integer({ min: 1, max: 100 }),
  acceptanceTest: fc.boolean(),
  interval: fc.integer({ min: 1, max: 7200 }).map(Duration.seconds),
  metricInterval: fc.integer({ min: 1, max: 3600 }).map(Duration.seconds),
  threshold: fc.integer({ min: 1, max: 100 }),
  successRateMin: fc.double({ min: 0, max: 100, noNaN: true }),
  clientErrorCheck: fc.boolean(),
  clientErrorMax: fc.double({ min: 0, max: 100, noNaN: true }),
  latencyCheck: fc.boolean(),
  latencyMaxMs: fc.integer({ min: 1, max: 60_000 }),
  promotionGate: fc.boolean(),
  podSecurity: fc.constantFrom(...Object.values(PodSecurityLevel)),
  loadGeneratorQps: fc.integer({ min: 1, max: 1000 }),
}, { requiredKeys: [] }).chain((p) => weights.map((w) => ({
  ...p,
  // gatewayapi:v1 is refused on Linkerd unless the mesh reports route generations.
  routeStatusReportsGeneration: true,
  // Weights belong to the weighted canary only; A/B testing needs request matching, which SMI lacks.
  ...(p.strategy === undefined || p.strategy === StrategyKind.CANARY ? w : {}),
  ...(p.strategy === StrategyKind.AB_TESTING && p.provider === CanaryProvider.LINKERD ? { provider: CanaryProvider.GATEWAY_API_V1BETA1 } : {}),
})));

describe('any valid props synthesize schema-valid objects (fast-check)', () => {
  test('schema-valid, restricted pods, Flagger invariants hold', () => {
    fc.assert(fc.property(props, (p) => {
      const app = Testing.app();
      new CanaryDemo(app, p);
      const objects = synthApp(app);
      expect(objects.flatMap(schemaErrors)).toEqual([]);
      for (const { name, spec } of podTemplates(objects)) expect([name, restrictedViolations(spec)]).toEqual([name, []]);

      const appName = p.appName ?? 'api';
      const ns = p.namespace ?? 'testapi';
      const api = only(objects, 'Deployment', appName);
      expect(api.spec.selector.matchLabels).toEqual({ app: appName });
      expect(find(objects, 'Service', appName)).toHaveLength(0);
      const canary = only(objects, 'Canary', appName);
      expect(canary.metadata.namespace).toBe(ns);
      const gatewayApi = canary.spec.provider.startsWith('gatewayapi');
      expect(canary.spec.service.gatewayRefs === undefined).toBe(!gatewayApi);
      if (gatewayApi) expect(canary.spec.service.gatewayRefs[0]).toMatchObject({ name: appName, namespace: ns, kind: 'Service', group: 'core' });
      expect(only(objects, 'Namespace', ns).metadata).not.toHaveProperty('namespace');
      // Flagger tells strategies apart by these fields (Canary.DeploymentStrategy()).
      const { iterations, match, stepWeight, stepWeights } = canary.spec.analysis;
      const kind = p.strategy ?? StrategyKind.CANARY;
      expect([kind, iterations !== undefined, match !== undefined, stepWeight !== undefined || stepWeights !== undefined]).toEqual([
        kind, kind !== StrategyKind.CANARY, kind === StrategyKind.AB_TESTING, kind === StrategyKind.CANARY,
      ]);
    }), { numRuns: 50 });
  });
});
