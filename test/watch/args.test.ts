import { parseCli, UsageError } from '../../watch/cli';

describe('argument parsing', () => {
  test('defaults', () => {
    expect(parseCli(['api'])).toEqual({
      name: 'api', namespace: undefined, expect: 'succeeded', timeoutMs: undefined, includeRunning: false,
      since: undefined, current: false, kubeconfig: undefined, context: undefined, output: 'text', noColor: false,
    });
  });

  test('every option', () => {
    const now = Date.parse('2026-01-02T15:04:05Z');
    expect(parseCli(['api', '-n', 'testapi', '--expect', 'any', '--timeout', '1h30m', '--include-running', '--current',
      '--kubeconfig', '/k', '--context', 'c', '-o', 'json', '--no-color', '--since', '2m'], now)).toEqual({
      name: 'api', namespace: 'testapi', expect: 'any', timeoutMs: 5_400_000, includeRunning: true, since: now - 120_000,
      current: true, kubeconfig: '/k', context: 'c', output: 'json', noColor: true,
    });
    expect(parseCli(['api', '--since', '2026-01-02T15:00:00Z'])).toMatchObject({ since: Date.parse('2026-01-02T15:00:00Z') });
    expect(parseCli(['-h'])).toBe('help');
  });

  test.each([
    [[], /missing the Canary name/],
    [['a', 'b'], /expected one Canary name, got a b/],
    [['api', '--expect', 'promoted'], /--expect must be one of succeeded, failed, initialized, any/],
    [['api', '-o', 'yaml'], /--output must be text or json/],
    [['api', '--timeout', 'soon'], /--timeout: invalid duration "soon"/],
    [['api', '--timeout', '0'], /--timeout must be positive/],
    [['api', '--since', 'yesterday'], /--since must be a time/],
    [['api', '--bogus'], /Unknown option '--bogus'/],
  ])('%p is a usage error', (argv, message) => {
    expect(() => parseCli(argv as string[])).toThrow(UsageError);
    expect(() => parseCli(argv as string[])).toThrow(message);
  });
});
