/**
 * The emulator's loop against a fake API server: the HTTPRoute Flagger wrote
 * is listed through v1beta1, has no Linkerd status yet so it is not applied,
 * gets Linkerd's status by one merge patch of its v1 status subresource, and
 * is applied from the next round; the unchanged status is not written again.
 */
import { execFile } from 'node:child_process';
import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { NS, SERVICES, sessionAffinityRoute } from './flagger-routes';

interface Recorded {
  readonly method: string;
  readonly url: string;
  readonly contentType?: string;
  readonly body: unknown;
}

function fakeApiServer(route: Record<string, unknown>, requests: Recorded[]): http.Server {
  const services = SERVICES.map((s) => ({
    metadata: { name: s.name, namespace: NS }, spec: { clusterIP: s.clusterIP, selector: { app: s.name }, ports: [{ port: 3000 }] },
  }));
  return http.createServer((req, res) => {
    let text = '';
    req.on('data', (c) => { text += c; });
    req.on('end', () => {
      requests.push({ method: req.method ?? '', url: req.url ?? '', contentType: req.headers['content-type'], body: text ? JSON.parse(text) : undefined });
      const url = (req.url ?? '').split('?')[0];
      const json = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (url === `/api/v1/namespaces/${NS}/pods`) json(200, { kind: 'PodList', items: [] });
      else if (url === `/api/v1/namespaces/${NS}/services`) json(200, { kind: 'ServiceList', items: services });
      else if (url === `/apis/gateway.networking.k8s.io/v1beta1/namespaces/${NS}/httproutes`) json(200, { items: [route] });
      else if (req.method === 'PATCH' && url === `/apis/gateway.networking.k8s.io/v1/namespaces/${NS}/httproutes/api/status`) {
        // A merge patch replaces `status.parents` as a whole.
        route.status = (JSON.parse(text) as { status: unknown }).status;
        json(200, route);
      } else json(404, { kind: 'Status', code: 404 });
    });
  });
}

test('lists routes through v1beta1, applies them once Linkerd status is written to v1 /status, writes it once', async () => {
  const route: Record<string, unknown> = sessionAffinityRoute('canary-session=Xyz123', 10);
  const requests: Recorded[] = [];
  const server = fakeApiServer(route, requests);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, ['--require', require.resolve('tsx/cjs'), path.join(__dirname, 'kube-loop.fixture.ts'), url],
        { timeout: 30_000 }, (err, out, errOut) => (err ? reject(new Error(`${err.message}\n${errOut}`)) : resolve(out)));
    });
    const rounds = stdout.trim().split('\n').map((l) => JSON.parse(l) as { splits: string[]; patched: number; log: string[] });
    expect(rounds.map((r) => r.patched)).toEqual([1, 0, 0]);
    expect(rounds[0].splits).toEqual([]);
    expect(rounds[0].log).toEqual([
      `route ${NS}/api not applied for api:3000: its status has no Accepted=True (Linkerd proxies only get accepted routes)`,
      `status httproute ${NS}/api: api Accepted=True,ResolvedRefs=True`,
    ]);
    expect(rounds[1].splits).toEqual([
      'api:3000 api-primary=90 api-canary=10; other rules: [header cookie~.*canary-session.*Xyz123.*] api-primary=0 api-canary=100',
    ]);
    const patches = requests.filter((r) => r.method === 'PATCH');
    expect(patches).toEqual([{
      method: 'PATCH',
      url: `/apis/gateway.networking.k8s.io/v1/namespaces/${NS}/httproutes/api/status?fieldManager=linkerd.io%2Fpolicy-controller`,
      contentType: 'application/merge-patch+json',
      body: {
        apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', name: 'api',
        status: {
          parents: [{
            parentRef: { group: 'core', kind: 'Service', namespace: NS, name: 'api', port: 3000 },
            controllerName: 'linkerd.io/policy-controller',
            conditions: [
              { lastTransitionTime: '2026-03-04T05:06:07Z', message: '', reason: 'Accepted', status: 'True', type: 'Accepted' },
              { lastTransitionTime: '2026-03-04T05:06:07Z', message: '', reason: 'ResolvedRefs', status: 'True', type: 'ResolvedRefs' },
            ],
          }],
        },
      },
    }]);
  } finally {
    server.close();
  }
}, 40_000);
