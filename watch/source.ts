/**
 * The Kubernetes side of canary-watch, on @kubernetes/client-node 1.4.
 *
 * client-node 1.4 gives a bare watch: no client-side timeout (a silent
 * connection hangs forever), no re-list, no retry. So each stream here is a
 * list-then-watch loop of our own: watch from the list's resourceVersion with
 * bookmarks and a server-side timeout, an inactivity watchdog, a re-list on
 * 410 Gone, reconnects with exponential backoff after a disconnect or a 5xx,
 * and a periodic re-GET of the Canary as the source of truth.
 */
import { CoreV1Api, CustomObjectsApi, KubeConfig, Observable, Watch } from '@kubernetes/client-node';
import type { ConfigurationOptions, ObservableMiddleware } from '@kubernetes/client-node';
import { CanaryEvent, CanaryObject } from './verdict';

export const CANARY_GROUP = 'flagger.app';
export const CANARY_VERSION = 'v1beta1';
export const CANARY_PLURAL = 'canaries';
const CANARY_RESOURCE = `${CANARY_PLURAL}.${CANARY_GROUP}`;

/** A problem the user must fix (exit code 3); the message is one actionable line. */
export class WatchError extends Error {}

export interface Tuning {
  /** Server-side watch timeout (timeoutSeconds): the server ends the stream, we resume from the last resourceVersion. */
  readonly watchTimeoutSeconds: number;
  /** Reconnect when a watch stream sends nothing (not even a bookmark) for this long. */
  readonly watchdogMs: number;
  /** Re-GET the Canary this often, whatever the watch says. */
  readonly regetMs: number;
  readonly backoffInitialMs: number;
  readonly backoffMaxMs: number;
  /** Timeout of one list or get request. */
  readonly requestTimeoutMs: number;
  /** Wait before re-reading an ambiguous Failed state (see verdict.ts). */
  readonly settleMs: number;
}

export const DEFAULT_TUNING: Tuning = {
  watchTimeoutSeconds: 240,
  watchdogMs: 120_000,
  regetMs: 20_000,
  backoffInitialMs: 500,
  backoffMaxMs: 10_000,
  requestTimeoutMs: 15_000,
  settleMs: 3_000,
};

/** Test and bench hooks: CANARY_WATCH_<NAME> overrides a tuning value (undocumented on purpose). */
export function tuningFromEnv(env: NodeJS.ProcessEnv): Tuning {
  const pick = (key: string, fallback: number): number => {
    const value = Number(env[`CANARY_WATCH_${key}`]);
    return Number.isFinite(value) && value > 0 ? value : fallback;
  };
  return {
    watchTimeoutSeconds: pick('WATCH_TIMEOUT_S', DEFAULT_TUNING.watchTimeoutSeconds),
    watchdogMs: pick('WATCHDOG_MS', DEFAULT_TUNING.watchdogMs),
    regetMs: pick('REGET_MS', DEFAULT_TUNING.regetMs),
    backoffInitialMs: pick('BACKOFF_MS', DEFAULT_TUNING.backoffInitialMs),
    backoffMaxMs: pick('BACKOFF_MAX_MS', DEFAULT_TUNING.backoffMaxMs),
    requestTimeoutMs: pick('REQUEST_TIMEOUT_MS', DEFAULT_TUNING.requestTimeoutMs),
    settleMs: pick('SETTLE_MS', DEFAULT_TUNING.settleMs),
  };
}

export interface SourceHandlers {
  canary(canary: CanaryObject): void;
  event(event: CanaryEvent): void;
  deleted(): void;
  notice(level: 'info' | 'warning', message: string): void;
  fatal(error: WatchError): void;
}

interface ApiFailure {
  readonly status?: number;
  readonly body?: { reason?: string; message?: string; details?: { name?: string } };
  readonly cause: string;
}

/** Normalizes client-node's ApiException, watch errors and network errors. */
function failure(err: unknown): ApiFailure {
  const e = err as { code?: unknown; statusCode?: unknown; body?: unknown; message?: string };
  const status = typeof e.code === 'number' ? e.code : typeof e.statusCode === 'number' ? e.statusCode : undefined;
  let body: ApiFailure['body'];
  if (typeof e.body === 'string') {
    try {
      body = JSON.parse(e.body);
    } catch {
      body = undefined;
    }
  } else if (e.body && typeof e.body === 'object') {
    body = e.body as ApiFailure['body'];
  }
  const cause = status !== undefined
    ? `HTTP ${status}${body?.message ? `: ${body.message}` : ''}`
    : (typeof e.code === 'string' ? e.code : e.message?.split('\n')[0]) ?? String(err);
  return { status, body, cause };
}

function isTransient(f: ApiFailure): boolean {
  return f.status === undefined || f.status === 429 || f.status >= 500;
}

function forbidden(f: ApiFailure, verb: string, resource: string, namespace: string): WatchError {
  const user = /User "([^"]+)"/.exec(f.body?.message ?? '')?.[1];
  return new WatchError(`forbidden: ${user ? `"${user}"` : 'this account'} cannot ${verb} ${resource} in namespace "${namespace}"; `
    + `grant get, list, watch on ${CANARY_RESOURCE} and list, watch on events there (the CanaryWatcherRbac construct does)`);
}

export class KubeCanarySource {
  private readonly custom: CustomObjectsApi;
  private readonly core: CoreV1Api;
  private readonly watch: Watch;
  private readonly server: string;
  private canaries?: ListWatch<CanaryObject>;
  private events?: ListWatch<KubeEvent>;
  private poller?: NodeJS.Timeout;
  private readonly seenEvents = new Map<string, number>();
  private lastPollError?: string;
  private stopped = false;

  constructor(kc: KubeConfig, private readonly namespace: string, private readonly name: string,
    private readonly handlers: SourceHandlers, private readonly tuning: Tuning) {
    this.custom = kc.makeApiClient(CustomObjectsApi);
    this.core = kc.makeApiClient(CoreV1Api);
    this.watch = new Watch(kc);
    this.server = kc.getCurrentCluster()?.server ?? 'the API server';
  }

  /** Lists the Canary (throws WatchError if it cannot be read), then starts watching in the background. */
  async start(): Promise<CanaryObject> {
    const path = `/apis/${CANARY_GROUP}/${CANARY_VERSION}/namespaces/${this.namespace}/${CANARY_PLURAL}`;
    let first: CanaryObject | undefined;
    this.canaries = new ListWatch<CanaryObject>({
      label: CANARY_RESOURCE,
      path,
      fieldSelector: `metadata.name=${this.name}`,
      list: () => this.listCanaries(),
      onList: (items, relist) => {
        if (!relist) first = items[0];
        else if (items.length === 0) this.handlers.deleted();
        else this.handlers.canary(items[0]);
      },
      onWatch: (type, obj) => (type === 'DELETED' ? this.handlers.deleted() : this.handlers.canary(obj)),
      notice: this.handlers.notice,
      fatal: (f, verb) => this.handlers.fatal(this.explain(f, verb, CANARY_RESOURCE)),
    }, this.watch, this.tuning);
    await this.canaries.start((f, verb) => this.explain(f, verb, CANARY_RESOURCE));
    if (!first) {
      this.stop();
      throw new WatchError(`canary "${this.name}" not found in namespace "${this.namespace}" `
        + `(check the name and -n; list them with: kubectl get ${CANARY_RESOURCE} -n ${this.namespace})`);
    }
    this.startEvents();
    this.poller = setInterval(() => void this.poll(), this.tuning.regetMs);
    return first;
  }

  /** Reads the Canary now; undefined when it no longer exists. Throws on other errors. */
  async get(): Promise<CanaryObject | undefined> {
    try {
      return await this.custom.getNamespacedCustomObject({
        group: CANARY_GROUP, version: CANARY_VERSION, namespace: this.namespace, plural: CANARY_PLURAL, name: this.name,
      }, this.requestOptions());
    } catch (err) {
      const f = failure(err);
      // Only a NotFound Status naming our Canary means it is gone: a restarting API
      // server can answer 404 for a custom resource type it has not registered yet.
      if (f.status === 404 && f.body?.reason === 'NotFound' && f.body.details?.name === this.name) return undefined;
      throw err;
    }
  }

  stop(): void {
    this.stopped = true;
    if (this.poller) clearInterval(this.poller);
    this.canaries?.stop();
    this.events?.stop();
  }

  private async poll(): Promise<void> {
    try {
      const canary = await this.get();
      if (this.stopped) return;
      this.lastPollError = undefined;
      if (canary) this.handlers.canary(canary);
      else this.handlers.deleted();
    } catch (err) {
      const f = failure(err);
      if (this.stopped || f.cause === this.lastPollError) return;
      this.lastPollError = f.cause;
      this.handlers.notice('warning', `re-reading the canary failed (${f.cause}); will retry`);
    }
  }

  private startEvents(): void {
    const fieldSelector = `involvedObject.kind=Canary,involvedObject.name=${this.name}`;
    this.events = new ListWatch<KubeEvent>({
      label: 'events',
      path: `/api/v1/namespaces/${this.namespace}/events`,
      fieldSelector,
      list: async () => {
        const list = await this.core.listNamespacedEvent({ namespace: this.namespace, fieldSelector }, this.requestOptions());
        return { resourceVersion: list.metadata?.resourceVersion ?? '', items: list.items as KubeEvent[] };
      },
      // Events that exist at start are history; on a re-list only unseen ones are shown.
      onList: (items, relist) => items.forEach((e) => this.showEvent(e, relist)),
      onWatch: (type, e) => {
        if (type !== 'DELETED') this.showEvent(e, true);
      },
      notice: this.handlers.notice,
      // Events only decorate the output: without permission the watch goes on without them.
      fatal: (f, verb) => this.withoutEvents(f, verb),
    }, this.watch, this.tuning);
    void this.events.start().catch((err: unknown) => this.withoutEvents(failure(err), 'list'));
  }

  private withoutEvents(f: ApiFailure, verb: string): void {
    this.handlers.notice('warning', 'not showing events: ' + (f.status === 403
      ? `this account cannot ${verb} events in namespace "${this.namespace}"` : f.cause));
  }

  private showEvent(e: KubeEvent, show: boolean): void {
    const key = e.metadata?.uid ?? `${e.metadata?.name}`;
    const count = e.count ?? 1;
    if (this.seenEvents.get(key) === count) return;
    this.seenEvents.set(key, count);
    if (show) this.handlers.event({ type: e.type, reason: e.reason, message: e.message, count });
  }

  private async listCanaries(): Promise<{ resourceVersion: string; items: CanaryObject[] }> {
    const list = await this.custom.listNamespacedCustomObject({
      group: CANARY_GROUP, version: CANARY_VERSION, namespace: this.namespace, plural: CANARY_PLURAL,
      fieldSelector: `metadata.name=${this.name}`,
    }, this.requestOptions());
    return { resourceVersion: list?.metadata?.resourceVersion ?? '', items: list?.items ?? [] };
  }

  /** Per-request timeout: client-node sets none, and a hung request would hang the watcher. */
  private requestOptions(): ConfigurationOptions {
    const timeoutMs = this.tuning.requestTimeoutMs;
    const middleware: ObservableMiddleware = {
      pre: (context) => {
        context.setSignal(AbortSignal.timeout(timeoutMs));
        return new Observable(Promise.resolve(context));
      },
      post: (response) => new Observable(Promise.resolve(response)),
    };
    return { middleware: [middleware], middlewareMergeStrategy: 'append' };
  }

  private explain(f: ApiFailure, verb: string, resource: string): WatchError {
    if (f.status === 403) return forbidden(f, verb, resource, this.namespace);
    if (f.status === 401) {
      return new WatchError(`unauthorized: ${this.server} rejected the credentials (HTTP 401); refresh them or pick another --context`);
    }
    if (f.status === 404) {
      return new WatchError(`${this.server} does not serve ${resource}/${CANARY_VERSION} in namespace "${this.namespace}" `
        + '(HTTP 404): is Flagger installed (its Canary CRD) and the namespace right?');
    }
    if (f.status === undefined) {
      return new WatchError(`cannot reach the API server at ${this.server} (${f.cause}); check --kubeconfig/--context`);
    }
    return new WatchError(`cannot ${verb} ${resource} in namespace "${this.namespace}": ${f.cause}`);
  }
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms < 1000 ? 2 : 1)}s`;
}

interface KubeEvent extends CanaryEvent {
  readonly metadata?: { readonly uid?: string; readonly name?: string; readonly resourceVersion?: string };
}

interface Listed<T> {
  readonly resourceVersion: string;
  readonly items: T[];
}

interface ListWatchSpec<T> {
  readonly label: string;
  readonly path: string;
  readonly fieldSelector: string;
  list(): Promise<Listed<T>>;
  onList(items: T[], relist: boolean): void;
  onWatch(type: string, obj: T): void;
  notice(level: 'info' | 'warning', message: string): void;
  /** A non-retriable failure (403, 401, 404) of `verb`. */
  fatal(f: ApiFailure, verb: string): void;
}

/** One list-then-watch stream that survives disconnects, 410 Gone and silent stalls. */
class ListWatch<T extends { metadata?: { resourceVersion?: string } }> {
  private resourceVersion = '';
  /** Bumped for every connection: callbacks of an abandoned connection are ignored. */
  private generation = 0;
  private controller?: AbortController;
  private watchdog?: NodeJS.Timeout;
  private retry?: NodeJS.Timeout;
  private failures = 0;
  private connectedAt = 0;
  private stopped = false;

  constructor(private readonly spec: ListWatchSpec<T>, private readonly watch: Watch, private readonly tuning: Tuning) {}

  /**
   * First list: failures are thrown to the caller (converted by `explain` when given,
   * retried a few times when transient); then the watch runs in the background.
   */
  async start(explain?: (f: ApiFailure, verb: string) => WatchError): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        const listed = await this.spec.list();
        this.resourceVersion = listed.resourceVersion;
        this.spec.onList(listed.items, false);
        break;
      } catch (err) {
        const f = failure(err);
        if (!isTransient(f) || attempt >= 3) {
          if (!explain) throw err;
          throw explain(f, 'list');
        }
        await new Promise((resolve) => setTimeout(resolve, this.backoff(attempt)));
      }
    }
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    this.abandon();
    if (this.retry) clearTimeout(this.retry);
  }

  private connect(): void {
    if (this.stopped) return;
    const generation = this.abandon();
    this.connectedAt = Date.now();
    this.armWatchdog(generation);
    const query = {
      resourceVersion: this.resourceVersion || undefined,
      allowWatchBookmarks: true,
      timeoutSeconds: this.tuning.watchTimeoutSeconds,
      fieldSelector: this.spec.fieldSelector,
    };
    this.watch.watch(this.spec.path, query,
      (type: string, obj: T) => this.onLine(generation, type, obj),
      (err: unknown) => this.onDone(generation, err))
      .then((controller) => {
        // A connection replaced (watchdog) before its headers arrived is closed as soon as we can.
        if (generation !== this.generation) controller.abort();
        else this.controller = controller;
      }, (err: unknown) => this.onDone(generation, err));
  }

  /** Drops the current connection; returns the generation of the next one. */
  private abandon(): number {
    this.generation++;
    if (this.watchdog) clearTimeout(this.watchdog);
    const controller = this.controller;
    this.controller = undefined;
    controller?.abort();
    return this.generation;
  }

  private armWatchdog(generation: number): void {
    if (this.watchdog) clearTimeout(this.watchdog);
    this.watchdog = setTimeout(() => {
      if (generation !== this.generation || this.stopped) return;
      this.spec.notice('warning', `${this.spec.label} watch silent for ${Math.round(this.tuning.watchdogMs / 1000)}s: reconnecting`);
      this.connect();
    }, this.tuning.watchdogMs);
  }

  private onLine(generation: number, type: string, obj: T): void {
    if (generation !== this.generation || this.stopped) return;
    this.armWatchdog(generation);
    if (type === 'ERROR') {
      const status = obj as unknown as { code?: number; message?: string };
      if (status.code === 410) {
        this.spec.notice('info', `${this.spec.label} watch expired (410 Gone): re-listing`);
        void this.relist();
      } else {
        this.scheduleReconnect(`${this.spec.label} watch error ${status.code ?? ''} ${status.message ?? ''}`.trim());
      }
      return;
    }
    this.failures = 0;
    const rv = obj?.metadata?.resourceVersion;
    if (rv) this.resourceVersion = rv;
    if (type === 'BOOKMARK') return;
    this.spec.onWatch(type, obj);
  }

  private onDone(generation: number, err: unknown): void {
    if (generation !== this.generation || this.stopped) return;
    this.abandon();
    if (!err) {
      // The server ended the stream (timeoutSeconds): resume at once, unless it keeps ending right away.
      if (Date.now() - this.connectedAt > 1000) this.connect();
      else this.scheduleReconnect('watch closed by the server');
      return;
    }
    const f = failure(err);
    if (f.status === 410) {
      this.spec.notice('info', `${this.spec.label} watch expired (410 Gone): re-listing`);
      void this.relist();
    } else if (f.status === 401 || f.status === 403) {
      this.stopped = true;
      this.spec.fatal(f, 'watch');
    } else {
      this.scheduleReconnect(`${this.spec.label} watch lost (${f.cause})`);
    }
  }

  private scheduleReconnect(reason: string): void {
    this.abandon();
    const delay = this.backoff(++this.failures);
    this.spec.notice('warning', `${reason}: reconnecting in ${seconds(delay)}`);
    if (this.retry) clearTimeout(this.retry);
    this.retry = setTimeout(() => this.connect(), delay);
  }

  private async relist(): Promise<void> {
    const generation = this.abandon();
    try {
      const listed = await this.spec.list();
      if (generation !== this.generation || this.stopped) return;
      this.failures = 0;
      this.resourceVersion = listed.resourceVersion;
      this.spec.onList(listed.items, true);
      this.connect();
    } catch (err) {
      if (generation !== this.generation || this.stopped) return;
      const f = failure(err);
      if (f.status === 401 || f.status === 403) {
        this.stopped = true;
        this.spec.fatal(f, 'list');
        return;
      }
      const delay = this.backoff(++this.failures);
        this.spec.notice('warning', `re-listing ${this.spec.label} failed (${f.cause}): retrying in ${seconds(delay)}`);
      if (this.retry) clearTimeout(this.retry);
      this.retry = setTimeout(() => void this.relist(), delay);
    }
  }

  /** Exponential backoff with jitter, capped. */
  private backoff(attempt: number): number {
    const base = Math.min(this.tuning.backoffMaxMs, this.tuning.backoffInitialMs * 2 ** (attempt - 1));
    return Math.round(base * (0.8 + Math.random() * 0.4));
  }
}
