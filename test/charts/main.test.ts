import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Yaml } from 'cdk8s';
import { parseAllDocuments } from 'yaml';

const ROOT = path.join(__dirname, '..', '..');
// The app command exactly as cdk8s.yaml gives it to `cdk8s synth` (from sources: no build step).
const [APP, ...APP_ARGS] = (Yaml.load(path.join(ROOT, 'cdk8s.yaml'))[0].app as string).split(/\s+/);

function runMain(apiVersion: string | undefined, args: string[] = [], strategy?: string): {
  status: number | null; stderr: string; files: Record<string, string>;
} {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-canary-main-'));
  try {
    const env: NodeJS.ProcessEnv = { ...process.env, CDK8S_OUTDIR: outdir };
    delete env.API_VERSION;
    delete env.STRATEGY;
    if (apiVersion !== undefined) env.API_VERSION = apiVersion;
    if (strategy !== undefined) env.STRATEGY = strategy;
    const res = spawnSync(APP === 'node' ? process.execPath : APP, [...APP_ARGS, ...args], { cwd: ROOT, env, encoding: 'utf8' });
    const files = Object.fromEntries(fs.readdirSync(outdir).map((f) => [f, fs.readFileSync(path.join(outdir, f), 'utf8')]));
    return { status: res.status, stderr: res.stderr, files };
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}

describe('main.ts (API_VERSION)', () => {
  test('defaults to 1.0 and writes both charts into CDK8S_OUTDIR', () => {
    const { status, files } = runMain(undefined);
    expect(status).toBe(0);
    expect(Object.keys(files).sort()).toEqual(['0000-testapi-namespace.k8s.yaml', '0001-testapi.k8s.yaml']);
    expect(files['0001-testapi.k8s.yaml']).toContain('image: cyrilbkr/testapp:1.0');
  });

  test('API_VERSION=2.0 changes only the image and the version labels', () => {
    const v1 = runMain('1.0').files['0001-testapi.k8s.yaml'].split('\n');
    const v2 = runMain('2.0').files['0001-testapi.k8s.yaml'].split('\n');
    expect(v2).toHaveLength(v1.length);
    const changed = v1.map((line, i) => [line, v2[i]]).filter(([a, b]) => a !== b);
    const label = ['app.kubernetes.io/version: "1.0"', 'app.kubernetes.io/version: "2.0"'];
    expect(changed.map(([a, b]) => [a.trim(), b.trim()])).toEqual([label, label, ['- image: cyrilbkr/testapp:1.0', '- image: cyrilbkr/testapp:2.0']]);
  });

  test('a bad value fails with one clear line, no stack trace, nothing written', () => {
    const { status, stderr, files } = runMain('two');
    expect(status).toBe(1);
    expect(stderr).toBe('error: CanaryDemo: version ("two") must be a release number such as 1.0, 2.0 or 3.0\n');
    expect(files).toEqual({});
  });

  test('--check validates without writing (npm run synth runs it before cdk8s synth)', () => {
    expect(runMain('2.0', ['--check'])).toEqual({ status: 0, stderr: '', files: {} });
    const bad = runMain('latest', ['--check']);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toBe('error: CanaryDemo: version ("latest") must be a release number such as 1.0, 2.0 or 3.0\n');
  });
});

describe('main.ts (STRATEGY)', () => {
  const canaryOf = (apiVersion: string, strategy?: string) =>
    parseAllDocuments(runMain(apiVersion, [], strategy).files['0001-testapi.k8s.yaml']).map((d) => d.toJS()).find((o: any) => o?.kind === 'Canary');

  test('STRATEGY=blue-green API_VERSION=2.0: iterations, no weights, no match', () => {
    const analysis = canaryOf('2.0', 'blue-green').spec.analysis;
    expect(analysis.iterations).toBe(10);
    expect([analysis.stepWeight, analysis.maxWeight, analysis.match]).toEqual([undefined, undefined, undefined]);
  });

  test('STRATEGY=ab-testing: iterations and the header or cookie match; the load test sends the header through the apex', () => {
    const canary = canaryOf('2.0', 'ab-testing');
    expect(canary.spec.analysis.iterations).toBe(10);
    expect(canary.spec.analysis.match).toEqual([
      { headers: { 'x-canary': { exact: 'insider' } } },
      { headers: { cookie: { regex: '^(.*;\\s*)?canary=always(;.*)?$' } } },
    ]);
    const loadTest = canary.spec.analysis.webhooks.find((w: any) => w.name === 'load-test');
    expect(loadTest.metadata.cmd).toBe("hey -z 1m -q 5 -c 2 -H 'x-canary: insider' http://api.testapi:3000/");
  });

  test('unset or canary: the weighted demo', () => {
    expect(canaryOf('2.0', 'canary')).toEqual(canaryOf('2.0'));
    expect(canaryOf('2.0').spec.analysis).toMatchObject({ stepWeight: 10, maxWeight: 50 });
  });

  test.each(['canary', 'blue-green', 'ab-testing'])('STRATEGY=%s: 1.0 to 2.0 changes only the pod template', (strategy) => {
    const v1 = runMain('1.0', [], strategy).files['0001-testapi.k8s.yaml'].split('\n');
    const v2 = runMain('2.0', [], strategy).files['0001-testapi.k8s.yaml'].split('\n');
    const changed = v1.map((line, i) => [line.trim(), v2[i]?.trim()]).filter(([a, b]) => a !== b);
    const label = ['app.kubernetes.io/version: "1.0"', 'app.kubernetes.io/version: "2.0"'];
    expect(changed).toEqual([label, label, ['- image: cyrilbkr/testapp:1.0', '- image: cyrilbkr/testapp:2.0']]);
  });

  test('a bad STRATEGY is refused in one line, nothing written', () => {
    const { status, stderr, files } = runMain('2.0', [], 'bluegreen');
    expect(status).toBe(1);
    expect(stderr).toBe('error: STRATEGY ("bluegreen") must be one of canary, blue-green, ab-testing\n');
    expect(files).toEqual({});
  });
});

describe('cdk8s synth on the sources', () => {
  test('writes the demo without a build step', () => {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-canary-cli-'));
    try {
      const res = spawnSync(path.join(ROOT, 'node_modules', '.bin', 'cdk8s'), ['synth', '--no-check-upgrade', '--output', outdir],
        { cwd: ROOT, env: { ...process.env, API_VERSION: '2.0' }, encoding: 'utf8' });
      expect(res.status).toBe(0);
      expect(fs.readdirSync(outdir).sort()).toEqual(['0000-testapi-namespace.k8s.yaml', '0001-testapi.k8s.yaml']);
      expect(fs.readFileSync(path.join(outdir, '0001-testapi.k8s.yaml'), 'utf8')).toContain('image: cyrilbkr/testapp:2.0');
    } finally {
      fs.rmSync(outdir, { recursive: true, force: true });
    }
  });
});
