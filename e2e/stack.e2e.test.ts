/**
 * The stack itself: a real, version-stamped API server, a Ready kwok node, everything on
 * loopback, and Flagger resolving service names through the stack's hosts file.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { componentLog, componentPid, eventually, getObject, kubectlOk, STATE } from './cluster/harness';

const versions = Object.fromEntries(
  fs.readFileSync(path.join(__dirname, 'cluster', 'versions.env'), 'utf8')
    .split('\n').filter((l) => /^\w+=/.test(l)).map((l) => l.split('=')),
);

describe('e2e stack', () => {
  test('the API server is the pinned Kubernetes release, version-stamped (Flagger requires it)', () => {
    const v = JSON.parse(kubectlOk(['get', '--raw', '/version']));
    expect(v.gitVersion).toBe(versions.K8S_VERSION);
    expect(v.major).toBe('1');
    expect(Number(v.minor)).toBeGreaterThanOrEqual(33);
  });

  test('the kwok node is Ready and schedulable', () => {
    const node = getObject('node', 'kwok-node-0');
    const ready = node?.status.conditions.find((c: { type: string }) => c.type === 'Ready');
    expect(ready?.status).toBe('True');
    expect(node?.spec.unschedulable).toBeFalsy();
  });

  test('Flagger, Gateway API and the other project CRDs are established', () => {
    const crds = JSON.parse(kubectlOk(['get', 'crd', '-o', 'json'])).items.map((c: any) => c.metadata.name);
    expect(crds).toEqual(expect.arrayContaining([
      'canaries.flagger.app', 'metrictemplates.flagger.app', 'alertproviders.flagger.app',
      'httproutes.gateway.networking.k8s.io',
    ]));
  });

  test('Flagger runs out of cluster with the Gateway API provider and reached the API server', () => {
    const log = componentLog('flagger');
    expect(log).toContain(`Starting flagger version ${versions.FLAGGER_VERSION.replace(/^v/, '')}`);
    expect(log).toContain('mesh provider gatewayapi:v1beta1');
    expect(log).toContain(`Connected to Kubernetes API ${versions.K8S_VERSION}`);
  });

  test('Flagger resolves service names through the stack hosts file (bind-mounted over /etc/hosts)', async () => {
    const env = fs.readFileSync(path.join(STATE, 'env'), 'utf8');
    const metrics = /CLUSTER_METRICS_SERVER=(\S+)/.exec(env)![1];
    // prometheus.linkerd-viz exists in no DNS: only the hosts file can have resolved it.
    expect(componentLog('flagger')).toContain(`Connected to metrics server ${metrics}`);
    // An in-place append is visible inside Flagger's mount namespace.
    const marker = `127.0.0.1 hosts-probe-${process.pid}.e2e`;
    fs.appendFileSync(path.join(STATE, 'hosts'), `${marker}\n`);
    const seen = fs.readFileSync(`/proc/${componentPid('flagger')}/root/etc/hosts`, 'utf8');
    expect(seen).toContain(marker);
    // ... while the machine's own /etc/hosts is untouched.
    expect(fs.readFileSync('/etc/hosts', 'utf8')).not.toContain(marker);
  });

  test('the control plane listens on loopback only', async () => {
    const pids = fs.readdirSync(path.join(STATE, 'pids'))
      .filter((n) => n !== 'flagger') // Flagger v1.44 binds its -port on all interfaces (no address flag)
      .map((n) => fs.readFileSync(path.join(STATE, 'pids', n), 'utf8').trim());
    const listeners = await eventually('ss output', 5000, () => execFileSync('ss', ['-ltnpH'], { encoding: 'utf8' }));
    const ours = listeners.split('\n').filter((l) => pids.some((p) => l.includes(`pid=${p},`)));
    expect(ours.length).toBeGreaterThanOrEqual(4);
    for (const l of ours) expect(l.split(/\s+/)[3]).toMatch(/^127\./);
  });

  test('the stack runs in a network namespace with loopback only, invisible from the machine\'s', () => {
    // Flagger and the load tester bind all interfaces: in here, that is loopback alone.
    const links = execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' }).trim().split('\n');
    expect(links.map((l) => l.split(':')[1].trim())).toEqual(['lo']);
    // Listening TCP ports as the kernel lists them for a process's network namespace.
    const listening = (pid: string) => new Set(['tcp', 'tcp6'].flatMap((f) =>
      fs.readFileSync(`/proc/${pid}/net/${f}`, 'utf8').trim().split('\n').slice(1)
        .map((l) => l.trim().split(/\s+/))
        .filter((cols) => cols[3] === '0A')
        .map((cols) => parseInt(cols[1].split(':')[1], 16))));
    const ports = /CLUSTER_PORTS="([^"]*)"/.exec(fs.readFileSync(path.join(STATE, 'env'), 'utf8'))![1].split(' ').map(Number);
    const flaggerPid = fs.readFileSync(path.join(STATE, 'pids', 'flagger'), 'utf8').trim();
    const inside = listening(flaggerPid);
    for (const p of ports) expect(inside.has(p)).toBe(true);
    // pid 1 lives in the machine's own network namespace: none of the stack's ports listen there.
    const machine = listening('1');
    expect(ports.filter((p) => machine.has(p))).toEqual([]);
  });
});
