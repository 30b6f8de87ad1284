/**
 * Durations and the default timeout. Flagger's `analysis.interval` is a Go duration
 * ("1m", "30s", "1m30s"), and --timeout takes exactly what kubectl's --timeout takes:
 * Go's time.ParseDuration (go1.26 src/time/format.go), where a bare number is refused
 * ("missing unit") except "0".
 */
import { CanaryObject, configuredMaxWeight } from './verdict';

/** Milliseconds per unit, as Go's unitMap (ns, us, µs (U+00B5), μs (U+03BC), ms, s, m, h). */
const UNIT_MS: Record<string, number> = {
  'ns': 1e-6, 'us': 1e-3, '\u00b5s': 1e-3, '\u03bcs': 1e-3, 'ms': 1, 's': 1000, 'm': 60_000, 'h': 3_600_000,
};

/** Go's time.ParseDuration, in milliseconds (may be fractional or negative); throws with Go's own message. */
export function parseDuration(text: string): number {
  const quoted = JSON.stringify(text);
  let rest = text;
  let sign = 1;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    sign = rest.startsWith('-') ? -1 : 1;
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  if (rest === '') throw new Error(`invalid duration ${quoted}`);
  let total = 0;
  while (rest !== '') {
    const number = /^(\d*)(?:\.(\d*))?/.exec(rest)!;
    if (number[1] === '' && (number[2] ?? '') === '') throw new Error(`invalid duration ${quoted}`);
    rest = rest.slice(number[0].length);
    const unit = /^[^\d.]*/.exec(rest)![0];
    if (unit === '') throw new Error(`missing unit in duration ${quoted}`);
    if (!(unit in UNIT_MS)) throw new Error(`unknown unit ${JSON.stringify(unit)} in duration ${quoted}`);
    rest = rest.slice(unit.length);
    total += Number(`${number[1] || '0'}.${number[2] || '0'}`) * UNIT_MS[unit];
  }
  return sign * total;
}

/** Go's Duration.String() to the millisecond: 0s, 300ms, 1.5s, 1m30s, 1h0m0s. */
export function formatDuration(ms: number): string {
  const rounded = Math.round(ms);
  if (rounded < 0) return '-' + formatDuration(-rounded);
  if (rounded === 0) return '0s';
  if (rounded < 1000) return `${rounded}ms`;
  const h = Math.floor(rounded / 3_600_000);
  const m = Math.floor((rounded % 3_600_000) / 60_000);
  const s = (rounded % 60_000) / 1000;
  return (h ? `${h}h` : '') + (h || m ? `${m}m` : '') + `${Number(s.toFixed(3))}s`;
}

/** Flagger's defaults when a field is unset. */
const DEFAULT_INTERVAL_MS = 60_000;
const DEFAULT_PROGRESS_DEADLINE_S = 600;
/** Ticks outside the weight steps: detection, analysis start, promotion trigger, Promoting, Finalising. */
const EXTRA_TICKS = 5;
const MARGIN_FACTOR = 1.2;
const MARGIN_MS = 30_000;

export interface DerivedTimeout {
  readonly ms: number;
  readonly explanation: string;
}

/**
 * A timeout long enough for the slowest path Flagger can take on this Canary:
 * every weight step, then every tolerated failed check, each one interval apart,
 * plus the extra ticks of detection and promotion, plus one progress deadline
 * (pods not becoming ready), all with a margin.
 */
export function deriveTimeout(canary: CanaryObject): DerivedTimeout {
  const analysis = canary.spec?.analysis ?? {};
  let intervalMs = DEFAULT_INTERVAL_MS;
  try {
    if (analysis.interval) intervalMs = parseDuration(analysis.interval);
  } catch {
    // Flagger would reject it too; keep its default rather than fail the watch.
  }
  const steps = stepCount(canary);
  const threshold = Math.max(analysis.threshold ?? 1, 1);
  const promotionSteps = analysis.stepWeightPromotion ? Math.ceil(100 / analysis.stepWeightPromotion) : 0;
  const ticks = steps + threshold + promotionSteps + EXTRA_TICKS;
  const deadlineMs = (canary.spec?.progressDeadlineSeconds ?? DEFAULT_PROGRESS_DEADLINE_S) * 1000;
  const ms = Math.ceil((ticks * intervalMs + deadlineMs) * MARGIN_FACTOR + MARGIN_MS);
  return {
    ms,
    explanation: `${ticks} intervals of ${formatDuration(intervalMs)} (${steps} steps, threshold ${threshold}) `
      + `+ progress deadline ${formatDuration(deadlineMs)}, x${MARGIN_FACTOR} + ${formatDuration(MARGIN_MS)}`,
  };
}

function stepCount(canary: CanaryObject): number {
  const analysis = canary.spec?.analysis ?? {};
  if (canary.spec?.skipAnalysis) return 0;
  if ((analysis.iterations ?? 0) > 0) return analysis.iterations!;
  if ((analysis.stepWeights ?? []).length > 0) return analysis.stepWeights!.length;
  const step = analysis.stepWeight ?? 0;
  return step > 0 ? Math.ceil(configuredMaxWeight(analysis) / step) : 1;
}
