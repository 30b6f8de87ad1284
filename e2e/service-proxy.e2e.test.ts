/**
 * The API server's service proxy reaches the stack's stand-in processes with nothing but
 * Kubernetes credentials (a ServiceAccount token bound to `services/proxy` and `pods/proxy`):
 *   - the load tester's Service (the demo's flagger-loadtester, port 80): its gates, as a
 *     `promote`/`abort` command drives them, reach the real loadtester process;
 *   - linkerd-viz/prometheus:9090 (up.sh): a PromQL query answers from the stack's Prometheus;
 *   - an emulated api pod (pods/proxy): its test-API process answers.
 * The path: API server -> `cluster` egress (HTTP CONNECT over a Unix socket) -> the stack's
 * egress proxy (e2e/cluster/egress-proxy.ts) -> the loopback address standing in for the pod.
 * Addresses the proxy cannot map are refused at once with a reason, never dialled.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as path from 'node:path';
import { stackEnv } from './cluster/harness';
import { applyObjects, NAMESPACE, synthFeatureDemo } from './features/support';
import {
  httpPost, kubectl, LOADTESTER_PORT, resetNamespace, stackInfo, StackInfo, startRehearsalParts, stopRehearsalParts, waitFor,
} from './rehearse/stack';

const stack: StackInfo = stackInfo();
const APISERVER = stackEnv().CLUSTER_APISERVER;
const CA = fs.readFileSync(path.join(stack.state, 'pki', 'ca.crt'));
const CLIENT = 'service-proxy-client';
/**
 * The proxy names `http:<service>:<port>` (scheme, Service, port), the form canary-watch uses:
 * RBAC authorizes a proxy request by exactly that name (checked below).
 */
const LOADTESTER_NAME = 'http:flagger-loadtester:80';
const PROMETHEUS_NAME = 'http:prometheus:9090';
const LOADTESTER = `/api/v1/namespaces/${NAMESPACE}/services/${LOADTESTER_NAME}/proxy`;
const PROMETHEUS = `/api/v1/namespaces/linkerd-viz/services/${PROMETHEUS_NAME}/proxy`;
/** A gate of a Canary that does not exist: the load tester keeps gates by name only. */
const GATE_BODY = JSON.stringify({ name: 'service-proxy-probe', namespace: NAMESPACE });
/** Longer than any answer of a working proxy; a refusal comes well within it. */
const REQUEST_TIMEOUT_MS = 10_000;
const times: string[] = [];
let token = '';

interface Answer {
  readonly status: number;
  readonly body: string;
  readonly ms: number;
}

/** One request to the API server as the ServiceAccount; rejects on a network error or after REQUEST_TIMEOUT_MS. */
function api(method: string, urlPath: string, body?: string): Promise<Answer> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const req = https.request(`${APISERVER}${urlPath}`, {
      method, ca: CA, agent: false, timeout: REQUEST_TIMEOUT_MS,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }),
      },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { text += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text, ms: Date.now() - started }));
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${urlPath}: no answer in ${REQUEST_TIMEOUT_MS} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

function timed(what: string, a: Answer): Answer {
  times.push(`  ${what.padEnd(56)} ${String(a.status).padStart(3)} ${String(a.ms).padStart(5)} ms`);
  return a;
}

/**
 * What the CLI's commands need, and no more: create (POST) on the load tester's services/proxy,
 * get on Prometheus's; get on pods/proxy for the emulated pod, and on the Service without a stand-in.
 */
function rbacObjects(): any[] {
  const role = (namespace: string, rules: object[]) => [
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: CLIENT, namespace }, rules },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: CLIENT, namespace },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: CLIENT },
      subjects: [{ kind: 'ServiceAccount', name: CLIENT, namespace: NAMESPACE }],
    },
  ];
  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: CLIENT, namespace: NAMESPACE } },
    ...role(NAMESPACE, [
      { apiGroups: [''], resources: ['services/proxy'], resourceNames: [LOADTESTER_NAME], verbs: ['create'] },
      { apiGroups: [''], resources: ['services/proxy'], resourceNames: ['http:no-stand-in:80'], verbs: ['get'] },
      { apiGroups: [''], resources: ['pods/proxy'], verbs: ['get'] },
    ]),
    // Reading metrics needs get only: a POST there is refused (checked below).
    ...role('linkerd-viz', [{ apiGroups: [''], resources: ['services/proxy'], resourceNames: [PROMETHEUS_NAME], verbs: ['get'] }]),
  ];
}

const readyAddresses = (service: string) => JSON.parse(kubectl(stack, ['get', 'endpoints', service, '-n', NAMESPACE, '-o', 'json']))
  .subsets?.flatMap((s: { addresses?: unknown[] }) => s.addresses ?? []).length ?? 0;

/** Names of the api pods whose test-API process the emulator has published an egress route for. */
function routedApiPods(): string[] {
  const file = path.join(stack.egressRoutes, 'dataplane.json');
  const pods = fs.existsSync(file) ? Object.keys(JSON.parse(fs.readFileSync(file, 'utf8')).pods ?? {}) : [];
  return pods.filter((k) => k.startsWith(`${NAMESPACE}/api-`)).map((k) => k.split('/')[1]);
}

beforeAll(async () => {
  resetNamespace(stack);
  await startRehearsalParts(stack);
  // The demo's api Deployment and load tester (Deployment + Service), without the Canary:
  // Flagger leaves them alone, so the pods stay put while the requests run.
  const demo = synthFeatureDemo('1.0', {}).filter((o) =>
    o.kind === 'Namespace' || (o.kind === 'Deployment' && o.metadata.name === 'api') || o.metadata.name === 'flagger-loadtester');
  // A Deployment and Service that nothing stands in for: no emulated process, no egress route.
  const labels = { app: 'no-stand-in' };
  const unmapped = [{
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'no-stand-in', namespace: NAMESPACE },
    spec: {
      replicas: 1, selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          securityContext: { runAsNonRoot: true, runAsUser: 65534, seccompProfile: { type: 'RuntimeDefault' } },
          containers: [{
            name: 'main', image: 'registry.k8s.io/pause:3.10', ports: [{ name: 'http', containerPort: 8080 }],
            securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
          }],
        },
      },
    },
  }, {
    apiVersion: 'v1', kind: 'Service', metadata: { name: 'no-stand-in', namespace: NAMESPACE },
    spec: { selector: labels, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
  }];
  applyObjects(stack, [...demo, ...unmapped, ...rbacObjects()]);
  token = kubectl(stack, ['create', 'token', CLIENT, '-n', NAMESPACE, '--duration', '1h']).trim();
  await waitFor('ready endpoints of both Services', 60_000, async () => readyAddresses('flagger-loadtester') > 0 && readyAddresses('no-stand-in') > 0);
  await waitFor('an emulated api pod', 60_000, async () => routedApiPods().length > 0);
}, 240_000);

afterAll(() => {
  // Leave the namespace empty and no emulator running for the other suites.
  kubectl(stack, ['delete', 'role,rolebinding', CLIENT, '-n', 'linkerd-viz', '--ignore-not-found']);
  resetNamespace(stack);
  stopRehearsalParts();
  console.log(`service proxy requests (status, time):\n${times.join('\n')}`);
}, 240_000);

describe('the API server\'s service proxy reaches the stack\'s stand-in processes', () => {
  test('the load tester\'s gates through services/http:flagger-loadtester:80/proxy: closed, opened (202), then open (200)', async () => {
    const post = async (gate: string) => timed(`POST ${gate}`, await api('POST', `${LOADTESTER}${gate}`, GATE_BODY));
    expect(await post('/gate/check')).toMatchObject({ status: 403 }); // gates start closed
    expect(await post('/gate/open')).toMatchObject({ status: 202 });
    expect(await post('/gate/check')).toMatchObject({ status: 200 });
    expect(await post('/rollback/open')).toMatchObject({ status: 202 });
    expect(await post('/rollback/check')).toMatchObject({ status: 200 });
    expect(await post('/gate/close')).toMatchObject({ status: 202 });
    expect(await post('/gate/check')).toMatchObject({ status: 403 });
    // The same process answers on its own port: the gate state is the real load tester's.
    expect(await httpPost(`http://127.0.0.1:${LOADTESTER_PORT}/rollback/check`, GATE_BODY)).toMatchObject({ status: 200 });
  });

  test('a PromQL query through linkerd-viz/services/http:prometheus:9090/proxy answers from the stack\'s Prometheus', async () => {
    const a = timed('GET prometheus /api/v1/query?query=up', await api('GET', `${PROMETHEUS}/api/v1/query?query=up`));
    expect(a.status).toBe(200);
    expect(JSON.parse(a.body)).toMatchObject({ status: 'success', data: { resultType: 'vector' } });
    // The stack's Prometheus scrapes the emulator: the series Flagger's Linkerd checks read are there.
    const q = encodeURIComponent('count(up{job="linkerd-proxy"} == 1)');
    const scraped = timed('GET prometheus count(up{job="linkerd-proxy"})', await api('GET', `${PROMETHEUS}/api/v1/query?query=${q}`));
    expect(JSON.parse(scraped.body).data.result[0]?.value[1]).toBe('1');
  });

  test('an emulated api pod through pods/<pod>:3000/proxy: its test-API process answers', async () => {
    const pod = routedApiPods()[0];
    const a = timed(`GET pods/${pod}:3000/proxy/`, await api('GET', `/api/v1/namespaces/${NAMESPACE}/pods/${pod}:3000/proxy/`));
    expect(a).toMatchObject({ status: 200, body: 'Hello v1' });
  });

  test('RBAC decides by the name in the path: no POST with get only, no other name of the same Service, no other namespace', async () => {
    const post = timed('POST prometheus (no create)', await api('POST', `${PROMETHEUS}/api/v1/query?query=up`, ''));
    expect(post.status).toBe(403);
    // `prometheus:9090` reaches the same Service, but it is not the name granted.
    const otherName = timed('GET services/prometheus:9090/proxy (name not granted)',
      await api('GET', '/api/v1/namespaces/linkerd-viz/services/prometheus:9090/proxy/api/v1/query?query=up'));
    expect(otherName.status).toBe(403);
    const get = timed('GET load tester (create only)', await api('GET', `${LOADTESTER}/healthz`));
    expect(get.status).toBe(403);
    const other = timed('GET kube-system service proxy', await api('GET', '/api/v1/namespaces/kube-system/services/kube-dns:53/proxy/'));
    expect(other.status).toBe(403);
  });

  test('a Service whose pods stand for nothing: refused at once with the egress proxy\'s reason, no hang', async () => {
    const a = timed('GET services/http:no-stand-in:80/proxy/healthz',
      await api('GET', `/api/v1/namespaces/${NAMESPACE}/services/http:no-stand-in:80/proxy/healthz`));
    expect(a.status).toBe(503);
    expect(a.body).toMatch(/code 502: 502 pod testapi\/no-stand-in-\S+ \(10\.244\.\d+\.\d+:8080\) has no loopback stand-in \(no route for service testapi\/no-stand-in:80\)/);
    expect(a.ms).toBeLessThan(3000);
  });

  test('the kubelet\'s connections (logs) are refused: kwok runs no kubelet', () => {
    const pod = routedApiPods()[0];
    const started = Date.now();
    const r = spawnSync(stack.kubectl, ['--kubeconfig', stack.kubeconfig, 'logs', pod, '-n', NAMESPACE], { encoding: 'utf8', timeout: REQUEST_TIMEOUT_MS });
    times.push(`  ${'kubectl logs (refused)'.padEnd(56)} ${String(r.status).padStart(3)} ${String(Date.now() - started).padStart(5)} ms`);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/code 502: 502 \S+ is node kwok-node-0: kwok runs no kubelet/);
  });

  test('CONNECT straight to the egress socket: an address outside kwok\'s pod range gets a 502, not a dial', async () => {
    const answer = await new Promise<string>((resolve, reject) => {
      const req = http.request({ socketPath: stack.egressSocket, method: 'CONNECT', path: '10.244.1.1:80', timeout: REQUEST_TIMEOUT_MS });
      req.on('connect', (res, socket) => { socket.destroy(); resolve(`${res.statusCode} ${res.statusMessage}`); });
      req.on('response', (res) => { res.resume(); resolve(`${res.statusCode} ${res.statusMessage}`); });
      req.on('timeout', () => req.destroy(new Error('no answer')));
      req.on('error', reject);
      req.end();
    });
    expect(answer).toBe('502 no pod or node has IP 10.244.1.1');
  });
});
