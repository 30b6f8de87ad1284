import {
  convertHTTPRoute, HttpRouteIndex, matchRule, RequestInfo, ServiceSplit, splitFromHTTPRoute,
} from '../../e2e/dataplane/topology';
import {
  abTestingRoute, accepted, backendRef, cookieMatch, DEFAULT_MATCH, httpRoute, NS, PARENT, sessionAffinityRoute,
} from './flagger-routes';

/** The split of a route with one rule per entry, each to its own backend (named after the entry). */
function split(rules: Record<string, object[] | undefined>, extra: { name?: string; createdAt?: string } = {}): ServiceSplit {
  const route = httpRoute(Object.entries(rules).map(([backend, matches]) => ({
    ...(matches ? { matches } : {}), backendRefs: [backendRef(backend, 1)],
  })), extra);
  const [s] = splitFromHTTPRoute(accepted(route));
  return s;
}

/** Which backend (rule) a request ends at. */
function chosen(splits: ServiceSplit | ServiceSplit[], request: Partial<RequestInfo>): string | undefined {
  return matchRule(splits, { path: '/', headers: {}, method: 'GET', ...request })?.rule.backends[0]?.service;
}

describe('matches, as linkerd2-proxy evaluates them', () => {
  test('header Exact: the name case-insensitively, the value exactly, any of the lines', () => {
    const s = split({ canary: [{ headers: [{ name: 'X-Canary', type: 'Exact', value: 'Insider' }] }], primary: undefined });
    expect(chosen(s, { headers: { 'x-canary': 'Insider' } })).toBe('canary');
    expect(chosen(s, { headers: { 'x-canary': 'insider' } })).toBe('primary');
    expect(chosen(s, { headers: { 'x-canary': ['other', 'Insider'] } })).toBe('canary');
    // A header without `type` is Exact (the CRD default; the policy controller's too).
    const untyped = split({ canary: [{ headers: [{ name: 'x-canary', value: 'insider' }] }], primary: undefined });
    expect(chosen(untyped, { headers: { 'x-canary': 'insider' } })).toBe('canary');
  });

  test('header RegularExpression spans the whole value', () => {
    const s = split({ canary: [{ headers: [{ name: 'user-agent', type: 'RegularExpression', value: '.*Firefox.*' }] }], primary: undefined });
    expect(chosen(s, { headers: { 'user-agent': 'Mozilla/5.0 (X11) Firefox/128.0' } })).toBe('canary');
    expect(chosen(s, { headers: { 'user-agent': 'curl/8.5' } })).toBe('primary');
    const partial = split({ canary: [{ headers: [{ name: 'x-user', type: 'RegularExpression', value: 'beta' }] }], primary: undefined });
    expect(chosen(partial, { headers: { 'x-user': 'beta' } })).toBe('canary');
    expect(chosen(partial, { headers: { 'x-user': 'beta-tester' } })).toBe('primary');
  });

  test("Flagger's cookie match finds the cookie among others in the Cookie header", () => {
    const s = split({ canary: [cookieMatch('canary-session=Xyz123')], primary: [DEFAULT_MATCH] });
    expect(chosen(s, { headers: { cookie: 'theme=dark; canary-session=Xyz123; lang=en' } })).toBe('canary');
    expect(chosen(s, { headers: { cookie: 'canary-session=Xyz123' } })).toBe('canary');
    expect(chosen(s, { headers: { cookie: 'theme=dark; canary-session=Abc999' } })).toBe('primary');
    expect(chosen(s, { headers: {} })).toBe('primary');
  });

  test('query param Exact and RegularExpression: names case-sensitive, values form-decoded', () => {
    const s = split({
      exact: [{ queryParams: [{ name: 'canary', type: 'Exact', value: 'yes please' }] }],
      regex: [{ queryParams: [{ name: 'user', type: 'RegularExpression', value: 'beta-[0-9]+' }] }],
      primary: undefined,
    });
    expect(chosen(s, { path: '/?canary=yes+please' })).toBe('exact');
    expect(chosen(s, { path: '/?a=1&canary=yes%20please' })).toBe('exact');
    expect(chosen(s, { path: '/?Canary=yes+please' })).toBe('primary');
    expect(chosen(s, { path: '/?user=beta-42' })).toBe('regex');
    expect(chosen(s, { path: '/?user=beta-42x' })).toBe('primary');
    expect(chosen(s, { path: '/' })).toBe('primary');
  });

  test('path RegularExpression spans the whole path, not the query', () => {
    const s = split({ canary: [{ path: { type: 'RegularExpression', value: '/api/v[0-9]+/.*' } }], primary: undefined });
    expect(chosen(s, { path: '/api/v2/users?x=1' })).toBe('canary');
    expect(chosen(s, { path: '/x/api/v2/users' })).toBe('primary');
  });

  test('path prefix matches whole segments; exact matches exactly', () => {
    const s = split({ prefix: [{ path: { type: 'PathPrefix', value: '/api/' } }], exact: [{ path: { type: 'Exact', value: '/health' } }], primary: undefined });
    expect(chosen(s, { path: '/api' })).toBe('prefix');
    expect(chosen(s, { path: '/api/users' })).toBe('prefix');
    expect(chosen(s, { path: '/apis' })).toBe('primary');
    expect(chosen(s, { path: '/health' })).toBe('exact');
    expect(chosen(s, { path: '/health/x' })).toBe('primary');
  });

  test('method', () => {
    const s = split({ canary: [{ method: 'POST' }], primary: undefined });
    expect(chosen(s, { method: 'POST' })).toBe('canary');
    expect(chosen(s, { method: 'GET' })).toBe('primary');
  });

  test('every condition of a match must hold; any match of a rule may', () => {
    const s = split({
      canary: [
        { headers: [{ name: 'x-a', value: '1' }], queryParams: [{ name: 'b', value: '2' }] },
        { method: 'DELETE' },
      ],
      primary: undefined,
    });
    expect(chosen(s, { path: '/?b=2', headers: { 'x-a': '1' } })).toBe('canary');
    expect(chosen(s, { path: '/?b=2' })).toBe('primary');
    expect(chosen(s, { method: 'DELETE' })).toBe('canary');
  });

  test('no rule matching is no route (the proxy answers 404)', () => {
    const s = split({ canary: [{ headers: [{ name: 'x-canary', value: 'insider' }] }] });
    expect(matchRule(s, { path: '/', headers: {} })).toBeUndefined();
  });
});

describe("precedence, as linkerd2-proxy's RequestMatch orders matches", () => {
  test('the longer path wins, whatever the rule order', () => {
    const s = split({ short: [{ path: { type: 'PathPrefix', value: '/' } }], long: [{ path: { type: 'PathPrefix', value: '/api' } }] });
    expect(chosen(s, { path: '/api/x' })).toBe('long');
    expect(chosen(s, { path: '/other' })).toBe('short');
  });

  test('path length before header count', () => {
    const s = split({ headers: [{ headers: [{ name: 'x-a', value: '1' }, { name: 'x-b', value: '2' }] }], path: [{ path: { type: 'PathPrefix', value: '/api' } }] });
    expect(chosen(s, { path: '/api', headers: { 'x-a': '1', 'x-b': '2' } })).toBe('path');
  });

  test('an exact path does not beat a prefix of the same length: then headers decide (Gateway API would pick exact)', () => {
    const s = split({ exact: [{ path: { type: 'Exact', value: '/api' } }], prefix: [{ path: { type: 'PathPrefix', value: '/api' }, headers: [{ name: 'x-a', value: '1' }] }] });
    expect(chosen(s, { path: '/api', headers: { 'x-a': '1' } })).toBe('prefix');
    expect(chosen(s, { path: '/api' })).toBe('exact');
  });

  test('more headers, then more query params, then a method (Gateway API puts the method before headers)', () => {
    const s = split({
      method: [{ method: 'GET', queryParams: [{ name: 'q', value: '1' }] }],
      header: [{ headers: [{ name: 'x-a', value: '1' }] }],
      twoQueries: [{ queryParams: [{ name: 'q', value: '1' }, { name: 'r', value: '2' }] }],
    });
    expect(chosen(s, { path: '/?q=1&r=2', headers: { 'x-a': '1' } })).toBe('header');
    expect(chosen(s, { path: '/?q=1&r=2' })).toBe('twoQueries');
    const m = split({ plain: [{ queryParams: [{ name: 'q', value: '1' }] }], method: [{ method: 'GET', queryParams: [{ name: 'q', value: '1' }] }] });
    expect(chosen(m, { path: '/?q=1' })).toBe('method');
  });

  test('a rule scores its best match; equal scores go to the first rule', () => {
    const s = split({ first: [{ path: { type: 'PathPrefix', value: '/a' } }], second: [{ path: { type: 'PathPrefix', value: '/b' } }, { path: { type: 'PathPrefix', value: '/a' } }] });
    expect(chosen(s, { path: '/a' })).toBe('first');
  });

  test('across routes: the oldest first, then by name, on equal scores', () => {
    const older = split({ older: undefined }, { name: 'zz', createdAt: '2026-01-01T00:00:00Z' });
    const newer = split({ newer: undefined }, { name: 'aa', createdAt: '2026-01-02T00:00:00Z' });
    expect(chosen([newer, older], {})).toBe('older');
    const b = split({ b: undefined }, { name: 'b', createdAt: '2026-01-01T00:00:00Z' });
    const a = split({ a: undefined }, { name: 'a', createdAt: '2026-01-01T00:00:00Z' });
    expect(chosen([b, a], {})).toBe('a');
    // A better match in a newer route still wins.
    const specific = split({ specific: [{ path: { type: 'PathPrefix', value: '/x' } }] }, { name: 'new', createdAt: '2026-02-01T00:00:00Z' });
    expect(chosen([older, specific], { path: '/x' })).toBe('specific');
  });
});

describe("the routes Flagger writes", () => {
  test('A/B testing: matching requests to the canary, the rest to the primary', () => {
    const [s] = splitFromHTTPRoute(accepted(abTestingRoute([
      { headers: [{ name: 'x-canary', type: 'Exact', value: 'insider' }] },
      { headers: [{ name: 'cookie', type: 'RegularExpression', value: '^(.*?;)?(canary=always)(;.*)?$' }] },
      { queryParams: [{ name: 'beta', type: 'RegularExpression', value: 'on|yes' }] },
    ])));
    const backends = (r: Partial<RequestInfo>) => matchRule(s, { path: '/', headers: {}, ...r })?.rule.backends.map((b) => `${b.service}=${b.weight}`);
    expect(backends({ headers: { 'x-canary': 'insider' } })).toEqual(['api-primary=0', 'api-canary=100']);
    expect(backends({ headers: { cookie: 'canary=always; b=2' } })).toEqual(['api-primary=0', 'api-canary=100']);
    // Flagger's documented cookie regex misses a later cookie after "; " (Rust agrees).
    expect(backends({ headers: { cookie: 'a=1; canary=always; b=2' } })).toEqual(['api-primary=100']);
    expect(backends({ path: '/?beta=yes' })).toEqual(['api-primary=0', 'api-canary=100']);
    expect(backends({ headers: { 'x-canary': 'outsider', cookie: 'canary=never' }, path: '/?beta=maybe' })).toEqual(['api-primary=100']);
  });

  test('session affinity: the cookie rule wins over the weighted rule, whose canary backend sets the cookie', () => {
    const [s] = splitFromHTTPRoute(accepted(sessionAffinityRoute('canary-session=Xyz123', 30)));
    const sticky = matchRule(s, { path: '/', headers: { cookie: 'theme=dark; canary-session=Xyz123' } });
    expect(sticky?.rule.backends.map((b) => `${b.service}=${b.weight}`)).toEqual(['api-primary=0', 'api-canary=100']);
    const weighted = matchRule(s, { path: '/', headers: {} });
    expect(weighted?.rule.backends[1]).toEqual({
      service: 'api-canary', weight: 30,
      filters: [{ type: 'ResponseHeaderModifier', headers: { add: [{ name: 'set-cookie', value: 'canary-session=Xyz123; Max-Age=86400' }], set: [], remove: [] } }],
    });
  });
});

describe('what the policy controller refuses', () => {
  test.each([
    ['RequestMirror', { requestMirror: { backendRef: { name: 'api-canary', port: 3000 } } }],
    ['URLRewrite', { urlRewrite: { path: { type: 'ReplaceFullPath', replaceFullPath: '/' } } }],
    ['ExtensionRef', { extensionRef: { group: 'x.io', kind: 'Y', name: 'z' } }],
  ])('a rule-level %s filter: the whole route', (type, filter) => {
    const route = accepted(httpRoute([{ matches: [DEFAULT_MATCH], filters: [{ type, ...filter }], backendRefs: [backendRef('api-primary', 100)] }]));
    expect(convertHTTPRoute(route)).toEqual({ splits: [], error: `${type} filter is not supported`, notAccepted: [] });
  });

  test.each([
    ['header', { headers: [{ name: 'x-a', type: 'RegularExpression', value: '(?=a)a' }] }, 'look-around, including look-ahead and look-behind, is not supported'],
    ['path', { path: { type: 'RegularExpression', value: '(a)\\1' } }, 'backreferences are not supported'],
    ['query param', { queryParams: [{ name: 'q', type: 'RegularExpression', value: '(?<!x)y' }] }, 'look-around, including look-ahead and look-behind, is not supported'],
  ])('a %s regex Rust refuses: the whole route', (_kind, match, error) => {
    const c = convertHTTPRoute(accepted(httpRoute([{ matches: [match], backendRefs: [backendRef('api-canary', 1)] }])));
    expect(c.splits).toEqual([]);
    expect(c.error).toContain(error);
  });

  test('a relative path, an invalid header name: the whole route', () => {
    expect(convertHTTPRoute(httpRoute([{ matches: [{ path: { type: 'PathPrefix', value: 'api' } }] }])).error)
      .toBe('HttpPathMatch paths must be absolute (begin with `/`); "api" is not an absolute path');
    expect(convertHTTPRoute(httpRoute([{ matches: [{ headers: [{ name: 'x a', value: '1' }] }] }])).error)
      .toBe('invalid HTTP header name "x a"');
  });

  test('an unsupported backend filter, kind or missing port: that backend only, as a weighted 500', () => {
    const [s] = splitFromHTTPRoute(accepted(httpRoute([{
      matches: [DEFAULT_MATCH],
      backendRefs: [
        backendRef('api-primary', 50),
        backendRef('api-canary', 30, [{ type: 'RequestMirror', requestMirror: { backendRef: { name: 'api-primary', port: 3000 } } }]),
        { group: 'apps', kind: 'Deployment', name: 'api', weight: 10 },
        { group: '', kind: 'Service', name: 'api-other', weight: 10 },
      ],
    }])));
    expect(s.rules[0].backends).toEqual([
      { service: 'api-primary', weight: 50 },
      { service: 'api-canary', weight: 30, invalid: 'unsupported backend filter: RequestMirror filter is not supported' },
      { service: 'api', weight: 10, invalid: 'unsupported backend type apps Deployment' },
      { service: 'api-other', weight: 10, invalid: 'missing port for backend Service api-other' },
    ]);
  });

  test('the index keeps the version it had when an update is refused, drops a deleted route, logs once', () => {
    const lines: string[] = [];
    const index = new HttpRouteIndex((l) => lines.push(l));
    const good = accepted(abTestingRoute([{ headers: [{ name: 'x-canary', value: 'insider' }] }], 100));
    const bad = accepted(abTestingRoute([{ headers: [{ name: 'x-canary', type: 'RegularExpression', value: '(?!x)' }] }], 100));
    expect(index.update([bad])).toEqual([]);
    expect(index.update([good])[0].rules[0].matches[0].headers).toEqual([{ name: 'x-canary', type: 'Exact', value: 'insider' }]);
    const kept = index.update([bad]);
    index.update([bad]);
    expect(kept[0].rules[0].matches[0].headers).toEqual([{ name: 'x-canary', type: 'Exact', value: 'insider' }]);
    expect(lines).toEqual([
      `route ${NS}/api refused, as Linkerd's policy controller does ("Failed to convert route": regex parse error: "(?!x)": look-around, including look-ahead and look-behind, is not supported); it routes nothing`,
      `route ${NS}/api refused, as Linkerd's policy controller does ("Failed to convert route": regex parse error: "(?!x)": look-around, including look-ahead and look-behind, is not supported); the version indexed before stays in force`,
    ]);
    expect(index.update([])).toEqual([]);
  });
});

describe('which parents a route applies to', () => {
  test('only parents whose Linkerd status says Accepted, on their port', () => {
    const route = httpRoute([{ backendRefs: [backendRef('api-primary', 1)] }]);
    expect(convertHTTPRoute(route)).toEqual({ splits: [], notAccepted: ['api:3000'] });
    const refused = { ...route, status: { parents: [{ parentRef: PARENT, controllerName: 'linkerd.io/policy-controller', conditions: [{ type: 'Accepted', status: 'False' }] }] } };
    expect(splitFromHTTPRoute(refused)).toEqual([]);
    expect(splitFromHTTPRoute(accepted(route)).map((s) => `${s.service}:${s.port}`)).toEqual(['api:3000']);
  });

  test('a Service parent needs a kind and the core group', () => {
    const route = (parentRefs: object[]) => accepted({ ...httpRoute([]), spec: { parentRefs, rules: [] } });
    expect(splitFromHTTPRoute(route([{ name: 'api', port: 3000 }]))).toEqual([]);
    expect(splitFromHTTPRoute(route([{ group: 'gateway.networking.k8s.io', kind: 'Service', name: 'api' }]))).toEqual([]);
    expect(splitFromHTTPRoute(route([{ group: '', kind: 'Service', name: 'api' }]))).toHaveLength(1);
  });
});
