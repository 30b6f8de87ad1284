/**
 * The launcher's contract: up twice is harmless, down with nothing up is harmless, and a
 * component that fails to start is named, its log shown, and the whole stack torn down
 * (no process left, ports free). The failure case runs a second stack in its own TMPDIR
 * and port block, beside the one the other suites use.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { stackEnv, STATE } from './cluster/harness';

const cluster = path.join(__dirname, 'cluster');

function run(script: string, env: Record<string, string> = {}) {
  const r = spawnSync('bash', [path.join(cluster, script)], {
    encoding: 'utf8', env: { ...process.env, ...env }, timeout: 180_000,
  });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

function processesUsing(dir: string): string[] {
  const ps = spawnSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' }).stdout;
  return ps.split('\n').filter((l) => l.includes(dir) && !l.includes('ps -eo'));
}

describe('launcher', () => {
  test('cluster:up on a running stack reports it and changes nothing', () => {
    const r = run('up.sh');
    expect(r.code).toBe(0);
    expect(r.out).toContain(`already up: ${STATE}`);
  });

  test('cluster:down with nothing up is harmless', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-launcher-'));
    try {
      const r = run('down.sh', { TMPDIR: tmp });
      expect(r).toEqual({ code: 0, out: '[cluster] nothing is up\n' });
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  test('a component failing at start is named, its log shown, and everything torn down', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-launcher-'));
    try {
      // A port block 300 above the running stack's, and no Prometheus (so no 127.0.90.x:9090).
      const base = Number(stackEnv().CLUSTER_PORTS.split(' ')[0]) - 1 + 300;
      const r = run('up.sh', {
        TMPDIR: tmp, CLUSTER_PORT_BASE: String(base), CLUSTER_METRICS_SERVER: 'http://127.0.0.1:9',
        CLUSTER_FLAGGER_ARGS: '-kubeconfig=/nonexistent/kubeconfig', // the last -kubeconfig wins: Flagger exits
      });
      expect(r.code).toBe(1);
      expect(r.out).toContain('[cluster] FAILED: flagger exited while starting');
      expect(r.out).toMatch(/last lines of .*logs\/flagger\.log/);
      expect(r.out).toContain('/nonexistent/kubeconfig');
      expect(r.out).toContain('[cluster] tearing down after failure');
      // Everything before Flagger had started: all of it is gone.
      expect(processesUsing(tmp)).toEqual([]);
      expect(fs.existsSync(path.join(tmp, 'cdk8s-canary-e2e', 'current'))).toBe(false);
      const listening = spawnSync('ss', ['-ltnH'], { encoding: 'utf8' }).stdout;
      const ports = [1, 2, 43, 57, 59, 80].map((offset) => base + offset);
      for (const p of ports) expect(listening).not.toMatch(new RegExp(`[:*]${p}\\s`));
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
