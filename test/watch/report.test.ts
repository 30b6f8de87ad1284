import { chartSpec, parseRecords, renderReport, renderSvg, VERDICT_COLORS } from '../../watch/report';
import { StartRecord, StatusRecord, VerdictRecord, WatchRecord } from '../../watch/verdict';
import { T0, rollbackRecords } from './report-sample';

// Loading vega and vega-lite takes a second or two on a cold cache.
jest.setTimeout(60_000);

const sample = rollbackRecords();
const ndjson = sample.map((r) => JSON.stringify(r)).join('\n') + '\n';

/** The geometry of the report: see chartSpec (width 1040 x 220 for the weight, 490 x 150 per check). */
const WIDE = 1040;
const LAST = Date.parse(sample[sample.length - 1].time);
const END = LAST + Math.max(1000, Math.round((LAST - T0) * 0.03));
const x = (at: number) => ((at - T0) / (END - T0)) * WIDE;
const xOf = (iso: string) => x(Date.parse(iso));

interface Item { tag: string; label: string; attrs: Record<string, string> }

/** The SVG items (with an aria-label) of one named layer: `<name>_marks`. */
function items(svg: string, layer: string): Item[] {
  const start = svg.indexOf(`class="mark-`);
  const group = new RegExp(`<g class="mark-[a-z]+ role-mark ${layer}_marks"[^>]*>(.*?)</g>`, 's').exec(svg.slice(start));
  if (!group) throw new Error(`no layer ${layer} in the SVG`);
  return [...group[1].matchAll(/<(path|line|text)\s([^>]*?)\/?>/g)].map((m) => {
    const attrs = Object.fromEntries([...m[2].matchAll(/([\w:-]+)="([^"]*)"/g)].map((a) => [a[1], a[2]]));
    return { tag: m[1], label: attrs['aria-label'] ?? '', attrs };
  });
}

const translate = (item: Item): [number, number] => {
  const m = /translate\(([-\d.e]+),([-\d.e]+)\)/.exec(item.attrs.transform ?? '');
  if (!m) throw new Error(`no translate in ${JSON.stringify(item.attrs)}`);
  return [Number(m[1]), Number(m[2])];
};

/** The x extent of a rect path "M<x>,0h<w>v<h>h-<w>Z". */
const rectX = (item: Item): [number, number] => {
  const m = /^M([-\d.e]+),[-\d.e]+h([-\d.e]+)/.exec(item.attrs.d);
  if (!m) throw new Error(`not a rect: ${item.attrs.d}`);
  return [Number(m[1]), Number(m[1]) + Number(m[2])];
};

describe('parseRecords', () => {
  test('reads the NDJSON of canary-watch -o json back, blank lines and CRLF included', () => {
    expect(parseRecords(ndjson)).toEqual(sample);
    expect(parseRecords(`\r\n${ndjson.replace(/\n/g, '\r\n')}\n\n`)).toEqual(sample);
  });

  const status = JSON.stringify(sample.find((r) => r.type === 'status'));
  const verdict = JSON.stringify(sample.find((r) => r.type === 'verdict'));
  const time = '"time":"2026-03-02T10:00:00.000Z"';
  test.each([
    ['a cut line', `${status}\n{"type":"status",`, /^line 2: not JSON \(.+\): \{"type":"status",$/],
    ['a stray log line', `${status}\n\nwatching canary testapi/api`, /^line 3: not JSON \(.+\): watching canary testapi\/api$/],
    ['an array', '[1,2]', /^line 1: a JSON array, not a record object$/],
    ['a number', '42', /^line 1: a JSON number, not a record object$/],
    ['no type', `{${time}}`, /^line 1: a JSON object without a "type"$/],
    ['an unknown type', `{"type":"progress",${time}}`, /^line 1: unknown record type "progress"$/],
    ['no time', '{"type":"note","level":"info","message":"m"}', /^line 1: note record: "time" is not a date \(missing\)$/],
    ['a bad time', '{"type":"note","time":"yesterday","level":"info","message":"m"}', /^line 1: note record: "time" is not a date \("yesterday"\)$/],
    ['a string weight', status.replace('"canaryWeight":0', '"canaryWeight":"0"'), /^line 1: status record: "canaryWeight" is string, not a number$/],
    ['a missing field', status.replace('"failedChecks":0,', ''), /^line 1: status record: no "failedChecks"$/],
    ['a bad check', `{"type":"metrics",${time},"checks":[{"name":"a","value":1},{"name":"b","value":"x"}]}`,
      /^line 1: metrics record: checks\[1\]: "value" is string, not a number$/],
    ['checks not an array', `{"type":"metrics",${time},"checks":{}}`, /^line 1: metrics record: "checks" is object, not an array$/],
    ['a bad last event', verdict.replace('"lastEvents":[', '"lastEvents":[7,'), /^line 1: verdict record: lastEvents\[0\] is number, not an object$/],
    ['a second verdict', `${status}\n${verdict}\n${status}\n${verdict}`, /^line 4: a second verdict \(the first is on line 2\); a report pictures one watch$/],
    ['nothing', '\n \n', /^no records: the input is empty/],
  ])('refuses %s with one line naming the line', (_what, input, message) => {
    let error: Error | undefined;
    try {
      parseRecords(input);
    } catch (err) {
      error = err as Error;
    }
    expect(error?.message).toMatch(message);
    expect(error?.message).not.toContain('\n');
  });

  test('accepts a stream without verdict (a live or cut watch); an error record becomes a warning note', () => {
    const lines = ndjson.trim().split('\n').filter((l) => !l.includes('"type":"verdict"'));
    const records = parseRecords([...lines, '{"type":"error","time":"2026-03-02T10:06:00.000Z","exitCode":3,"message":"watch lost"}'].join('\n'));
    expect(records.some((r) => r.type === 'verdict')).toBe(false);
    expect(records[records.length - 1]).toEqual({ type: 'note', time: '2026-03-02T10:06:00.000Z', level: 'warning', message: 'error: watch lost' });
  });
});

describe('renderReport of the 3.0 rollback', () => {
  let html: string;
  let svg: string;
  beforeAll(async () => {
    html = await renderReport(sample);
    svg = html.slice(html.indexOf('<svg'), html.indexOf('</svg>') + 6);
  });

  test('a self-contained page: no script, stylesheet, font or image from anywhere', () => {
    expect(html).toMatch(/^<!DOCTYPE html>/);
    expect(html).not.toMatch(/<script|<link|<img|<iframe|@import|@font-face|url\(|\ssrc=|\shref=/i);
    // The only URLs are the SVG namespaces.
    expect(html.match(/https?:\/\/[^"\s]+/g)).toEqual(['http://www.w3.org/2000/svg', 'http://www.w3.org/1999/xlink']);
    expect(html).toContain('<title>canary testapi/api</title>');
  });

  test('the verdict is the headline, in red: failed, not met, with its figures', () => {
    const headline = /<section class="verdict" style="background:(#[0-9a-f]{6})" data-met="false">(.*?)<\/section>/s.exec(html);
    expect(headline?.[1]).toBe(VERDICT_COLORS.notMet);
    expect(VERDICT_COLORS.notMet).toBe('#c62828');
    const text = headline![2].replace(/<[^>]+>/g, '');
    expect(text).toContain('FAILED · expectation not met'.replace('·', '&middot;'));
    expect(text).toContain('revision 7d2e9a6c4f failed the analysis and was rolled back (failed checks 5/5)');
    expect(text).toContain('expected succeeded');
    expect(text).toContain('exit code 1');
    expect(text).toContain('max weight reached 30/50%');
    expect(text).toContain('failed checks 5/5');
    expect(text).toContain('duration 5m20s');
  });

  test('the weight steps 0 -> 10 -> 20 -> 30 -> 0 at their times, on a 0..100 axis 220 high', () => {
    const statuses = sample.filter((r): r is StatusRecord => r.type === 'status');
    const points = items(svg, 'weight_points');
    expect(points.map((p) => p.label)).toEqual(statuses.map((s) => `canary weight ${s.canaryWeight}% at ${s.time.slice(11, 19)}`));
    points.forEach((p, i) => {
      const [px, py] = translate(p);
      expect(px).toBeCloseTo(xOf(statuses[i].time), 2);
      expect(py).toBeCloseTo(220 * (1 - statuses[i].canaryWeight / 100), 2);
    });
    const at = (w: number) => translate(points[statuses.findIndex((s) => s.canaryWeight === w)]);
    expect([at(10)[1], at(20)[1], at(30)[1]]).toEqual([198, 176, 154]);
    // One step line: the y levels it goes through, in order.
    const [line] = items(svg, 'weight_line');
    const ys = [...line.attrs.d.matchAll(/[ML][-\d.]+,([-\d.]+)/g)].map((m) => Number(m[1]));
    expect(ys.filter((y, i) => i === 0 || y !== ys[i - 1])).toEqual([220, 198, 176, 154, 220]);
    // Step-after: the y changes only where x stays (a vertical segment at each status).
    expect(line.attrs.d).toContain(`L${x(Date.parse(statuses[3].time)).toFixed(3).replace(/\.?0+$/, '')},198`);
  });

  test('the configured max weight is a dashed line at 50%', () => {
    const [rule] = items(svg, 'weight_limit');
    expect(rule.label).toBe('max weight 50%');
    expect(translate(rule)).toEqual([WIDE, 110]);
    expect(rule.attrs['stroke-dasharray']).toBe('6,4');
    expect(items(svg, 'weight_limit_label').map((t) => t.label)).toEqual(['max weight 50%']);
  });

  test('one band per phase span, coloured by phase, in every chart', () => {
    const progressingAt = sample.find((r) => r.type === 'status' && r.phase === 'Progressing')!.time;
    const failedAt = sample.find((r) => r.type === 'status' && r.phase === 'Failed')!.time;
    const bands = items(svg, 'weight_bands');
    expect(bands.map((b) => [b.label, b.attrs.fill, b.attrs.opacity])).toEqual([
      ['phase Succeeded from 10:00:00 to 10:00:31', '#43a047', '0.16'],
      ['phase Progressing from 10:00:31 to 10:05:20', '#1e88e5', '0.16'],
      ['phase Failed from 10:05:20 to 10:05:29', '#e53935', '0.16'],
    ]);
    const extents = bands.map(rectX);
    const expected = [[0, xOf(progressingAt)], [xOf(progressingAt), xOf(failedAt)], [xOf(failedAt), WIDE]];
    extents.forEach((e, i) => {
      expect(e[0]).toBeCloseTo(expected[i][0], 2);
      expect(e[1]).toBeCloseTo(expected[i][1], 2);
    });
    for (const chart of ['failed', 'check0', 'check1', 'check2']) expect(items(svg, `${chart}_bands`)).toHaveLength(3);
    expect(svg).toContain(`aria-label="Symbol legend titled 'phase' for fill color with 3 values: Succeeded, Progressing, Failed"`);
  });

  test('failed checks climb to the threshold line', () => {
    const statuses = sample.filter((r): r is StatusRecord => r.type === 'status');
    expect(statuses.map((s) => s.failedChecks)).toEqual([0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 5]);
    const points = items(svg, 'failed_points');
    expect(points.map((p) => p.label)).toEqual(statuses.map((s) => `failed checks ${s.failedChecks} at ${s.time.slice(11, 19)}`));
    // 0..5 on an axis 110 high.
    expect(points.map((p) => Number(translate(p)[1].toFixed(6)))).toEqual(statuses.map((s) => 110 - s.failedChecks * 22));
    const [rule] = items(svg, 'failed_limit');
    expect(rule.label).toBe('threshold 5');
    expect(translate(rule)).toEqual([WIDE, 0]);
  });

  test('each metric check has its chart; the 4xx check goes above its max line, in red', () => {
    expect([...svg.matchAll(/aria-label="Title text 'Check: ([^']+)'"/g)].map((m) => m[1]))
      .toEqual(['request-success-rate', 'not-found-percentage', 'request-duration']);
    // not-found-percentage: values 0.4..100 on a nice 0..100 axis 150 high: max 5 at y 142.5.
    const [rule] = items(svg, 'check1_limit');
    expect(rule.label).toBe('max 5');
    expect(translate(rule)).toEqual([490, 142.5]);
    const points = items(svg, 'check1_points');
    const above = points.filter((p) => translate(p)[1] < 142.5);
    expect(above.map((p) => p.label)).toEqual([
      'not-found-percentage 38.5 at 10:02:09 (out of range)',
      'not-found-percentage 71.2 at 10:02:41 (out of range)',
      'not-found-percentage 100 at 10:03:13 (out of range)',
      'not-found-percentage 100 at 10:03:45 (out of range)',
      'not-found-percentage 100 at 10:04:17 (out of range)',
    ]);
    expect(new Set(above.map((p) => p.attrs.fill))).toEqual(new Set(['#c62828']));
    expect(points.filter((p) => !above.includes(p)).map((p) => p.attrs.fill)).toEqual(['#263238', '#263238', '#263238']);
    // A min threshold too: request-success-rate's min 99 is the bottom of its 99..100 axis.
    expect(items(svg, 'check0_limit').map((r) => [r.label, translate(r)])).toEqual([['min 99', [490, 150]]]);
  });

  test('a read without value is a gap in the line, and said in the subtitle', () => {
    const [line] = items(svg, 'check2_line');
    expect(line.attrs.d.match(/M/g)).toHaveLength(2);
    expect(items(svg, 'check2_points')).toHaveLength(7);
    expect(svg).toContain(`aria-label="Subtitle text '1 read without value (no values found for query)'"`);
    const [other] = items(svg, 'check1_line');
    expect(other.attrs.d.match(/M/g)).toHaveLength(1);
  });

  test('the last ten events, oldest first, warnings marked', () => {
    const table = /<table class="events">(.*?)<\/table>/s.exec(html)![1];
    const rows = [...table.matchAll(/<tr class="(warning|)"><td>([\d:]+)<\/td><td>(\w+)<\/td><td>\w*<\/td><td>([^<]*)<\/td>/g)];
    expect(rows).toHaveLength(10);
    expect(rows[0].slice(1)).toEqual(['', '10:01:03', 'Normal', 'Advance api.testapi canary weight 10']);
    expect(rows[9].slice(1)).toEqual(['warning', '10:04:50', 'Warning', 'Canary failed! Scaling down api.testapi']);
    expect(rows.filter((r) => r[1] === 'warning')).toHaveLength(7);
  });

  test('vega-lite and vega have nothing to warn about', async () => {
    const warnings: string[] = [];
    await renderSvg(chartSpec(sample), (w) => warnings.push(w));
    expect(warnings).toEqual([]);
  });
});

describe('renderReport of other watches', () => {
  const time = (s: number) => new Date(T0 + s * 1000).toISOString();
  const start: StartRecord = { type: 'start', time: time(0), name: 'web', namespace: 'shop', expect: 'succeeded', phase: 'Succeeded' };
  const status = (s: number, phase: string, canaryWeight: number): StatusRecord => ({
    type: 'status', time: time(s), phase, canaryWeight, maxWeight: 40, failedChecks: 0, threshold: 3, iterations: 0,
  });
  const verdict = (over: Partial<VerdictRecord>): VerdictRecord => ({
    type: 'verdict', time: time(90), outcome: 'succeeded', expected: 'succeeded', met: true, exitCode: 0,
    message: 'revision abc passed the analysis and was promoted', phase: 'Succeeded', durationSeconds: 90,
    maxWeightReached: 40, maxWeight: 40, failedChecks: 0, threshold: 3, lastEvents: [], ...over,
  });
  const promoted: WatchRecord[] = [start, status(0, 'Succeeded', 0), status(10, 'Progressing', 0), status(40, 'Progressing', 40),
    status(70, 'Promoting', 40), status(80, 'Finalising', 0), status(90, 'Succeeded', 0), verdict({})];

  test('a promotion: green headline, five phase spans, no metric charts', async () => {
    const html = await renderReport(promoted, { title: 'shop <web> release' });
    expect(html).toContain(`<section class="verdict" style="background:${VERDICT_COLORS.met}" data-met="true">`);
    expect(VERDICT_COLORS.met).toBe('#2e7d32');
    expect(html).toContain('SUCCEEDED &middot; expectation met');
    expect(html).toContain('<title>shop &lt;web&gt; release</title>');
    const svg = html.slice(html.indexOf('<svg'), html.indexOf('</svg>'));
    expect(items(svg, 'weight_bands').map((b) => b.label.split(' ')[1]))
      .toEqual(['Succeeded', 'Progressing', 'Promoting', 'Finalising', 'Succeeded']);
    expect(svg).not.toContain('Check: ');
    expect(html).toContain('No Kubernetes events were seen.');
  });

  test('no verdict yet: a grey headline with the last state', async () => {
    const html = await renderReport(promoted.slice(0, 4));
    expect(html).toContain(`<section class="verdict" style="background:${VERDICT_COLORS.none}">`);
    expect(html).toContain('NO VERDICT');
    expect(html).toContain('<li>phase Progressing</li><li>weight 40/40%</li><li>failed checks 0/3</li>');
  });

  test('text from the cluster is escaped', async () => {
    const html = await renderReport([start, verdict({ met: false, outcome: 'timeout', message: '<img src=x onerror=alert(1)>' }),
      { type: 'event', time: time(5), eventType: 'Warning', reason: '<b>', message: '"quoted" & <i>', count: 2 }]);
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(html).toContain('<td>&lt;b&gt;</td><td>&quot;quoted&quot; &amp; &lt;i&gt;</td>');
    expect(html).not.toMatch(/<img|<i>/);
    expect(html).toContain(`background:${VERDICT_COLORS.notMet}`);
  });

  test('a single record still gets a time axis', async () => {
    const warnings: string[] = [];
    await expect(renderSvg(chartSpec([start]), (w) => warnings.push(w))).resolves.toContain('<svg');
    expect(warnings).toEqual([]);
    await expect(renderReport([])).rejects.toThrow('no records to report');
  });
});
