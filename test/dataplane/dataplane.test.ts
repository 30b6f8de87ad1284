import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { DataPlane, Snapshot } from '../../e2e/dataplane/dataplane';
import { parseHosts } from '../../e2e/dataplane/hosts';
import { LoadGenerator } from '../../e2e/dataplane/load-generator';
import { PodSpecSummary, ServiceSummary } from '../../e2e/dataplane/topology';

const NS = 'testapi';
const SERVER = path.resolve(__dirname, '../../testapi/server.js');
// Loopback addresses of this run: another run of this suite at the same time must not answer for it.
const NET = `127.${1 + Math.floor(Math.random() * 250)}`;

function pod(name: string, deployment: string, version: string): PodSpecSummary {
  return { namespace: NS, name, deployment, labels: { app: deployment }, version, port: 3000, env: {}, ready: true };
}

function service(name: string, app: string): ServiceSummary {
  return { namespace: NS, name, selector: { app }, ports: [3000] };
}

function get(host: string, port: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http.get({ host, port, path: '/' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

async function until(what: string, ok: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('DataPlane: snapshot in, processes, Service addresses and proxy metrics out', () => {
  let dir: string;
  let plane: DataPlane;
  const lines: string[] = [];

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dp-plane-'));
    fs.writeFileSync(path.join(dir, 'hosts'), '127.0.0.1 localhost\n');
    plane = new DataPlane({
      serverPath: SERVER, hostsFile: path.join(dir, 'hosts'),
      podPrefix: `${NET}.113`, servicePrefix: `${NET}.114`, log: (l) => lines.push(l),
    });
  });

  afterAll(async () => {
    await plane.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const primary = pod('api-primary-6b7c-aaaaa', 'api-primary', '2.0');
  const canary = pod('api-5d4f-bbbbb', 'api', '3.0');
  const snapshot: Snapshot = {
    pods: [primary, canary],
    services: [service('api', 'api-primary'), service('api-primary', 'api-primary'), service('api-canary', 'api')],
    splits: [{
      namespace: NS, service: 'api', source: 'HTTPRoute',
      rules: [{ matches: [], filters: [], backends: [{ service: 'api-primary', weight: 50 }, { service: 'api-canary', weight: 50 }] }],
    }],
  };

  test('publishes Service names, splits the apex over real test-API processes, counts per pod', async () => {
    await plane.apply(snapshot);
    const endpoints = () => (plane.state() as { endpoints: unknown[] }).endpoints.length;
    await until('both pods up', () => endpoints() === 2);

    const hosts = parseHosts(fs.readFileSync(path.join(dir, 'hosts'), 'utf8'));
    const apex = hosts.get('api.testapi.svc.cluster.local')!;
    expect(apex.startsWith(`${NET}.114.`)).toBe(true);
    expect(plane.serviceAddress('api', NS)).toBe(apex);

    const answers = [];
    for (let i = 0; i < 20; i++) answers.push(await get(apex, 3000));
    expect(answers.filter((a) => a.status === 200 && /Hello v2/.test(a.body))).toHaveLength(10);
    expect(answers.filter((a) => a.status === 404)).toHaveLength(10);

    const metrics = await plane.metrics.exposition();
    expect(metrics).toContain(`response_total{direction="inbound",namespace="testapi",deployment="api",pod="${canary.name}",classification="success",status_code="404"} 10`);
    expect(lines).toContain('weights api.testapi HTTPRoute api-primary=50 api-canary=50');
  });

  test('the load generator goes through the split (in the mesh)', async () => {
    const seen = new Map<number, number>();
    const gen = new LoadGenerator({
      host: plane.serviceAddress('api', NS)!, port: 3000, qps: 20,
      onResponse: (s) => seen.set(s, (seen.get(s) ?? 0) + 1),
    });
    gen.start();
    await until('10 responses', () => [...seen.values()].reduce((a, b) => a + b, 0) >= 10);
    gen.stop();
    expect(seen.get(200)).toBeGreaterThanOrEqual(4);
    expect(seen.get(404)).toBeGreaterThanOrEqual(4);
    expect([...seen.keys()].sort()).toEqual([200, 404]);
  });

  test('a pod that goes away is stopped and its series removed', async () => {
    await plane.apply({ ...snapshot, pods: [primary] });
    await until('canary down', () => lines.some((l) => l.startsWith(`pod down ${canary.name}`)));
    expect(await plane.metrics.exposition()).not.toContain(canary.name);
    const apex = plane.serviceAddress('api', NS)!;
    // Half the apex traffic still goes to the canary Service, which has no pod left.
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await get(apex, 3000)).status);
    expect(statuses.sort()).toEqual([200, 200, 503, 503]);
  });
});
