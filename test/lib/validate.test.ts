import { Duration } from 'cdk8s';
import { checkHttpUrl, checkImageRepository, checkImageTag, checkPortName, goDuration, serviceProxyName } from '../../lib/validate';

describe('validate helpers', () => {
  test('goDuration renders whole minutes as m and the rest as s (Flagger pattern ^[0-9]+(m|s))', () => {
    expect([Duration.seconds(1), Duration.seconds(59), Duration.seconds(60), Duration.seconds(90), Duration.hours(2)]
      .map((d) => goDuration('x', 'interval', d))).toEqual(['1s', '59s', '1m', '90s', '120m']);
    expect(() => goDuration('x', 'interval', Duration.seconds(5), 10)).toThrow('x: interval (5000ms) must be a whole number of seconds, at least 10s');
  });

  test.each(['cyrilbkr/testapp', 'ghcr.io/fluxcd/flagger-loadtester', 'localhost:5000/team/testapi', 'registry.local:5000/a_b/c-d', 'busybox'])(
    'image repository %s is accepted', (repo) => expect(() => checkImageRepository('x', 'image', repo)).not.toThrow());

  test.each(['Cyrilbkr/testapp', 'a/b:1.0', 'a/b@sha256:00', '', 'a//b', '-a/b'])(
    'image repository %j is rejected', (repo) => expect(() => checkImageRepository('x', 'image', repo)).toThrow(/must be an image repository/));

  test('image tags', () => {
    for (const tag of ['1.0', 'v2.0.1-rc.1', 'latest', '3']) expect(() => checkImageTag('x', 'version', tag)).not.toThrow();
    for (const tag of ['.1', '-a', 'a b', 'x'.repeat(129)]) expect(() => checkImageTag('x', 'version', tag)).toThrow(/must be an image tag/);
  });

  test('port names follow IANA service names', () => {
    for (const name of ['http', 'web-8080', 'h2c']) expect(() => checkPortName('x', 'portName', name)).not.toThrow();
    for (const name of ['8080', 'HTTP', 'a--b', 'sixteen-chars-xx', '-http']) expect(() => checkPortName('x', 'portName', name)).toThrow(/IANA service name/);
  });

  test('http URLs', () => {
    for (const url of ['http://flagger-loadtester.testapi/', 'https://x:8443/gate/check', 'http://127.0.0.1:9090']) {
      expect(() => checkHttpUrl('x', 'url', url)).not.toThrow();
    }
    for (const url of ['flagger-loadtester/', 'ftp://x/', 'http://', 'mailto:a@b']) expect(() => checkHttpUrl('x', 'url', url)).toThrow(/absolute http/);
  });
});

describe('serviceProxyName', () => {
  test.each([
    ['http://prometheus.linkerd-viz:9090', { namespace: 'linkerd-viz', name: 'http:prometheus:9090' }],
    ['http://prometheus.linkerd-viz', { namespace: 'linkerd-viz', name: 'http:prometheus:80' }],
    ['https://thanos.monitoring', { namespace: 'monitoring', name: 'https:thanos:443' }],
    ['http://prometheus.linkerd-viz.svc:9090/', { namespace: 'linkerd-viz', name: 'http:prometheus:9090' }],
    ['http://prometheus.linkerd-viz.svc.cluster.local:9090', { namespace: 'linkerd-viz', name: 'http:prometheus:9090' }],
    ['http://a-b.c-d:1', { namespace: 'c-d', name: 'http:a-b:1' }],
  ])('%s is %p', (address, expected) => {
    expect(serviceProxyName(address)).toEqual(expected);
  });

  test.each([
    'http://prometheus:9090', 'http://127.0.0.1:9090', 'ftp://p.ns', 'http://p.ns/prom', 'http://p.ns.cluster:9090', 'http://-p.ns',
    'http://p-.ns', 'http://P.ns', 'p.ns:9090', 'http://p.ns:90a', ' http://p.ns', 'http://p.ns.svc.', 'xhttp://p.ns',
  ])('%p is not a Service URL', (address) => {
    expect(serviceProxyName(address)).toBeUndefined();
  });
});
