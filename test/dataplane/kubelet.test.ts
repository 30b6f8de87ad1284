import * as http from 'node:http';
import * as path from 'node:path';
import { EmulatedKubelet } from '../../e2e/dataplane/kubelet';
import { LoopbackPool } from '../../e2e/dataplane/loopback';
import { Endpoint } from '../../e2e/dataplane/router';
import { PodSpecSummary } from '../../e2e/dataplane/topology';

const SERVER = path.resolve(__dirname, '../../testapi/server.js');

function get(e: Endpoint, p: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http.get({ host: e.host, port: e.port, path: p }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

function pod(name: string, version: string, env: Record<string, string> = {}): PodSpecSummary {
  return { namespace: 'testapi', name, deployment: 'api', labels: { app: 'api' }, version, port: 3000, env, ready: true };
}

describe('EmulatedKubelet with the real test API', () => {
  test('runs the release of the image tag on the pod address, and stops it with the pod', async () => {
    const events: string[] = [];
    let up: (e: Endpoint) => void = () => undefined;
    const upOnce = new Promise<Endpoint>((resolve) => { up = resolve; });
    const kubelet = new EmulatedKubelet({
      serverPath: SERVER,
      addresses: new LoopbackPool('127.0.110'),
      onChange: (event, e) => { events.push(`${event} ${e.pod.name}`); if (event === 'up') up(e); },
    });
    try {
      kubelet.reconcile([pod('api-a', '3.0', { FAILURE_MODE: 'server-error' }), { ...pod('api-b', '2.0'), ready: false }]);
      const endpoint = await upOnce;
      expect(endpoint.host).toMatch(/^127\.0\.110\.\d+$/);
      const res = await get(endpoint, '/');
      expect(res.status).toBe(500);
      expect(kubelet.endpoints().map((e) => e.pod.name)).toEqual(['api-a']);
      kubelet.reconcile([]);
      expect(kubelet.endpoints()).toEqual([]);
      expect(events).toEqual(['up api-a', 'down api-a']);
    } finally {
      await kubelet.stopAll();
    }
  });

  test('a changed image restarts the process with the new release', async () => {
    const ups: Endpoint[] = [];
    let notify: () => void = () => undefined;
    const kubelet = new EmulatedKubelet({
      serverPath: SERVER,
      addresses: new LoopbackPool('127.0.111'),
      onChange: (event, e) => { if (event === 'up') { ups.push(e); notify(); } },
    });
    const nextUp = () => new Promise<void>((resolve) => { notify = resolve; });
    try {
      let waiting = nextUp();
      kubelet.reconcile([pod('api-primary-x', '1.0')]);
      await waiting;
      expect((await get(ups[0], '/')).body).toContain('Hello v1');
      waiting = nextUp();
      kubelet.reconcile([pod('api-primary-x', '2.0')]);
      await waiting;
      expect((await get(ups[1], '/')).body).toContain('Hello v2');
    } finally {
      await kubelet.stopAll();
    }
  });

  test('a deleted pod keeps serving until its replacement answers (rolling update)', async () => {
    const events: string[] = [];
    let notify: () => void = () => undefined;
    const kubelet = new EmulatedKubelet({
      serverPath: SERVER,
      addresses: new LoopbackPool('127.0.112'),
      onChange: (event, e) => { events.push(`${event} ${e.pod.name}`); if (event === 'up') notify(); },
    });
    const nextUp = () => new Promise<void>((resolve) => { notify = resolve; });
    try {
      let waiting = nextUp();
      kubelet.reconcile([pod('api-old', '1.0')]);
      await waiting;
      waiting = nextUp();
      // One snapshot: the replacement is Ready for kwok and the old pod is gone.
      kubelet.reconcile([pod('api-new', '2.0')]);
      expect(kubelet.endpoints().map((e) => e.pod.name)).toEqual(['api-old']);
      await waiting;
      expect(kubelet.endpoints().map((e) => e.pod.name)).toEqual(['api-new']);
      expect(events).toEqual(['up api-old', 'up api-new', 'down api-old']);
    } finally {
      await kubelet.stopAll();
    }
  });
});
