/**
 * The emulated kubelet's status loop against a fake API server holding pods
 * as kwok's start stage leaves them (pod IP, Pending, not Ready): the test-API
 * pod is patched Running and unready, then Ready once its process answers its
 * readiness path; the refused image is patched once (Pending, waiting
 * CreateContainerError with the reason) and logged; a pod kwok has not started
 * is left alone; a pod deleted under the loop (404) is skipped quietly; a
 * stand-in is patched Ready once.
 */
import { execFile } from 'node:child_process';
import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { TESTAPI_IMAGE } from '../../e2e/dataplane/images';

const NS = 'testapi';

interface Recorded {
  readonly method: string;
  readonly url: string;
  readonly contentType?: string;
  readonly body: any;
}

function pod(name: string, image: string, podIP?: string): any {
  const probe = { periodSeconds: 1, httpGet: { path: '/readyz', port: 3000 } };
  return {
    metadata: { name, namespace: NS, uid: `uid-${name}`, labels: { app: 'api' } },
    spec: {
      nodeName: 'kwok-node-0',
      containers: [{ name: 'api', image, ports: [{ containerPort: 3000 }], readinessProbe: probe }],
    },
    status: {
      phase: 'Pending', ...(podIP ? { podIP } : {}),
      conditions: [
        { type: 'PodScheduled', status: 'True', lastTransitionTime: '2026-01-02T03:04:00Z' },
        { type: 'Ready', status: 'False', reason: 'ContainersNotReady', lastTransitionTime: '2026-01-02T03:04:05Z' },
      ],
      containerStatuses: [{ name: 'api', image, ready: false, restartCount: 0, state: { waiting: { reason: 'ContainerCreating' } } }],
    },
  };
}

/**
 * Pods by name; a status patch merges conditions by type and field by field (null deletes a
 * field) and replaces the rest, as a strategic merge patch of a pod's status does.
 */
function fakeApiServer(pods: Map<string, any>, requests: Recorded[]): http.Server {
  return http.createServer((req, res) => {
    let text = '';
    req.on('data', (c) => { text += c; });
    req.on('end', () => {
      const body = text ? JSON.parse(text) : undefined;
      requests.push({ method: req.method ?? '', url: req.url ?? '', contentType: req.headers['content-type'], body });
      const url = (req.url ?? '').split('?')[0];
      const json = (status: number, value: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(value));
      };
      const patch = url.match(new RegExp(`^/api/v1/namespaces/${NS}/pods/([^/]+)/status$`));
      if (url === `/api/v1/namespaces/${NS}/pods`) json(200, { kind: 'PodList', items: [...pods.values()] });
      else if (url === `/api/v1/namespaces/${NS}/services`) json(200, { kind: 'ServiceList', items: [] });
      else if (req.method === 'PATCH' && patch && pods.has(patch[1]) && patch[1] !== 'api-deleted') {
        const stored = pods.get(patch[1]);
        if (body.metadata?.uid !== stored.metadata.uid) return json(409, { kind: 'Status', code: 409 });
        const conditions = [...stored.status.conditions];
        for (const c of body.status.conditions ?? []) {
          const i = conditions.findIndex((o: { type: string }) => o.type === c.type);
          const merged = { ...(i >= 0 ? conditions[i] : {}), ...c };
          for (const k of Object.keys(merged)) if (merged[k] === null) delete merged[k];
          if (i >= 0) conditions[i] = merged; else conditions.push(merged);
        }
        stored.status = { ...stored.status, ...body.status, conditions };
        json(200, stored);
      } else json(404, { kind: 'Status', code: 404 });
    });
  });
}

test('writes the emulated kubelet\'s pod status by strategic merge patch, only when it changed', async () => {
  const pods = new Map([
    ['api-1', pod('api-1', `${TESTAPI_IMAGE}:2.0`, '10.244.0.2')],
    ['api-seed', pod('api-seed', 'cyrilbkr/testapp:1.0', '10.244.0.3')],
    ['api-unstarted', pod('api-unstarted', `${TESTAPI_IMAGE}:2.0`)],
    ['api-deleted', pod('api-deleted', 'registry.k8s.io/pause:3.10', '10.244.0.4')],
    ['tester', pod('tester', 'ghcr.io/fluxcd/flagger-loadtester:0.38.0', '10.244.0.5')],
  ]);
  const requests: Recorded[] = [];
  const server = fakeApiServer(pods, requests);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const prefix = `127.${1 + Math.floor(Math.random() * 250)}.${1 + Math.floor(Math.random() * 250)}`;
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, ['--require', require.resolve('tsx/cjs'), path.join(__dirname, 'pod-status-writer.fixture.ts'), url, '20', prefix],
        { timeout: 60_000 }, (err, out, errOut) => (err ? reject(new Error(`${err.message}\n${errOut}`)) : resolve(out)));
    });
    const rounds = stdout.trim().split('\n').map((l) => JSON.parse(l) as { patched: number; log: string[] });
    const patches = requests.filter((r) => r.method === 'PATCH');
    const to = (name: string) => patches.filter((p) => p.url === `/api/v1/namespaces/${NS}/pods/${name}/status?fieldManager=kubelet`);
    expect(patches.every((p) => p.contentType === 'application/strategic-merge-patch+json')).toBe(true);
    expect(to('api-unstarted')).toEqual([]);
    // A stand-in: Ready at once, written once (kwok's reason and message go with the False condition).
    expect(to('tester').map((p) => p.body.status.phase)).toEqual(['Running']);
    expect(pods.get('tester').status.conditions.find((c: { type: string }) => c.type === 'Ready'))
      .toEqual({ type: 'Ready', status: 'True', lastTransitionTime: expect.any(String) });
    // 404 (deleted meanwhile): tried each round, never logged.
    expect(to('api-deleted').length).toBeGreaterThan(1);
    const logs = rounds.flatMap((r) => r.log);
    expect(logs.filter((l) => l.includes('api-deleted'))).toEqual([]);

    expect(to('api-seed').map((p) => p.body)).toEqual([{
      metadata: { uid: 'uid-api-seed' },
      status: {
        phase: 'Pending',
        conditions: [
          expect.objectContaining({ type: 'ContainersReady', status: 'False', reason: 'ContainersNotReady', message: 'containers with unready status: [api]' }),
          { type: 'Ready', status: 'False', reason: 'ContainersNotReady', message: 'containers with unready status: [api]', lastTransitionTime: '2026-01-02T03:04:05Z' },
        ],
        containerStatuses: [{
          name: 'api', image: 'cyrilbkr/testapp:1.0', ready: false, started: false, restartCount: 0, lastState: {},
          state: { waiting: { reason: 'CreateContainerError', message: expect.stringMatching(/^emulated node: image "cyrilbkr\/testapp:1.0" is not modelled/) } },
        }],
      },
    }]);
    expect(logs).toContainEqual(expect.stringMatching(/^pod testapi\/api-seed refused: container api: image "cyrilbkr\/testapp:1.0" is not modelled/));
    expect(logs).toContainEqual(expect.stringMatching(/^status pod testapi\/api-seed: Pending Ready=False: api waiting CreateContainerError \(emulated node: image/));

    const api = to('api-1').map((p) => p.body.status);
    expect(api[0]).toMatchObject({ phase: 'Running', conditions: [{ status: 'False' }, { type: 'Ready', status: 'False' }], containerStatuses: [{ ready: false, state: { running: {} } }] });
    expect(api[api.length - 1]).toMatchObject({ phase: 'Running', conditions: [{ status: 'True' }, { type: 'Ready', status: 'True' }], containerStatuses: [{ ready: true, restartCount: 0 }] });
    expect(api.length).toBeLessThanOrEqual(3);
    // The scheduler's condition is left as it was.
    expect(pods.get('api-1').status.conditions.map((c: { type: string; status: string }) => `${c.type}=${c.status}`))
      .toEqual(['PodScheduled=True', 'Ready=True', 'ContainersReady=True']);
    expect(logs).toContainEqual('status pod testapi/api-1: Running Ready=True: api running ready, restarts 0');
  } finally {
    server.close();
  }
}, 90_000);
