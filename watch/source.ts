/**
 * The Kubernetes side of canary-watch, on @kubernetes/client-node 1.4: the
 * Canary and its Events, each followed by a ResumableWatch (resumable-watch.ts,
 * which makes client-node's bare watch survive disconnects, 410 Gone and
 * stalls), plus a periodic re-GET of the Canary as the source of truth.
 * Every answer is checked before it is believed: JSON, the kind asked for, the
 * Canary asked for, status fields of the right types. Anything else is a
 * BadAnswer (resumable-watch.ts) and ends the watch with exit code 3.
 */
import type { ConfigurationOptions, KubeConfig, ObservableMiddleware, ResponseContext } from '@kubernetes/client-node';
import { ApiFailure, BadAnswer, excerpt, failure, kindOf, Listed, ResumableWatch, WatchTuning } from './resumable-watch';
import { StrictWatch } from './strict-watch';
import { CanaryEvent, CanaryObject } from './verdict';
import { clientNode, KubeApi } from './lean-client';

const CANARY_GROUP = 'flagger.app';
const CANARY_VERSION = 'v1beta1';
const CANARY_PLURAL = 'canaries';
const CANARY_RESOURCE = `${CANARY_PLURAL}.${CANARY_GROUP}`;

import { WatchError } from './kube';

export { WatchError };

export interface Tuning extends WatchTuning {
  /** Re-GET the Canary this often, whatever the watch says. */
  readonly regetMs: number;
  /** Timeout of one list or get request. */
  readonly requestTimeoutMs: number;
  /** Wait before re-reading an ambiguous Failed state (see verdict.ts). */
  readonly settleMs: number;
}

const DEFAULT_TUNING: Tuning = {
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

/** The status fields the watcher reads, with their JSON types. */
const STATUS_TYPES = {
  phase: 'string', lastAppliedSpec: 'string', lastPromotedSpec: 'string',
  canaryWeight: 'number', failedChecks: 'number', iterations: 'number',
} as const;

/** What makes `obj` something else than the Canary `name`, or undefined when it is that Canary. */
function notTheCanary(obj: unknown, name: string): string | undefined {
  const o = obj as { kind?: unknown; apiVersion?: unknown; metadata?: { name?: unknown }; status?: unknown } | null;
  if (typeof o !== 'object' || o === null || o.kind !== 'Canary' || !String(o.apiVersion).startsWith(`${CANARY_GROUP}/`)) {
    return `${kindOf(obj)}, not a ${CANARY_GROUP} Canary`;
  }
  if (o.metadata?.name !== name) return `Canary ${JSON.stringify(o.metadata?.name) ?? 'without a name'}, not "${name}"`;
  if (o.status === undefined || o.status === null) return undefined;
  if (typeof o.status !== 'object' || Array.isArray(o.status)) return `a Canary whose status is ${kindOf(o.status)}`;
  for (const [field, type] of Object.entries(STATUS_TYPES)) {
    const value = (o.status as Record<string, unknown>)[field];
    if (value !== undefined && value !== null && typeof value !== type) {
      return `a Canary whose status.${field} is ${kindOf(value)}, not a ${type}`;
    }
  }
  return undefined;
}

/**
 * A 2xx answer must be JSON: client-node hands a text/html body (a proxy's page sent
 * with 200 OK) back as a string and reports malformed JSON as a bare SyntaxError.
 * node-fetch bodies are read once: the checked text is put back for client-node.
 */
async function checkJson(response: ResponseContext, path: string): Promise<ResponseContext> {
  if (response.httpStatusCode < 200 || response.httpStatusCode > 299) return response;
  let text: string;
  try {
    text = await response.body.text();
  } catch {
    // Not a BadAnswer: a transfer cut short (or the request timeout) is a network fault, retried like one.
    throw new Error(`its answer to GET ${path} broke off`);
  }
  response.body = { text: async () => text, binary: async () => Buffer.from(text) };
  const type = (response.headers['content-type'] ?? 'no content type').split(';')[0].trim();
  if (/[/+]json$/i.test(type)) {
    try {
      JSON.parse(text);
      return response;
    } catch {
      // reported below
    }
  }
  throw new BadAnswer(`the API server's answer to GET ${path} is not JSON (${type}: ${excerpt(text)}); is a proxy answering in its place?`);
}

function forbidden(f: ApiFailure, verb: string, resource: string, namespace: string): WatchError {
  const user = /User "([^"]+)"/.exec(f.body?.message ?? '')?.[1];
  return new WatchError(`forbidden: ${user ? `"${user}"` : 'this account'} cannot ${verb} ${resource} in namespace "${namespace}"; `
    + `grant get, list, watch on ${CANARY_RESOURCE} and list, watch on events there (the CanaryWatcherRbac construct does)`);
}

export class KubeCanarySource {
  private readonly api: KubeApi;
  private readonly watch: StrictWatch;
  private readonly server: string;
  /** The Canary collection: what the list and the watch read, and GET ${path}/${name}. */
  private readonly path: string;
  private canaries?: ResumableWatch<CanaryObject>;
  private events?: ResumableWatch<KubeEvent>;
  private poller?: NodeJS.Timeout;
  private readonly seenEvents = new Map<string, number>();
  private lastPollError?: string;
  private stopped = false;

  constructor(kc: KubeConfig, private readonly namespace: string, private readonly name: string,
    private readonly handlers: SourceHandlers, private readonly tuning: Tuning) {
    this.api = clientNode().makeApi(kc);
    this.watch = new StrictWatch(kc);
    this.server = kc.getCurrentCluster()?.server ?? 'the API server';
    this.path = `/apis/${CANARY_GROUP}/${CANARY_VERSION}/namespaces/${namespace}/${CANARY_PLURAL}`;
  }

  /** Lists the Canary (throws WatchError if it cannot be read), then starts watching in the background. */
  async start(): Promise<CanaryObject> {
    let first: CanaryObject | undefined;
    this.canaries = new ResumableWatch<CanaryObject>({
      label: CANARY_RESOURCE,
      path: this.path,
      fieldSelector: `metadata.name=${this.name}`,
      list: () => this.listCanaries(),
      onList: (items, relist) => {
        if (!relist) first = items[0];
        else if (items.length === 0) this.handlers.deleted();
        else this.handlers.canary(items[0]);
      },
      onWatch: (type, obj) => {
        const problem = notTheCanary(obj, this.name);
        if (problem) throw new BadAnswer(`the API server's watch of ${this.path} sent ${problem}`);
        if (type === 'DELETED') this.handlers.deleted();
        else this.handlers.canary(obj);
      },
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

  /** Reads the Canary now; undefined when it no longer exists. Throws a WatchError on a bad answer, or the error. */
  async get(): Promise<CanaryObject | undefined> {
    try {
      const canary: unknown = await this.api.getNamespacedCustomObject({
        group: CANARY_GROUP, version: CANARY_VERSION, namespace: this.namespace, plural: CANARY_PLURAL, name: this.name,
      }, this.requestOptions());
      const problem = notTheCanary(canary, this.name);
      if (problem) throw new BadAnswer(`the API server's answer to GET ${this.path}/${this.name} is ${problem}`);
      return canary as CanaryObject;
    } catch (err) {
      const f = failure(err);
      // Only a NotFound Status naming our Canary means it is gone: a restarting API
      // server can answer 404 for a custom resource type it has not registered yet.
      if (f.status === 404 && f.body?.reason === 'NotFound' && f.body.details?.name === this.name) return undefined;
      if (f.invalid) throw new WatchError(f.cause);
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
      if (this.stopped) return;
      if (err instanceof WatchError) {
        this.handlers.fatal(err);
        return;
      }
      const f = failure(err);
      if (f.cause === this.lastPollError) return;
      this.lastPollError = f.cause;
      this.handlers.notice('warning', `re-reading the canary failed (${f.cause}); will retry`);
    }
  }

  private startEvents(): void {
    const fieldSelector = `involvedObject.kind=Canary,involvedObject.name=${this.name}`;
    const path = `/api/v1/namespaces/${this.namespace}/events`;
    this.events = new ResumableWatch<KubeEvent>({
      label: 'events',
      path,
      fieldSelector,
      list: async () => {
        const list = await this.api.listNamespacedEvent({ namespace: this.namespace, fieldSelector }, this.requestOptions());
        return { resourceVersion: list.metadata?.resourceVersion ?? '', items: list.items as KubeEvent[] };
      },
      // Events that exist at start are history; on a re-list only unseen ones are shown.
      onList: (items, relist) => items.forEach((e) => this.showEvent(e, relist)),
      onWatch: (type, e) => {
        if (e.kind !== undefined && e.kind !== 'Event') {
          throw new BadAnswer(`the API server's watch of ${path} sent ${kindOf(e)}, not an Event`);
        }
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

  private async listCanaries(): Promise<Listed<CanaryObject>> {
    const list: unknown = await this.api.listNamespacedCustomObject({
      group: CANARY_GROUP, version: CANARY_VERSION, namespace: this.namespace, plural: CANARY_PLURAL,
      fieldSelector: `metadata.name=${this.name}`,
    }, this.requestOptions());
    const answer = `the API server's answer to GET ${this.path}`;
    const { kind, items, metadata } = (list ?? {}) as { kind?: unknown; items?: unknown; metadata?: { resourceVersion?: string } };
    if (kind !== 'CanaryList') throw new BadAnswer(`${answer} is ${kindOf(list)}, not a CanaryList`);
    if (!Array.isArray(items)) throw new BadAnswer(`${answer} is a CanaryList whose items are ${kindOf(items)}`);
    for (const item of items) {
      const problem = notTheCanary(item, this.name);
      if (problem) throw new BadAnswer(`${answer} holds ${problem}`);
    }
    return { resourceVersion: metadata?.resourceVersion ?? '', items };
  }

  /** Per-request timeout (client-node sets none, and a hung request would hang the watcher), and checkJson. */
  private requestOptions(): ConfigurationOptions {
    const timeoutMs = this.tuning.requestTimeoutMs;
    let path = '';
    let timer: NodeJS.Timeout | undefined;
    const { Observable } = clientNode();
    const middleware: ObservableMiddleware = {
      pre: (context) => {
        path = new URL(context.getUrl()).pathname;
        // A timer that covers the body too, not AbortSignal.timeout(): that one does not keep
        // Node running, and node-fetch 2 never settles a body cut off mid-transfer, so a cut
        // first list would leave nothing to wait for and Node would exit 0.
        // 0 means no timeout, as kubectl's --request-timeout 0.
        if (timeoutMs > 0) {
          const controller = new AbortController();
          timer = setTimeout(() => controller.abort(), timeoutMs);
          context.setSignal(controller.signal);
        }
        return new Observable(Promise.resolve(context));
      },
      post: (response) => new Observable(checkJson(response, path).finally(() => clearTimeout(timer))),
    };
    return { middleware: [middleware], middlewareMergeStrategy: 'append' };
  }

  private explain(f: ApiFailure, verb: string, resource: string): WatchError {
    if (f.invalid) return new WatchError(f.cause);
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

interface KubeEvent extends CanaryEvent {
  readonly kind?: string;
  readonly metadata?: { readonly uid?: string; readonly name?: string; readonly resourceVersion?: string };
}
