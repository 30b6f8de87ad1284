/**
 * Durations and the default timeout. Flagger's `analysis.interval` is a Go duration
 * ("1m", "30s", "1m30s"), and --timeout takes the same format (or bare seconds).
 */
import { CanaryObject, configuredMaxWeight } from './verdict';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses "90", "90s", "1m30s", "500ms", "1h" into milliseconds; throws on anything else. */
export function parseDuration(text: string): number {
  const value = text.trim();
  if (/^\d+(\.\d+)?$/.test(value)) return Math.round(Number(value) * 1000);
  const parts = [...value.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== value) {
    throw new Error(`invalid duration "${text}": use a number of seconds or a Go duration such as 90s, 10m, 1h30m`);
  }
  return Math.round(parts.reduce((sum, p) => sum + Number(p[1]) * UNIT_MS[p[2]], 0));
}

export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  return (h ? `${h}h` : '') + (h || m ? `${m}m` : '') + `${s}s`;
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
