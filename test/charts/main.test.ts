import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Yaml } from 'cdk8s';

const ROOT = path.join(__dirname, '..', '..');
// The app command exactly as cdk8s.yaml gives it to `cdk8s synth` (from sources: no build step).
const [APP, ...APP_ARGS] = (Yaml.load(path.join(ROOT, 'cdk8s.yaml'))[0].app as string).split(/\s+/);

function runMain(apiVersion: string | undefined, args: string[] = []): { status: number | null; stderr: string; files: Record<string, string> } {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-canary-main-'));
  try {
    const env: NodeJS.ProcessEnv = { ...process.env, CDK8S_OUTDIR: outdir };
    delete env.API_VERSION;
    if (apiVersion !== undefined) env.API_VERSION = apiVersion;
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
