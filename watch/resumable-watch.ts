/**
 * A list-then-watch stream that survives disconnects, 410 Gone and silent stalls.
 *
 * client-node 1.4 gives a bare watch: no client-side timeout (a silent
 * connection hangs forever), no re-list, no retry. This adds them: watch from
 * the list's resourceVersion with bookmarks and a server-side timeout, an
 * inactivity watchdog, a re-list on 410 Gone, and reconnects with exponential
 * backoff after a disconnect or a 5xx. Nothing here knows about Canaries.
 * An answer that is not the Kubernetes API (BadAnswer) is never retried: the
 * stream stops and reports it as fatal.
 */
import type { Watch } from '@kubernetes/client-node';

export interface WatchTuning {
  /** Server-side watch timeout (timeoutSeconds): the server ends the stream, we resume from the last resourceVersion. */
  readonly watchTimeoutSeconds: number;
  /** Reconnect when a watch stream sends nothing (not even a bookmark) for this long. */
  readonly watchdogMs: number;
  readonly backoffInitialMs: number;
  readonly backoffMaxMs: number;
}

/**
 * An answer that is not the Kubernetes API: not JSON (a proxy's HTML page sent with
 * 200 OK), an object of another kind, a stream that ends inside an event. Asking again
 * would not change it, and nothing in it can be judged: the message names the request
 * and what came back, and the watch ends with exit code 3.
 */
export class BadAnswer extends Error {}

/** `text` quoted on one line, cut after `max` characters: what an error message shows of a bad answer. */
export function excerpt(text: string, max = 60): string {
  return text === '' ? 'empty' : JSON.stringify(text.length > max ? text.slice(0, max) + '...' : text);
}

export interface ApiFailure {
  readonly status?: number;
  readonly body?: { reason?: string; message?: string; details?: { name?: string } };
  readonly cause: string;
  /** A BadAnswer: the cause is the whole message. */
  readonly invalid?: boolean;
}

/** Normalizes client-node's ApiException, watch errors, network errors and BadAnswers. */
export function failure(err: unknown): ApiFailure {
  if (err instanceof BadAnswer) return { cause: err.message, invalid: true };
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
  return !f.invalid && (f.status === undefined || f.status === 429 || f.status >= 500);
}

/** Not worth retrying after the first list: the stream stops and reports it. */
function isFatal(f: ApiFailure): boolean {
  return f.invalid === true || f.status === 401 || f.status === 403;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms < 1000 ? 2 : 1)}s`;
}

export interface Listed<T> {
  readonly resourceVersion: string;
  readonly items: T[];
}

export interface ResumableWatchSpec<T> {
  /** Names the stream in notices. */
  readonly label: string;
  /** API path of the collection to watch. */
  readonly path: string;
  readonly fieldSelector: string;
  list(): Promise<Listed<T>>;
  /** The first list (relist false), and every re-list after a 410 Gone. */
  onList(items: T[], relist: boolean): void;
  /** May throw a BadAnswer (an object of another kind): the stream stops and reports it as fatal. */
  onWatch(type: string, obj: T): void;
  notice(level: 'info' | 'warning', message: string): void;
  /** A non-retriable failure (401, 403, a BadAnswer) of `verb` after the first list: the stream has stopped. */
  fatal(f: ApiFailure, verb: string): void;
}

/** One list-then-watch stream that survives disconnects, 410 Gone and silent stalls. */
export class ResumableWatch<T extends { metadata?: { resourceVersion?: string } }> {
  private resourceVersion = '';
  /** Bumped for every connection: callbacks of an abandoned connection are ignored. */
  private generation = 0;
  private controller?: AbortController;
  private watchdog?: NodeJS.Timeout;
  private retry?: NodeJS.Timeout;
  private failures = 0;
  private connectedAt = 0;
  private stopped = false;

  constructor(private readonly spec: ResumableWatchSpec<T>, private readonly watch: Pick<Watch, 'watch'>,
    private readonly tuning: WatchTuning) {}

  /**
   * First list: failures are thrown to the caller (converted by `explain` when given,
   * retried a few times when transient); then the watch runs in the background.
   */
  async start(explain?: (f: ApiFailure, verb: string) => Error): Promise<void> {
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
      const status = obj as unknown as { kind?: unknown; apiVersion?: unknown; code?: number; message?: string };
      if (status.kind !== 'Status') {
        this.stopWith(failure(new BadAnswer(`the API server's watch of ${this.spec.path} sent an ERROR event with `
          + `${kindOf(status)}, not a Status`)));
      } else if (status.code === 410) {
        this.spec.notice('info', `${this.spec.label} watch expired (410 Gone): re-listing`);
        void this.relist();
      } else if (status.code === 401 || status.code === 403) {
        this.stopWith({ status: status.code, body: status, cause: `HTTP ${status.code}: ${status.message ?? ''}` });
      } else {
        this.scheduleReconnect(`${this.spec.label} watch error ${status.code ?? ''} ${status.message ?? ''}`.trim());
      }
      return;
    }
    this.failures = 0;
    const rv = obj?.metadata?.resourceVersion;
    if (rv) this.resourceVersion = rv;
    if (type === 'BOOKMARK') return;
    try {
      this.spec.onWatch(type, obj);
    } catch (err) {
      if (!(err instanceof BadAnswer)) throw err;
      this.stopWith(failure(err));
    }
  }

  /** A fatal failure in the stream: no reconnect. */
  private stopWith(f: ApiFailure): void {
    this.stopped = true;
    this.abandon();
    this.spec.fatal(f, 'watch');
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
    } else if (isFatal(f)) {
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
      if (isFatal(f)) {
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

/** "a Deployment (apps/v1)", "an Event (v1)", "the string \"ok\"": what came instead of the expected kind. */
export function kindOf(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    const json = JSON.stringify(value);
    const shown = json.length > 30 ? json.slice(0, 30) + '...' : json;
    return value === null ? 'null' : `the ${Array.isArray(value) ? 'array' : typeof value} ${shown}`;
  }
  const { kind, apiVersion } = value as { kind?: unknown; apiVersion?: unknown };
  if (typeof kind !== 'string' || kind === '') return 'an object without a kind';
  return `${/^[AEIOU]/.test(kind) ? 'an' : 'a'} ${kind}${typeof apiVersion === 'string' ? ` (${apiVersion})` : ''}`;
}
