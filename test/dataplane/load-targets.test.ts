import { loadTargets } from '../../e2e/dataplane/load-targets';

describe('loadTargets', () => {
  test('one target per URL, the namespace defaulting to the emulator\'s', () => {
    expect(loadTargets(['http://svc-01.testapi:3000/', 'http://svc-02:3000/x', 'http://svc-01.testapi:3000/'], 'demo')).toEqual([
      { url: 'http://svc-01.testapi:3000/', name: 'svc-01', namespace: 'testapi', port: 3000, path: '/' },
      { url: 'http://svc-02:3000/x', name: 'svc-02', namespace: 'demo', port: 3000, path: '/x' },
    ]);
  });

  test('port 80 without a port; none without --load', () => {
    expect(loadTargets(['http://api.testapi/'], 'testapi')[0].port).toBe(80);
    expect(loadTargets([], 'testapi')).toEqual([]);
  });

  test('refuses what is no Service URL', () => {
    expect(() => loadTargets(['https://api.testapi/'], 'testapi')).toThrow(/http:\/\//);
    expect(() => loadTargets(['http://api.testapi.svc/'], 'testapi')).toThrow(/name\.namespace/);
  });
});
