/** The chaos run's table (Markdown, so it pastes into the README) and its figures over repeats. */
import type { Row, ScenarioRun } from './runner';

function markdown(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

export function table(rows: readonly Row[], withPass: boolean): string {
  const header = [...(withPass ? ['pass'] : []), 'scenario', 'release', 'expected', 'observed', 'reason', 'time', 'false promotions', 'ok'];
  return markdown(header, rows.map((r) => [
    ...(withPass ? [String(r.pass)] : []),
    r.scenario, r.release, r.expected, r.observed, r.reason, `${r.seconds.toFixed(0)} s`, String(r.falsePromotions), r.ok ? 'ok' : 'WRONG',
  ]));
}

/** Per scenario over the passes: how many were right, and the spread of the time. */
export function repeatSummary(runs: readonly ScenarioRun[]): string {
  const names = [...new Set(runs.map((r) => r.scenario))];
  return markdown(['scenario', 'right', 'time min / median / max', 'false promotions'], names.map((name) => {
    const mine = runs.filter((r) => r.scenario === name && !r.pending);
    const times = mine.map((r) => r.seconds).sort((a, b) => a - b);
    const median = times.length ? times[Math.floor((times.length - 1) / 2)] : 0;
    const promotions = mine.flatMap((r) => r.rows).reduce((n, r) => n + r.falsePromotions, 0);
    return [name, `${mine.filter((r) => r.ok).length}/${mine.length}`,
      times.length ? `${times[0].toFixed(0)} / ${median.toFixed(0)} / ${times[times.length - 1].toFixed(0)} s` : '-', String(promotions)];
  }));
}
