#!/usr/bin/env node
/**
 * canary-watch (also the kubectl plugin `kubectl canary`): the CLI of Flagger Canaries.
 * `watch` follows a Canary and exits with its verdict; `status`, `get`, `promote`,
 * `abort` and `report` live in their own modules, loaded only when run.
 * Exit codes: 0 expectation met, 1 the other outcome, 2 timed out,
 * 3 usage/kubeconfig/permission/not-found, or an answer that is not the Kubernetes API,
 * 4 superseded.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { parseCli, WatchOptions } from './args';
import { commandHelp, topHelp } from './help';
import { loadKubeConfig, namespaceOf, WatchError } from './kube';
import type { MetricReader } from './metrics';
import type { RevisionTracker } from './revision';
import { createRenderer, Renderer, useColor } from './render';
import type { KubeCanarySource, Tuning } from './source';
import { deriveTimeout, formatDuration, parseDuration } from './timeout';
import { CanaryObject, EXIT, Input, initialState, reduce, WatchRecord, WatchState } from './verdict';

export { parseCli, UsageError } from './args';

export interface Io {
  readonly argv: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  readonly stdout: { write(chunk: string): unknown; isTTY?: boolean };
  readonly stderr: { write(chunk: string): unknown };
  /** How the user called us: `canary-watch`, or `kubectl canary` for the plugin. */
  readonly program?: string;
}

/** Runs a command; resolves with the exit code. Never throws. */
export async function main(io: Io): Promise<number> {
  const program = io.program ?? 'canary-watch';
  let parsed: ReturnType<typeof parseCli>;
  try {
    parsed = parseCli(io.argv);
  } catch (err) {
    io.stderr.write(`${program}: ${(err as Error).message} (see ${program} --help)\n`);
    return EXIT.error;
  }
  if (parsed === 'version') {
    io.stdout.write(`canary-watch ${VERSION}\n`);
    return EXIT.met;
  }
  if ('help' in parsed) {
    io.stdout.write((parsed.help === 'top' ? topHelp(program) : commandHelp(parsed.help, program)) + '\n');
    return EXIT.met;
  }
  const options = parsed;
  switch (options.command) {
    case 'watch':
    case 'report':
      return watchCommand(io, options, program);
    case 'report-file':
      return (await import('./report-command')).reportFromFile(io, options, program);
    case 'status':
    case 'get':
      return (await import('./status-command')).statusCommand(io, options, program);
    case 'promote':
    case 'abort':
      return (await import('./gate-command')).gateCommand(io, options, program);
  }
}

/** The package's version, from its package.json (one level up from build/). */
const VERSION: string = (() => {
  try {
    return (JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
})();

/** `watch` (and the live `report`, which records what it watches, with metrics, and draws it). */
async function watchCommand(io: Io, options: WatchOptions, program: string): Promise<number> {
  const reporting = options.command === 'report';
  const records: WatchRecord[] = [];
  const tty = !reporting && options.output === 'text' && io.stdout.isTTY === true;
  const renderer = reporting
    ? recordingRenderer(records, io.stderr)
    : createRenderer({
      format: options.output,
      tty,
      color: useColor(tty, options.noColor, io.env),
      write: (chunk) => io.stdout.write(chunk),
    });
  const fail = (message: string): number => {
    renderer.close();
    renderer.error(message);
    io.stderr.write(`${program}: ${message}\n`);
    return EXIT.error;
  };

  // client-node is loaded only now: --help and usage errors stay instant.
  const { KubeCanarySource: Source, tuningFromEnv } = await import('./source');
  let kc: KubeConfig;
  try {
    kc = await loadKubeConfig(options, io.env);
  } catch (err) {
    return fail((err as Error).message);
  }
  const namespace = namespaceOf(kc, options);
  const envTuning = tuningFromEnv(io.env);
  const tuning: Tuning = options.requestTimeoutMs === undefined
    ? envTuning : { ...envTuning, requestTimeoutMs: options.requestTimeoutMs };
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
    if (!options.current) {
      const { RevisionTracker } = await import('./revision');
      const tracker = await RevisionTracker.create(kc, namespace, first, options.image,
        tuning.requestTimeoutMs || 15_000, tuning.backoffInitialMs);
      if (typeof tracker === 'string') {
        if (options.image !== undefined) return failAfterStart(source, fail, `--image needs the Canary's target: ${tracker}`);
        watch.feed({ kind: 'notice', at: Date.now(), level: 'warning',
          message: `${tracker}: any revision's rollout that starts counts (revision tracking needs get on the target)` });
      } else {
        watch.track(tracker);
        watch.feed({ kind: 'notice', at: Date.now(), level: 'info', message: `watched revision: ${tracker.description}` });
      }
    }
    const derived = deriveTimeout(first);
    const timeoutMs = options.timeoutMs ?? derived.ms;
    const note = options.timeoutMs === 0 ? 'no timeout (--timeout 0): waiting until the rollout ends'
      : `timeout ${formatDuration(timeoutMs)}${options.timeoutMs !== undefined ? ' (--timeout)' : ` (derived: ${derived.explanation})`}`;
    watch.begin(first, options.timeoutMs === 0 ? undefined : timeoutMs, note);
    if (options.metrics || reporting) {
      const { MetricReader } = await import('./metrics');
      watch.startMetrics(new MetricReader(kc, namespace, tuning.requestTimeoutMs, options.metricsServer), first);
    }
  } catch (err) {
    source.stop();
    if (err instanceof WatchError) return fail(err.message);
    return fail(`unexpected error: ${(err as Error).message?.split('\n')[0] ?? String(err)}`);
  }
  const code = await done;
  if (!reporting) return code;
  return (await import('./report-command')).writeReport(io, records, options, program, code);
}

function failAfterStart(source: KubeCanarySource, fail: (m: string) => number, message: string): number {
  source.stop();
  return fail(message);
}

/** For the live report: keeps every record, shows only the verdict. */
function recordingRenderer(records: WatchRecord[], stderr: Io['stderr']): Renderer {
  return {
    record: (record) => {
      records.push(record);
      if (record.type === 'verdict') stderr.write(`${record.outcome}: ${record.message}\n`);
    },
    tick: () => undefined,
    close: () => undefined,
    error: () => undefined,
  };
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

  private tracker?: RevisionTracker;
  /** Inputs waiting for their revision to be classified (revision tracking only). */
  private readonly unclassified: Input[] = [];
  private classifying = false;

  constructor(options: WatchOptions, namespace: string, private readonly renderer: Renderer,
    private readonly tuning: Tuning) {
    this.state = initialState(options.name, namespace,
      { expect: options.expect, includeRunning: options.includeRunning, current: options.current, since: options.since },
      Date.now());
  }

  /** Turns revision tracking on; call before begin(). */
  track(tracker: RevisionTracker): void {
    this.tracker = tracker;
    this.state = { ...this.state, options: { ...this.state.options, tracked: true } };
  }

  /** @param timeoutMs undefined: no timeout (--timeout 0). */
  begin(first: CanaryObject, timeoutMs: number | undefined, timeoutNote: string): void {
    const queued = this.queue ?? [];
    this.queue = undefined;
    this.feed({ kind: 'canary', at: Date.now(), canary: first });
    this.feed({ kind: 'notice', at: Date.now(), level: 'info', message: timeoutNote });
    queued.forEach((input) => this.feed(input));
    if (timeoutMs !== undefined) {
      const remaining = Math.max(0, this.state.startedAt + timeoutMs - Date.now());
      this.timers.push(setTimeout(() => this.feed({ kind: 'timeout', at: Date.now() }), remaining));
    }
    this.timers.push(setInterval(() => this.renderer.tick(Date.now()), 1000));
  }

  /** Reads the metric checks' values once per analysis interval, as Flagger runs them. */
  startMetrics(reader: MetricReader, first: CanaryObject): void {
    let intervalMs = 60_000;
    try {
      intervalMs = Math.max(1000, parseDuration(first.spec?.analysis?.interval ?? '1m'));
    } catch {
      // Flagger's default
    }
    let canary = first;
    let reading = false;
    const read = () => {
      if (reading || this.exited) return;
      reading = true;
      void reader.read(canary).then((checks) => {
        reading = false;
        if (checks.length > 0) this.feed({ kind: 'metrics', at: Date.now(), checks });
      }, () => {
        reading = false;
      });
    };
    this.onCanary = (c) => {
      canary = c;
    };
    read();
    this.timers.push(setInterval(read, intervalMs));
  }

  private onCanary: (canary: CanaryObject) => void = () => {};

  feed(input: Input): void {
    if (this.exited) return;
    if (input.kind === 'canary') this.onCanary(input.canary);
    // Stream data that races the first list waits until the baseline is set.
    if (this.queue) {
      this.queue.push(input);
      return;
    }
    if (!this.tracker) {
      this.apply(input);
      return;
    }
    this.unclassified.push(input);
    this.drain();
  }

  /** Feeds inputs in order, each Canary once its lastAppliedSpec is classified. */
  private drain(): void {
    const tracker = this.tracker!;
    while (this.unclassified.length > 0 && !this.classifying && !this.exited) {
      const next = this.unclassified[0];
      const hash = next.kind === 'canary' ? next.canary.status?.lastAppliedSpec : undefined;
      if (next.kind === 'canary' && hash && !tracker.known(hash)) {
        if (this.state.baseline === undefined) {
          // The first read: the target was read a moment ago (see RevisionTracker.startClass).
          tracker.assume(hash, tracker.startClass);
          continue;
        }
        this.classifying = true;
        const attempt = () => tracker.classify(hash).then(() => {
          this.classifying = false;
          this.drain();
        }, (err: unknown) => {
          this.apply({ kind: 'notice', at: Date.now(), level: 'warning',
            message: `cannot tell revision ${hash.slice(0, 10)} apart (${(err as Error).message}); retrying` });
          this.timers.push(setTimeout(attempt, this.tuning.backoffMaxMs));
        });
        void attempt();
        return;
      }
      this.unclassified.shift();
      this.apply(next.kind === 'canary' && hash ? { ...next, revision: tracker.known(hash) } : next);
    }
  }

  private apply(input: Input): void {
    if (this.exited) return;
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
  // Installed as kubectl-canary, kubectl runs it for `kubectl canary ...`.
  const program = path.basename(process.argv[1] ?? '').startsWith('kubectl-canary') ? 'kubectl canary' : 'canary-watch';
  void main({ argv: process.argv.slice(2), env: process.env, stdout: process.stdout, stderr: process.stderr, program })
    .then((code) => {
      // Exit explicitly: keep-alive sockets would hold the process open; flush stdout first.
      process.stdout.write('', () => process.exit(code));
    });
}
