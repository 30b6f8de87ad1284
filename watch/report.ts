/**
 * `canary-watch report`: one rollout as a self-contained HTML page, drawn from the
 * NDJSON records of `canary-watch -o json` (see verdict.ts for the record types):
 * - the verdict as a headline (green when the expectation was met, red when not,
 *   grey when the stream has no verdict yet);
 * - the canary weight over time (a step line) with the configured max weight, the
 *   failed checks with their threshold, and each metric check's value with its
 *   threshold range (gaps where a read gave no value), all over phase bands;
 * - the last events and notes.
 *
 * The charts are Vega-Lite specs compiled to Vega and rendered to SVG in Node
 * (renderer 'none': no browser, no canvas). The page loads nothing from outside:
 * no script, font or stylesheet; the SVG and the CSS are inline.
 *
 * This module is heavy (vega, vega-lite): the CLI loads it lazily, only for `report`,
 * and no other watch module imports it.
 *
 * Vega 6 and Vega-Lite 6 are ESM-only and vega's module graph has a top-level await,
 * so neither `require()` (not even Node's require(esm)) nor the `import()` that tsc
 * rewrites to `require()` in CommonJS output can load them: they are loaded by a real
 * `import()` compiled in the main context with Node's default ESM loader, which also
 * works inside jest's module sandbox.
 */
import { pathToFileURL } from 'node:url';
import * as vm from 'node:vm';
import type {
  EventRecord, MetricValue, MetricsRecord, NoteRecord, StartRecord, StatusRecord, VerdictRecord, WatchRecord,
} from './verdict';

export interface ReportOptions {
  /** The page's title; by default "canary <namespace>/<name>" from the start record. */
  readonly title?: string;
}

// ---------------------------------------------------------------------------------------------
// Parsing

type FieldKind = 'string' | 'number' | 'boolean' | 'array';
/** Required fields per record type (`?` marks an optional one); other fields are kept as they are. */
const FIELDS: Record<WatchRecord['type'], Record<string, FieldKind>> = {
  start: { name: 'string', namespace: 'string', expect: 'string', phase: 'string' },
  status: { phase: 'string', canaryWeight: 'number', maxWeight: 'number', failedChecks: 'number', threshold: 'number' },
  note: { level: 'string', message: 'string' },
  event: { eventType: 'string', reason: 'string', message: 'string', count: 'number' },
  metrics: { checks: 'array' },
  verdict: {
    outcome: 'string', expected: 'string', met: 'boolean', exitCode: 'number', message: 'string', phase: 'string',
    durationSeconds: 'number', maxWeightReached: 'number', maxWeight: 'number', failedChecks: 'number',
    threshold: 'number', lastEvents: 'array',
  },
};
const CHECK_FIELDS: Record<string, FieldKind> = { 'name': 'string', 'value?': 'number', 'min?': 'number', 'max?': 'number', 'error?': 'string' };

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/** The first field of `object` that is missing or of the wrong kind, as a phrase; undefined when none. */
function badField(object: Record<string, unknown>, fields: Record<string, FieldKind>): string | undefined {
  for (const [key, kind] of Object.entries(fields)) {
    const optional = key.endsWith('?');
    const name = optional ? key.slice(0, -1) : key;
    const value = object[name];
    if (value === undefined && optional) continue;
    if (value === undefined) return `no "${name}"`;
    if (kindOf(value) !== kind) return `"${name}" is ${kindOf(value)}, not ${kind === 'array' ? 'an array' : `a ${kind}`}`;
  }
  return undefined;
}

/** The problem with one parsed line as a phrase, or undefined when it is a well-formed record. */
function problem(value: unknown): string | undefined {
  if (kindOf(value) !== 'object') return `a JSON ${kindOf(value)}, not a record object`;
  const record = value as Record<string, unknown>;
  if (typeof record.type !== 'string') return 'a JSON object without a "type"';
  if (record.type === 'error') return undefined;
  if (!Object.hasOwn(FIELDS, record.type)) return `unknown record type "${record.type}"`;
  if (typeof record.time !== 'string' || Number.isNaN(Date.parse(record.time))) {
    return `${record.type} record: "time" is not a date (${JSON.stringify(record.time) ?? 'missing'})`;
  }
  const bad = badField(record, FIELDS[record.type as WatchRecord['type']]);
  if (bad) return `${record.type} record: ${bad}`;
  const list = record.type === 'metrics' ? record.checks : record.type === 'verdict' ? record.lastEvents : undefined;
  for (const [i, item] of ((list ?? []) as unknown[]).entries()) {
    const what = record.type === 'metrics' ? `checks[${i}]` : `lastEvents[${i}]`;
    if (kindOf(item) !== 'object') return `${record.type} record: ${what} is ${kindOf(item)}, not an object`;
    const itemBad = badField(item as Record<string, unknown>, record.type === 'metrics' ? CHECK_FIELDS : FIELDS.event);
    if (itemBad) return `${record.type} record: ${what}: ${itemBad}`;
  }
  return undefined;
}

/**
 * Parses the NDJSON of `canary-watch -o json` (blank lines and CRLF are fine). Throws an Error
 * whose message is one line naming the first bad line and its problem ("line 3: not JSON (...)"):
 * not JSON, not a record, an unknown type, a missing or mistyped field, a second verdict; or, with
 * no line number, an input without any record.
 *
 * A stream without a verdict is accepted: the watch may still be running (a live report), or
 * was stopped by CI's own timeout or ended with an error; the report then says "no verdict".
 * The `error` record the watcher prints before exit code 3 becomes a warning note
 * ("error: <message>"), so the report shows why the watch ended.
 */
export function parseRecords(ndjson: string): WatchRecord[] {
  const records: WatchRecord[] = [];
  let verdictLine: number | undefined;
  ndjson.split('\n').forEach((raw, index) => {
    const lineNo = index + 1;
    const line = raw.trim();
    if (line === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      const reason = (err as Error).message.split('\n')[0];
      throw new Error(`line ${lineNo}: not JSON (${reason}): ${line.length > 60 ? `${line.slice(0, 60)}...` : line}`, { cause: err });
    }
    const bad = problem(value);
    if (bad) throw new Error(`line ${lineNo}: ${bad}`);
    const record = value as WatchRecord | { type: 'error'; time?: unknown; message?: unknown };
    if (record.type === 'error') {
      const time = typeof record.time === 'string' && !Number.isNaN(Date.parse(record.time)) ? record.time : undefined;
      const fallback = records.length > 0 ? records[records.length - 1].time : new Date(0).toISOString();
      records.push({ type: 'note', time: time ?? fallback, level: 'warning', message: `error: ${String(record.message ?? 'unknown')}` });
      return;
    }
    if (record.type === 'verdict') {
      if (verdictLine !== undefined) {
        throw new Error(`line ${lineNo}: a second verdict (the first is on line ${verdictLine}); a report pictures one watch`);
      }
      verdictLine = lineNo;
    }
    records.push(record);
  });
  if (records.length === 0) throw new Error('no records: the input is empty (expected the NDJSON of canary-watch -o json)');
  return records;
}

// ---------------------------------------------------------------------------------------------
// The rollout as data

/** Colours of Flagger's phases; an unknown phase gets grey. */
const PHASE_COLORS: Record<string, string> = {
  'Initializing': '#90a4ae',
  'Initialized': '#78909c',
  'Waiting': '#ffb300',
  'Progressing': '#1e88e5',
  'WaitingPromotion': '#fb8c00',
  'Promoting': '#8e24aa',
  'Finalising': '#00897b',
  'Succeeded': '#43a047',
  'Failed': '#e53935',
  'Terminating': '#6d4c41',
  'Terminated': '#6d4c41',
  '(no phase)': '#bdbdbd',
};
const UNKNOWN_PHASE_COLOR = '#9e9e9e';

export const VERDICT_COLORS = { met: '#2e7d32', notMet: '#c62828', none: '#616161' } as const;

export interface PhaseSpan {
  readonly phase: string;
  /** Epoch ms. */
  readonly start: number;
  readonly end: number;
}

interface Rollout {
  readonly start?: StartRecord;
  readonly statuses: readonly StatusRecord[];
  readonly metrics: readonly MetricsRecord[];
  readonly events: readonly EventRecord[];
  readonly notes: readonly NoteRecord[];
  readonly verdict?: VerdictRecord;
  /** Epoch ms of the first and last record. */
  readonly begin: number;
  readonly last: number;
  /** The end of the time axis: a little after the last record, so the last phase shows as a band. */
  readonly end: number;
  readonly spans: readonly PhaseSpan[];
}

const ms = (time: string): number => Date.parse(time);
/** HH:MM:SS in UTC. */
const clockMs = (at: number): string => new Date(at).toISOString().slice(11, 19);
const clock = (time: string): string => clockMs(ms(time));
/**
 * The time axis goes on past the last record by this share of the watch (1 s at least): the
 * verdict comes with the status that decides it, so the final phase (Failed, Succeeded) would
 * otherwise be a band of no width. The final state holds there, which is what it means.
 */
const END_PAD = 0.03;

function phaseName(phase: string): string {
  return phase === '' ? '(no phase)' : phase;
}

/** The time spans of each phase, from the start record and the status records; the last one lasts until `end`. */
export function phaseSpans(records: readonly WatchRecord[], end: number): PhaseSpan[] {
  const spans: { phase: string; start: number; end: number }[] = [];
  for (const r of records) {
    if (r.type !== 'status' && r.type !== 'start') continue;
    const at = ms(r.time);
    const phase = phaseName(r.phase);
    const last = spans[spans.length - 1];
    if (last?.phase === phase) continue;
    if (last) last.end = at;
    spans.push({ phase, start: at, end });
  }
  return spans.filter((s) => s.end > s.start || s === spans[spans.length - 1]);
}

function rollout(records: readonly WatchRecord[]): Rollout {
  const times = records.map((r) => ms(r.time));
  const verdict = records.find((r): r is VerdictRecord => r.type === 'verdict');
  const begin = Math.min(...times);
  const last = Math.max(...times);
  const end = last + Math.max(1000, Math.round((last - begin) * END_PAD));
  return {
    start: records.find((r): r is StartRecord => r.type === 'start'),
    statuses: records.filter((r): r is StatusRecord => r.type === 'status'),
    metrics: records.filter((r): r is MetricsRecord => r.type === 'metrics'),
    events: records.filter((r): r is EventRecord => r.type === 'event'),
    notes: records.filter((r): r is NoteRecord => r.type === 'note'),
    verdict, begin, last, end,
    spans: phaseSpans(records, end),
  };
}

/** Step-line points: each value holds until the next one; the last one until `end` (a point that is not `real`). */
function steps<T>(items: readonly T[], time: (t: T) => number, value: (t: T) => number, end: number): { t: number; v: number; real: boolean }[] {
  const points = items.map((i) => ({ t: time(i), v: value(i), real: true }));
  if (points.length > 0 && points[points.length - 1].t < end) points.push({ t: end, v: points[points.length - 1].v, real: false });
  return points;
}

// ---------------------------------------------------------------------------------------------
// The charts: one Vega-Lite vconcat spec

const FONT = 'DejaVu Sans, Helvetica, Arial, sans-serif';
const WIDE = 1040;
const NARROW = 490;
const INK = '#263238';
const LIMIT = '#c62828';

type Spec = Record<string, unknown>;

/** The time axis: the bands layer, first in every chart, sets the scale; the other layers share it. */
function timeAxis(r?: Rollout): Spec {
  if (!r) return { field: 't', type: 'temporal' };
  return {
    field: 't', type: 'temporal',
    scale: { type: 'utc', domainMin: r.begin, domainMax: r.end },
    axis: { title: 'time (UTC)', format: '%H:%M:%S', labelOverlap: true, grid: false },
  };
}

/**
 * The phase bands: one rect per phase span, coloured by phase (the shared legend). Every layer
 * has a `name` (its marks' SVG class is `<name>_marks`) and each datum a `description` (the
 * SVG item's aria-label): readable to assistive technology, and what the tests look for.
 */
function bandsLayer(r: Rollout, chart: string): Spec {
  const phases = [...new Set(r.spans.map((s) => s.phase))];
  return {
    name: `${chart}_bands`,
    data: {
      values: r.spans.map((s) => ({ phase: s.phase, t: s.start, t2: s.end, description: `phase ${s.phase} from ${clockMs(s.start)} to ${clockMs(s.end)}` })),
    },
    mark: { type: 'rect', opacity: 0.16 },
    encoding: {
      x: timeAxis(r),
      x2: { field: 't2' },
      color: {
        field: 'phase', type: 'nominal',
        scale: { domain: phases, range: phases.map((p) => PHASE_COLORS[p] ?? UNKNOWN_PHASE_COLOR) },
        legend: { title: 'phase', orient: 'top', direction: 'horizontal', symbolType: 'square', symbolOpacity: 0.5 },
      },
      description: { field: 'description' },
    },
  };
}

/** A dashed horizontal limit with its label at the right end. */
function limitLayers(chart: string, values: { v: number; label: string }[], color: string): Spec[] {
  if (values.length === 0) return [];
  const data = { values: values.map((v) => ({ ...v, description: v.label })) };
  return [
    {
      name: `${chart}_limit`,
      data,
      mark: { type: 'rule', color, strokeDash: [6, 4], strokeWidth: 1.5 },
      encoding: { y: { field: 'v', type: 'quantitative' }, description: { field: 'description' } },
    },
    {
      name: `${chart}_limit_label`,
      data,
      mark: { type: 'text', color, align: 'right', baseline: 'bottom', dy: -3, x: 'width', fontSize: 11, fontWeight: 'bold' },
      encoding: { y: { field: 'v', type: 'quantitative' }, text: { field: 'label' }, description: { field: 'description' } },
    },
  ];
}

/** A step line over the statuses, with a point at each status (`what` names the value in the descriptions). */
function stepLayers(chart: string, points: { t: number; v: number; real: boolean }[], what: string, unit: string, color: string, y: Spec): Spec[] {
  // No layer for no data: vega would warn about an infinite extent.
  if (points.length === 0) return [];
  const values = points.map((p) => ({ t: p.t, v: p.v, description: `${what} ${p.v}${unit} at ${clockMs(p.t)}` }));
  return [
    {
      name: `${chart}_line`,
      data: { values },
      mark: { type: 'line', interpolate: 'step-after', color, strokeWidth: 2.5 },
      encoding: { x: timeAxis(), y: { field: 'v', type: 'quantitative', ...y }, description: { value: `${what} over time` } },
    },
    {
      name: `${chart}_points`,
      data: { values: values.filter((_, i) => points[i].real) },
      mark: { type: 'point', filled: true, size: 30, color, opacity: 1 },
      encoding: { x: timeAxis(), y: { field: 'v', type: 'quantitative' }, description: { field: 'description' } },
    },
  ];
}

function weightChart(r: Rollout): Spec {
  const maxWeight = r.verdict?.maxWeight ?? r.statuses[r.statuses.length - 1]?.maxWeight;
  const points = steps(r.statuses, (s) => ms(s.time), (s) => s.canaryWeight, r.end);
  return {
    title: { text: 'Canary weight (% of traffic)' },
    width: WIDE, height: 220,
    layer: [
      bandsLayer(r, 'weight'),
      ...stepLayers('weight', points, 'canary weight', '%', INK, { title: 'canary weight (%)', scale: { domain: [0, 100] } }),
      ...limitLayers('weight', maxWeight === undefined ? [] : [{ v: maxWeight, label: `max weight ${maxWeight}%` }], '#546e7a'),
    ],
  };
}

function failedChecksChart(r: Rollout): Spec {
  const threshold = r.verdict?.threshold ?? r.statuses[r.statuses.length - 1]?.threshold ?? 0;
  const points = steps(r.statuses, (s) => ms(s.time), (s) => s.failedChecks, r.end);
  const top = Math.max(threshold, ...points.map((p) => p.v), 1);
  return {
    title: { text: 'Failed checks' },
    width: WIDE, height: 110,
    layer: [
      bandsLayer(r, 'failed'),
      ...stepLayers('failed', points, 'failed checks', '', LIMIT, { title: 'failed checks', scale: { domain: [0, top] }, axis: { tickMinStep: 1 } }),
      ...limitLayers('failed', threshold > 0 ? [{ v: threshold, label: `threshold ${threshold}` }] : [], LIMIT),
    ],
  };
}

interface CheckSeries {
  readonly name: string;
  readonly points: { t: number; value: number | null; out: boolean }[];
  readonly min?: number;
  readonly max?: number;
  readonly errors: number;
  readonly lastError?: string;
}

function outOfRange(c: MetricValue): boolean {
  return c.value !== undefined && ((c.max !== undefined && c.value > c.max) || (c.min !== undefined && c.value < c.min));
}

/** Each check's values over time, in order of first appearance; a read without value is a gap (null). */
export function checkSeries(metrics: readonly MetricsRecord[]): CheckSeries[] {
  const byName = new Map<string, { points: CheckSeries['points']; min?: number; max?: number; errors: number; lastError?: string }>();
  for (const m of metrics) {
    for (const c of m.checks) {
      const s = byName.get(c.name) ?? { points: [], errors: 0 };
      byName.set(c.name, s);
      s.points.push({ t: ms(m.time), value: c.value ?? null, out: outOfRange(c) });
      // The latest threshold range is the one drawn.
      if (c.min !== undefined || c.max !== undefined) {
        s.min = c.min;
        s.max = c.max;
      }
      if (c.value === undefined) {
        s.errors++;
        s.lastError = c.error ?? s.lastError;
      }
    }
  }
  return [...byName.entries()].map(([name, s]) => ({ name, ...s }));
}

function metricChart(r: Rollout, s: CheckSeries, index: number): Spec {
  const chart = `check${index}`;
  const limits = [
    ...(s.max !== undefined ? [{ v: s.max, label: `max ${s.max}` }] : []),
    ...(s.min !== undefined ? [{ v: s.min, label: `min ${s.min}` }] : []),
  ];
  const subtitle = s.errors > 0 ? `${s.errors} read${s.errors === 1 ? '' : 's'} without value${s.lastError ? ` (${s.lastError})` : ''}` : undefined;
  const values = s.points.map((p) => ({
    t: p.t, value: p.value,
    state: p.value === null ? 'no value' : p.out ? 'out of range' : 'within range',
    description: `${s.name} ${p.value ?? 'no value'} at ${clockMs(p.t)}${p.out ? ' (out of range)' : ''}`,
  }));
  return {
    title: { text: `Check: ${s.name}`, ...(subtitle ? { subtitle, subtitleColor: '#8d6e63' } : {}) },
    width: NARROW, height: 150,
    layer: [
      bandsLayer(r, chart),
      {
        name: `${chart}_line`,
        data: { values },
        mark: { type: 'line', color: INK, strokeWidth: 1.5 },
        encoding: {
          x: timeAxis(),
          y: { field: 'value', type: 'quantitative', title: 'value', scale: { zero: false, nice: true } },
          description: { value: `${s.name} over time` },
        },
      },
      {
        name: `${chart}_points`,
        data: { values: values.filter((v) => v.value !== null) },
        mark: { type: 'point', filled: true, size: 36, opacity: 1 },
        encoding: {
          x: timeAxis(),
          y: { field: 'value', type: 'quantitative' },
          fill: {
            field: 'state', type: 'nominal',
            scale: { domain: ['within range', 'out of range'], range: [INK, LIMIT] },
            legend: null,
          },
          stroke: { value: 'white' },
          description: { field: 'description' },
        },
      },
      ...limitLayers(chart, limits, LIMIT),
    ],
  };
}

/** The Vega-Lite spec of the report's charts (exported for tests). */
export function chartSpec(records: readonly WatchRecord[]): Spec {
  const r = rollout(records);
  const checks = checkSeries(r.metrics);
  const rows: Spec[] = [weightChart(r), failedChecksChart(r)];
  if (checks.length > 0) rows.push({ concat: checks.map((s, i) => metricChart(r, s, i)), columns: 2, spacing: 30 });
  return {
    background: 'white',
    padding: 12,
    vconcat: rows,
    spacing: 28,
    resolve: { scale: { color: 'shared' }, legend: { color: 'shared' } },
    config: {
      font: FONT,
      view: { stroke: '#cfd8dc' },
      title: { fontSize: 14, fontWeight: 'bold', color: INK, subtitleFontSize: 11, offset: 8, anchor: 'start', frame: 'group' },
      axis: { labelFontSize: 11, titleFontSize: 11, titleColor: '#455a64', labelColor: '#455a64', gridColor: '#eceff1' },
      legend: { labelFontSize: 12, titleFontSize: 12 },
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Rendering

interface VegaView {
  toSVG(): Promise<string>;
  finalize(): void;
}
/** vega-util's LoggerInterface, as far as vega and vega-lite use it. */
interface Logger {
  level(level?: number): number | Logger;
  error(...args: readonly unknown[]): Logger;
  warn(...args: readonly unknown[]): Logger;
  info(...args: readonly unknown[]): Logger;
  debug(...args: readonly unknown[]): Logger;
}
interface ChartLibs {
  readonly vega: {
    parse(spec: unknown): unknown;
    View: new (runtime: unknown, options: { renderer: 'none'; logger: Logger }) => VegaView;
  };
  readonly vegaLite: { compile(spec: unknown, options: { logger: Logger }): { spec: unknown } };
}

/** A real import(): tsc turns `import()` into `require()` in CommonJS output, this string it leaves alone. */
const nativeImport = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<unknown>;

async function importEsm(url: string): Promise<unknown> {
  try {
    return await nativeImport(url);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code !== 'ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING_FLAG' && code !== 'ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING') throw err;
    // Inside a vm sandbox (jest) import() needs the sandbox's own ESM support; Node's main-context
    // loader does it instead (experimental in Node 20 to 24, so only here, where it is needed).
    const mainImport = vm.runInThisContext('(specifier) => import(specifier)', {
      importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
    }) as (specifier: string) => Promise<unknown>;
    return mainImport(url);
  }
}

let libs: Promise<ChartLibs> | undefined;

/** Loads vega and vega-lite (ESM-only, with a top-level await) once: see the module's doc. */
function chartLibs(): Promise<ChartLibs> {
  libs ??= (async () => {
    const url = (name: string) => pathToFileURL(require.resolve(name)).href;
    const [vega, vegaLite] = await Promise.all([importEsm(url('vega')), importEsm(url('vega-lite'))]);
    return { vega, vegaLite } as ChartLibs;
  })();
  libs.catch(() => (libs = undefined));
  return libs;
}

/**
 * Renders a Vega-Lite spec to an SVG string, without a browser or canvas. Warnings of vega-lite
 * and vega (a conflicting scale, say) go to `onWarning`, not to the console; errors throw.
 */
export async function renderSvg(spec: Spec, onWarning: (message: string) => void = () => undefined): Promise<string> {
  const { vega, vegaLite } = await chartLibs();
  const text = (args: readonly unknown[]) => args.map((a) => (a instanceof Error ? a.message : String(a))).join(' ');
  const logger: Logger = {
    level: (level?: number) => (level === undefined ? 2 : logger),
    error: (...args) => {
      throw new Error(`chart: ${text(args)}`);
    },
    warn: (...args) => {
      onWarning(text(args));
      return logger;
    },
    info: () => logger,
    debug: () => logger,
  };
  const view = new vega.View(vega.parse(vegaLite.compile(spec, { logger }).spec), { renderer: 'none', logger });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

function formatSeconds(seconds: number): string {
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = s % 60;
  if (h > 0) return `${h}h${String(m).padStart(2, '0')}m${String(rest).padStart(2, '0')}s`;
  if (m > 0) return `${m}m${String(rest).padStart(2, '0')}s`;
  return `${rest}s`;
}


function headline(r: Rollout): string {
  const v = r.verdict;
  if (!v) {
    const last = r.statuses[r.statuses.length - 1];
    const facts = last
      ? [`phase ${escapeHtml(phaseName(last.phase))}`, `weight ${last.canaryWeight}/${last.maxWeight}%`, `failed checks ${last.failedChecks}/${last.threshold || '?'}`]
      : [];
    return `<section class="verdict" style="background:${VERDICT_COLORS.none}">
<h2>NO VERDICT</h2>
<p>The records end before a verdict: the watch was still running, or stopped without one (last record ${clockMs(r.last)} UTC).</p>
${facts.length ? `<ul class="facts">${facts.map((f) => `<li>${f}</li>`).join('')}</ul>` : ''}
</section>`;
  }
  const color = v.met ? VERDICT_COLORS.met : VERDICT_COLORS.notMet;
  const facts = [
    `expected <b>${escapeHtml(v.expected)}</b>`,
    `exit code <b>${v.exitCode}</b>`,
    `phase <b>${escapeHtml(phaseName(v.phase))}</b>`,
    `max weight reached <b>${v.maxWeightReached}/${v.maxWeight}%</b>`,
    `failed checks <b>${v.failedChecks}/${v.threshold || '?'}</b>`,
    `duration <b>${formatSeconds(v.durationSeconds)}</b>`,
  ];
  return `<section class="verdict" style="background:${color}" data-met="${v.met}">
<h2>${v.met ? '&#10004;' : '&#10008;'} ${escapeHtml(v.outcome.toUpperCase())} &middot; expectation ${v.met ? 'met' : 'not met'}</h2>
<p>${escapeHtml(v.message)}</p>
<ul class="facts">${facts.map((f) => `<li>${f}</li>`).join('')}</ul>
</section>`;
}

/** The last events: the event records and the verdict's lastEvents, without repeats, oldest first. */
function lastEvents(r: Rollout, count = 10): EventRecord[] {
  const seen = new Set<string>();
  const all = [...r.events, ...(r.verdict?.lastEvents ?? [])].filter((e) => {
    const key = JSON.stringify([e.time, e.eventType, e.reason, e.message, e.count]);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  return all.sort((a, b) => ms(a.time) - ms(b.time)).slice(-count);
}

function eventsTable(r: Rollout): string {
  const events = lastEvents(r);
  if (events.length === 0) return '<h3>Last events</h3><p class="muted">No Kubernetes events were seen.</p>';
  const rows = events.map((e) => `<tr class="${e.eventType === 'Warning' ? 'warning' : ''}">`
    + `<td>${clock(e.time)}</td><td>${escapeHtml(e.eventType)}</td><td>${escapeHtml(e.reason)}</td>`
    + `<td>${escapeHtml(e.message)}</td><td class="num">${e.count}</td></tr>`).join('\n');
  return `<h3>Last events</h3>
<table class="events"><thead><tr><th>time (UTC)</th><th>type</th><th>reason</th><th>message</th><th class="num">count</th></tr></thead>
<tbody>
${rows}
</tbody></table>`;
}

function notesList(r: Rollout): string {
  const notes = r.notes.slice(-10);
  if (notes.length === 0) return '';
  return `<h3>Notes</h3>
<ul class="notes">${notes.map((n) => `<li class="${n.level}"><span class="time">${clock(n.time)}</span> ${escapeHtml(n.message)}</li>`).join('')}</ul>`;
}

const CSS = `
body { margin: 0; padding: 24px 32px; font-family: ${FONT}; color: ${INK}; background: #fafafa; }
header h1 { margin: 0 0 4px; font-size: 24px; }
header p { margin: 0 0 16px; color: #607d8b; font-size: 13px; }
.verdict { color: white; border-radius: 8px; padding: 14px 20px; margin-bottom: 20px; }
.verdict h2 { margin: 0 0 6px; font-size: 22px; letter-spacing: 0.02em; }
.verdict p { margin: 0 0 8px; font-size: 15px; }
.facts { list-style: none; margin: 0; padding: 0; display: flex; flex-wrap: wrap; gap: 6px 22px; font-size: 14px; }
.charts { background: white; border: 1px solid #e0e0e0; border-radius: 8px; padding: 8px; overflow-x: auto; }
.charts svg { display: block; max-width: 100%; height: auto; }
h3 { font-size: 16px; margin: 22px 0 8px; }
table.events { border-collapse: collapse; width: 100%; background: white; font-size: 13px; }
table.events th, table.events td { text-align: left; padding: 5px 10px; border-bottom: 1px solid #eceff1; vertical-align: top; }
table.events th { background: #eceff1; }
table.events tr.warning td { background: #fff3e0; }
.num { text-align: right !important; }
.notes { font-size: 13px; padding-left: 20px; }
.notes li.warning { color: #bf360c; }
.time { color: #78909c; font-variant-numeric: tabular-nums; }
.muted { color: #78909c; font-size: 13px; }
footer { margin-top: 24px; color: #90a4ae; font-size: 12px; }
`;

/**
 * Renders the records of one watch (see parseRecords) as a self-contained HTML page.
 * Async because the chart libraries are ESM-only and are loaded on first use.
 */
export async function renderReport(records: readonly WatchRecord[], options: ReportOptions = {}): Promise<string> {
  if (records.length === 0) throw new Error('no records to report');
  const r = rollout(records);
  const target = r.start ? `${r.start.namespace}/${r.start.name}` : undefined;
  const title = options.title ?? (target ? `canary ${target}` : 'canary-watch report');
  const svg = await renderSvg(chartSpec(records));
  const period = `${new Date(r.begin).toISOString().replace('T', ' ').slice(0, 19)} to ${clockMs(r.last)} UTC`;
  const sub = [target && `Flagger Canary ${escapeHtml(target)}`, r.start && `expect ${escapeHtml(r.start.expect)}`, period]
    .filter(Boolean).join(' &middot; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${CSS}</style>
</head>
<body>
<header><h1>${escapeHtml(title)}</h1><p>${sub}</p></header>
${headline(r)}
<section class="charts">
${svg}
</section>
${eventsTable(r)}
${notesList(r)}
<footer>canary-watch report: ${records.length} records</footer>
</body>
</html>
`;
}
