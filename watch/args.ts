/**
 * The command line of canary-watch (also run as the kubectl plugin `kubectl canary`):
 * subcommands in kubectl's style, parsed here rather than by node:util's parseArgs so
 * that every usage error is one line in our words (exit 3), never a parser's internals.
 *
 * Flags follow kubectl (pflag): `--flag value`, `--flag=value`, `-n value`, `-nvalue`,
 * the last occurrence wins, and `--` ends the flags.
 */
import { serviceAddress } from './service-url';
import { parseDuration } from './timeout';
import { EXPECTATIONS, Expectation } from './verdict';

export const COMMANDS = ['watch', 'status', 'get', 'promote', 'abort', 'report'] as const;
export type Command = typeof COMMANDS[number];

export class UsageError extends Error {}

interface FlagSpec {
  readonly long: string;
  readonly short?: string;
  readonly value: boolean;
  /** Commands that take the flag; undefined for every command. */
  readonly commands?: readonly Command[];
}

const WATCHING: readonly Command[] = ['watch', 'report'];
const FLAGS: readonly FlagSpec[] = [
  { long: 'namespace', short: 'n', value: true },
  { long: 'kubeconfig', value: true },
  { long: 'context', value: true },
  { long: 'request-timeout', value: true },
  { long: 'no-color', value: false },
  { long: 'help', short: 'h', value: false },
  { long: 'version', value: false },
  { long: 'output', short: 'o', value: true, commands: ['watch', 'status'] },
  { long: 'expect', value: true, commands: WATCHING },
  { long: 'timeout', value: true, commands: ['watch', 'report', 'get'] },
  { long: 'include-running', value: false, commands: WATCHING },
  { long: 'since', value: true, commands: WATCHING },
  { long: 'current', value: false, commands: WATCHING },
  { long: 'image', value: true, commands: WATCHING },
  { long: 'metrics', value: false, commands: WATCHING },
  { long: 'metrics-server', value: true, commands: [...WATCHING, 'status', 'get'] },
  { long: 'watch', short: 'w', value: false, commands: ['get'] },
  { long: 'gate', value: true, commands: ['promote', 'abort'] },
  { long: 'from', short: 'f', value: true, commands: ['report'] },
  { long: 'out', value: true, commands: ['report'] },
  { long: 'title', value: true, commands: ['report'] },
];

interface Parsed {
  readonly command: Command;
  readonly positionals: readonly string[];
  readonly values: ReadonlyMap<string, string | true>;
}

/** Splits argv into command, positionals and flags; checks flags against the command. */
export function tokenize(argv: readonly string[]): Parsed {
  const values = new Map<string, string | true>();
  const positionals: string[] = [];
  const found: Array<{ spec: FlagSpec; as: string }> = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    let spec: FlagSpec | undefined;
    let inline: string | undefined;
    let as: string;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      inline = eq < 0 ? undefined : arg.slice(eq + 1);
      as = `--${name}`;
      spec = FLAGS.find((f) => f.long === name);
      if (!spec) throw new UsageError(`unknown flag: ${as}`);
    } else {
      const letter = arg[1];
      as = `-${letter}`;
      spec = FLAGS.find((f) => f.short === letter);
      if (!spec) throw new UsageError(`unknown shorthand flag: '${letter}' in ${arg}`);
      if (arg.length > 2) inline = arg[2] === '=' ? arg.slice(3) : arg.slice(2);
    }
    if (spec.value) {
      if (inline === undefined) {
        if (i + 1 >= argv.length) throw new UsageError(`flag needs an argument: ${as}`);
        inline = argv[++i];
      }
      values.set(spec.long, inline);
    } else {
      if (inline !== undefined) throw new UsageError(`${as} takes no value (got "${inline}")`);
      values.set(spec.long, true);
    }
    found.push({ spec, as });
  }
  // `canary-watch <canary>` is `canary-watch watch <canary>`, as before subcommands existed.
  const first = positionals[0];
  const command: Command = (COMMANDS as readonly string[]).includes(first) ? first as Command : 'watch';
  if (command === first) positionals.shift();
  for (const { spec, as } of found) {
    if (spec.commands && !spec.commands.includes(command)) {
      throw new UsageError(`${as} is not a flag of "${command}" (it belongs to ${spec.commands.join(', ')})`);
    }
  }
  return { command, positionals, values };
}

export interface CommonOptions {
  readonly name: string;
  readonly namespace?: string;
  readonly kubeconfig?: string;
  readonly context?: string;
  /** Per-request timeout of API reads; 0 means none, as kubectl's. */
  readonly requestTimeoutMs?: number;
  readonly noColor: boolean;
}

export type OutputFormat = 'text' | 'json';

export interface WatchOptions extends CommonOptions {
  readonly command: 'watch' | 'report';
  readonly expect: Expectation;
  /** undefined: derived from the Canary; 0: wait forever (kubectl's convention). */
  readonly timeoutMs?: number;
  readonly includeRunning: boolean;
  /** Epoch ms, see --since. */
  readonly since?: number;
  readonly current: boolean;
  readonly output: OutputFormat;
  /** The revision to judge: the rollout whose target pod template has this image. */
  readonly image?: string;
  /** Read each metric check's value every analysis interval. */
  readonly metrics: boolean;
  /** Flagger's -metrics-server, for built-in checks (see metrics.ts). */
  readonly metricsServer?: string;
  /** report: where to write the HTML page ('-' is stdout). */
  readonly out?: string;
  readonly title?: string;
}

export interface StatusOptions extends CommonOptions {
  readonly command: 'status';
  readonly output: OutputFormat;
  readonly metricsServer?: string;
}

export interface GetOptions extends CommonOptions {
  readonly command: 'get';
  readonly watch: boolean;
  /** With --watch: stop after this long; 0 or unset: until interrupted. */
  readonly timeoutMs: number;
  readonly metricsServer?: string;
}

export interface GateOptions extends CommonOptions {
  readonly command: 'promote' | 'abort';
  /** Name of the webhook to open when the Canary has several of the kind. */
  readonly gate?: string;
}

/** report --from: render recorded NDJSON, no cluster needed. */
export interface ReportFileOptions {
  readonly command: 'report-file';
  readonly from: string;
  readonly out?: string;
  readonly title?: string;
}

export type CliOptions = WatchOptions | StatusOptions | GetOptions | GateOptions | ReportFileOptions;

/** Parses argv (without node and script); 'help' and 'version' for those flags. Throws UsageError. */
export function parseCli(argv: readonly string[], now = Date.now()): CliOptions | { help: Command | 'top' } | 'version' {
  const { command, positionals, values } = tokenize(argv);
  if (values.has('help')) return { help: argv.some((a) => (COMMANDS as readonly string[]).includes(a)) ? command : 'top' };
  if (values.has('version')) return 'version';
  const str = (flag: string) => values.get(flag) as string | undefined;
  const bool = (flag: string) => values.get(flag) === true;

  if (command === 'report' && values.has('from')) {
    if (positionals.length > 0) throw new UsageError(`report --from takes no Canary name (got ${positionals.join(' ')})`);
    return { command: 'report-file', from: str('from')!, out: str('out'), title: str('title') };
  }
  if (positionals.length !== 1) {
    throw new UsageError(positionals.length === 0
      ? `missing the Canary name (usage: canary-watch ${command} <canary> [flags])`
      : `expected one Canary name, got ${positionals.join(' ')}`);
  }
  const requestTimeout = str('request-timeout');
  const common: CommonOptions = {
    name: positionals[0],
    namespace: str('namespace'),
    kubeconfig: str('kubeconfig'),
    context: str('context'),
    requestTimeoutMs: requestTimeout === undefined ? undefined : parseRequestTimeout(requestTimeout),
    noColor: bool('no-color'),
  };
  if (common.namespace === '') throw new UsageError('--namespace must not be empty');
  const output = str('output') ?? 'text';
  if (output !== 'text' && output !== 'json') throw new UsageError(`--output must be text or json, not "${output}"`);
  const timeout = str('timeout');
  const timeoutMs = timeout === undefined ? undefined : parseTimeout(timeout);
  const metricsServer = str('metrics-server');
  if (metricsServer !== undefined && !serviceAddress(metricsServer)) {
    throw new UsageError('--metrics-server must be the http(s) URL of a Service with its namespace, such as '
      + `http://prometheus.linkerd-viz:9090, not "${metricsServer}"`);
  }
  if (metricsServer !== undefined && command === 'watch' && !bool('metrics')) {
    throw new UsageError('--metrics-server is used with --metrics (watch reads no metric values without it)');
  }

  switch (command) {
    case 'watch':
    case 'report': {
      const expect = (str('expect') ?? 'succeeded') as Expectation;
      if (!EXPECTATIONS.includes(expect)) throw new UsageError(`--expect must be one of ${EXPECTATIONS.join(', ')}, not "${expect}"`);
      const image = str('image');
      if (image !== undefined && !/^[^\s]+$/.test(image)) throw new UsageError(`--image must be an image reference such as repo/app:2.0, not "${image}"`);
      return {
        ...common, command, expect, timeoutMs, output,
        includeRunning: bool('include-running'),
        since: values.has('since') ? parseSince(str('since')!, now) : undefined,
        current: bool('current'),
        image,
        metrics: bool('metrics'),
        metricsServer,
        out: str('out'),
        title: str('title'),
      };
    }
    case 'status':
      return { ...common, command, output, metricsServer };
    case 'get':
      return { ...common, command, watch: bool('watch'), timeoutMs: timeoutMs ?? 0, metricsServer };
    case 'promote':
    case 'abort':
      return { ...common, command, gate: str('gate') };
  }
}

/** --timeout: a Go duration as kubectl's; 0 waits forever; negative is refused. */
function parseTimeout(text: string): number {
  let ms: number;
  try {
    ms = parseDuration(text);
  } catch (err) {
    throw new UsageError(`--timeout: ${(err as Error).message}; use a Go duration such as 90s, 10m, 1h30m (0 waits forever)`);
  }
  if (ms < 0) throw new UsageError(`--timeout must not be negative (got ${text}); 0 waits forever`);
  return ms;
}

/**
 * --request-timeout as kubectl's (client-go tools/clientcmd ParseTimeout): a bare
 * non-negative integer is seconds, otherwise a Go duration; 0 means no timeout.
 */
export function parseRequestTimeout(text: string): number {
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  let ms: number;
  try {
    ms = parseDuration(text);
  } catch (err) {
    throw new UsageError(`--request-timeout: ${(err as Error).message}; use seconds or a Go duration such as 5s, 1m (0: none)`);
  }
  if (ms < 0) throw new UsageError(`--request-timeout must not be negative (got ${text})`);
  return ms;
}

/** --since: an RFC 3339 time, or a Go duration before now. */
function parseSince(text: string, now: number): number {
  if (/^\d{4}-\d{2}-\d{2}T/.test(text)) {
    const time = Date.parse(text);
    if (!Number.isNaN(time)) return time;
  } else {
    try {
      const ms = parseDuration(text);
      if (ms >= 0) return now - ms;
    } catch {
      // reported below
    }
  }
  throw new UsageError(`--since must be a time such as 2026-01-02T15:04:05Z or a duration such as 2m, not "${text}"`);
}
