import { analysisOf, appName, haltName, objectsFor, parseSizes, plan } from '../../e2e/load/load';
import { DEFAULT_SETTINGS } from '../../e2e/rehearse/app';

describe('load plan', () => {
  test('odd services get the good 2.0, even ones the 404 release 3.0', () => {
    expect(plan(3)).toEqual([
      { app: 'svc-01', release: '2.0', expect: 'succeeded' },
      { app: 'svc-02', release: '3.0', expect: 'failed' },
      { app: 'svc-03', release: '2.0', expect: 'succeeded' },
    ]);
    expect(appName(19)).toBe('svc-20');
  });

  test('sizes: one or a list, within 1..60', () => {
    expect(parseSizes('20')).toEqual([20]);
    expect(parseSizes('1, 5,20')).toEqual([1, 5, 20]);
    expect(() => parseSizes('0')).toThrow(/--services/);
    expect(() => parseSizes('five')).toThrow(/--services/);
  });

  test('each app has its own Deployment, Canary and load generator; shared objects once', () => {
    const objects = objectsFor([{ app: 'svc-01', release: '1.0' }, { app: 'svc-02', release: '1.0' }], DEFAULT_SETTINGS);
    const names = (kind: string) => objects.filter((o) => o.kind === kind).map((o) => o.metadata.name).sort();
    expect(names('Canary')).toEqual(['svc-01', 'svc-02']);
    expect(names('Deployment')).toEqual(['flagger-loadtester', 'svc-01', 'svc-01-load-generator', 'svc-02', 'svc-02-load-generator']);
    expect(names('Namespace')).toEqual(['testapi']);
    const keys = objects.map((o) => `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`);
    expect(new Set(keys).size).toBe(keys.length);
  });
});

describe('Flagger log', () => {
  test('halts name the failed check', () => {
    expect(haltName('Halt svc-02.testapi advancement 4xx-percentage 100.00 > 1')).toBe('4xx-percentage');
    expect(haltName('Halt advancement no values found for custom metric: success-rate: please check the metric template')).toBe('no-values:success-rate');
    expect(haltName('Halt svc-02.testapi advancement waiting for promotion approval confirm')).toBeUndefined();
    expect(haltName('Advance svc-01.testapi canary weight 10')).toBeUndefined();
  });

  test('one canary\'s halts, rollback and step spacing', () => {
    const at = (s: number, msg: string, canary = 'svc-02.testapi') => ({ ts: s * 1000, msg, canary });
    const lines = [
      at(0, 'Starting canary analysis for svc-02.testapi'),
      at(0.1, 'Advance svc-02.testapi canary weight 10'),
      at(10, 'Halt svc-02.testapi advancement 4xx-percentage 100.00 > 1'),
      at(20, 'Halt svc-02.testapi advancement 4xx-percentage 100.00 > 1'),
      at(30, 'Rolling back svc-02.testapi failed checks threshold reached 2'),
      at(12, 'Advance svc-01.testapi canary weight 10', 'svc-01.testapi'),
    ].sort((a, b) => a.ts - b.ts);
    const a = analysisOf(lines, 'svc-02');
    expect(a.halts).toEqual(['4xx-percentage', '4xx-percentage']);
    expect(a.rolledBack).toBe(true);
    expect(a.stepSpacingS).toBeCloseTo(10, 0);
    expect(analysisOf(lines, 'svc-01')).toEqual({ halts: [], rolledBack: false, stepSpacingS: undefined });
  });
});
