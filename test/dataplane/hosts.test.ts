import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { HostsFile, parseHosts, serviceNames } from '../../e2e/dataplane/hosts';
import { LoopbackPool } from '../../e2e/dataplane/loopback';

describe('HostsFile', () => {
  let dir: string;
  beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dp-hosts-')); });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('appends in place (same inode, for the bind mount) and keeps an earlier mapping', () => {
    const file = path.join(dir, 'hosts');
    fs.writeFileSync(file, '127.0.0.1 localhost\n127.0.90.1 prometheus.linkerd-viz');
    const inode = fs.statSync(file).ino;
    const hosts = new HostsFile(file);
    expect(hosts.ensure(serviceNames('api-canary', 'testapi'), '127.0.20.3')).toBe('127.0.20.3');
    expect(hosts.ensure(serviceNames('api-canary', 'testapi'), '127.0.20.9')).toBe('127.0.20.3');
    expect(fs.statSync(file).ino).toBe(inode);
    const map = parseHosts(fs.readFileSync(file, 'utf8'));
    expect(map.get('prometheus.linkerd-viz')).toBe('127.0.90.1');
    expect(map.get('api-canary.testapi.svc.cluster.local')).toBe('127.0.20.3');
    expect(fs.readFileSync(file, 'utf8').match(/api-canary\.testapi /g)).toHaveLength(1);
    expect(hosts.addresses()).toEqual(new Set(['127.0.0.1', '127.0.90.1', '127.0.20.3']));
  });
});

describe('LoopbackPool', () => {
  test('hands out distinct addresses, reuses a released one last, refuses non-loopback prefixes', () => {
    const pool = new LoopbackPool('127.0.10');
    const a = pool.allocate();
    const b = pool.allocate();
    expect([a, b]).toEqual(['127.0.10.2', '127.0.10.3']);
    pool.release(a);
    expect(pool.allocate()).toBe('127.0.10.4');
    expect(() => new LoopbackPool('10.0.0')).toThrow(/loopback prefix \(10\.0\.0\)/);
  });
});
