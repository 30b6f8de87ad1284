/**
 * The router over real HTTP on 127.0.0.1 with the routes Flagger writes:
 * A/B testing, session affinity (a client that keeps the cookie sticks to the
 * canary), header modifiers, and what Linkerd's proxy answers itself.
 */
import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import { ProxyMetrics } from '../../e2e/dataplane/proxy-metrics';
import { ServiceRouter } from '../../e2e/dataplane/router';
import { PodSpecSummary, ServiceSummary, splitFromHTTPRoute } from '../../e2e/dataplane/topology';
import {
  abTestingRoute, accepted, backendRef, DEFAULT_MATCH, httpRoute, NS, sessionAffinityAfterRoute, sessionAffinityRoute,
} from './flagger-routes';

interface Answer {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  /** The backend that answered, or '' for an answer of the proxy itself. */
  readonly backend: string;
  /** Request header lines the backend saw. */
  readonly seen: Record<string, string[]>;
}

function pod(deployment: string): PodSpecSummary {
  return { namespace: NS, name: `${deployment}-pod`, deployment, labels: { app: deployment }, version: '1.0', port: 0, env: {}, ready: true };
}

function service(name: string, app: string): ServiceSummary {
  return { namespace: NS, name, selector: { app }, ports: [3000] };
}

/** A backend answering its name and the request headers it saw, with a header of its own. */
async function echo(name: string): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'x-backend': name });
    res.end(JSON.stringify({ backend: name, seen: req.headersDistinct }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

const portOf = (s: http.Server) => (s.address() as AddressInfo).port;

describe('ServiceRouter: filters and matches over real HTTP', () => {
  let primary: http.Server;
  let canary: http.Server;
  let apex: http.Server;
  let router: ServiceRouter;
  let metrics: ProxyMetrics;

  beforeAll(async () => {
    primary = await echo('primary');
    canary = await echo('canary');
  });

  afterAll(() => {
    primary.close();
    canary.close();
  });

  beforeEach(async () => {
    metrics = new ProxyMetrics();
    router = new ServiceRouter(metrics);
    apex = http.createServer(router.handler(NS, 'api', 3000));
    await new Promise<void>((resolve) => apex.listen(0, '127.0.0.1', resolve));
  });

  afterEach(() => {
    router.close();
    apex.close();
  });

  function route(...routes: object[]): void {
    router.update({
      services: [service('api', 'api-primary'), service('api-primary', 'api-primary'), service('api-canary', 'api')],
      endpoints: [
        { pod: pod('api-primary'), host: '127.0.0.1', port: portOf(primary) },
        { pod: pod('api'), host: '127.0.0.1', port: portOf(canary) },
      ],
      splits: routes.flatMap((r) => splitFromHTTPRoute(accepted(r))),
    });
  }

  function get(path = '/', headers: http.OutgoingHttpHeaders = {}): Promise<Answer> {
    return new Promise((resolve, reject) => {
      http.get({ host: '127.0.0.1', port: portOf(apex), path, headers, agent: false }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => { text += c; });
        res.on('end', () => {
          const body = text ? JSON.parse(text) as { backend: string; seen: Record<string, string[]> } : { backend: '', seen: {} };
          resolve({ status: res.statusCode ?? 0, headers: res.headers, backend: body.backend, seen: body.seen });
        });
      }).on('error', reject);
    });
  }

  async function backends(count: number, path = '/', headers: http.OutgoingHttpHeaders = {}): Promise<string[]> {
    const out: string[] = [];
    for (let i = 0; i < count; i++) out.push((await get(path, headers)).backend);
    return out;
  }

  test('A/B testing: requests with the header or query param reach the canary, the others the primary', async () => {
    route(abTestingRoute([
      { headers: [{ name: 'x-canary', type: 'Exact', value: 'insider' }] },
      { queryParams: [{ name: 'beta', type: 'RegularExpression', value: 'on|yes' }] },
    ]));
    expect(new Set(await backends(20, '/', { 'X-Canary': 'insider' }))).toEqual(new Set(['canary']));
    expect(new Set(await backends(20, '/api?beta=yes'))).toEqual(new Set(['canary']));
    expect(new Set(await backends(20, '/', { 'x-canary': 'outsider' }))).toEqual(new Set(['primary']));
    expect(new Set(await backends(20, '/api?beta=no'))).toEqual(new Set(['primary']));
  });

  test('session affinity: the canary sets the cookie, a client that keeps it sticks to the canary, the others follow the weights', async () => {
    route(sessionAffinityRoute('canary-session=Xyz123', 50));
    const first = [];
    for (let i = 0; i < 4; i++) first.push(await get());
    const fromCanary = first.filter((a) => a.backend === 'canary');
    const fromPrimary = first.filter((a) => a.backend === 'primary');
    expect(fromCanary).toHaveLength(2);
    for (const a of fromCanary) expect(a.headers['set-cookie']).toEqual(['canary-session=Xyz123; Max-Age=86400']);
    for (const a of fromPrimary) expect(a.headers['set-cookie']).toBeUndefined();

    // A browser keeps the cookie and sends it back among its others.
    const cookie = fromCanary[0].headers['set-cookie']![0].split(';')[0];
    const sticky = await backends(30, '/', { cookie: `theme=dark; ${cookie}; lang=en` });
    expect(sticky.filter((b) => b === 'canary')).toHaveLength(30);
    // Without it, the weights apply: 50/50 over whole cycles.
    const weighted = await backends(40);
    expect(weighted.filter((b) => b === 'canary')).toHaveLength(20);
    // Another session's cookie does not stick.
    expect((await backends(40, '/', { cookie: 'canary-session=Other' })).filter((b) => b === 'canary')).toHaveLength(20);
  });

  test('session affinity after the run: the old cookie goes to the primary and is expired', async () => {
    route(sessionAffinityAfterRoute('canary-session=Xyz123'));
    const a = await get('/', { cookie: 'canary-session=Xyz123' });
    expect(a.backend).toBe('primary');
    expect(a.headers['set-cookie']).toEqual(['canary-session=Xyz123; Max-Age=-1']);
    const b = await get('/');
    expect(b.backend).toBe('primary');
    expect(b.headers['set-cookie']).toBeUndefined();
  });

  test('rule-level header modifiers: add appends a line, set replaces, remove drops; on requests and responses', async () => {
    route(httpRoute([{
      matches: [DEFAULT_MATCH],
      filters: [
        { type: 'RequestHeaderModifier', requestHeaderModifier: { add: [{ name: 'X-Add', value: 'b' }], set: [{ name: 'X-Set', value: 'new' }], remove: ['X-Drop'] } },
        { type: 'ResponseHeaderModifier', responseHeaderModifier: { add: [{ name: 'X-Served-By', value: 'mesh' }], set: [{ name: 'X-Backend', value: 'hidden' }] } },
      ],
      backendRefs: [backendRef('api-primary', 1)],
    }]));
    const a = await get('/', { 'x-add': 'a', 'x-set': 'old', 'x-drop': 'gone', 'x-keep': 'kept' });
    expect(a.backend).toBe('primary');
    expect(a.seen['x-add']).toEqual(['a', 'b']);
    expect(a.seen['x-set']).toEqual(['new']);
    expect(a.seen['x-drop']).toBeUndefined();
    expect(a.seen['x-keep']).toEqual(['kept']);
    expect(a.headers['x-served-by']).toBe('mesh');
    expect(a.headers['x-backend']).toBe('hidden');
  });

  test("backend filters apply after the rule's on requests, before them on responses", async () => {
    route(httpRoute([{
      matches: [DEFAULT_MATCH],
      filters: [
        { type: 'RequestHeaderModifier', requestHeaderModifier: { set: [{ name: 'X-Order', value: 'rule' }] } },
        { type: 'ResponseHeaderModifier', responseHeaderModifier: { add: [{ name: 'X-Order', value: 'rule' }] } },
      ],
      backendRefs: [backendRef('api-canary', 1, [
        { type: 'RequestHeaderModifier', requestHeaderModifier: { add: [{ name: 'X-Order', value: 'backend' }] } },
        { type: 'ResponseHeaderModifier', responseHeaderModifier: { set: [{ name: 'X-Order', value: 'backend' }] } },
      ])],
    }]));
    const a = await get();
    expect(a.backend).toBe('canary');
    expect(a.seen['x-order']).toEqual(['rule', 'backend']);
    expect(a.headers['x-order']).toBe('backend, rule');
  });

  test('an unsupported backend filter: that share fails with 500 from the proxy, and reaches no pod', async () => {
    route(httpRoute([{
      matches: [DEFAULT_MATCH],
      backendRefs: [
        backendRef('api-primary', 50),
        backendRef('api-canary', 50, [{ type: 'URLRewrite', urlRewrite: { path: { type: 'ReplaceFullPath', replaceFullPath: '/' } } }]),
      ],
    }]));
    const answers = [];
    for (let i = 0; i < 10; i++) answers.push(await get());
    const failed = answers.filter((a) => a.status === 500);
    expect(failed).toHaveLength(5);
    for (const a of failed) {
      expect(a.headers['l5d-proxy-error']).toBe('unsupported backend filter: URLRewrite filter is not supported');
      expect(a.backend).toBe('');
    }
    expect(answers.filter((a) => a.backend === 'primary')).toHaveLength(5);
    expect(await metrics.exposition()).not.toMatch(/pod="api-pod"[^\n]* [1-9]/);
  });

  test("no rule matching: 404 'no route'; a backend Service that does not exist: 500", async () => {
    route(httpRoute([
      { matches: [{ headers: [{ name: 'x-canary', value: 'insider' }] }], backendRefs: [backendRef('api-gone', 1)] },
    ]));
    const none = await get();
    expect([none.status, none.headers['l5d-proxy-error']]).toEqual([404, 'no route']);
    const gone = await get('/', { 'x-canary': 'insider' });
    expect([gone.status, gone.headers['l5d-proxy-error']]).toEqual([500, 'Service not found api-gone']);
  });

  test('a rule without backends goes to the parent Service itself; a lone backend takes all, whatever its weight', async () => {
    route(httpRoute([{ matches: [DEFAULT_MATCH] }]));
    expect(await backends(3)).toEqual(['primary', 'primary', 'primary']);
    route(httpRoute([{ matches: [DEFAULT_MATCH], backendRefs: [backendRef('api-canary', 0)] }]));
    expect(await backends(3)).toEqual(['canary', 'canary', 'canary']);
  });

  test('RequestRedirect: the proxy answers the redirect itself (301 unless a status is given)', async () => {
    route(httpRoute([
      { matches: [{ path: { type: 'PathPrefix', value: '/old' } }], filters: [{ type: 'RequestRedirect', requestRedirect: { path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/new' } } }] },
      { matches: [{ path: { type: 'Exact', value: '/moved' } }], filters: [{ type: 'RequestRedirect', requestRedirect: { hostname: 'example.com', statusCode: 302 } }] },
      { matches: [DEFAULT_MATCH], backendRefs: [backendRef('api-primary', 1)] },
    ]));
    const port = portOf(apex);
    const prefix = await get('/old/page?x=1');
    expect([prefix.status, prefix.headers.location, prefix.backend]).toEqual([301, `http://127.0.0.1:${port}/new/page?x=1`, '']);
    const host = await get('/moved');
    expect([host.status, host.headers.location]).toEqual([302, `http://example.com:${port}/moved`]);
    expect((await get('/other')).backend).toBe('primary');
  });
});
