import { deriveTimeout, formatDuration, parseDuration } from '../../watch/timeout';

describe('parseDuration', () => {
  test.each([
    ['90', 90_000], ['1.5', 1_500], ['90s', 90_000], ['10m', 600_000], ['1h30m', 5_400_000],
    ['1m30s', 90_000], ['500ms', 500], ['2h', 7_200_000], ['1.5m', 90_000],
  ])('%s is %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  test.each(['', 'abc', '10 m', '5d', '-5s', '1m30', 'm'])('rejects %p', (text) => {
    expect(() => parseDuration(text)).toThrow(/invalid duration/);
  });
});

test('formatDuration', () => {
  expect(formatDuration(0)).toBe('0s');
  expect(formatDuration(59_400)).toBe('59s');
  expect(formatDuration(90_000)).toBe('1m30s');
  expect(formatDuration(3_600_000)).toBe('1h0m0s');
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
