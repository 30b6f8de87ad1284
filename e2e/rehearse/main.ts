#!/usr/bin/env node
/**
 * `npm run rehearse`: the demo's story against the REAL control plane and Flagger,
 * with the data-plane emulator standing in for kubelet containers and Linkerd's
 * proxies. Brings the stack up, runs 1.0 (Initialized), 2.0 (Succeeded),
 * 3.0 (Failed) with short intervals, prints each timeline, tears down always.
 *
 *   npm run rehearse -- [--strategy canary|blue-green|ab-testing|session-affinity] [--all] [--keep] [analysis settings]
 *     --strategy  the delivery strategy rehearsed (default canary: the demo's weighted story)
 *     --all   also the test:e2e scenarios (5xx rollback, stepWeights, gate, control, SMI)
 *     --keep  leave the stack up afterwards (npm run cluster:down stops it)
 *     --services N  N canaried services rolled out at once instead (N or 1,5,20: e2e/load/load.ts)
 *   Analysis settings (defaults: the short-interval DEFAULT_SETTINGS of app.ts):
 *     --interval 10s  --threshold 2  --step-weight 10  --max-weight 50
 *     --step-weights 5,15,35  --metric-interval 30s  --iterations 4
 *     --success-rate-min 99  --client-error-max 1  --latency-max-ms 500
 * Exit 0 when every outcome is the expected one, 1 otherwise.
 */
import { parseArgs } from 'node:util';
import { Duration } from 'cdk8s';
import { parseDuration } from '../../watch/timeout';
import { parseSizes, runLoad } from '../load/load';
import { DEFAULT_SETTINGS, RehearsalSettings, rehearsalProps, synthDemo } from './app';
import { runScenario, ScenarioResult } from './scenario';
import { BY_STRATEGY, MORE } from './scenarios';
import { Timeline } from './timeline';
import { clusterDown, clusterUp, resetNamespace, stackInfo, startRehearsalParts } from './stack';

/**
 * One row per release: the outcome, the failed checks named in Flagger's events
 * (for a rollback, the expected reason), and the requests that reached the
 * canary's pods by load source (hey; the generator's share of its requests).
 */
function summary(results: ScenarioResult[]): string {
  const header = `  ${'    '} ${'scenario'.padEnd(28)} ${'time'.padStart(7)}  ${'release'.padEnd(16)} ${'reason (failed checks)'.padEnd(44)} load to the canary`;
  const rows = results.flatMap((r) => {
    const steps = r.steps?.length ? r.steps : [undefined];
    return steps.map((s, i) => [
      `  ${i === 0 ? (r.ok ? 'ok  ' : 'FAIL') : '    '}`,
      (i === 0 ? r.name : '').padEnd(28),
      (i === 0 ? `${r.seconds.toFixed(1)}s` : '').padStart(7),
      ` ${(s ? `${s.release} ${s.expect}` : '').padEnd(16)}`,
      (s?.reason ?? '').padEnd(44),
      s?.load ?? '',
    ].join(' ').trimEnd());
  });
  return ['scenario results:', header, ...rows].join('\n');
}

const SETTING_FLAGS = {
  'interval': { type: 'string' }, 'threshold': { type: 'string' }, 'step-weight': { type: 'string' },
  'max-weight': { type: 'string' }, 'step-weights': { type: 'string' }, 'metric-interval': { type: 'string' },
  'success-rate-min': { type: 'string' }, 'client-error-max': { type: 'string' }, 'latency-max-ms': { type: 'string' },
  'iterations': { type: 'string' },
} as const;

function number(flag: string, text: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n)) throw new Error(`--${flag} (${text}) must be a number`);
  return n;
}

function duration(flag: string, text: string): Duration {
  try {
    return Duration.millis(parseDuration(text));
  } catch (err) {
    throw new Error(`--${flag}: ${(err as Error).message}`, { cause: err });
  }
}

/** The user's analysis settings over the defaults; the chart validates the values. */
function settingsFrom(v: Partial<Record<keyof typeof SETTING_FLAGS, string>>): RehearsalSettings {
  const opt = <T>(flag: keyof typeof SETTING_FLAGS, parse: (f: string, t: string) => T): T | undefined =>
    v[flag] === undefined ? undefined : parse(flag, v[flag]!);
  const defined = <T extends object>(o: T) => Object.fromEntries(Object.entries(o).filter(([, x]) => x !== undefined));
  return {
    ...DEFAULT_SETTINGS,
    ...defined({
      interval: opt('interval', duration),
      threshold: opt('threshold', number),
      stepWeight: opt('step-weight', number),
      maxWeight: opt('max-weight', number),
      stepWeights: opt('step-weights', (f, t) => t.split(',').map((x) => number(f, x))),
      metricInterval: opt('metric-interval', duration),
      successRateMin: opt('success-rate-min', number),
      clientErrorMax: opt('client-error-max', number),
      latencyMaxMs: opt('latency-max-ms', number),
      iterations: opt('iterations', number),
    }),
  };
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      all: { type: 'boolean', default: false }, keep: { type: 'boolean', default: false },
      strategy: { type: 'string', default: 'canary' }, services: { type: 'string' }, ...SETTING_FLAGS,
    },
  });
  const strategyScenarios = BY_STRATEGY[values.strategy];
  if (!Object.hasOwn(BY_STRATEGY, values.strategy)) {
    throw new Error(`--strategy (${values.strategy}) must be one of ${Object.keys(BY_STRATEGY).join(', ')}`);
  }
  const scenarios = values.all ? [...strategyScenarios, ...(values.strategy === 'canary' ? MORE : [])] : strategyScenarios;
  const settings = settingsFrom(values);
  // Bad settings fail here, with the chart's message, before any process starts.
  synthDemo({ version: '1.0' }, rehearsalProps('demo', '1.0', settings));
  // Many services at once (e2e/load): `--services 20`, or `--services 1,5,20` for the growth table.
  if (values.services !== undefined) return runLoad(parseSizes(values.services), settings, values.keep);
  const started = Date.now();
  const results: ScenarioResult[] = [];
  try {
    clusterUp();
    const stack = stackInfo();
    resetNamespace(stack);
    await startRehearsalParts(stack);
    console.log(`[rehearse] stack, data plane, load tester and Prometheus ready after ${((Date.now() - started) / 1000).toFixed(0)}s`);
    for (const scenario of scenarios) {
      const result = await runScenario(stack, scenario, settings);
      results.push(result);
      console.log(`\n[rehearse] ${result.ok ? 'ok' : 'FAILED'}: ${scenario.name} (${result.seconds}s)\n${result.timeline.render()}`);
      for (const f of result.failures) console.log(`  ✗ ${f}`);
      // Scenarios build on each other: stop at the first unexpected outcome.
      if (!result.ok) break;
    }
  } catch (err) {
    console.error(`[rehearse] error: ${(err as Error).message}`);
    results.push({ name: 'setup', ok: false, seconds: 0, failures: [(err as Error).message], timeline: new Timeline() });
  } finally {
    if (!values.keep) {
      try {
        clusterDown();
      } catch (err) {
        console.error(`[rehearse] teardown: ${(err as Error).message}`);
      }
    }
  }
  console.log(`\n${summary(results)}\n[rehearse] total ${((Date.now() - started) / 1000).toFixed(0)}s`);
  return results.length === scenarios.length && results.every((r) => r.ok) ? 0 : 1;
}

main().then((code) => process.exit(code), (err: Error) => {
  console.error(`[rehearse] ${err.message}`);
  process.exit(1);
});
