/**
 * `npm run chaos` in `npm run test:e2e`: the fault scenarios (e2e/chaos) on the
 * stack the suites share, one test per scenario, so CI counts them. The run is
 * a child process (e2e/chaos/main.ts --current-stack): it restarts Flagger, the
 * API server and Prometheus with their own command lines, and leaves the
 * namespace empty and no emulator or load tester running, as the rehearsal does.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SCENARIOS } from './chaos/scenarios';

const REPO = path.resolve(__dirname, '..');

interface RunResult {
  readonly scenario: string;
  readonly ok: boolean;
  readonly failures: string[];
  readonly notes: string[];
  readonly timeline: string;
  readonly rows: { readonly ok: boolean; readonly observed: string; readonly expected: string; readonly release: string }[];
}

let runs: RunResult[] = [];
let output = '';

beforeAll(async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chaos-'));
  const results = path.join(dir, 'chaos.json');
  const code = await new Promise<number>((resolve) => {
    const child = spawn(process.execPath, ['--require', require.resolve('tsx/cjs'), 'e2e/chaos/main.ts', '--current-stack', '--results', results],
      { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (d: Buffer) => { output += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { output += d.toString(); });
    child.on('close', (c) => resolve(c ?? -1));
  });
  if (fs.existsSync(results)) runs = JSON.parse(fs.readFileSync(results, 'utf8'));
  fs.rmSync(dir, { recursive: true, force: true });
  // The table and what Flagger did, once, at the end of the run's output.
  const table = output.slice(output.lastIndexOf('\n| scenario'));
  console.log(`chaos run exit ${code}\n${table}`);
}, 60 * 60_000);

describe('chaos: faults mid-analysis on the real Flagger, judged by canary-watch', () => {
  for (const scenario of SCENARIOS) {
    const run = scenario.pending ? test.skip : test;
    run(`${scenario.name}: ${scenario.proves}`, () => {
      const result = runs.find((r) => r.scenario === scenario.name);
      if (!result) throw new Error(`${scenario.name} did not run; the run's last output:\n${output.slice(-3000)}`);
      if (!result.ok) console.log(`${scenario.name}\n${result.timeline}\n${result.notes.join('\n')}`);
      expect(result.failures).toEqual([]);
      expect(result.rows.map((r) => `${r.release}: ${r.observed}`)).toEqual(result.rows.map((r) => `${r.release}: ${r.expected}`));
      expect(result.ok).toBe(true);
    });
  }
});
