/**
 * The report of the sample 3.0 rollback, opened in a real browser: Debian's headless Chromium
 * takes a screenshot, decoded here with pngjs. It fails (never skips) when chromium is not on
 * PATH: scripts/install-chromium.sh installs it.
 *
 * REPORT_SCREENSHOT=<png> also writes a full-page screenshot there (docs/report-rollback.png
 * is made that way: `REPORT_SCREENSHOT=docs/report-rollback.png npx jest test/watch/report-browser`).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { PNG } from 'pngjs';
import { renderReport, VERDICT_COLORS } from '../../watch/report';
import { rollbackRecords } from './report-sample';

jest.setTimeout(120_000);

const WIDTH = 1200;
const HEIGHT = 900;

function chromiumPath(): string {
  const found = spawnSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' }).stdout.trim();
  if (!found) {
    throw new Error('chromium is not on PATH: the browser test of the report needs Debian\'s chromium; '
      + 'install it with `bash scripts/install-chromium.sh` (as root)');
  }
  return found;
}

/** Chromium's screenshot of a page, as a PNG file. */
function screenshot(chromium: string, page: string, png: string, width: number, height: number, profile: string): void {
  const run = spawnSync(chromium, [
    '--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', '--no-first-run',
    `--user-data-dir=${profile}`, `--screenshot=${png}`, `--window-size=${width},${height}`,
    pathToFileURL(page).href,
  ], { encoding: 'utf8', timeout: 90_000 });
  if (run.status !== 0 || !fs.existsSync(png)) {
    throw new Error(`chromium failed (status ${run.status}, ${run.error?.message ?? 'no error'}): ${run.stderr.slice(-2000)}`);
  }
}

const hex = (color: string): [number, number, number] =>
  [1, 3, 5].map((i) => parseInt(color.slice(i, i + 2), 16)) as [number, number, number];

describe('the report in headless Chromium', () => {
  let dir: string;
  let image: PNG;

  beforeAll(async () => {
    const chromium = chromiumPath();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'canary-report-'));
    const page = path.join(dir, 'report.html');
    fs.writeFileSync(page, await renderReport(rollbackRecords()));
    const png = path.join(dir, 'report.png');
    screenshot(chromium, page, png, WIDTH, HEIGHT, path.join(dir, 'profile'));
    image = PNG.sync.read(fs.readFileSync(png));
    const docs = process.env.REPORT_SCREENSHOT;
    if (docs) screenshot(chromium, page, path.resolve(docs), WIDTH, 1760, path.join(dir, 'profile'));
  });

  afterAll(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  /** How many pixels of each row are within `tolerance` of a colour. */
  function rowsOf(color: string, tolerance = 10): number[] {
    const [r, g, b] = hex(color);
    const rows = new Array<number>(image.height).fill(0);
    for (let y = 0; y < image.height; y++) {
      for (let x = 0; x < image.width; x++) {
        const i = (y * image.width + x) * 4;
        if (Math.abs(image.data[i] - r) <= tolerance && Math.abs(image.data[i + 1] - g) <= tolerance
          && Math.abs(image.data[i + 2] - b) <= tolerance) rows[y]++;
      }
    }
    return rows;
  }
  const sum = (rows: number[]) => rows.reduce((a, n) => a + n, 0);

  test('the page rendered: the window size, not blank', () => {
    expect([image.width, image.height]).toEqual([WIDTH, HEIGHT]);
    const colours = new Set<number>();
    let background = 0;
    for (let i = 0; i < image.data.length; i += 4) {
      const [r, g, b] = [image.data[i], image.data[i + 1], image.data[i + 2]];
      colours.add((r << 16) | (g << 8) | b);
      if (r >= 245 && g >= 245 && b >= 245) background++;
    }
    // Text, charts, bands: many colours, and far from all white.
    expect(colours.size).toBeGreaterThan(500);
    expect(background / (WIDTH * HEIGHT)).toBeLessThan(0.8);
  });

  test('the verdict headline is a wide red band near the top, and nothing is green', () => {
    const red = rowsOf(VERDICT_COLORS.notMet);
    // Rows that are red across most of the page's width: the headline (about 1136 x 100 px).
    const wide = red.flatMap((n, y) => (n > 0.75 * WIDTH ? [y] : []));
    expect(wide.length).toBeGreaterThan(50);
    expect(Math.min(...wide)).toBeLessThan(150);
    expect(Math.max(...wide)).toBeLessThan(250);
    expect(sum(red)).toBeGreaterThan(60_000);
    expect(sum(rowsOf(VERDICT_COLORS.met))).toBeLessThan(50);
  });

  test('the weight chart is drawn: its dark step line and the blue Progressing band', () => {
    // The band is the phase colour at 16% over white.
    const band = hex('#1e88e5').map((c) => Math.round(255 + (c - 255) * 0.16));
    expect(sum(rowsOf(`#${band.map((c) => c.toString(16).padStart(2, '0')).join('')}`, 6))).toBeGreaterThan(100_000);
    expect(sum(rowsOf('#263238', 6))).toBeGreaterThan(2_000);
  });
});
