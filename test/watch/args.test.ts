import { parseCli, parseRequestTimeout, tokenize, UsageError } from '../../watch/args';

describe('argument parsing', () => {
  test('a bare Canary name is the watch command, with its defaults', () => {
    expect(parseCli(['api'])).toEqual({
      command: 'watch', name: 'api', namespace: undefined, expect: 'succeeded', timeoutMs: undefined, includeRunning: false,
      since: undefined, current: false, kubeconfig: undefined, context: undefined, output: 'text', noColor: false,
      requestTimeoutMs: undefined, image: undefined, metrics: false, out: undefined, title: undefined,
    });
    expect(parseCli(['watch', 'api'])).toEqual(parseCli(['api']));
  });

  test('every watch flag, in both spellings', () => {
    const now = Date.parse('2026-01-02T15:04:05Z');
    expect(parseCli(['watch', 'api', '-n', 'testapi', '--expect', 'any', '--timeout', '1h30m', '--include-running', '--current',
      '--kubeconfig', '/k', '--context=c', '-ojson', '--no-color', '--since', '2m', '--request-timeout', '5s',
      '--image', 'repo/api:2.0', '--metrics'], now)).toEqual({
      command: 'watch', name: 'api', namespace: 'testapi', expect: 'any', timeoutMs: 5_400_000, includeRunning: true,
      since: now - 120_000, current: true, kubeconfig: '/k', context: 'c', output: 'json', noColor: true,
      requestTimeoutMs: 5000, image: 'repo/api:2.0', metrics: true, out: undefined, title: undefined,
    });
    expect(parseCli(['api', '--since', '2026-01-02T15:00:00Z'])).toMatchObject({ since: Date.parse('2026-01-02T15:00:00Z') });
  });

  test('the other commands', () => {
    expect(parseCli(['status', 'api', '-n', 'x', '-o', 'json'])).toMatchObject({ command: 'status', name: 'api', namespace: 'x', output: 'json' });
    expect(parseCli(['get', 'api', '-w', '--timeout', '30s'])).toMatchObject({ command: 'get', name: 'api', watch: true, timeoutMs: 30_000 });
    expect(parseCli(['get', 'api'])).toMatchObject({ command: 'get', watch: false, timeoutMs: 0 });
    expect(parseCli(['promote', 'api'])).toMatchObject({ command: 'promote', name: 'api', gate: undefined });
    expect(parseCli(['abort', 'api', '--gate', 'rb'])).toMatchObject({ command: 'abort', gate: 'rb' });
    expect(parseCli(['report', 'api', '--out', 'r.html'])).toMatchObject({ command: 'report', name: 'api', out: 'r.html', expect: 'succeeded' });
    expect(parseCli(['report', '--from', 'rec.ndjson', '--title', 'T'])).toEqual({ command: 'report-file', from: 'rec.ndjson', out: undefined, title: 'T' });
    // A Canary named like a command is reached after the command.
    expect(parseCli(['watch', 'status'])).toMatchObject({ command: 'watch', name: 'status' });
    expect(parseCli(['--', '-n'])).toMatchObject({ command: 'watch', name: '-n' });
  });

  test('help and version', () => {
    expect(parseCli(['-h'])).toEqual({ help: 'top' });
    expect(parseCli(['--help', 'api'])).toEqual({ help: 'top' });
    expect(parseCli(['status', '--help'])).toEqual({ help: 'status' });
    expect(parseCli(['promote', '-h'])).toEqual({ help: 'promote' });
    expect(parseCli(['--version'])).toBe('version');
  });

  test('--timeout takes Go durations as kubectl does: 0 waits forever', () => {
    const t = (text: string) => (parseCli(['api', '--timeout', text]) as { timeoutMs: number }).timeoutMs;
    expect(t('0')).toBe(0);
    expect(t('90s')).toBe(90_000);
    expect(t('1m30s')).toBe(90_000);
    expect(t('300ms')).toBe(300);
    expect(t('1.5h')).toBe(5_400_000);
    expect(t('0s')).toBe(0);
  });

  test('--request-timeout: bare seconds or a Go duration, as client-go ParseTimeout', () => {
    expect(parseRequestTimeout('0')).toBe(0);
    expect(parseRequestTimeout('5')).toBe(5000);
    expect(parseRequestTimeout('2m')).toBe(120_000);
    expect(() => parseRequestTimeout('-1s')).toThrow(/must not be negative/);
    expect(() => parseRequestTimeout('soon')).toThrow(/--request-timeout: invalid duration "soon"/);
  });

  test.each([
    [[], /^missing the Canary name \(usage: canary-watch watch <canary> \[flags\]\)$/],
    [['status'], /^missing the Canary name \(usage: canary-watch status <canary>/],
    [['a', 'b'], /^expected one Canary name, got a b$/],
    [['api', '--expect', 'promoted'], /^--expect must be one of succeeded, failed, initialized, any, not "promoted"$/],
    [['api', '-o', 'yaml'], /^--output must be text or json, not "yaml"$/],
    [['api', '--timeout', 'soon'], /^--timeout: invalid duration "soon"; use a Go duration/],
    [['api', '--timeout', '90'], /^--timeout: missing unit in duration "90"/],
    [['api', '--timeout', '5d'], /^--timeout: unknown unit "d" in duration "5d"/],
    [['api', '--timeout', '-5s'], /^--timeout must not be negative \(got -5s\); 0 waits forever$/],
    [['api', '--timeout', ''], /^--timeout: invalid duration ""/],
    [['api', '--since', 'yesterday'], /^--since must be a time/],
    [['api', '--bogus'], /^unknown flag: --bogus$/],
    [['api', '-x'], /^unknown shorthand flag: 'x' in -x$/],
    [['api', '-n'], /^flag needs an argument: -n$/],
    [['api', '--namespace'], /^flag needs an argument: --namespace$/],
    [['api', '--current=yes'], /^--current takes no value \(got "yes"\)$/],
    [['status', 'api', '--expect', 'any'], /^--expect is not a flag of "status" \(it belongs to watch, report\)$/],
    [['promote', 'api', '-w'], /^-w is not a flag of "promote" \(it belongs to get\)$/],
    [['api', '-n', ''], /^--namespace must not be empty$/],
    [['api', '--image', 'a b'], /^--image must be an image reference/],
    [['report', 'api', '--from', 'x'], /^report --from takes no Canary name \(got api\)$/],
    [['status', 'api', '--metrics-server', 'prometheus:9090'], /^--metrics-server must be the http\(s\) URL of a Service with its namespace, such as http:\/\/prometheus\.linkerd-viz:9090, not "prometheus:9090"$/],
    [['status', 'api', '--metrics-server', 'http://prometheus:9090'], /^--metrics-server must be the http\(s\) URL of a Service with its namespace/],
    [['status', 'api', '--metrics-server', 'http://10.0.0.9:9090'], /^--metrics-server must be the http\(s\) URL of a Service with its namespace/],
    [['status', 'api', '--metrics-server', 'http://a b.mon'], /^--metrics-server must be the http\(s\) URL of a Service with its namespace/],
    // The rule of the service proxy's addresses (service-url.ts): a third label must be svc.
    [['status', 'api', '--metrics-server', 'http://prometheus.monitoring.example:9090'], /^--metrics-server must be the http\(s\) URL of a Service with its namespace/],
    [['api', '--metrics-server', 'http://p.mon:9090'], /^--metrics-server is used with --metrics \(watch reads no metric values without it\)$/],
    [['promote', 'api', '--metrics-server', 'http://p.mon:9090'], /^--metrics-server is not a flag of "promote" \(it belongs to watch, report, status, get\)$/],
  ])('%p is a usage error', (argv, message) => {
    expect(() => parseCli(argv as string[])).toThrow(UsageError);
    expect(() => parseCli(argv as string[])).toThrow(message);
  });

  test('--metrics-server reaches status, get, report and watch --metrics', () => {
    const url = 'http://prometheus.linkerd-viz:9090';
    for (const argv of [['status', 'api'], ['get', 'api'], ['report', 'api'], ['api', '--metrics']]) {
      expect(parseCli([...argv, '--metrics-server', url])).toMatchObject({ metricsServer: url });
    }
    expect(parseCli(['status', 'api'])).toMatchObject({ metricsServer: undefined });
  });

  test('the last occurrence of a flag wins, as in kubectl', () => {
    expect(tokenize(['api', '-n', 'a', '--namespace=b']).values.get('namespace')).toBe('b');
  });
});
