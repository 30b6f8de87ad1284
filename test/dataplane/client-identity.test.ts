import { spawn } from 'node:child_process';
import * as http from 'node:http';
import * as net from 'node:net';
import { AddressInfo } from 'node:net';
import { ClientIdentity, decodeProcAddress, OTHER_CLIENT } from '../../e2e/dataplane/client-identity';
import { ProxyMetrics } from '../../e2e/dataplane/proxy-metrics';
import { Endpoint, ServiceRouter } from '../../e2e/dataplane/router';
import { PodSpecSummary, ServiceSummary } from '../../e2e/dataplane/topology';

const NS = 'testapi';
// A loopback address of this run for the address-bound client.
const CLIENT_ADDRESS = `127.${1 + Math.floor(Math.random() * 250)}.115.7`;

describe('decodeProcAddress (/proc/net/tcp and tcp6 notation)', () => {
  test.each([
    ['0100007F:1F90', '127.0.0.1:8080'],
    ['0700737F:0BB8', '127.115.0.7:3000'],
    ['00000000:0050', '0.0.0.0:80'],
    ['00000000000000000000000000000000:2382', '[::]:9090'],
    ['0000000000000000FFFF00000100007F:0BB8', '127.0.0.1:3000'],
    ['00000000000000000000000001000000:0016', '[::1]:22'],
  ])('%s is %s', (text, expected) => {
    expect(decodeProcAddress(text)).toBe(expected);
  });
});

/** A listener that names the client of each connection it accepts. */
async function namingServer(identity: ClientIdentity): Promise<{ server: net.Server; names: string[] }> {
  const names: string[] = [];
  const server = net.createServer((socket) => {
    names.push(identity.identify(socket).name);
    socket.end('named\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, names };
}

function connect(port: number, localAddress?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port, localAddress });
    s.on('error', reject);
    s.on('data', () => undefined);
    s.on('close', () => resolve());
  });
}

describe('ClientIdentity: who holds the client end of a connection', () => {
  test('by source address; a process of no registered workload is other', async () => {
    const identity = new ClientIdentity({
      addresses: new Map([[CLIENT_ADDRESS, 'load-generator']]),
      // A workload whose port nothing here listens on.
      listeners: [{ name: 'flagger-loadtester', host: '127.0.0.1', port: 1 }],
    });
    const { server, names } = await namingServer(identity);
    const port = (server.address() as AddressInfo).port;
    try {
      await connect(port, CLIENT_ADDRESS);
      await connect(port);
      expect(names).toEqual(['load-generator', OTHER_CLIENT]);
    } finally {
      server.close();
    }
  });

  test('a child of a listening workload is named workload/process', async () => {
    // The workload's port is only known once it listens: the identity is built then.
    let identity = new ClientIdentity();
    const names: string[] = [];
    const pids: number[] = [];
    const server = net.createServer((socket) => {
      const client = identity.identify(socket);
      names.push(client.name);
      pids.push(client.pid ?? 0);
      socket.end('named\n');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    // A workload (node) listening on a port runs `bash` (as the load tester runs `sh -c 'hey ...'`),
    // which connects once the identity knows the workload's port.
    const script = `
      const net = require('node:net');
      const { spawn } = require('node:child_process');
      const server = net.createServer(() => undefined).listen(0, '127.0.0.1', () => {
        console.log(server.address().port);
        const c = spawn('bash', ['-c', 'sleep 0.5; exec 3<>/dev/tcp/127.0.0.1/${port}; cat <&3 >/dev/null'], { stdio: 'inherit' });
        c.on('exit', () => process.exit(0));
      });`;
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const workloadPort = await new Promise<number>((resolve) => child.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))));
      identity = new ClientIdentity({ listeners: [{ name: 'flagger-loadtester', host: '127.0.0.1', port: workloadPort }] });
      await new Promise<void>((resolve) => child.on('exit', () => resolve()));
      expect(names).toEqual(['flagger-loadtester/bash']);
      expect(pids[0]).toBeGreaterThan(0);
      expect(pids[0]).not.toBe(child.pid);
    } finally {
      child.kill();
      server.close();
    }
  }, 20_000);
});

describe('ServiceRouter: the ledger counts every response by client, pod and status', () => {
  const canaryPod: PodSpecSummary = { namespace: NS, name: 'api-6c8b-fghij', deployment: 'api', labels: { app: 'api' }, version: '3.0', port: 0, env: {}, ready: true };
  const services: ServiceSummary[] = [{ namespace: NS, name: 'api-canary', selector: { app: 'api' }, ports: [3000] }];

  test('requests from two clients to the canary Service, then none left to answer', async () => {
    const app = http.createServer((_req, res) => {
      res.writeHead(404);
      res.end();
    });
    await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
    const endpoint: Endpoint = { pod: canaryPod, host: '127.0.0.1', port: (app.address() as AddressInfo).port };
    const metrics = new ProxyMetrics();
    const identity = new ClientIdentity({ addresses: new Map([[CLIENT_ADDRESS, 'load-generator']]) });
    const router = new ServiceRouter(metrics, (s) => identity.identify(s));
    router.update({ services, endpoints: [endpoint], splits: [] });
    const listener = http.createServer(router.handler(NS, 'api-canary'));
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    const port = (listener.address() as AddressInfo).port;
    const get = (localAddress?: string) => new Promise<number>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port, path: '/', localAddress, agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      }).on('error', reject);
    });
    try {
      for (let i = 0; i < 3; i++) expect(await get(CLIENT_ADDRESS)).toBe(404);
      expect(await get()).toBe(404);
      router.update({ services, endpoints: [], splits: [] });
      expect(await get(CLIENT_ADDRESS)).toBe(503);
      const rows = metrics.traffic().map(({ first, last, ...r }) => {
        expect(Date.parse(last)).toBeGreaterThanOrEqual(Date.parse(first));
        return r;
      });
      expect(rows).toEqual(expect.arrayContaining([
        { namespace: NS, service: 'api-canary', deployment: 'api', pod: canaryPod.name, client: 'load-generator', status: 404, count: 3 },
        { namespace: NS, service: 'api-canary', deployment: 'api', pod: canaryPod.name, client: OTHER_CLIENT, status: 404, count: 1 },
        { namespace: NS, service: 'api-canary', deployment: '', pod: '', client: 'load-generator', status: 503, count: 1 },
      ]));
      expect(rows).toHaveLength(3);
      // The ledger outlives the pod's series.
      metrics.removePod({ namespace: NS, deployment: 'api', pod: canaryPod.name });
      expect(metrics.traffic()).toHaveLength(3);
    } finally {
      router.close();
      listener.close();
      app.close();
    }
  });

  test('a pod that goes away mid-response: its response is counted once', async () => {
    // Headers and part of the body, then the connection drops.
    const app = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('partial');
      setTimeout(() => res.socket?.destroy(), 20);
    });
    await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
    const metrics = new ProxyMetrics();
    const router = new ServiceRouter(metrics);
    router.update({ services, endpoints: [{ pod: canaryPod, host: '127.0.0.1', port: (app.address() as AddressInfo).port }], splits: [] });
    const listener = http.createServer(router.handler(NS, 'api-canary'));
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    try {
      await new Promise<void>((resolve) => {
        http.get({ host: '127.0.0.1', port: (listener.address() as AddressInfo).port, path: '/', agent: false }, (res) => {
          res.resume();
          res.on('close', () => resolve());
        }).on('error', () => resolve());
      });
      await new Promise((r) => setTimeout(r, 50));
      expect(metrics.traffic().map((r) => [r.status, r.count])).toEqual([[200, 1]]);
      expect(await metrics.exposition()).not.toMatch(/status_code="502"/);
    } finally {
      router.close();
      listener.close();
      app.close();
    }
  });
});
