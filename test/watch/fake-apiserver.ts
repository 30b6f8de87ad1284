/**
 * A Kubernetes API server double for canary-watch, on 127.0.0.1 over plain HTTP.
 * It speaks the list and watch wire protocol for one namespace's Canaries and
 * Events: lists carry a resourceVersion, watches replay history after the
 * requested resourceVersion and stream JSON lines of {type, object}, with
 * BOOKMARKs, timeoutSeconds and ERROR 410 Gone for compacted versions.
 * Faults are injected by methods: dropped streams, 410, silent stalls, 403,
 * missing objects, and a full stop/restart on the same port; bad input by
 * `answers` (a proxy's HTML page, garbage, another kind) and raw writes to the
 * watch streams (`sendRaw`, `endWatches`, `cutWatches`).
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

type Resource = 'canaries' | 'events';
type Verb = 'get' | 'list' | 'watch';

interface HistoryEntry {
  readonly rv: number;
  readonly resource: Resource;
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED';
  readonly object: Record<string, unknown>;
}

interface Watcher {
  readonly resource: Resource;
  readonly res: http.ServerResponse;
  stalled: boolean;
}

export interface RequestLog {
  readonly verb: Verb;
  readonly resource: Resource;
  readonly query: Record<string, string>;
  readonly status: number;
}

/** An answer given instead of the API's (see FakeApiServer.answers). */
export interface RawAnswer {
  /** HTTP status, default 200. */
  readonly status?: number;
  /** Content-Type, default application/json. */
  readonly contentType?: string;
  readonly body: string;
  /** Announce a longer body than is sent, then cut the connection (a transfer cut short). */
  readonly cut?: boolean;
}

export interface FakeApiServerOptions {
  readonly namespace?: string;
  /** Milliseconds between BOOKMARKs on watches that allow them; 0 sends none. */
  readonly bookmarkMs?: number;
}

export class FakeApiServer {
  readonly namespace: string;
  readonly requests: RequestLog[] = [];
  /** "verb resource" pairs answered 403, e.g. 'list canaries'. */
  readonly forbidden = new Set<string>();
  /** New watch connections get headers and then silence. */
  stallNewWatches = false;
  /** The next this-many watch requests are answered 500 (an API server in trouble). */
  failNextWatches = 0;
  /** The Canary resource type is not served at all (Flagger's CRD missing). */
  crdMissing = false;
  /**
   * Answers for paths other than canaries and events (MetricTemplates, the service
   * proxy), by "METHOD /path" without the query; requests to them are in `other`.
   */
  readonly routes = new Map<string, RawAnswer | ((body: string, query: URLSearchParams) => RawAnswer)>();
  readonly other: Array<{ readonly method: string; readonly path: string; readonly query: string; readonly body: string }> = [];
  /** "verb resource" pairs (e.g. 'get canaries') answered with these bytes instead of the API's. */
  readonly answers = new Map<string, RawAnswer>();
  port = 0;

  private server?: http.Server;
  private readonly sockets = new Set<import('node:net').Socket>();
  private readonly watchers = new Set<Watcher>();
  private readonly history: HistoryEntry[] = [];
  private rv = 1000;
  private compactedBelow = 0;
  private canary?: Record<string, unknown>;
  private readonly events = new Map<string, Record<string, unknown>>();
  private readonly bookmarkMs: number;
  private bookmarkTimer?: NodeJS.Timeout;

  constructor(options: FakeApiServerOptions = {}) {
    this.namespace = options.namespace ?? 'testapi';
    this.bookmarkMs = options.bookmarkMs ?? 0;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(port = this.port): Promise<void> {
    const server = http.createServer((req, res) => {
      const pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
      if (!/\/(canaries|events)(\/[^/]*)?$/.test(pathname)) this.handleOther(req, res);
      else this.handle(req, res);
    });
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    if (this.bookmarkMs > 0) {
      this.bookmarkTimer = setInterval(() => this.sendBookmarks(), this.bookmarkMs);
    }
  }

  /** Stops listening and cuts every connection, as a crashed API server would. */
  async stop(): Promise<void> {
    if (this.bookmarkTimer) clearInterval(this.bookmarkTimer);
    const server = this.server;
    this.server = undefined;
    this.watchers.clear();
    for (const socket of this.sockets) socket.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Stops, stays down for `downMs`, and comes back on the same port with the same data. */
  async restart(downMs: number): Promise<void> {
    await this.stop();
    await new Promise((resolve) => setTimeout(resolve, downMs));
    await this.start(this.port);
  }

  /** Writes a kubeconfig for this server into a temp dir and returns its path. */
  writeKubeconfig(user = 'tester'): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'canary-watch-'));
    const file = path.join(dir, 'kubeconfig');
    fs.writeFileSync(file, [
      'apiVersion: v1', 'kind: Config', 'current-context: fake',
      'clusters:', `- name: fake`, '  cluster:', `    server: ${this.url}`, '    insecure-skip-tls-verify: true',
      'users:', `- name: ${user}`, '  user:', '    token: fake-token',
      'contexts:', '- name: fake', '  context:', '    cluster: fake', `    user: ${user}`, `    namespace: ${this.namespace}`,
      '',
    ].join('\n'));
    return file;
  }

  // ---- state changes, each one a new resourceVersion pushed to watchers ----

  createCanary(name: string, spec: Record<string, unknown>, status?: Record<string, unknown>): void {
    this.canary = {
      apiVersion: 'flagger.app/v1beta1', kind: 'Canary',
      metadata: { name, namespace: this.namespace, uid: `uid-${name}`, generation: 1 },
      spec,
      ...(status ? { status } : {}),
    };
    this.record('canaries', 'ADDED', this.canary);
  }

  /** Merges into the Canary's status (Flagger's UpdateStatus) and stamps lastTransitionTime. */
  setStatus(status: Record<string, unknown>): void {
    if (!this.canary) throw new Error('no canary');
    const previous = (this.canary.status ?? {}) as Record<string, unknown>;
    this.canary = { ...this.canary, status: { ...previous, ...status, lastTransitionTime: new Date().toISOString() } };
    this.record('canaries', 'MODIFIED', this.canary);
  }

  deleteCanary(): void {
    if (!this.canary) return;
    const gone = this.canary;
    this.canary = undefined;
    this.record('canaries', 'DELETED', gone);
  }

  /** Records a core/v1 Event on the Canary; the same message again bumps its count (client-go's aggregation). */
  addEvent(type: 'Normal' | 'Warning', message: string): void {
    const name = String((this.canary?.metadata as { name?: string } | undefined)?.name ?? 'canary');
    const key = `${type}:${message}`;
    const existing = this.events.get(key);
    const now = new Date().toISOString();
    if (existing) {
      const updated = { ...existing, count: Number(existing.count) + 1, lastTimestamp: now };
      this.events.set(key, updated);
      this.record('events', 'MODIFIED', updated);
      return;
    }
    const event = {
      apiVersion: 'v1', kind: 'Event',
      metadata: { name: `${name}.${this.events.size + 1}`, namespace: this.namespace, uid: `event-${this.events.size + 1}` },
      involvedObject: { apiVersion: 'flagger.app/v1beta1', kind: 'Canary', name, namespace: this.namespace },
      reason: 'Synced', type, message, count: 1, firstTimestamp: now, lastTimestamp: now,
      source: { component: 'flagger' },
    };
    this.events.set(key, event);
    this.record('events', 'ADDED', event);
  }

  // ---- faults ----

  /** Closes every open watch stream abruptly (a dropped connection). */
  dropWatches(): void {
    for (const w of this.watchers) w.res.socket?.destroy();
    this.watchers.clear();
  }

  /** Compacts history: open watches get ERROR 410 and close; resuming from an old version gets 410 too. */
  expireWatches(): void {
    // Versions older than the current one are gone; the current one (what a re-list returns) stays valid.
    this.compactedBelow = this.rv;
    for (const w of this.watchers) this.sendGone(w.res);
    this.watchers.clear();
  }

  /** Open watch streams go silent without closing (a half-dead connection). */
  stallWatches(): void {
    for (const w of this.watchers) w.stalled = true;
  }

  /** Writes raw text to the open watch streams of `resource`: half lines, garbage, foreign objects. */
  sendRaw(resource: Resource, text: string): void {
    for (const w of this.watchers) {
      if (w.resource === resource) w.res.write(text);
    }
  }

  /** Ends the open watch streams of `resource` properly after `text` (a server closing its answer mid-event). */
  endWatches(resource: Resource, text = ''): void {
    for (const w of [...this.watchers]) {
      if (w.resource !== resource) continue;
      this.watchers.delete(w);
      w.res.end(text);
    }
  }

  /** Cuts the connections of the open watch streams of `resource` after `text` (a connection lost mid-event). */
  cutWatches(resource: Resource, text = ''): void {
    for (const w of [...this.watchers]) {
      if (w.resource !== resource) continue;
      this.watchers.delete(w);
      w.res.write(text, () => w.res.socket?.destroy());
    }
  }

  /** The Canary as stored (with its current resourceVersion), to build raw watch lines from. */
  get current(): Record<string, unknown> | undefined {
    return this.canary;
  }

  countRequests(verb: Verb, resource: Resource): number {
    return this.requests.filter((r) => r.verb === verb && r.resource === resource).length;
  }

  /** Resolves once `count` watches of `resource` have been opened in total. */
  async waitForWatch(resource: Resource, count = 1, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.countRequests('watch', resource) < count) {
      if (Date.now() > deadline) throw new Error(`no ${resource} watch #${count} within ${timeoutMs}ms`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  /** Resolves once `count` requests for `path` (any method, outside canaries and events) have arrived. */
  async waitForOther(path: string, count = 1, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.other.filter((o) => o.path === path).length < count) {
      if (Date.now() > deadline) throw new Error(`no request #${count} for ${path} within ${timeoutMs}ms`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  // ---- protocol ----

  private record(resource: Resource, type: HistoryEntry['type'], object: Record<string, unknown>): void {
    this.rv++;
    const stamped: Record<string, unknown> = { ...object, metadata: { ...(object.metadata as object), resourceVersion: String(this.rv) } };
    if (resource === 'canaries' && type !== 'DELETED') this.canary = stamped;
    if (resource === 'events') this.events.set(`${stamped.type}:${stamped.message}`, stamped);
    const entry: HistoryEntry = { rv: this.rv, resource, type, object: stamped };
    this.history.push(entry);
    for (const w of this.watchers) {
      if (w.resource === resource && !w.stalled) w.res.write(JSON.stringify({ type, object: stamped }) + '\n');
    }
  }

  private handleOther(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const method = req.method ?? 'GET';
      this.other.push({ method, path: url.pathname, query: url.search, body });
      const route = this.routes.get(`${method} ${url.pathname}`);
      const answer = typeof route === 'function' ? route(body, url.searchParams) : route;
      if (!answer) {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('404 page not found');
        return;
      }
      res.writeHead(answer.status ?? 200, { 'content-type': answer.contentType ?? 'application/json' });
      res.end(answer.body);
    });
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const query = Object.fromEntries(url.searchParams.entries());
    const ns = this.namespace;
    const collection = new RegExp(`^/apis/flagger\\.app/v1beta1/namespaces/([^/]+)/canaries(?:/([^/]+))?$`).exec(url.pathname);
    const events = /^\/api\/v1\/namespaces\/([^/]+)\/events$/.exec(url.pathname);
    const resource: Resource | undefined = collection ? 'canaries' : events ? 'events' : undefined;
    const name = collection?.[2];
    const verb: Verb = name ? 'get' : query.watch === 'true' || query.watch === '1' ? 'watch' : 'list';
    const reply = (status: number, body: unknown) => {
      if (resource) this.requests.push({ verb, resource, query, status });
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (!resource || req.method !== 'GET' || (resource === 'canaries' && this.crdMissing)) {
      if (resource) this.requests.push({ verb, resource, query, status: 404 });
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('404 page not found');
      return;
    }
    const requestNs = (collection ?? events)![1];
    const group = resource === 'canaries' ? 'flagger.app' : '';
    if (this.forbidden.has(`${verb} ${resource}`)) {
      reply(403, apiStatus(403, 'Forbidden',
        `${resource}${group ? `.${group}` : ''}${name ? ` "${name}"` : ''} is forbidden: User "system:serviceaccount:ci:deployer" `
        + `cannot ${verb} resource "${resource}" in API group "${group}" in the namespace "${requestNs}"`, { group, kind: resource, name }));
      return;
    }
    const raw = this.answers.get(`${verb} ${resource}`);
    if (raw) {
      const status = raw.status ?? 200;
      this.requests.push({ verb, resource, query, status });
      const length = Buffer.byteLength(raw.body) + (raw.cut ? 64 : 0);
      res.writeHead(status, { 'content-type': raw.contentType ?? 'application/json', 'content-length': String(length) });
      if (raw.cut) res.write(raw.body, () => res.socket?.destroy());
      else res.end(raw.body);
      return;
    }
    if (verb === 'watch' && this.failNextWatches > 0) {
      this.failNextWatches--;
      reply(500, apiStatus(500, 'InternalError', 'etcdserver: request timed out', {}));
      return;
    }
    const items = requestNs !== ns ? [] : this.select(resource, query.fieldSelector);
    if (verb === 'get') {
      const found = items.find((o) => (o.metadata as { name?: string }).name === name);
      if (!found) {
        reply(404, apiStatus(404, 'NotFound', `canaries.flagger.app "${name}" not found`, { name, group, kind: 'canaries' }));
      } else {
        reply(200, found);
      }
      return;
    }
    if (verb === 'list') {
      reply(200, {
        apiVersion: resource === 'canaries' ? 'flagger.app/v1beta1' : 'v1',
        kind: resource === 'canaries' ? 'CanaryList' : 'EventList',
        metadata: { resourceVersion: String(this.rv) },
        items,
      });
      return;
    }
    this.startWatch(resource, query, req, res);
  }

  private startWatch(resource: Resource, query: Record<string, string>, req: http.IncomingMessage, res: http.ServerResponse): void {
    this.requests.push({ verb: 'watch', resource, query, status: 200 });
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    const from = Number(query.resourceVersion ?? this.rv);
    if (from < this.compactedBelow) {
      this.sendGone(res);
      return;
    }
    const watcher: Watcher = { resource, res, stalled: this.stallNewWatches };
    if (!watcher.stalled) {
      for (const entry of this.history) {
        if (entry.resource === resource && entry.rv > from && this.matches(entry.object, query.fieldSelector)) {
          res.write(JSON.stringify({ type: entry.type, object: entry.object }) + '\n');
        }
      }
    }
    this.watchers.add(watcher);
    const timeout = Number(query.timeoutSeconds ?? 0);
    const timer = timeout > 0 ? setTimeout(() => {
      this.watchers.delete(watcher);
      res.end();
    }, timeout * 1000) : undefined;
    req.on('close', () => {
      if (timer) clearTimeout(timer);
      this.watchers.delete(watcher);
    });
  }

  private sendGone(res: http.ServerResponse): void {
    res.end(JSON.stringify({ type: 'ERROR', object: apiStatus(410, 'Expired', 'too old resource version', {}) }) + '\n');
  }

  private sendBookmarks(): void {
    for (const w of this.watchers) {
      if (w.stalled) continue;
      const kind = w.resource === 'canaries' ? 'Canary' : 'Event';
      w.res.write(JSON.stringify({ type: 'BOOKMARK', object: { kind, metadata: { resourceVersion: String(this.rv) } } }) + '\n');
    }
  }

  private select(resource: Resource, fieldSelector?: string): Record<string, unknown>[] {
    const all = resource === 'canaries' ? (this.canary ? [this.canary] : []) : [...this.events.values()];
    return all.filter((o) => this.matches(o, fieldSelector));
  }

  /** Supports the equality field selectors the watcher sends. */
  private matches(object: Record<string, unknown>, fieldSelector?: string): boolean {
    if (!fieldSelector) return true;
    return fieldSelector.split(',').every((term) => {
      const [field, value] = term.split('=');
      const actual = field.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], object);
      return actual === value;
    });
  }
}

export function apiStatus(code: number, reason: string, message: string, details: Record<string, unknown>): Record<string, unknown> {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, details, code };
}
