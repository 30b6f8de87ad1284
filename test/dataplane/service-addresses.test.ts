/**
 * A restarted emulator on the stack's hosts file: Services an earlier run published keep
 * their address, and a Service new to the file gets none of those (it used to get the
 * first free address of the pool, an address already published for another name, and
 * its listener failed with EADDRINUSE once that name's Service came back).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DataPlane } from '../../e2e/dataplane/dataplane';
import { ServiceSummary } from '../../e2e/dataplane/topology';

const NS = 'testapi';
const NET = `127.${1 + Math.floor(Math.random() * 250)}`;
const service = (name: string): ServiceSummary => ({ namespace: NS, name, selector: { app: name }, ports: [3000] });

test('a new Service name never takes an address the hosts file gives another name', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dp-addresses-'));
  const hostsFile = path.join(dir, 'hosts');
  const prefix = `${NET}.115`;
  fs.writeFileSync(hostsFile, `127.0.0.1 localhost\n${prefix}.2 api.${NS}\n${prefix}.3 api-canary.${NS}\n`);
  const plane = new DataPlane({ serverPath: 'unused', hostsFile, servicePrefix: prefix, podPrefix: `${NET}.116` });
  try {
    await plane.apply({ pods: [], services: [service('crash')], splits: [] });
    await plane.apply({ pods: [], services: [service('crash'), service('api'), service('api-canary')], splits: [] });
    expect([plane.serviceAddress('api', NS), plane.serviceAddress('api-canary', NS)]).toEqual([`${prefix}.2`, `${prefix}.3`]);
    expect(plane.serviceAddress('crash', NS)).toBe(`${prefix}.4`);
  } finally {
    await plane.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
