/**
 * What each load source sent to the canary's pods during one release's
 * analysis, from the data-plane emulator's ledger (`GET /traffic`: responses
 * by destination pod, client workload and client process; see
 * e2e/dataplane/client-identity.ts). Two load sources matter:
 *  - `flagger-loadtester/hey`: the load tester's `hey`, started by the Canary's
 *    rollout webhook at each analysis step (one process per run, so runs are told
 *    apart; a run started for an earlier release may still be sending);
 *  - `load-generator`: the emulator's constant load through the apex Service.
 * Requests answered by the client-side proxy itself (no ready pod) count for
 * no pod.
 */
import * as http from 'node:http';
import type { TrafficRow } from '../dataplane/proxy-metrics';
import { DATAPLANE_METRICS } from './stack';

export const HEY = 'flagger-loadtester/hey';
export const GENERATOR = 'load-generator';

/**
 * The emulator's ledger. On a connection of its own: it is read right after
 * blocking calls (kubectl through spawnSync), when a kept-alive socket of the
 * shared agent may have been closed by the server without this process noticing.
 */
export function readTraffic(): Promise<TrafficRow[]> {
  return new Promise((resolve, reject) => {
    const req = http.get(`http://${DATAPLANE_METRICS}/traffic`, { agent: false, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => {
        if (res.statusCode !== 200) reject(new Error(`GET /traffic of the data plane answered ${res.statusCode}`));
        else resolve(JSON.parse(body) as TrafficRow[]);
      });
    });
    req.on('timeout', () => req.destroy(new Error('GET /traffic of the data plane timed out')));
    req.on('error', reject);
  });
}

const rowKey = (r: TrafficRow) => JSON.stringify([r.namespace, r.service, r.deployment, r.pod, r.client, r.process ?? 0, r.status]);

/** The rows of `after` with the counts gained since `before`. */
export function trafficSince(before: readonly TrafficRow[], after: readonly TrafficRow[]): TrafficRow[] {
  const was = new Map(before.map((r) => [rowKey(r), r.count]));
  return after.map((r) => ({ ...r, count: r.count - (was.get(rowKey(r)) ?? 0) })).filter((r) => r.count > 0);
}

/** `hey -z 1m -q 5 -c 2 http://...` of the Canary's load-test webhook. */
export interface HeyCommand {
  readonly durationS: number;
  /** Requests per second in all (`-q` is per worker). */
  readonly qps: number;
  readonly concurrency: number;
  readonly url: string;
}

export function parseHeyCommand(cmd: string): HeyCommand | undefined {
  const m = /^hey\s+(.*)\s+(\S+)$/.exec(cmd.trim());
  if (!m) return undefined;
  const flag = (name: string) => new RegExp(`(?:^|\\s)-${name}\\s+(\\S+)`).exec(m[1])?.[1];
  const z = flag('z') ?? '';
  const unit = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(z);
  const durationS = unit ? Number(unit[1]) * { ms: 0.001, s: 1, m: 60, h: 3600 }[unit[2] as 'ms' | 's' | 'm' | 'h'] : NaN;
  const concurrency = Number(flag('c') ?? 50);
  const perWorker = Number(flag('q') ?? NaN);
  return { durationS, qps: perWorker * concurrency, concurrency, url: m[2] };
}

/** The load-test webhook's `hey` command of a synthesized Canary. */
export function heyCommandOf(objects: readonly any[]): HeyCommand | undefined {
  const canary = objects.find((o) => o?.kind === 'Canary');
  for (const hook of canary?.spec?.analysis?.webhooks ?? []) {
    const cmd = hook?.metadata?.cmd;
    if (typeof cmd === 'string' && cmd.startsWith('hey ')) return parseHeyCommand(cmd);
  }
  return undefined;
}

/** One `hey` process that sent requests during the step. */
export interface HeyRun {
  readonly pid: number;
  /**
   * Started during this step, by this release's rollout webhook. The load tester
   * does not start a command that is still running, so a run started for the
   * previous release (same command) goes on serving this one's webhook calls.
   */
  readonly startedInStep: boolean;
  /** Its requests during the step answered by canary pods. */
  readonly toCanary: number;
  /** Its requests during the step answered by other pods or by the proxy itself (no ready pod). */
  readonly elsewhere: number;
  /** All its requests answered by a pod (not by the proxy itself), since it started. */
  readonly answeredByPods: number;
  /** From its first to its last request counted, in seconds. */
  readonly spanS: number;
}

export interface StepLoad {
  /** Requests answered by each canary pod, by source (`hey`, `generator`, other client names). */
  readonly canaryPods: ReadonlyMap<string, ReadonlyMap<string, number>>;
  readonly heyRuns: readonly HeyRun[];
  /** Requests of hey (any run) answered by canary pods. */
  readonly heyToCanary: number;
  readonly generatorToCanary: number;
  readonly generatorTotal: number;
  /** Seconds from the first ledger read to the second. */
  readonly seconds: number;
}

/**
 * The step's load: `before` is the ledger read just before the release was
 * applied, `after` once the verdict is in, `seconds` apart; `canaryDeployment`
 * is the target Deployment (the canary's pods; the primary's are `<name>-primary`).
 * The canary's pods are scaled to zero at the end of each analysis, so those
 * that answer during a step run the release under analysis.
 */
export function stepLoad(before: readonly TrafficRow[], after: readonly TrafficRow[], canaryDeployment: string, seconds: number): StepLoad {
  const gained = trafficSince(before, after);
  const knownPids = new Set(before.filter((r) => r.client === HEY).map((r) => r.process));
  const source = (r: TrafficRow) => (r.client === HEY ? 'hey' : r.client === GENERATOR ? 'generator' : r.client);
  const canaryPods = new Map<string, Map<string, number>>();
  for (const r of gained.filter((x) => x.deployment === canaryDeployment)) {
    const pod = canaryPods.get(r.pod) ?? new Map<string, number>();
    pod.set(source(r), (pod.get(source(r)) ?? 0) + r.count);
    canaryPods.set(r.pod, pod);
  }
  const heyRuns: HeyRun[] = [];
  for (const pid of new Set(gained.filter((r) => r.client === HEY).map((r) => r.process))) {
    if (pid === undefined) continue;
    const step = gained.filter((r) => r.client === HEY && r.process === pid);
    const life = after.filter((r) => r.client === HEY && r.process === pid);
    const toCanary = step.filter((r) => r.deployment === canaryDeployment).reduce((n, r) => n + r.count, 0);
    heyRuns.push({
      pid, startedInStep: !knownPids.has(pid), toCanary,
      elsewhere: step.reduce((n, r) => n + r.count, 0) - toCanary,
      answeredByPods: life.filter((r) => r.pod !== '').reduce((n, r) => n + r.count, 0),
      spanS: (Math.max(...life.map((r) => Date.parse(r.last))) - Math.min(...life.map((r) => Date.parse(r.first)))) / 1000,
    });
  }
  const generator = gained.filter((r) => r.client === GENERATOR);
  return {
    canaryPods,
    heyRuns,
    heyToCanary: heyRuns.reduce((n, r) => n + r.toCanary, 0),
    generatorToCanary: generator.filter((r) => r.deployment === canaryDeployment).reduce((n, r) => n + r.count, 0),
    generatorTotal: generator.reduce((n, r) => n + r.count, 0),
    seconds,
  };
}

/** Which load sources must reach the canary's pods during a release's analysis. */
export interface LoadExpectation {
  /** The rollout webhook ran `hey` against the canary (false: the analysis ended before any rollout webhook). */
  readonly hey: boolean;
  /** The apex split sent the generator's requests to the canary (false: live traffic never moved). */
  readonly generator: boolean;
  /** For a weighted canary: the highest canary weight, which bounds the generator's share. */
  readonly maxWeight?: number;
}

/**
 * Failures when the load is not what the analysis needed or could have produced:
 *  - hey: its requests reached every canary pod; no run sent more than its
 *    `-q`, `-c` and `-z` allow over the time it ran (`-z 1m -q 5 -c 2` sends
 *    600 in 60 s; more would be another source's requests counted as hey's);
 *    and when the analysis ended before any rollout webhook, no run was started;
 *  - the generator: its requests reached the canary pods when live traffic
 *    moved there, none when it never did, and at most its share by weight.
 */
export function checkLoad(load: StepLoad, expect: LoadExpectation, hey: HeyCommand): string[] {
  const failures: string[] = [];
  if (expect.hey) {
    if (load.heyToCanary === 0) failures.push('no request of hey reached a canary pod');
    for (const [pod, sources] of load.canaryPods) {
      if (!sources.get('hey')) failures.push(`canary pod ${pod} got no request from hey (${describeSources(sources)})`);
    }
  } else {
    for (const run of load.heyRuns.filter((r) => r.startedInStep)) {
      failures.push(`hey run ${run.pid} started during the analysis (${run.toCanary} requests to the canary), but no rollout webhook should have run`);
    }
  }
  for (const run of load.heyRuns) {
    // Each worker waits for a tick of its `-q` ticker before each request: over a span, one more
    // request than the ticks in it, plus one tick the ticker keeps for a slow worker, plus one
    // request Go's transport sends again when a pod goes away mid-response (usually answered by
    // the proxy itself, no ready pod left, and those are not counted here; through the apex of
    // an A/B route the primary may answer it).
    const ceiling = Math.floor(hey.qps * Math.min(run.spanS, hey.durationS)) + 3 * hey.concurrency;
    if (run.answeredByPods > ceiling) {
      failures.push(`hey run ${run.pid}: pods answered ${run.answeredByPods} of its requests over ${run.spanS.toFixed(1)}s, `
        + `more than its -q/-c/-z allow (${ceiling})`);
    }
  }
  if (expect.generator && load.generatorToCanary === 0) failures.push('no request of the load generator reached a canary pod');
  if (!expect.generator && load.generatorToCanary > 0) {
    failures.push(`the load generator reached the canary ${load.generatorToCanary} times, but live traffic should never have moved there`);
  }
  if (expect.maxWeight !== undefined) {
    const bound = Math.ceil(load.generatorTotal * expect.maxWeight / 100) + 1;
    if (load.generatorToCanary > bound) {
      failures.push(`the canary got ${load.generatorToCanary} of the generator's ${load.generatorTotal} requests, more than its max weight ${expect.maxWeight}% allows`);
    }
  }
  return failures;
}

function describeSources(sources: ReadonlyMap<string, number>): string {
  return [...sources].map(([s, n]) => `${s} ${n}`).join(', ') || 'nothing';
}

/** One line per canary pod and per hey run, for the timeline. */
export function describeLoad(load: StepLoad): string[] {
  const pods = [...load.canaryPods].map(([pod, sources]) => `canary pod ${pod}: ${describeSources(sources)}`);
  const runs = load.heyRuns.map((r) => `hey run pid ${r.pid}${r.startedInStep ? '' : ' (started for an earlier release)'}: `
    + `${r.toCanary} to the canary, ${r.elsewhere} elsewhere in this step; ${r.answeredByPods} answered by pods in ${r.spanS.toFixed(1)}s since it started`);
  return [...(pods.length ? pods : ['no canary pod answered']), ...runs,
    `load generator: ${load.generatorToCanary} of ${load.generatorTotal} requests to the canary in ${load.seconds.toFixed(0)}s`];
}

/** `hey 512, gen 63/1210` for the results table. */
export function summarizeLoad(load: StepLoad): string {
  return `hey ${load.heyToCanary}, gen ${load.generatorToCanary}/${load.generatorTotal}`;
}
