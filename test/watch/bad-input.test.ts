/**
 * Bad input: answers that are not the Kubernetes API (a proxy's HTML page with
 * 200 OK, malformed or truncated JSON, objects of another kind, a stream ended
 * inside an event). The watcher refuses them: exit 3, one line on stderr naming
 * the request and what came back, never a stack trace, never a verdict.
 * Transport faults (a connection cut mid-event) and Kubernetes' own ERROR events
 * stay retriable, and an unknown phase is watched through, never judged.
 */
import { FakeApiServer } from './fake-apiserver';
import { CliResult, startCli, watchCli } from './harness';
import { H1, H2, initialized, NAME, play, promotion2, SPEC, withStepAfterWeight } from './scenarios';

jest.setTimeout(20_000);

const CANARIES = '/apis/flagger.app/v1beta1/namespaces/testapi/canaries';
const EVENTS = '/api/v1/namespaces/testapi/events';
const LOGIN_PAGE = '<html><head><title>Sign in</title></head><body><form action="/oauth2/start">'
  + '<button>Sign in with SSO</button></form></body></html>\n';
/** How the refusal quotes it: on one line, cut after 60 characters. */
const LOGIN_EXCERPT = '"<html><head><title>Sign in</title></head><body><form action=..."';
/**
 * Only the watch stream under test can deliver (or refuse) anything. The watchdog is
 * lengthened too: with the harness' 600 ms, a busy machine (the whole unit run on 2
 * cores) let it reconnect between watchCli() returning and sendRaw(), so the raw line
 * went to the abandoned connection, never reached the watcher, and the test timed out
 * (exit 2) instead of seeing the refusal.
 */
const NO_REGET = { CANARY_WATCH_REGET_MS: '60000', CANARY_WATCH_WATCHDOG_MS: '60000' };
/** A watcher that misses the problem exits 2 (and fails the test) instead of hanging. */
const BACKSTOP = ['--timeout', '6s'];

let server: FakeApiServer;
let kubeconfig: string;

beforeEach(async () => {
  server = new FakeApiServer();
  await server.start();
  kubeconfig = server.writeKubeconfig();
  server.createCanary(NAME, SPEC, initialized);
});

afterEach(async () => {
  await server.stop();
});

const run = (extra: string[] = [], env: Record<string, string> = {}) =>
  startCli([NAME, '-n', 'testapi', '--kubeconfig', kubeconfig, '-o', 'json', ...BACKSTOP, ...extra], env).result;

/** A watch line as the API server writes it, for the Canary as stored with `changes` applied. */
function line(changes: Record<string, unknown>, type = 'MODIFIED'): string {
  return JSON.stringify({ type, object: { ...server.current, ...changes } }) + '\n';
}

const notes = (r: CliResult) => r.records.filter((x) => x.type === 'note').map((x) => String(x.message));

/** Exit 3, exactly one stderr line `canary-watch: <message>`, the same message as the last record, no stack, no verdict. */
function expectRefused(r: CliResult, message: string | RegExp): void {
  const stderr = r.stderr.split('\n').filter((l) => l !== '');
  expect({ code: r.code, lines: stderr.length }).toEqual({ code: 3, lines: 1 });
  if (typeof message === 'string') expect(stderr[0]).toBe(`canary-watch: ${message}`);
  else expect(stderr[0]).toMatch(message);
  expect(r.stdout + r.stderr).not.toMatch(/^ {4}at /m);
  expect(r.records.filter((x) => x.type === 'verdict')).toEqual([]);
  expect(r.records[r.records.length - 1]).toEqual(expect.objectContaining({
    type: 'error', exitCode: 3, message: stderr[0].replace(/^canary-watch: /, ''),
  }));
}

describe('the first list is refused when it is not the Kubernetes API', () => {
  test('200 OK with an HTML page (an SSO proxy in front of the API server)', async () => {
    server.answers.set('list canaries', { contentType: 'text/html; charset=utf-8', body: LOGIN_PAGE });
    const r = await run();
    expectRefused(r, `the API server's answer to GET ${CANARIES} is not JSON `
      + `(text/html: ${LOGIN_EXCERPT}); is a proxy answering in its place?`);
    // Refused at once: a login page does not go away by asking again.
    expect(server.countRequests('list', 'canaries')).toBe(1);
  });

  test('the same page in text output: one stderr line, no verdict line', async () => {
    server.answers.set('list canaries', { contentType: 'text/html', body: LOGIN_PAGE });
    const r = await startCli([NAME, '-n', 'testapi', '--kubeconfig', kubeconfig, ...BACKSTOP]).result;
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^canary-watch: the API server's answer to GET \S+ is not JSON \(text\/html: "<html>[^\n]*\n$/);
    expect(r.stdout).toBe('');
  });

  test('malformed JSON', async () => {
    server.answers.set('list canaries', { body: '{"apiVersion":"flagger.app/v1beta1","kind":"CanaryList",items:[]}' });
    expectRefused(await run(), `the API server's answer to GET ${CANARIES} is not JSON `
      + '(application/json: "{\\"apiVersion\\":\\"flagger.app/v1beta1\\",\\"kind\\":\\"CanaryList\\",item..."); '
      + 'is a proxy answering in its place?');
  });

  test('a JSON body cut short (complete transfer, truncated content)', async () => {
    server.answers.set('list canaries', { body: '{"apiVersion":"flagger.app/v1beta1","kind":"CanaryList","metadata":{"resourceVer' });
    expectRefused(await run(), new RegExp(`^canary-watch: the API server's answer to GET ${CANARIES} is not JSON `
      + '\\(application/json: "\\{\\\\"apiVersion.*\\.\\.\\."\\)'));
  });

  test('an empty 200 answer', async () => {
    server.answers.set('list canaries', { body: '' });
    expectRefused(await run(), `the API server's answer to GET ${CANARIES} is not JSON (application/json: empty); `
      + 'is a proxy answering in its place?');
  });

  test('a transfer cut short (connection lost mid-body) is a network fault: retried, then exit 3', async () => {
    server.answers.set('list canaries', { body: '{"apiVersion":"flagger.app/v1beta1","kind":"CanaryList"', cut: true });
    const r = await run([], { CANARY_WATCH_BACKOFF_MS: '10', CANARY_WATCH_REQUEST_TIMEOUT_MS: '300' });
    expectRefused(r, `cannot reach the API server at ${server.url} (its answer to GET ${CANARIES} broke off); check --kubeconfig/--context`);
    expect(server.countRequests('list', 'canaries')).toBe(3);
  });

  test('a list of another kind', async () => {
    server.answers.set('list canaries', { body: JSON.stringify({ apiVersion: 'v1', kind: 'PodList', metadata: {}, items: [] }) });
    expectRefused(await run(), `the API server's answer to GET ${CANARIES} is a PodList (v1), not a CanaryList`);
  });

  test('a JSON value that is not an object', async () => {
    server.answers.set('list canaries', { body: '"ok"' });
    expectRefused(await run(), `the API server's answer to GET ${CANARIES} is the string "ok", not a CanaryList`);
  });

  test('a CanaryList holding an object of another kind', async () => {
    server.answers.set('list canaries', { body: JSON.stringify({
      apiVersion: 'flagger.app/v1beta1', kind: 'CanaryList', metadata: { resourceVersion: '5' },
      items: [{ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: NAME }, status: { replicas: 2 } }],
    }) });
    expectRefused(await run(), `the API server's answer to GET ${CANARIES} holds a Deployment (apps/v1), not a flagger.app Canary`);
  });

  test('a CanaryList holding another Canary than the one asked for', async () => {
    server.answers.set('list canaries', { body: JSON.stringify({
      apiVersion: 'flagger.app/v1beta1', kind: 'CanaryList', metadata: { resourceVersion: '5' },
      items: [{ ...server.current, metadata: { name: 'web', namespace: 'testapi' } }],
    }) });
    expectRefused(await run(), `the API server's answer to GET ${CANARIES} holds Canary "web", not "${NAME}"`);
  });

  test('a Canary whose status fields have the wrong types', async () => {
    server.setStatus({ phase: 'Succeeded', canaryWeight: 'fifty' });
    expectRefused(await run(['--current']),
      `the API server's answer to GET ${CANARIES} holds a Canary whose status.canaryWeight is the string "fifty", not a number`);
  });
});

describe('the periodic re-GET is refused when it is not the Kubernetes API', () => {
  test('200 OK with an HTML page mid-watch', async () => {
    const cli = await watchCli(server, kubeconfig, BACKSTOP);
    server.answers.set('get canaries', { contentType: 'text/html', body: LOGIN_PAGE });
    expectRefused(await cli.result, `the API server's answer to GET ${CANARIES}/${NAME} is not JSON `
      + `(text/html: ${LOGIN_EXCERPT}); is a proxy answering in its place?`);
  });

  test('an object of another kind mid-watch', async () => {
    const cli = await watchCli(server, kubeconfig, BACKSTOP);
    server.answers.set('get canaries', { body: JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Success', code: 200 }) });
    expectRefused(await cli.result, `the API server's answer to GET ${CANARIES}/${NAME} is a Status (v1), not a flagger.app Canary`);
  });
});

describe('the Canary watch stream is refused when it is not the watch protocol', () => {
  const watched = async () => watchCli(server, kubeconfig, BACKSTOP, NO_REGET);

  test('a malformed event line', async () => {
    const cli = await watched();
    server.sendRaw('canaries', 'type=MODIFIED object=api\n');
    expectRefused(await cli.result, `the API server's watch of ${CANARIES} sent a line that is not JSON `
      + '(application/json: "type=MODIFIED object=api"); is a proxy answering in its place?');
  });

  test('a truncated chunk mid-object, then the next event: the two run together', async () => {
    const cli = await watched();
    const half = line({ status: { ...initialized, phase: 'Progressing', lastAppliedSpec: H2 } }).slice(0, 40);
    server.sendRaw('canaries', half);
    server.setStatus({ phase: 'Progressing', lastAppliedSpec: H2 });
    expectRefused(await cli.result, new RegExp(`^canary-watch: the API server's watch of ${CANARIES} sent a line that is not JSON `
      + '\\(application/json: "\\{\\\\"type\\\\":\\\\"MODIFIED\\\\",\\\\"object\\\\":\\{.*\\.\\.\\."\\); is a proxy answering in its place\\?$'));
  });

  test('an event line split across chunks is read whole (not an error)', async () => {
    const cli = await watched();
    await play(server, promotion2.slice(0, -2));
    // Succeeded arrives only through this line, in two chunks 150 ms apart.
    const succeeded = line({ metadata: { ...(server.current!.metadata as object), resourceVersion: '99999' },
      status: { ...(server.current!.status as object), phase: 'Succeeded', lastPromotedSpec: H2 } });
    server.sendRaw('canaries', succeeded.slice(0, 50));
    await new Promise((resolve) => setTimeout(resolve, 150));
    server.sendRaw('canaries', succeeded.slice(50));
    const r = await cli.result;
    expect(r.code).toBe(0);
    expect(r.verdict).toMatchObject({ outcome: 'succeeded', lastPromotedSpec: H2 });
  });

  test('an event object of another kind', async () => {
    const cli = await watched();
    server.sendRaw('canaries', JSON.stringify({ type: 'MODIFIED', object: {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: NAME, resourceVersion: '99999' }, status: { replicas: 2 },
    } }) + '\n');
    expectRefused(await cli.result, `the API server's watch of ${CANARIES} sent a Deployment (apps/v1), not a flagger.app Canary`);
  });

  test('a JSON line that is not a watch event', async () => {
    const cli = await watched();
    server.sendRaw('canaries', JSON.stringify({ kind: 'Canary', metadata: { name: NAME } }) + '\n');
    expectRefused(await cli.result, `the API server's watch of ${CANARIES} sent a line that is not a watch event: `
      + '"{\\"kind\\":\\"Canary\\",\\"metadata\\":{\\"name\\":\\"api\\"}}"');
  });

  test('an unknown event type', async () => {
    const cli = await watched();
    server.sendRaw('canaries', line({}, 'EXPLODED'));
    expectRefused(await cli.result, new RegExp(`^canary-watch: the API server's watch of ${CANARIES} `
      + 'sent a line that is not a watch event: "\\{\\\\"type\\\\":\\\\"EXPLODED\\\\",.*\\.\\.\\."$'));
  });

  test('an ERROR event whose object is not a Status', async () => {
    const cli = await watched();
    server.sendRaw('canaries', line({}, 'ERROR'));
    expectRefused(await cli.result, `the API server's watch of ${CANARIES} sent an ERROR event with a Canary (flagger.app/v1beta1), not a Status`);
  });

  test('an ERROR event with a 403 Status: exit 3 naming the verb and the account', async () => {
    const cli = await watched();
    server.sendRaw('canaries', JSON.stringify({ type: 'ERROR', object: {
      kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Forbidden', code: 403,
      message: 'canaries.flagger.app is forbidden: User "system:serviceaccount:ci:deployer" cannot watch resource "canaries"',
    } }) + '\n');
    expectRefused(await cli.result, 'forbidden: "system:serviceaccount:ci:deployer" cannot watch canaries.flagger.app in namespace "testapi"; '
      + 'grant get, list, watch on canaries.flagger.app and list, watch on events there (the CanaryWatcherRbac construct does)');
  });

  test('a stream that ends properly in the middle of an event', async () => {
    const cli = await watched();
    server.endWatches('canaries', line({ status: { ...initialized, phase: 'Progressing', lastAppliedSpec: H2 } }).slice(0, 60));
    expectRefused(await cli.result, `the API server's watch of ${CANARIES} ended in the middle of an event: `
      + '"{\\"type\\":\\"MODIFIED\\",\\"object\\":{\\"apiVersion\\":\\"flagger.app/v1bet"');
  });

  test('200 OK with an HTML page instead of a watch stream', async () => {
    const cli = await watched();
    server.answers.set('watch canaries', { contentType: 'text/html', body: LOGIN_PAGE });
    server.dropWatches();
    expectRefused(await cli.result, `the API server's watch of ${CANARIES} sent a line that is not JSON `
      + `(text/html: ${LOGIN_EXCERPT}); is a proxy answering in its place?`);
  });
});

describe('transport faults and Kubernetes ERROR events stay retriable', () => {
  test('a connection cut in the middle of an event: resumes from the last resourceVersion, nothing lost', async () => {
    const cli = await watchCli(server, kubeconfig, BACKSTOP, NO_REGET);
    await play(server, withStepAfterWeight(promotion2, 20, [{ fault: (s) => {
      s.cutWatches('canaries', line({ status: { ...initialized, phase: 'Progressing', canaryWeight: 30 } }).slice(0, 70));
    } }]));
    const r = await cli.result;
    expect(r.code).toBe(0);
    expect(r.verdict).toMatchObject({ outcome: 'succeeded', lastPromotedSpec: H2, maxWeightReached: 50 });
    expect(notes(r).join('\n')).toMatch(/canaries\.flagger\.app watch lost \(ECONNRESET\): reconnecting in/);
    expect(r.stderr).toBe('');
  });

  test('an ERROR event with a 500 Status: reconnects and still gets the verdict', async () => {
    const cli = await watchCli(server, kubeconfig, BACKSTOP, NO_REGET);
    await play(server, withStepAfterWeight(promotion2, 20, [{ fault: (s) => s.sendRaw('canaries', JSON.stringify({ type: 'ERROR', object: {
      kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'InternalError', code: 500, message: 'etcdserver: request timed out',
    } }) + '\n') }]));
    const r = await cli.result;
    expect(r.code).toBe(0);
    expect(r.verdict).toMatchObject({ outcome: 'succeeded', maxWeightReached: 50 });
    expect(notes(r).join('\n')).toMatch(/canaries\.flagger\.app watch error 500 etcdserver: request timed out: reconnecting in/);
  });
});

describe('bad input on the Events (shown, never judged): the watch goes on without them', () => {
  test('the Events list answered with an HTML page', async () => {
    server.answers.set('list events', { contentType: 'text/html', body: LOGIN_PAGE });
    const cli = startCli([NAME, '-n', 'testapi', '--kubeconfig', kubeconfig, '-o', 'json', ...BACKSTOP]);
    await server.waitForWatch('canaries');
    await play(server, promotion2);
    const r = await cli.result;
    expect(r.code).toBe(0);
    expect(notes(r)).toContain(`not showing events: the API server's answer to GET ${EVENTS} is not JSON `
      + `(text/html: ${LOGIN_EXCERPT}); is a proxy answering in its place?`);
  });

  test('an object of another kind on the Events watch', async () => {
    // A long watchdog, as for the Canary stream: the raw line must reach the live connection.
    const cli = await watchCli(server, kubeconfig, BACKSTOP, { CANARY_WATCH_WATCHDOG_MS: '60000' });
    server.sendRaw('events', line({}));
    await play(server, promotion2);
    const r = await cli.result;
    expect(r.code).toBe(0);
    expect(notes(r)).toContain(`not showing events: the API server's watch of ${EVENTS} sent a Canary (flagger.app/v1beta1), not an Event`);
    expect(r.records.filter((x) => x.type === 'event')).toEqual([]);
  });
});

describe('a phase this watcher does not know (a newer Flagger) is shown, never judged', () => {
  test('"Exploding" with the hashes of a promotion: not a success, watched until the timeout', async () => {
    const cli = await watchCli(server, kubeconfig, ['--timeout', '2s']);
    await play(server, [
      { status: { phase: 'Progressing', lastAppliedSpec: H2 } },
      { status: { canaryWeight: 10 } },
      { status: { phase: 'Exploding', canaryWeight: 0, lastPromotedSpec: H2 } },
    ]);
    const r = await cli.result;
    expect(r.code).toBe(2);
    expect(r.verdict).toMatchObject({ outcome: 'timeout', met: false, phase: 'Exploding', lastPromotedSpec: H2 });
    expect(r.records).toContainEqual(expect.objectContaining({ type: 'status', phase: 'Exploding' }));
    expect(notes(r)).toContain('phase "Exploding" is unknown to this watcher (a newer Flagger?): it is shown, never taken as an outcome');
    expect(r.stderr).toBe('');
  });

  test('an unknown phase mid-analysis does not stop the watch: the later promotion is the outcome', async () => {
    const cli = await watchCli(server, kubeconfig, BACKSTOP);
    await play(server, withStepAfterWeight(promotion2, 30, [{ status: { phase: 'Recalibrating' } }, { status: { phase: 'Progressing' } }]));
    const r = await cli.result;
    expect(r.code).toBe(0);
    expect(r.verdict).toMatchObject({ outcome: 'succeeded', lastPromotedSpec: H2, previousPromotedSpec: H1 });
    expect(notes(r).join('\n')).toMatch(/phase "Recalibrating" is unknown/);
  });

  test('--current on an unknown phase judges nothing: timeout, exit 2', async () => {
    server.setStatus({ phase: 'Exploding', lastAppliedSpec: H2, lastPromotedSpec: H2 });
    const r = await run(['--current', '--timeout', '1s']);
    expect(r.code).toBe(2);
    expect(r.verdict).toMatchObject({ outcome: 'timeout', phase: 'Exploding' });
  });
});
