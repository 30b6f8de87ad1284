/**
 * The rehearsal's scenarios in `npm run test:e2e`: the REAL Flagger promotes and
 * rolls back releases on metrics of real requests, served by the data-plane
 * emulator (e2e/dataplane). Scenarios run in order on one Canary (see scenarios.ts).
 * Each rollback is checked for its reason and each analysis for the load that
 * reached the canary (scenario.ts).
 */
import { runScenario } from './scenario';
import { AB_TESTING, BLUE_GREEN, DEMO, MORE, SESSION_AFFINITY } from './scenarios';
import { resetNamespace, stackInfo, startRehearsalParts, StackInfo, stopRehearsalParts } from './stack';

const stack: StackInfo = stackInfo();
const times: string[] = [];

beforeAll(async () => {
  resetNamespace(stack);
  await startRehearsalParts(stack);
}, 240_000);

// Leave the namespace empty and no emulator running for the other suites.
afterAll(() => {
  resetNamespace(stack);
  stopRehearsalParts();
  console.log(`rehearsal scenarios (time, outcome, per release: failed checks in Flagger's events; requests to the canary by source):\n${times.join('\n')}`);
}, 240_000);

describe('rehearsal: the real Flagger on emulated pods and proxies', () => {
  let previousOk = true;
  for (const scenario of [...DEMO, ...MORE, ...BLUE_GREEN, ...AB_TESTING, ...SESSION_AFFINITY]) {
    test(`${scenario.name}: ${scenario.proves}`, async () => {
      // Each scenario builds on the previous one's end state.
      expect(previousOk).toBe(true);
      previousOk = false;
      const result = await runScenario(stack, scenario);
      const steps = (result.steps ?? []).map((st) => `${st.release} ${st.expect}: ${st.reason}; ${st.load}`).join(' | ');
      times.push(`  ${scenario.name.padEnd(28)} ${result.seconds.toFixed(1).padStart(6)}s ${result.ok ? 'ok' : 'FAILED'}  ${steps}`);
      console.log(`${scenario.name} (${result.seconds}s)\n${result.timeline.render()}`);
      expect(result.failures).toEqual([]);
      previousOk = true;
    }, 420_000);
  }
});
