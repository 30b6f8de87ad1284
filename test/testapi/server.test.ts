import * as http from 'node:http';
import * as net from 'node:net';
import { killAll, request, runToExit, startServer, waitForLog } from './harness';

afterAll(killAll);

/** Open a raw TCP connection and collect everything the server sends back. */
function rawConnection(port: number): Promise<{ socket: net.Socket; received: () => string; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    let data = '';
    const socket = net.connect(port, '127.0.0.1');
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => { data += chunk; });
    socket.on('error', reject);
    const closed = new Promise<void>((r) => socket.on('close', () => r()));
    socket.on('connect', () => resolve({ socket, received: () => data, closed }));
  });
}

describe('releases', () => {
  test.each([
    ['1.0', 200, 'Hello v1', 'api v1'],
    ['2.0', 200, 'Hello v2', 'api v2'],
    ['2.1.3', 200, 'Hello v2', 'api v2'],
    ['3.0', 404, 'not found', 'not found'],
  ])('APP_VERSION=%s answers %i on / and /api', async (version, status, root, api) => {
    const server = await startServer({ APP_VERSION: version });
    const [r, a] = await Promise.all([request(server.port, '/'), request(server.port, '/api')]);
    expect([r.status, r.body]).toEqual([status, root]);
    expect([a.status, a.body]).toEqual([status, api]);
    expect(r.headers['x-app-version']).toBe(version);
    expect(r.headers['content-type']).toBe('text/plain; charset=utf-8');
    server.proc.kill('SIGTERM');
    expect(await server.exited).toEqual({ code: 0, signal: null });
  });

  test('APP_VERSION defaults to 1.0', async () => {
    const server = await startServer();
    expect((await request(server.port, '/')).body).toBe('Hello v1');
    expect(server.logs[0]).toMatchObject({ msg: 'listening', version: '1.0', failureMode: 'none' });
    server.proc.kill('SIGKILL');
  });
});

describe('failure modes', () => {
  test.each([
    ['2.0', 'server-error', 500, 'internal server error'],
    ['2.0', 'not-found', 404, 'not found'],
    ['3.0', 'none', 200, 'Hello v3'],
    ['1.0', 'slow:0', 200, 'Hello v1'],
  ])('APP_VERSION=%s FAILURE_MODE=%s answers %i', async (version, mode, status, body) => {
    const server = await startServer({ APP_VERSION: version, FAILURE_MODE: mode });
    const res = await request(server.port, '/');
    expect([res.status, res.body]).toEqual([status, body]);
    expect((await request(server.port, '/api')).status).toBe(status);
    server.proc.kill('SIGKILL');
  });

  test('slow:<ms> delays the answer and still succeeds', async () => {
    const server = await startServer({ APP_VERSION: '2.0', FAILURE_MODE: 'slow:300' });
    const started = Date.now();
    const res = await request(server.port, '/api');
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect([res.status, res.body]).toEqual([200, 'api v2']);
    const line = await waitForLog(server.logs, (l) => l.path === '/api');
    expect(line.durationMs).toBeGreaterThanOrEqual(290);
    server.proc.kill('SIGKILL');
  });

  test('a client leaving during a slow answer is logged as aborted and harms nothing', async () => {
    const server = await startServer({ FAILURE_MODE: 'slow:5000' });
    const conn = await rawConnection(server.port);
    conn.socket.write('GET /api HTTP/1.1\r\nHost: t\r\n\r\n');
    await request(server.port, '/healthz');
    conn.socket.destroy();
    const line = await waitForLog(server.logs, (l) => l.path === '/api');
    expect(line).toMatchObject({ method: 'GET', status: null, aborted: true });
    expect((await request(server.port, '/readyz')).status).toBe(200);
    server.proc.kill('SIGTERM');
    expect(await server.exited).toEqual({ code: 0, signal: null });
  });

  test.each([
    ['3.0', 'default'],
    ['2.0', 'server-error'],
    ['2.0', 'slow:5000'],
  ])('probes stay healthy during the simulated bug (APP_VERSION=%s FAILURE_MODE=%s)', async (version, mode) => {
    const server = await startServer({ APP_VERSION: version, ...(mode === 'default' ? {} : { FAILURE_MODE: mode }) });
    const [live, ready] = await Promise.all([request(server.port, '/healthz'), request(server.port, '/readyz')]);
    expect([live.status, live.body]).toEqual([200, 'ok']);
    expect([ready.status, ready.body]).toEqual([200, 'ready']);
    server.proc.kill('SIGKILL');
  });
});

describe('routing and requests', () => {
  let server: Awaited<ReturnType<typeof startServer>>;
  beforeAll(async () => { server = await startServer({ APP_VERSION: '2.0' }); });
  afterAll(() => { server.proc.kill('SIGKILL'); });

  test('an unknown route is a 404 with a short body', async () => {
    const res = await request(server.port, '/nope/../etc?x=1');
    expect([res.status, res.body]).toEqual([404, 'not found']);
  });

  test('query strings do not change the route', async () => {
    expect((await request(server.port, '/api?debug=1')).body).toBe('api v2');
  });

  test('HEAD answers like GET without a body', async () => {
    const res = await request(server.port, '/api', { method: 'HEAD' });
    expect([res.status, res.body, res.headers['content-length']]).toEqual([200, '', '6']);
  });

  test.each(['POST', 'DELETE', 'PUT'])('%s on a known route is a 405 naming the allowed methods', async (method) => {
    const res = await request(server.port, '/api', { method });
    expect([res.status, res.body, res.headers.allow]).toEqual([405, 'method not allowed', 'GET, HEAD']);
  });

  test('each request is logged as one JSON line', async () => {
    await request(server.port, '/api?x=1');
    const line = await waitForLog(server.logs, (l) => l.path === '/api' && l.method === 'GET');
    expect(Object.keys(line).sort()).toEqual(['durationMs', 'method', 'path', 'status', 'time', 'version']);
    expect(line).toMatchObject({ status: 200, version: '2.0' });
    expect(typeof line.durationMs).toBe('number');
    expect(new Date(line.time as string).toISOString()).toBe(line.time);
  });

  test.each([
    ['garbage', 400, 'GARBAGE\r\n\r\n'],
    ['bad header', 400, 'GET / HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n'],
    ['huge header', 431, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`],
  ])('a malformed request (%s) gets a %i and the server stays up', async (_name, status, payload) => {
    const conn = await rawConnection(server.port);
    conn.socket.write(payload);
    await conn.closed;
    expect(conn.received()).toMatch(new RegExp(`^HTTP/1.1 ${status} `));
    expect(server.proc.exitCode).toBeNull();
    expect((await request(server.port, '/')).body).toBe('Hello v2');
  });
});

describe('graceful shutdown', () => {
  test('SIGTERM fails readiness, drains the in-flight slow request, then exits 0', async () => {
    const server = await startServer({ APP_VERSION: '2.0', FAILURE_MODE: 'slow:600' });
    const slow = await rawConnection(server.port);
    slow.socket.write('GET /api HTTP/1.1\r\nHost: t\r\n\r\n');
    // A request whose headers are still arriving is in flight too: it must be
    // answered (503 from readiness) rather than cut.
    const probe = await rawConnection(server.port);
    probe.socket.write('GET /readyz HTTP/1.1\r\nHost: t\r\n');
    // Once a later request has been answered, the server has read both sockets.
    await request(server.port, '/healthz');

    server.proc.kill('SIGTERM');
    await waitForLog(server.logs, (l) => l.msg === 'draining');
    await expect(request(server.port, '/healthz')).rejects.toThrow(/ECONNREFUSED/);
    probe.socket.write('\r\n');
    await probe.closed;
    expect(probe.received()).toMatch(/^HTTP\/1.1 503 [^]*\r\nConnection: close\r\n[^]*\r\n\r\ndraining$/);

    await slow.closed;
    expect(slow.received()).toMatch(/^HTTP\/1.1 200 [^]*\r\n\r\napi v2$/);
    expect(await server.exited).toEqual({ code: 0, signal: null });
    expect(server.logs.map((l) => l.msg ?? l.path)).toEqual(['listening', '/healthz', 'draining', '/readyz', '/api', 'stopped']);
  });

  test('SHUTDOWN_DELAY_MS keeps serving new connections while failing readiness', async () => {
    const server = await startServer({ APP_VERSION: '2.0', SHUTDOWN_DELAY_MS: '400' });
    server.proc.kill('SIGTERM');
    await waitForLog(server.logs, (l) => l.msg === 'draining');
    const [ready, api] = await Promise.all([request(server.port, '/readyz'), request(server.port, '/api')]);
    expect([ready.status, ready.body]).toEqual([503, 'draining']);
    expect([api.status, api.body, api.headers.connection]).toEqual([200, 'api v2', 'close']);
    expect(await server.exited).toEqual({ code: 0, signal: null });
    await expect(request(server.port, '/healthz')).rejects.toThrow(/ECONNREFUSED/);
  });

  test('idle keep-alive connections do not hold the process open', async () => {
    const server = await startServer();
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const res = await request(server.port, '/', { agent });
    expect(res.headers.connection).toBe('keep-alive');
    expect(res.headers['keep-alive']).toBe('timeout=65');
    server.proc.kill('SIGTERM');
    expect(await server.exited).toEqual({ code: 0, signal: null });
    agent.destroy();
  });

  test('a second signal (SIGINT after SIGTERM) exits at once with 1', async () => {
    const server = await startServer({ FAILURE_MODE: 'slow:10000' });
    const slow = await rawConnection(server.port);
    slow.socket.write('GET / HTTP/1.1\r\nHost: t\r\n\r\n');
    await request(server.port, '/healthz');
    server.proc.kill('SIGTERM');
    await waitForLog(server.logs, (l) => l.msg === 'draining');
    server.proc.kill('SIGINT');
    expect(await server.exited).toEqual({ code: 1, signal: null });
    expect(server.logs.at(-1)).toMatchObject({ msg: 'second signal, exiting now', signal: 'SIGINT' });
    slow.socket.destroy();
  });

  test('the hard deadline ends a shutdown stuck on a request, with exit 1', async () => {
    const server = await startServer({ FAILURE_MODE: 'slow:10000', SHUTDOWN_TIMEOUT_MS: '200' });
    const slow = await rawConnection(server.port);
    slow.socket.write('GET / HTTP/1.1\r\nHost: t\r\n\r\n');
    await request(server.port, '/healthz');
    server.proc.kill('SIGTERM');
    expect(await server.exited).toEqual({ code: 1, signal: null });
    await slow.closed;
    expect(slow.received()).toBe('');
    expect(server.logs.some((l) => l.msg === 'shutdown deadline reached, closing open connections')).toBe(true);
  });
});

describe('bad settings are refused at start', () => {
  test.each([
    [{ FAILURE_MODE: 'explode' }, /^testapi: FAILURE_MODE \("explode"\) must be one of not-found\|server-error\|slow:<ms>\|none$/],
    [{ FAILURE_MODE: 'slow:abc' }, /^testapi: FAILURE_MODE \("slow:abc"\): slow:<ms> needs an integer from 0 to 60000$/],
    [{ FAILURE_MODE: 'slow:600001' }, /slow:<ms> needs an integer/],
    [{ FAILURE_MODE: 'NOT-FOUND' }, /FAILURE_MODE \("NOT-FOUND"\) must be one of/],
    [{ APP_VERSION: 'three' }, /^testapi: APP_VERSION \("three"\) must look like MAJOR.MINOR or MAJOR.MINOR.PATCH, e.g. 2.0$/],
    [{ APP_VERSION: '3' }, /APP_VERSION \("3"\)/],
    [{ APP_VERSION: 'v2.0' }, /APP_VERSION \("v2.0"\)/],
    [{ PORT: 'http' }, /^testapi: PORT \("http"\) must be an integer from 0 to 65535$/],
    [{ PORT: '70000' }, /PORT \("70000"\)/],
    [{ SHUTDOWN_TIMEOUT_MS: '0' }, /^testapi: SHUTDOWN_TIMEOUT_MS \("0"\) must be an integer of milliseconds, at least 1$/],
    [{ SHUTDOWN_DELAY_MS: '-5' }, /SHUTDOWN_DELAY_MS \("-5"\) must be an integer of milliseconds, at least 0/],
    [{ SHUTDOWN_DELAY_MS: '10000' }, /^testapi: SHUTDOWN_DELAY_MS \(10000\) must be less than SHUTDOWN_TIMEOUT_MS \(10000\)$/],
  ])('%o exits 2 with one clear line', async (env, message) => {
    const result = await runToExit(env);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr.endsWith('\n')).toBe(true);
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(message);
  });

  test('a port already in use exits 1 with one clear line', async () => {
    const server = await startServer();
    const result = await runToExit({ PORT: String(server.port) });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`^testapi: cannot listen on 127.0.0.1:${server.port}: .*EADDRINUSE.*\\n$`));
    server.proc.kill('SIGKILL');
  });
});
