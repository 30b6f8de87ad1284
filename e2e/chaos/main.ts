#!/usr/bin/env node
/**
 * `npm run chaos`: fault scenarios on the real stack (kube-apiserver on kine,
 * kwok, Flagger v1.44.0, its load tester, Prometheus, the data-plane emulator).
 * Each scenario applies a release, injects its fault mid-analysis, and lets
 * canary-watch give the verdict; a table of every verdict ends the run.
 *
 *   npm run chaos -- [--repeat N] [--only name,name] [--keep] [--current-stack] [--results file.json]
 *     --repeat N        run every scenario N times (default 1)
 *     --only a,b        only these scenarios (names as in e2e/chaos/scenarios.ts)
 *     --keep            leave the stack up afterwards (npm run cluster:down stops it)
 *     --current-stack   use the stack that is up (no cluster:up/down); leave its namespace empty
 *     --results FILE    also write the runs as JSON (the jest wrapper reads it)
 * Exit 0 when every verdict, halting reason and check is right, 1 otherwise. The
 * last line is `chaos: N passed, M failed, K pending` (scenario runs).
 */
import * as fs from 'node:fs';
import { parseArgs } from 'node:util';
import { rehearsalProps, synthDemo } from '../rehearse/app';
import { clusterDown, clusterUp, resetNamespace, stackInfo, startRehearsalParts, stopRehearsalParts } from '../rehearse/stack';
import { Timeline } from '../rehearse/timeline';
import { CanaryObserver } from './observer';
import { repeatSummary, table } from './report';
import { ChaosRun, ScenarioRun, stopWatchers } from './runner';
import { CHAOS_SETTINGS, SCENARIOS } from './scenarios';

function log(text: string): void {
  console.log(`[chaos] ${text}`);
}

function printRun(run: ScenarioRun): void {
  console.log(`\n[chaos] ${run.ok ? 'ok' : 'WRONG'}: ${run.scenario}${run.pass > 1 ? ` (pass ${run.pass})` : ''} (${run.seconds}s)`);
  console.log(run.timeline.render());
  for (const n of run.notes) console.log(`  - ${n}`);
  for (const f of run.failures) console.log(`  ✗ ${f}`);
}

function pendingRun(name: string, pass: number, why: string): ScenarioRun {
  return {
    scenario: name, pass, ok: true, seconds: 0, failures: [], notes: [], timeline: new Timeline(), pending: why,
    rows: [{ scenario: name, pass, release: '-', expected: '-', observed: 'pending', reason: why, seconds: 0, falsePromotions: 0, ok: true }],
  };
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      'repeat': { type: 'string', default: '1' }, 'only': { type: 'string' }, 'keep': { type: 'boolean', default: false },
      'current-stack': { type: 'boolean', default: false }, 'results': { type: 'string' },
    },
  });
  const repeat = Number(values.repeat);
  if (!Number.isInteger(repeat) || repeat < 1) throw new Error(`--repeat (${values.repeat}) must be a whole number from 1`);
  const only = values.only?.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = (only ?? []).filter((n) => !SCENARIOS.some((s) => s.name === n));
  if (unknown.length) throw new Error(`--only: no scenario ${unknown.join(', ')} (there are ${SCENARIOS.map((s) => s.name).join(', ')})`);
  const scenarios = SCENARIOS.filter((s) => !only || only.includes(s.name));
  // Bad settings fail here, with the chart's message, before any process starts.
  synthDemo({ version: '1.0' }, rehearsalProps('demo', '1.0', CHAOS_SETTINGS));

  const started = Date.now();
  const runs: ScenarioRun[] = [];
  const ownStack = !values['current-stack'];
  let observer: CanaryObserver | undefined;
  const teardown = () => {
    observer?.stop();
    stopWatchers();
    try {
      if (ownStack && !values.keep) clusterDown();
      else if (!ownStack) {
        resetNamespace(stackInfo());
        stopRehearsalParts();
      }
    } catch (err) {
      console.error(`[chaos] teardown: ${(err as Error).message}`);
    }
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      console.error(`[chaos] ${signal}: tearing down`);
      teardown();
      process.exit(130);
    });
  }
  try {
    if (ownStack) clusterUp();
    const stack = stackInfo();
    resetNamespace(stack);
    await startRehearsalParts(stack);
    observer = new CanaryObserver(stack.kubeconfig);
    observer.start();
    log(`stack, data plane, load tester and Prometheus ready after ${((Date.now() - started) / 1000).toFixed(0)}s; `
      + `interval ${CHAOS_SETTINGS.interval.toSeconds()}s, threshold ${CHAOS_SETTINGS.threshold}, weights ${CHAOS_SETTINGS.stepWeight}..${CHAOS_SETTINGS.maxWeight}`);
    const chaos = new ChaosRun(stack, CHAOS_SETTINGS, observer);
    const init = await chaos.initialize();
    printRun(init);
    if (!init.ok) throw new Error(`the first revision was not initialized: ${init.failures.join('; ')}`);
    passes: for (let pass = 1; pass <= repeat; pass++) {
      for (const scenario of scenarios) {
        if (scenario.pending) {
          runs.push(pendingRun(scenario.name, pass, scenario.pending));
          continue;
        }
        const problems = await chaos.health();
        if (problems.length) {
          // A broken stack would make every later verdict meaningless.
          runs.push({ ...pendingRun(scenario.name, pass, ''), ok: false, pending: undefined, failures: problems,
            rows: [{ scenario: scenario.name, pass, release: '-', expected: scenario.expect, observed: 'not run', reason: problems.join('; '), seconds: 0, falsePromotions: 0, ok: false }] });
          console.error(`[chaos] the stack is not whole before ${scenario.name}: ${problems.join('; ')}; stopping`);
          break passes;
        }
        const run = await chaos.run(scenario, pass);
        runs.push(run);
        printRun(run);
      }
    }
  } catch (err) {
    console.error(`[chaos] error: ${(err as Error).message}`);
    runs.push({ ...pendingRun('setup', 0, ''), ok: false, pending: undefined, failures: [(err as Error).message],
      rows: [{ scenario: 'setup', pass: 0, release: '-', expected: '-', observed: 'error', reason: (err as Error).message.slice(0, 120), seconds: 0, falsePromotions: 0, ok: false }] });
  } finally {
    teardown();
  }

  const totalS = Math.round((Date.now() - started) / 1000);
  console.log(`\n${table(runs.flatMap((r) => r.rows), repeat > 1)}`);
  if (repeat > 1) console.log(`\n${repeatSummary(runs)}`);
  const notes = runs.filter((r) => r.notes.length || r.failures.length);
  if (notes.length) console.log('\nwhat Flagger did, and what went wrong:');
  for (const r of notes) {
    console.log(`- ${r.scenario}${repeat > 1 ? ` (pass ${r.pass})` : ''}:`);
    for (const n of r.notes) console.log(`    ${n}`);
    for (const f of r.failures) console.log(`    ✗ ${f}`);
  }
  if (values.results) {
    fs.writeFileSync(values.results, JSON.stringify(runs.map((r) => ({ ...r, timeline: r.timeline.render() })), null, 2));
  }
  const pending = runs.filter((r) => r.pending).length;
  const failed = runs.filter((r) => !r.ok).length;
  console.log(`\n[chaos] total ${totalS}s`);
  console.log(`chaos: ${runs.length - pending - failed} passed, ${failed} failed, ${pending} pending`);
  return failed === 0 ? 0 : 1;
}

main().then((code) => process.exit(code), (err: Error) => {
  console.error(`[chaos] ${err.message}`);
  console.log('chaos: 0 passed, 1 failed, 0 pending');
  process.exit(1);
});
