import { Canary, LoadGenerator } from '../../lib';
import { restrictedViolations } from '../schema/pod-security';
import { only, synthWith } from '../schema/synth';
import { expectSchemaValid } from '../schema/validate';

describe('LoadGenerator', () => {
  const objects = synthWith((c) => {
    const canary = new Canary(c, 'canary', { targetName: 'api', port: 3000 });
    new LoadGenerator(c, 'gen', { canary });
  });
  const gen = only(objects, 'Deployment', 'api-load-generator');

  test('10 QPS, one worker, on the apex Service from inside the mesh', () => {
    expectSchemaValid(objects);
    const c = gen.spec.template.spec.containers[0];
    expect(c.command).toEqual(['sh', '-c']);
    expect(c.args).toEqual(['while true; do hey -z 1h -q 10 -c 1 http://api.testapi:3000/ > /dev/null; done']);
    expect(gen.spec.template.metadata.annotations['linkerd.io/inject']).toBe('enabled');
    expect(restrictedViolations(gen.spec.template.spec)).toEqual([]);
  });

  test('CPU, memory and local disk requested and limited', () => {
    expect(gen.spec.template.spec.containers[0].resources).toEqual({
      requests: { 'cpu': '10m', 'memory': '16Mi', 'ephemeral-storage': '16Mi' },
      limits: { 'cpu': '200m', 'memory': '64Mi', 'ephemeral-storage': '256Mi' },
    });
  });

  test('qps, path and name are configurable', () => {
    const objs = synthWith((c) => {
      const canary = new Canary(c, 'canary', { targetName: 'web', port: 80, namespace: 'shop' });
      const g = new LoadGenerator(c, 'gen', { canary, qps: 2.5, path: '/api', name: 'traffic' });
      expect(g.targetUrl).toBe('http://web.shop:80/api');
    });
    expect(only(objs, 'Deployment', 'traffic').spec.template.spec.containers[0].args[0]).toContain('hey -z 1h -q 2.5 -c 1 http://web.shop:80/api');
  });
});
