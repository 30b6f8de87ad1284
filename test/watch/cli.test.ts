import * as fs from 'node:fs';
import { FakeApiServer } from './fake-apiserver';
import { CLI, startCli, watchCli } from './harness';
import {
  failed3, finishInProgress2, gatedWaiting, H1, H2, H3, initialization, initialized, inProgress2, NAME, play, promotion2,
  reapplyPromoted, rollback3, SPEC, succeeded2,
} from './scenarios';

jest.setTimeout(20_000);

let server: FakeApiServer;
let kubeconfig: string;

beforeEach(async () => {
  server = new FakeApiServer();
  await server.start();
  kubeconfig = server.writeKubeconfig();
});

afterEach(async () => {
  await server.stop();
});

describe('canary-watch against a list+watch API server', () => {
  test('1.0 initialization: --expect initialized is met', async () => {
    server.createCanary(NAME, SPEC);
    const cli = await watchCli(server, kubeconfig, ['--expect', 'initialized']);
    await play(server, initialization);
    const r = await cli.result;
    expect(r.code).toBe(0);
    expect(r.verdict).toMatchObject({ outcome: 'initialized', lastPromotedSpec: H1, met: true });
    expect(r.records[0]).toMatchObject({ type: 'start', name: NAME, namespace: 'testapi', phase: '' });
  });

  test('2.0 promoted: exit 0 with the full verdict record', async () => {
    server.createCanary(NAME, SPEC, initialized);
    const cli = await watchCli(server, kubeconfig);
    await play(server, promotion2);
    const r = await cli.result;
    expect(r.code).toBe(0);
    expect(r.verdict).toMatchObject({
      type: 'verdict', outcome: 'succeeded', expected: 'succeeded', met: true, exitCode: 0, phase: 'Succeeded',
      lastAppliedSpec: H2, lastPromotedSpec: H2, previousPromotedSpec: H1, maxWeightReached: 50, maxWeight: 50,
      failedChecks: 0, threshold: 5,
    });
    expect(typeof r.verdict!.durationSeconds).toBe('number');
    const weights = r.records.filter((x) => x.type === 'status' && x.phase === 'Progressing').map((x) => x.canaryWeight);
    expect(weights).toEqual([0, 10, 20, 30, 40, 50]);
    const events = r.records.filter((x) => x.type === 'event').map((x) => x.message);
    expect(events).toContain('Advance api.testapi canary weight 50');
    expect((r.verdict!.lastEvents as unknown[]).length).toBeGreaterThan(0);
  });

  test('3.0 rolled back: exit 1 when promotion was expected, 0 with --expect failed', async () => {
    server.createCanary(NAME, SPEC, succeeded2);
    const cli = await watchCli(server, kubeconfig);
    await play(server, rollback3);
    const r = await cli.result;
    expect(r.code).toBe(1);
    expect(r.verdict).toMatchObject({ outcome: 'failed', met: false, failedChecks: 5, threshold: 5, lastAppliedSpec: H3 });
    const warnings = r.records.filter((x) => x.type === 'event' && x.eventType === 'Warning');
    expect(warnings.length).toBeGreaterThanOrEqual(5);
  });

  test('3.0 rolled back with --expect failed: exit 0 (text output, no colors off a TTY)', async () => {
    server.createCanary(NAME, SPEC, succeeded2);
    const cli = startCli(['api', '-n', 'testapi', '--kubeconfig', kubeconfig, '--expect', 'failed']);
    await Promise.all([server.waitForWatch('canaries'), server.waitForWatch('events')]);
    await play(server, rollback3);
    const r = await cli.result;
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/watching canary testapi\/api \(expect failed\)/);
    expect(r.stdout).toMatch(/Progressing\s+weight 10\/50\s+failed checks 0\/5/);
    expect(r.stdout).toMatch(/event WARNING Rolling back api\.testapi failed checks threshold reached 5/);
    expect(r.stdout).toMatch(/OK failed \(expected failed, exit 0\)/);
    expect(r.stdout).not.toMatch(/\x1b\[/);
  });

  test('a Succeeded present at start is not reported as the outcome: timeout, exit 2', async () => {
    server.createCanary(NAME, SPEC, succeeded2);
    const cli = await watchCli(server, kubeconfig, ['--timeout', '1s']);
    const r = await cli.result;
    expect(r.code).toBe(2);
    expect(r.verdict).toMatchObject({ outcome: 'timeout', exitCode: 2 });
  });

  test('--current reports the state found at start at once', async () => {
    server.createCanary(NAME, SPEC, succeeded2);
    const r = await startCli(['api', '-n', 'testapi', '--kubeconfig', kubeconfig, '--current', '-o', 'json']).result;
    expect(r.code).toBe(0);
    expect(r.verdict).toMatchObject({ outcome: 'succeeded', lastPromotedSpec: H2 });
  });

  test('a rollout already in progress counts with --since before its start, not without', async () => {
    const began = new Date(Date.now() - 5_000).toISOString().replace(/\.\d+Z$/, 'Z');
    server.createCanary(NAME, SPEC, { ...inProgress2, conditions: [{ type: 'Promoted', status: 'Unknown', lastTransitionTime: began }] });
    const counted = await watchCli(server, kubeconfig, ['--since', '1m']);
    const ignored = await watchCli(server, kubeconfig, ['--timeout', '2s'], {}, 2);
    await play(server, finishInProgress2);
    const [r, s] = await Promise.all([counted.result, ignored.result]);
    expect(r.code).toBe(0);
    expect(r.verdict).toMatchObject({ outcome: 'succeeded', lastPromotedSpec: H2 });
    expect(s.code).toBe(2);
  });

  test('gated canary: waiting is reported, not failed; times out with exit 2', async () => {
    server.createCanary(NAME, SPEC, initialized);
    const cli = await watchCli(server, kubeconfig, ['--timeout', '2s']);
    await play(server, gatedWaiting);
    const r = await cli.result;
    expect(r.code).toBe(2);
    expect(r.verdict).toMatchObject({ outcome: 'timeout', phase: 'Waiting' });
    expect(r.records.some((x) => x.type === 'note' && /confirm-rollout/.test(String(x.message)))).toBe(true);
  });

  test('re-applying the last promoted spec is explained: outcome unchanged', async () => {
    server.createCanary(NAME, SPEC, failed3);
    const cli = await watchCli(server, kubeconfig, ['--expect', 'any']);
    await play(server, reapplyPromoted);
    const r = await cli.result;
    expect(r.code).toBe(0);
    expect(r.verdict).toMatchObject({ outcome: 'unchanged', phase: 'Failed', lastAppliedSpec: H2, lastPromotedSpec: H2 });
    expect(String(r.verdict!.message)).toMatch(/starts no analysis/);
  });
});

describe('usage and API errors exit 3 with one line', () => {
  test('missing Canary (404)', async () => {
    const r = await startCli(['nope', '-n', 'testapi', '--kubeconfig', kubeconfig]).result;
    expect(r.code).toBe(3);
    expect(r.stderr.trim().split('\n')[0]).toMatch(/canary "nope" not found in namespace "testapi"/);
    expect(r.stderr).not.toMatch(/\s+at\s/);
  });

  test('Canary CRD not served (404 page)', async () => {
    server.crdMissing = true;
    const r = await startCli(['api', '-n', 'testapi', '--kubeconfig', kubeconfig]).result;
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/is Flagger installed/);
  });

  test('403 names the verb, the resource and the account', async () => {
    server.createCanary(NAME, SPEC, succeeded2);
    server.forbidden.add('list canaries');
    const r = await startCli(['api', '-n', 'testapi', '--kubeconfig', kubeconfig, '-o', 'json']).result;
    expect(r.code).toBe(3);
    expect(r.stderr.trim()).toMatch(/^canary-watch: forbidden: "system:serviceaccount:ci:deployer" cannot list canaries\.flagger\.app in namespace "testapi"/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.records).toEqual([expect.objectContaining({ type: 'error', exitCode: 3 })]);
  });

  test('403 on events only: the watch goes on without them', async () => {
    server.createCanary(NAME, SPEC, initialized);
    server.forbidden.add('list events');
    const cli = startCli(['api', '-n', 'testapi', '--kubeconfig', kubeconfig, '-o', 'json']);
    await server.waitForWatch('canaries');
    await play(server, promotion2);
    const r = await cli.result;
    expect(r.code).toBe(0);
    expect(r.records.some((x) => x.type === 'note' && /cannot list events/.test(String(x.message)))).toBe(true);
  });

  test('unreachable API server', async () => {
    await server.stop();
    const r = await startCli(['api', '--kubeconfig', kubeconfig], { CANARY_WATCH_BACKOFF_MS: '10' }).result;
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/cannot reach the API server at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);
    await server.start();
  });

  test('the compiled CLI keeps its shebang, so the canary-watch bin runs it with node', () => {
    expect(fs.readFileSync(CLI, 'utf8').split('\n')[0]).toBe('#!/usr/bin/env node');
  });

  test('bad arguments and unknown context', async () => {
    const bad = await startCli(['api', '--expect', 'promoted']).result;
    expect(bad.code).toBe(3);
    expect(bad.stderr).toMatch(/--expect must be one of succeeded, failed, initialized, any/);
    const ctx = await startCli(['api', '--kubeconfig', kubeconfig, '--context', 'prod']).result;
    expect(ctx.code).toBe(3);
    expect(ctx.stderr).toMatch(/context "prod" not found in the kubeconfig \(known: fake\)/);
    const help = await startCli(['--help']).result;
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Exit codes: 0 expectation met/);
  });
});
