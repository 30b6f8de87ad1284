#!/usr/bin/env node
/**
 * `npm run rehearse`: the demo's story against the REAL control plane and Flagger,
 * with the data-plane emulator standing in for kubelet containers and Linkerd's
 * proxies. Brings the stack up, runs 1.0 (Initialized), 2.0 (Succeeded),
 * 3.0 (Failed) with short intervals, prints each timeline, tears down always.
 *
 *   npm run rehearse [-- --all] [-- --keep]
 *     --all   also the test:e2e scenarios (5xx rollback, stepWeights, gate, control)
 *     --keep  leave the stack up afterwards (npm run cluster:down stops it)
 * Exit 0 when every outcome is the expected one, 1 otherwise.
 */
import { parseArgs } from 'node:util';
import { runScenario, ScenarioResult } from './scenario';
import { DEMO, MORE } from './scenarios';
import { Timeline } from './timeline';
import { clusterDown, clusterUp, resetNamespace, stackInfo, startRehearsalParts } from './stack';

function summary(results: ScenarioResult[]): string {
  const rows = results.map((r) => `  ${r.ok ? 'ok  ' : 'FAIL'} ${r.name.padEnd(28)} ${r.seconds.toFixed(1).padStart(6)}s`);
  return ['scenario results:', ...rows].join('\n');
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { all: { type: 'boolean', default: false }, keep: { type: 'boolean', default: false } } });
  const started = Date.now();
  const results: ScenarioResult[] = [];
  try {
    clusterUp();
    const stack = stackInfo();
    resetNamespace(stack);
    await startRehearsalParts(stack);
    console.log(`[rehearse] stack, data plane, load tester and Prometheus ready after ${((Date.now() - started) / 1000).toFixed(0)}s`);
    for (const scenario of values.all ? [...DEMO, ...MORE] : DEMO) {
      const result = await runScenario(stack, scenario);
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
  const expected = values.all ? DEMO.length + MORE.length : DEMO.length;
  return results.length === expected && results.every((r) => r.ok) ? 0 : 1;
}

main().then((code) => process.exit(code), (err: Error) => {
  console.error(`[rehearse] ${err.message}`);
  process.exit(1);
});
