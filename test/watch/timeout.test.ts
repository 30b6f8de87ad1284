import { deriveTimeout, formatDuration, parseDuration } from '../../watch/timeout';

describe('parseDuration is Go\'s time.ParseDuration', () => {
  test.each([
    ['0', 0], ['90s', 90_000], ['10m', 600_000], ['1h30m', 5_400_000], ['1m30s', 90_000], ['500ms', 500], ['2h', 7_200_000],
    ['1.5m', 90_000], ['.5s', 500], ['1.s', 1000], ['+2s', 2000], ['-1m', -60_000], ['1500us', 1.5], ['1\u00b5s', 0.001],
    ['1h2m3s4ms', 3_723_004], ['0s', 0], ['3ns', 3e-6],
  ])('%s is %d ms', (text, ms) => {
    expect(parseDuration(text)).toBeCloseTo(ms, 9);
  });

  test.each([
    ['', /^invalid duration ""$/], ['abc', /^invalid duration "abc"$/], ['90', /^missing unit in duration "90"$/],
    ['1.5', /^missing unit in duration "1.5"$/], ['1m30', /^missing unit in duration "1m30"$/], ['5d', /^unknown unit "d" in duration "5d"$/],
    ['10 m', /^unknown unit " m" in duration "10 m"$/], ['m', /^invalid duration "m"$/], ['.s', /^invalid duration ".s"$/], ['-', /^invalid duration "-"$/],
  ])('rejects %p with Go\'s message', (text, message) => {
    expect(() => parseDuration(text)).toThrow(message);
  });
});

test('formatDuration is Go\'s Duration.String() to the millisecond', () => {
  expect(formatDuration(0)).toBe('0s');
  expect(formatDuration(300)).toBe('300ms');
  expect(formatDuration(1500)).toBe('1.5s');
  expect(formatDuration(59_400)).toBe('59.4s');
  expect(formatDuration(90_000)).toBe('1m30s');
  expect(formatDuration(3_600_000)).toBe('1h0m0s');
  expect(formatDuration(-2000)).toBe('-2s');
});

describe('deriveTimeout', () => {
  test('the seed demo: 1m interval, 5 steps of 10 to 50, threshold 5, default deadline', () => {
    const t = deriveTimeout({ spec: { analysis: { interval: '1m', threshold: 5, maxWeight: 50, stepWeight: 10 } } });
    // (5 steps + 5 checks + 5 extra ticks) x 60 s + 600 s deadline = 1500 s; x1.2 + 30 s = 1830 s.
    expect(t.ms).toBe(1_830_000);
    expect(t.explanation).toMatch(/15 intervals of 1m0s \(5 steps, threshold 5\)/);
  });

  test('short e2e settings shrink it', () => {
    const t = deriveTimeout({
      spec: { progressDeadlineSeconds: 60, analysis: { interval: '10s', threshold: 2, maxWeight: 50, stepWeight: 10 } },
    });
    expect(t.ms).toBe(Math.ceil((12 * 10_000 + 60_000) * 1.2 + 30_000));
  });

  test('stepWeights, iterations and promotion steps count', () => {
    const base = { interval: '10s', threshold: 1 };
    const weights = deriveTimeout({ spec: { progressDeadlineSeconds: 0, analysis: { ...base, stepWeights: [1, 5, 25, 50] } } });
    expect(weights.ms).toBe(Math.ceil((4 + 1 + 5) * 10_000 * 1.2 + 30_000));
    const iterations = deriveTimeout({ spec: { progressDeadlineSeconds: 0, analysis: { ...base, iterations: 7 } } });
    expect(iterations.ms).toBe(Math.ceil((7 + 1 + 5) * 10_000 * 1.2 + 30_000));
    const promotion = deriveTimeout({ spec: { progressDeadlineSeconds: 0, analysis: { ...base, stepWeight: 50, maxWeight: 50, stepWeightPromotion: 25 } } });
    expect(promotion.ms).toBe(Math.ceil((1 + 1 + 4 + 5) * 10_000 * 1.2 + 30_000));
  });

  test('Flagger defaults when the analysis is empty or its interval unparsable', () => {
    const empty = deriveTimeout({});
    // interval 60 s, 1 step, threshold 1, 5 extra ticks, deadline 600 s.
    expect(empty.ms).toBe(Math.ceil((7 * 60_000 + 600_000) * 1.2 + 30_000));
    expect(deriveTimeout({ spec: { analysis: { interval: 'soon' } } }).ms).toBe(empty.ms);
  });
});
