/**
 * canary-watch's commands on the REAL Flagger v1.44.0, run with the token of the
 * ServiceAccount the demo's CanaryWatcherRbac creates (never the admin kubeconfig):
 *
 * - 1.0 is initialized (watch); 2.0, held by the promotion gate in WaitingPromotion,
 *   is shown by `status` and `get` with each check's value, equal to the value Flagger
 *   published for it (its flagger_canary_metric_analysis gauge), then released by
 *   `promote` (watch: succeeded), and the post-rollout webhook closes the gate again;
 * - 1.0 shipped again is healthy, and `abort` rolls it back mid-analysis (watch:
 *   failed; Flagger's event names the manual rollback webhook);
 * - an account without `services/proxy` gets the 403 message naming the verb.
 * The load tester is reached only through the API server's service proxy (the
 * stack's egress proxy maps the pod address to the real load tester on loopback).
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { httpPost, kubectl, LOADTESTER_PORT, REPO, stackInfo, StackInfo } from './rehearse/stack';
import { Timeline } from './rehearse/timeline';
import {
  addEvents, applyObjects, CANARY, canaryEvents, flaggerAnalysisGauge, getJson, NAMESPACE, orderedSteps, sleep, synthFeatureDemo, useRehearsalParts,
} from './features/support';

const stack: StackInfo = stackInfo();
const CLI = path.join(REPO, 'watch/build/cli.js');
const WATCHER = 'canary-watch';
let kubeconfig = '';

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A kubeconfig for the stack's API server that authenticates as a ServiceAccount's token. */
function tokenKubeconfig(account: string): string {
  const config = JSON.parse(kubectl(stack, ['config', 'view', '--raw', '--minify', '-o', 'json']));
  const token = kubectl(stack, ['create', 'token', account, '-n', NAMESPACE, '--duration', '1h']).trim();
  config.users = [{ name: account, user: { token } }];
  config.contexts[0].context.user = account;
  const file = path.join(stack.state, `kubeconfig-${account}.json`);
  fs.writeFileSync(file, JSON.stringify(config));
  return file;
}

function cli(args: string[], config = kubeconfig): Run {
  const r = spawnSync(process.execPath, [CLI, ...args, '-n', NAMESPACE, '--kubeconfig', config, '--no-color'], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs `watch` in the background; its lines go to the timeline. */
function watch(expect: string, timeline: Timeline, timeoutS = 240): Promise<Run> {
  const child = spawn(process.execPath, [CLI, 'watch', CANARY, '-n', NAMESPACE, '--expect', expect, '--timeout', `${timeoutS}s`,
    '--kubeconfig', kubeconfig, '--no-color'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d;
    for (const line of String(d).split('\n').filter(Boolean)) timeline.add('watch', line);
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

const phase = (): string | undefined => getJson(stack, 'canary', CANARY)?.status?.phase;
const flaggerGauge = (): Promise<Record<string, number>> => flaggerAnalysisGauge(stack);
const weight = (): number => getJson(stack, 'canary', CANARY)?.status?.canaryWeight ?? 0;

async function until(what: string, timeoutMs: number, probe: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}`);
    await sleep(1000);
  }
}

function gatedDemo(version: string): any[] {
  return synthFeatureDemo(version, { gates: true });
}

useRehearsalParts(stack);

describe('canary-watch commands under the watcher\'s ServiceAccount', () => {
  const step = orderedSteps();

  step('1.0: the demo ships the watcher\'s account; watch under its token reports the initialization', async () => {
    const timeline = new Timeline();
    applyObjects(stack, gatedDemo('1.0'));
    kubeconfig = tokenKubeconfig(WATCHER);
    const r = await watch('initialized', timeline, 150);
    console.log(timeline.render());
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/watched revision: the pod template of Deployment testapi\/api at the start/);
  }, 200_000);

  step('2.0 waits for its promotion gate: status and get show the values Flagger saw; promote releases it', async () => {
    const timeline = new Timeline();
    applyObjects(stack, gatedDemo('2.0'));
    const verdict = watch('succeeded', timeline);
    await until('WaitingPromotion', 180_000, () => phase() === 'WaitingPromotion');
    // The gate holds: two more intervals (10 s each) and Flagger still waits.
    await sleep(20_000);
    expect(phase()).toBe('WaitingPromotion');

    const status = cli(['status', CANARY, '-o', 'json']);
    expect(status.stderr).toBe('');
    expect(status.code).toBe(2);
    const view = JSON.parse(status.stdout);
    expect(view).toMatchObject({ phase: 'WaitingPromotion', state: 'in-analysis', failedChecks: 0 });
    const checks = Object.fromEntries(view.checks.map((c: { name: string }) => [c.name, c]));
    expect(Object.keys(checks).sort()).toEqual(['4xx-percentage', 'latency-p99', 'success-rate'].sort());
    const gauge = await flaggerGauge();
    timeline.add('test', `status: ${JSON.stringify(view.checks)}; Flagger's gauge: ${JSON.stringify(gauge)}`);
    expect(checks['success-rate']).toMatchObject({ value: 100, min: 99, failing: false });
    expect(checks['4xx-percentage']).toMatchObject({ value: 0, failing: false });
    expect(gauge['success-rate']).toBe(100);
    expect(gauge['4xx-percentage']).toBe(0);
    // Latency moves between reads: the same order of magnitude as Flagger's, under its bound.
    expect(checks['latency-p99'].failing).toBe(false);
    expect(Math.abs(checks['latency-p99'].value - gauge['latency-p99'])).toBeLessThanOrEqual(Math.max(5, gauge['latency-p99'] / 2));

    const get = cli(['get', CANARY]);
    expect(get.code).toBe(0);
    expect(get.stdout).toMatch(/^canary testapi\/api: WaitingPromotion \(in-analysis\)$/m);
    expect(get.stdout).toMatch(/^ {2}ok {3}success-rate 100 \(min 99\)$/m);
    expect(get.stdout).toMatch(/^ {2}promotion-gate \(confirm-promotion\) http:\/\/flagger-loadtester\.testapi\/gate\/check$/m);

    const promote = cli(['promote', CANARY]);
    timeline.add('test', `promote: exit ${promote.code} ${promote.stdout}${promote.stderr}`);
    expect(promote.stderr).toBe('');
    expect(promote.code).toBe(0);
    expect(promote.stdout).toMatch(/^promotion gate "promotion-gate" of canary testapi\/api opened \(phase WaitingPromotion\)/);
    const r = await verdict;
    addEvents(timeline, canaryEvents(stack), timeline.startedAt);
    console.log(timeline.render());
    expect(r.code).toBe(0);
    expect(getJson(stack, 'deployment', `${CANARY}-primary`).spec.template.spec.containers[0].image).toMatch(/:2\.0$/);
    // The post-rollout webhook closed the gate again: the next rollout waits once more.
    const gateBody = JSON.stringify({ name: CANARY, namespace: NAMESPACE });
    let gate = 0;
    for (let i = 0; i < 30 && gate !== 403; i++) {
      gate = (await httpPost(`http://127.0.0.1:${LOADTESTER_PORT}/gate/check`, gateBody)).status;
      if (gate !== 403) await sleep(1000);
    }
    expect(gate).toBe(403);
  }, 400_000);

  step('1.0 again, healthy: abort rolls it back mid-analysis; an account without services/proxy gets a 403 naming the verb', async () => {
    const timeline = new Timeline();
    applyObjects(stack, gatedDemo('1.0'));
    const verdict = watch('failed', timeline);
    await until('weight 20', 180_000, () => phase() === 'Progressing' && weight() >= 20);

    // A second account that may read the Canary but not proxy to the load tester.
    kubectl(stack, ['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'reader', namespace: NAMESPACE } },
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'reader', namespace: NAMESPACE },
        rules: [{ apiGroups: ['flagger.app'], resources: ['canaries'], verbs: ['get'] }] },
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'reader', namespace: NAMESPACE },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'reader' },
        subjects: [{ kind: 'ServiceAccount', name: 'reader', namespace: NAMESPACE }] },
    ] }));
    const denied = cli(['abort', CANARY], tokenKubeconfig('reader'));
    expect(denied.code).toBe(3);
    expect(denied.stderr).toBe('canary-watch: forbidden: "system:serviceaccount:testapi:reader" cannot create services/proxy '
      + '"flagger-loadtester" in namespace "testapi"\n');

    const abort = cli(['abort', CANARY]);
    timeline.add('test', `abort: exit ${abort.code} ${abort.stdout}${abort.stderr}`);
    expect(abort.stderr).toBe('');
    expect(abort.code).toBe(0);
    expect(abort.stdout).toMatch(/^rollback gate "rollback-gate" of canary testapi\/api opened \(phase Progressing\)/);
    const r = await verdict;
    const events = canaryEvents(stack);
    addEvents(timeline, events, timeline.startedAt);
    console.log(timeline.render());
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/OK failed/);
    expect(events.map((e) => e.message)).toContain('Rolling back api.testapi manual webhook invoked');
    expect(getJson(stack, 'deployment', `${CANARY}-primary`).spec.template.spec.containers[0].image).toMatch(/:2\.0$/);
    // Nothing else rolled it back: no check failed.
    expect(events.filter((e) => /Halt .* advancement (?!waiting for)/.test(e.message))).toEqual([]);
  }, 400_000);
});
