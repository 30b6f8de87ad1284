#!/usr/bin/env node
/**
 * canary-watch: follow a Flagger Canary and exit with its verdict.
 * Exit codes: 0 expectation met, 1 the other outcome, 2 timed out,
 * 3 usage/kubeconfig/permission/not-found, or an answer that is not the Kubernetes API.
 */
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import type { KubeConfig } from '@kubernetes/client-node';
import { createRenderer, OutputFormat, Renderer, useColor } from './render';
import type { KubeCanarySource, Tuning } from './source';
import { deriveTimeout, formatDuration, parseDuration } from './timeout';
import { CanaryObject, EXIT, EXPECTATIONS, Expectation, Input, initialState, reduce, WatchState } from './verdict';

const USAGE = `Usage: canary-watch <canary> [-n <namespace>] [options]

Follows a Flagger Canary until its next rollout ends and exits with the verdict.

Options:
  -n, --namespace <ns>     namespace of the Canary (default: the context's, else "default")
      --expect <outcome>   succeeded (default) | failed | initialized | any
      --timeout <dur>      give up after this long (90s, 10m, 1h30m; default: derived
                           from the Canary's analysis settings)
      --include-running    also count a rollout already in progress at start
      --since <when>       also count a rollout in progress at start if it began at
                           or after <when>: a time (2026-01-02T15:04:05Z) or a
                           duration before now (2m); take it just before kubectl apply
      --current            judge the current state: an outcome reached before the
                           watcher started counts (a status check, not for use right
                           after kubectl apply)
      --kubeconfig <file>  kubeconfig file (default: $KUBECONFIG, ~/.kube/config, in-cluster)
      --context <name>     kubeconfig context
  -o, --output <format>    text (default) | json (NDJSON records, last one the verdict)
      --no-color           no colors (NO_COLOR is honoured too)
  -h, --help               this help

Exit codes: 0 expectation met, 1 the other outcome happened, 2 timed out,
3 usage, kubeconfig, permission or not-found error, or an answer that is not
the Kubernetes API (an HTML page, malformed JSON, another kind).`;

export interface CliOptions {
  readonly name: string;
  readonly namespace?: string;
  readonly expect: Expectation;
  readonly timeoutMs?: number;
  readonly includeRunning: boolean;
  /** Epoch ms, see --since. */
  readonly since?: number;
  readonly current: boolean;
  readonly kubeconfig?: string;
  readonly context?: string;
  readonly output: OutputFormat;
  readonly noColor: boolean;
}

export class UsageError extends Error {}

/** Parses argv (without node and script); returns 'help' for -h. Throws UsageError. */
export function parseCli(argv: readonly string[], now = Date.now()): CliOptions | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        'namespace': { type: 'string', short: 'n' },
        'expect': { type: 'string', default: 'succeeded' },
        'timeout': { type: 'string' },
        'include-running': { type: 'boolean', default: false },
        'since': { type: 'string' },
        'current': { type: 'boolean', default: false },
        'kubeconfig': { type: 'string' },
        'context': { type: 'string' },
        'output': { type: 'string', short: 'o', default: 'text' },
        'no-color': { type: 'boolean', default: false },
        'help': { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const v = parsed.values;
  if (v.help) return 'help';
  if (parsed.positionals.length !== 1) {
    throw new UsageError(parsed.positionals.length === 0 ? 'missing the Canary name' : `expected one Canary name, got ${parsed.positionals.join(' ')}`);
  }
  const expect = v.expect as Expectation;
  if (!EXPECTATIONS.includes(expect)) throw new UsageError(`--expect must be one of ${EXPECTATIONS.join(', ')}, not "${v.expect}"`);
  if (v.output !== 'text' && v.output !== 'json') throw new UsageError(`--output must be text or json, not "${v.output}"`);
  let timeoutMs: number | undefined;
  if (v.timeout !== undefined) {
    try {
      timeoutMs = parseDuration(v.timeout);
    } catch (err) {
      throw new UsageError(`--timeout: ${(err as Error).message}`);
    }
    if (timeoutMs <= 0) throw new UsageError('--timeout must be positive');
  }
  return {
    since: v.since === undefined ? undefined : parseSince(v.since, now),
    name: parsed.positionals[0],
    namespace: v.namespace,
    expect,
    timeoutMs,
    includeRunning: v['include-running'] === true,
    current: v.current === true,
    kubeconfig: v.kubeconfig,
    context: v.context,
    output: v.output,
    noColor: v['no-color'] === true,
  };
}

/** --since: an RFC 3339 time, or a duration before now. */
function parseSince(text: string, now: number): number {
  try {
    return now - parseDuration(text);
  } catch {
    const time = /^\d{4}-\d{2}-\d{2}T/.test(text) ? Date.parse(text) : NaN;
    if (Number.isNaN(time)) {
      throw new UsageError(`--since must be a time such as 2026-01-02T15:04:05Z or a duration such as 2m, not "${text}"`);
    }
    return time;
  }
}

/** Loads the kubeconfig the way kubectl would; throws WatchError with a one-line fix. */
function loadKubeConfig(lib: typeof import('@kubernetes/client-node'), WatchError: new (m: string) => Error,
  options: CliOptions): KubeConfig {
  const kc = new lib.KubeConfig();
  try {
    if (options.kubeconfig) kc.loadFromFile(options.kubeconfig);
    else kc.loadFromDefault();
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const what = options.kubeconfig ? `kubeconfig ${options.kubeconfig}` : 'the kubeconfig';
    const reason = e.code === 'ENOENT' ? 'file not found'
      : e instanceof TypeError ? 'it is empty or not a kubeconfig' : e.message.split('\n')[0];
    throw new WatchError(`cannot load ${what}: ${reason}`);
  }
  if (options.context) {
    if (!kc.getContextObject(options.context)) {
      const known = kc.getContexts().map((c) => c.name).join(', ') || 'none';
      throw new WatchError(`context "${options.context}" not found in the kubeconfig (known: ${known})`);
    }
    kc.setCurrentContext(options.context);
  }
  if (!kc.getCurrentCluster()) {
    throw new WatchError('the kubeconfig has no current context with a cluster; pass --context or fix current-context');
  }
  return kc;
}

export interface Io {
  readonly argv: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  readonly stdout: { write(chunk: string): unknown; isTTY?: boolean };
  readonly stderr: { write(chunk: string): unknown };
}

/** Runs the watcher; resolves with the exit code. Never throws. */
export async function main(io: Io): Promise<number> {
  let options: CliOptions;
  try {
    const parsed = parseCli(io.argv);
    if (parsed === 'help') {
      io.stdout.write(USAGE + '\n');
      return EXIT.met;
    }
    options = parsed;
  } catch (err) {
    io.stderr.write(`canary-watch: ${(err as Error).message}\nRun canary-watch --help for usage.\n`);
    return EXIT.error;
  }

  const tty = options.output === 'text' && io.stdout.isTTY === true;
  const renderer = createRenderer({
    format: options.output,
    tty,
    color: useColor(tty, options.noColor, io.env),
    write: (chunk) => io.stdout.write(chunk),
  });
  const fail = (message: string): number => {
    renderer.close();
    renderer.error(message);
    io.stderr.write(`canary-watch: ${message}\n`);
    return EXIT.error;
  };

  // client-node is loaded only now: --help and usage errors stay instant.
  const lib = await import('@kubernetes/client-node');
  const { KubeCanarySource: Source, WatchError, tuningFromEnv } = await import('./source');
  let kc: KubeConfig;
  try {
    kc = loadKubeConfig(lib, WatchError, options);
  } catch (err) {
    return fail((err as Error).message);
  }
  const namespace = options.namespace ?? kc.getContextObject(kc.getCurrentContext())?.namespace ?? 'default';
  const tuning = tuningFromEnv(io.env);
  const watch = new Watcher(options, namespace, renderer, tuning);
  // The source reports nothing before start(), so the exit hook can be set after it exists.
  const source: KubeCanarySource = new Source(kc, namespace, options.name, {
    canary: (canary) => watch.feed({ kind: 'canary', at: Date.now(), canary }),
    event: (event) => watch.feed({ kind: 'event', at: Date.now(), event }),
    deleted: () => watch.feed({ kind: 'deleted', at: Date.now() }),
    notice: (level, message) => watch.feed({ kind: 'notice', at: Date.now(), level, message }),
    fatal: (error) => watch.exit(fail(error.message)),
  }, tuning);
  const done = new Promise<number>((resolve) => {
    watch.onExit = (code) => {
      source.stop();
      resolve(code);
    };
  });
  // A bad answer to the confirming re-read ends the watch like any other (exit 3).
  watch.confirm = () => source.get().catch((err: unknown) => {
    if (err instanceof WatchError) watch.exit(fail(err.message));
    throw err;
  });
  try {
    const first = await source.start();
    const derived = deriveTimeout(first);
    const timeoutMs = options.timeoutMs ?? derived.ms;
    watch.begin(first, timeoutMs,
      `timeout ${formatDuration(timeoutMs)}${options.timeoutMs ? ' (--timeout)' : ` (derived: ${derived.explanation})`}`);
  } catch (err) {
    source.stop();
    if (err instanceof WatchError) return fail(err.message);
    return fail(`unexpected error: ${(err as Error).message?.split('\n')[0] ?? String(err)}`);
  }
  return done;
}

/** Owns the reducer state and the timers around it. */
class Watcher {
  onExit: (code: number) => void = () => {};
  confirm: () => Promise<CanaryObject | undefined> = async () => undefined;
  private state: WatchState;
  private queue: Input[] | undefined = [];
  private timers: NodeJS.Timeout[] = [];
  private confirming = false;
  private exited = false;

  constructor(options: CliOptions, namespace: string, private readonly renderer: Renderer, private readonly tuning: Tuning) {
    this.state = initialState(options.name, namespace,
      { expect: options.expect, includeRunning: options.includeRunning, current: options.current, since: options.since },
      Date.now());
  }

  begin(first: CanaryObject, timeoutMs: number, timeoutNote: string): void {
    const queued = this.queue ?? [];
    this.queue = undefined;
    this.feed({ kind: 'canary', at: Date.now(), canary: first });
    this.feed({ kind: 'notice', at: Date.now(), level: 'info', message: timeoutNote });
    queued.forEach((input) => this.feed(input));
    const remaining = Math.max(0, this.state.startedAt + timeoutMs - Date.now());
    this.timers.push(setTimeout(() => this.feed({ kind: 'timeout', at: Date.now() }), remaining));
    this.timers.push(setInterval(() => this.renderer.tick(Date.now()), 1000));
  }

  feed(input: Input): void {
    if (this.exited) return;
    // Stream data that races the first list waits until the baseline is set.
    if (this.queue) {
      this.queue.push(input);
      return;
    }
    const step = reduce(this.state, input);
    this.state = step.state;
    step.records.forEach((record) => this.renderer.record(record));
    if (this.state.verdict) this.exit(this.state.verdict.exitCode);
    else if (step.needsConfirm) this.scheduleConfirm();
  }

  exit(code: number): void {
    if (this.exited) return;
    this.exited = true;
    this.timers.forEach((t) => clearTimeout(t));
    this.renderer.close();
    this.onExit(code);
  }

  private scheduleConfirm(): void {
    if (this.confirming || this.exited) return;
    this.confirming = true;
    this.timers.push(setTimeout(() => {
      this.confirm().then((canary) => {
        this.confirming = false;
        this.feed(canary
          ? { kind: 'canary', at: Date.now(), canary, confirmed: true }
          : { kind: 'deleted', at: Date.now() });
      }, () => {
        this.confirming = false;
        this.scheduleConfirm();
      });
    }, this.tuning.settleMs));
  }
}

if (require.main === module) {
  // A watcher is I/O-bound and short-lived: trade V8's optimizing compiler and heap
  // headroom for memory before client-node loads (~110 MB peak RSS down to ~80 MB).
  setFlagsFromString('--no-opt');
  setFlagsFromString('--optimize-for-size');
  process.on('SIGINT', () => process.exit(130));
  // Exit code 1 means "the other outcome": a crash must never look like one.
  const crash = (err: unknown) => {
    process.stderr.write(`canary-watch: internal error: ${(err as Error)?.message?.split('\n')[0] ?? String(err)}\n`);
    process.exit(EXIT.error);
  };
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);
  // Node exits 0 once nothing is left to wait for (say, a request that can never settle):
  // the watcher exits through process.exit below, never that way.
  process.on('beforeExit', () => crash(new Error('the watch stopped without a verdict')));
  // A closed pipe (| head) must not crash the watcher: the exit code still tells the verdict.
  process.stdout.on('error', () => undefined);
  void main({ argv: process.argv.slice(2), env: process.env, stdout: process.stdout, stderr: process.stderr })
    .then((code) => {
      // Exit explicitly: keep-alive sockets would hold the process open; flush stdout first.
      process.stdout.write('', () => process.exit(code));
    });
}
