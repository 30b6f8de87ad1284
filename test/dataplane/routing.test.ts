import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import { WeightedRoundRobin } from '../../e2e/dataplane/balancer';
import { ProxyMetrics } from '../../e2e/dataplane/proxy-metrics';
import { Endpoint, ServiceRouter } from '../../e2e/dataplane/router';
import { PodSpecSummary, ServiceSplit, ServiceSummary } from '../../e2e/dataplane/topology';

const NS = 'testapi';

function pod(name: string, deployment: string): PodSpecSummary {
  return { namespace: NS, name, deployment, labels: { app: deployment }, version: '1.0', port: 0, env: {}, ready: true };
}

function service(name: string, app: string): ServiceSummary {
  return { namespace: NS, name, selector: { app }, ports: [3000] };
}

function split(primary: number, canary: number): ServiceSplit {
  return {
    namespace: NS, service: 'api', source: 'HTTPRoute',
    rules: [{ matches: [{ path: { type: 'PathPrefix', value: '/' }, headers: [], queryParams: [] }], filters: [], backends: [{ service: 'api-primary', weight: primary }, { service: 'api-canary', weight: canary }] }],
  };
}

/** A backend answering its own name, with the status it is given. */
async function backend(name: string, status = 200): Promise<http.Server> {
  const server = http.createServer((_req, res) => {
    res.writeHead(status, { 'content-type': 'text/plain' });
    res.end(name);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

function endpointOf(server: http.Server, p: PodSpecSummary): Endpoint {
  return { pod: p, host: '127.0.0.1', port: (server.address() as AddressInfo).port };
}

/** Sends `count` GETs, `parallel` at a time, and tallies the response bodies. */
async function send(port: number, count: number, parallel = 10): Promise<Map<string, number>> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: parallel });
  const tally = new Map<string, number>();
  let next = 0;
  const worker = async () => {
    while (next < count) {
      next++;
      const body = await new Promise<string>((resolve, reject) => {
        http.get({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => { text += c; });
          res.on('end', () => resolve(text));
        }).on('error', reject);
      });
      tally.set(body, (tally.get(body) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  agent.destroy();
  return tally;
}

describe('WeightedRoundRobin', () => {
  test('gives each item exactly its weight over one cycle, skipping zero weights', () => {
    const wrr = new WeightedRoundRobin([{ item: 'a', weight: 90 }, { item: 'b', weight: 10 }, { item: 'c', weight: 0 }]);
    const picks = Array.from({ length: 100 }, () => wrr.next());
    expect(picks.filter((p) => p === 'b')).toHaveLength(10);
    expect(picks).not.toContain('c');
  });

  test('returns undefined when every weight is zero', () => {
    expect(new WeightedRoundRobin([{ item: 'a', weight: 0 }]).next()).toBeUndefined();
  });
});

describe('ServiceRouter over real HTTP on 127.0.0.1', () => {
  const primaryPod = pod('api-primary-7d9f-abcde', 'api-primary');
  const canaryPod = pod('api-6c8b-fghij', 'api');
  let primary: http.Server;
  let canary: http.Server;
  let apex: http.Server;
  let metrics: ProxyMetrics;
  let router: ServiceRouter;

  beforeEach(async () => {
    primary = await backend('primary');
    canary = await backend('canary', 404);
    metrics = new ProxyMetrics();
    metrics.addPod({ namespace: NS, deployment: 'api-primary', pod: primaryPod.name });
    metrics.addPod({ namespace: NS, deployment: 'api', pod: canaryPod.name });
    router = new ServiceRouter(metrics);
    router.update({
      services: [service('api', 'api-primary'), service('api-primary', 'api-primary'), service('api-canary', 'api')],
      endpoints: [endpointOf(primary, primaryPod), endpointOf(canary, canaryPod)],
      splits: [split(90, 10)],
    });
    apex = http.createServer(router.handler(NS, 'api'));
    await new Promise<void>((resolve) => apex.listen(0, '127.0.0.1', resolve));
  });

  afterEach(() => {
    router.close();
    for (const s of [apex, primary, canary]) s.close();
  });

  const apexPort = () => (apex.address() as AddressInfo).port;

  test('weights 90/10 over 1000 requests give the canary about 10%', async () => {
    const tally = await send(apexPort(), 1000);
    const share = (tally.get('canary') ?? 0) / 1000;
    expect(share).toBeGreaterThan(0.07);
    expect(share).toBeLessThan(0.13);
    expect((tally.get('primary') ?? 0) + (tally.get('canary') ?? 0)).toBe(1000);
  });

  test('counts each response on the destination pod, 404 as a success', async () => {
    const tally = await send(apexPort(), 200);
    const text = await metrics.exposition();
    const canaryLine = text.split('\n').find((l) => l.startsWith('response_total{')
      && l.includes(`pod="${canaryPod.name}"`) && l.includes('status_code="404"'));
    expect(canaryLine).toContain('classification="success"');
    expect(canaryLine).toContain('direction="inbound"');
    expect(canaryLine).toContain('deployment="api"');
    expect(Number(canaryLine!.split(' ').pop())).toBe(tally.get('canary'));
  });

  test('a weight change applies to the next requests', async () => {
    router.update({
      services: [service('api', 'api-primary'), service('api-primary', 'api-primary'), service('api-canary', 'api')],
      endpoints: [endpointOf(primary, primaryPod), endpointOf(canary, canaryPod)],
      splits: [split(50, 50)],
    });
    const tally = await send(apexPort(), 100, 1);
    expect(tally.get('canary')).toBe(50);
  });

  test('without a split the apex Service goes to the pods its selector picks', async () => {
    router.update({
      services: [service('api', 'api-primary'), service('api-primary', 'api-primary'), service('api-canary', 'api')],
      endpoints: [endpointOf(primary, primaryPod), endpointOf(canary, canaryPod)],
      splits: [],
    });
    const tally = await send(apexPort(), 20, 2);
    expect(tally.get('primary')).toBe(20);
  });

  test('a backend with no ready pod answers 503 and counts nothing', async () => {
    router.update({
      services: [service('api', 'api-primary'), service('api-primary', 'api-primary'), service('api-canary', 'api')],
      endpoints: [endpointOf(primary, primaryPod)],
      splits: [split(0, 100)],
    });
    const status = await new Promise<number>((resolve) => {
      http.get({ host: '127.0.0.1', port: apexPort(), path: '/' }, (res) => { res.resume(); resolve(res.statusCode ?? 0); });
    });
    expect(status).toBe(503);
    expect(await metrics.exposition()).not.toMatch(/status_code="503"/);
  });
});

describe('ProxyMetrics', () => {
  test('a pod has zero-valued series as soon as it is up, and none after it goes', async () => {
    const m = new ProxyMetrics();
    const id = { namespace: NS, deployment: 'api', pod: 'api-1' };
    m.addPod(id);
    const text = await m.exposition();
    expect(text).toMatch(/response_total\{direction="inbound",namespace="testapi",deployment="api",pod="api-1",classification="success",status_code="200"\} 0/);
    expect(text).toMatch(/response_latency_ms_count\{[^}]*pod="api-1"[^}]*\} 0/);
    m.observe(id, 503, 3);
    expect(await m.exposition()).toMatch(/classification="failure",status_code="503"\} 1/);
    m.removePod(id);
    expect(await m.exposition()).not.toContain('api-1');
  });

  test('a response that ends after its pod went away brings back no series; the ledger still counts it', async () => {
    const m = new ProxyMetrics();
    const id = { namespace: NS, deployment: 'api', pod: 'api-1' };
    m.addPod(id);
    m.removePod(id);
    m.observe(id, 404, 2, { namespace: NS, service: 'api-canary', client: 'load-generator' });
    expect(await m.exposition()).not.toContain('api-1');
    expect(m.traffic()).toMatchObject([{ pod: 'api-1', status: 404, count: 1, client: 'load-generator' }]);
    // Back up (a new ready period): zero-valued series again, only the 200 and 500 ones.
    m.addPod(id);
    expect((await m.exposition()).match(/^response_total\{[^}]*pod="api-1"[^}]*\} (\d+)$/gm)).toEqual([
      'response_total{direction="inbound",namespace="testapi",deployment="api",pod="api-1",classification="success",status_code="200"} 0',
      'response_total{direction="inbound",namespace="testapi",deployment="api",pod="api-1",classification="failure",status_code="500"} 0',
    ]);
  });
});
