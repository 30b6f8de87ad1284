import { createRenderer, useColor } from '../../watch/render';
import { StatusRecord, VerdictRecord, WatchRecord } from '../../watch/verdict';

const time = '2026-01-01T12:00:05.000Z';
const status: StatusRecord = {
  type: 'status', time, phase: 'Progressing', canaryWeight: 20, maxWeight: 50, failedChecks: 1, threshold: 5,
  iterations: 0, lastAppliedSpec: 'abcdef0123456', lastPromotedSpec: '99',
};
const verdict: VerdictRecord = {
  type: 'verdict', time, outcome: 'succeeded', expected: 'succeeded', met: true, exitCode: 0, message: 'promoted',
  phase: 'Succeeded', durationSeconds: 75, maxWeightReached: 50, maxWeight: 50, failedChecks: 1, threshold: 5, lastEvents: [],
};
const records: WatchRecord[] = [
  { type: 'start', time, name: 'api', namespace: 'testapi', expect: 'succeeded', phase: 'Succeeded', lastAppliedSpec: '99', lastPromotedSpec: '99' },
  status,
  { type: 'event', time, eventType: 'Warning', reason: 'Synced', message: 'Halt advancement', count: 2 },
  { type: 'note', time, level: 'warning', message: 'watch lost' },
  verdict,
];

function render(format: 'text' | 'json', tty: boolean, color: boolean): string {
  let out = '';
  const r = createRenderer({ format, tty, color, write: (c) => (out += c) });
  records.forEach((x) => r.record(x));
  r.error('boom');
  r.close();
  return out;
}

describe('text output', () => {
  test('off a TTY: plain append-only lines, no escape codes', () => {
    const out = render('text', false, false);
    expect(out).not.toMatch(/\x1b|\r/);
    expect(out.split('\n').filter(Boolean)).toEqual([
      '12:00:05 watching canary testapi/api (expect succeeded): phase Succeeded, applied 99, promoted 99',
      '12:00:05 Progressing      weight 20/50  failed checks 1/5  revision abcdef0123',
      '12:00:05 event WARNING Halt advancement (x2)',
      '12:00:05 warning: watch lost',
      '12:00:05 OK succeeded (expected succeeded, exit 0): promoted [phase Succeeded, max weight 50/50, failed checks 1/5, 1m15s]',
    ]);
  });

  test('on a TTY: colors and a live progress bar redrawn in place', () => {
    const out = render('text', true, true);
    expect(out).toMatch(/\x1b\[/);
    expect(out).toMatch(/\r\x1b\[2K.*20\/50%/);
    expect(out).toMatch(/████████░{12}/);
  });

  test('on a TTY without colors: the bar but no color codes', () => {
    const out = render('text', true, false).replace(/\r\x1b\[2K/g, '');
    expect(out).not.toMatch(/\x1b\[\d+m/);
    expect(out).toMatch(/20\/50%/);
  });
});

test('json output: one record per line, errors as records', () => {
  const lines = render('json', true, true).trim().split('\n').map((l) => JSON.parse(l));
  expect(lines.map((l) => l.type)).toEqual(['start', 'status', 'event', 'note', 'verdict', 'error']);
  expect(lines[4]).toEqual(verdict);
  expect(lines[5]).toMatchObject({ exitCode: 3, message: 'boom' });
});

test('colors only on a TTY, honouring NO_COLOR, --no-color and TERM=dumb', () => {
  expect(useColor(true, false, {})).toBe(true);
  expect(useColor(false, false, {})).toBe(false);
  expect(useColor(true, true, {})).toBe(false);
  expect(useColor(true, false, { NO_COLOR: '1' })).toBe(false);
  expect(useColor(true, false, { NO_COLOR: '' })).toBe(true);
  expect(useColor(true, false, { TERM: 'dumb' })).toBe(false);
});
