/**
 * Output: NDJSON records, or text lines. Text on a TTY gets colors and a live
 * progress bar redrawn in place; anywhere else (CI logs, pipes) it is plain
 * append-only lines, so logs stay readable.
 */
import { styleText } from 'node:util';
import { MetricValue, VerdictRecord, WatchRecord, shortHash } from './verdict';
import { formatDuration } from './timeout';

export type OutputFormat = 'text' | 'json';

export interface RenderOptions {
  readonly format: OutputFormat;
  /** Colors and the live progress bar. */
  readonly tty: boolean;
  readonly color: boolean;
  readonly write: (chunk: string) => void;
}

export interface Renderer {
  record(record: WatchRecord): void;
  /** An error that ends the watch with exit code 3. */
  error(message: string): void;
  /** Redraw the live line (TTY text only); called about once a second. */
  tick(now: number): void;
  /** Remove the live line before exit. */
  close(): void;
}

/** NO_COLOR (any non-empty value) and --no-color turn colors off; so does a non-TTY. */
export function useColor(isTTY: boolean, noColorFlag: boolean, env: NodeJS.ProcessEnv): boolean {
  return isTTY && !noColorFlag && !env.NO_COLOR && env.TERM !== 'dumb';
}

export function createRenderer(options: RenderOptions): Renderer {
  return options.format === 'json' ? new JsonRenderer(options.write) : new TextRenderer(options);
}

class JsonRenderer implements Renderer {
  constructor(private readonly write: (chunk: string) => void) {}
  record(record: WatchRecord): void {
    this.write(JSON.stringify(record) + '\n');
  }
  error(message: string): void {
    this.write(JSON.stringify({ type: 'error', time: new Date().toISOString(), exitCode: 3, message }) + '\n');
  }
  tick(): void {}
  close(): void {}
}

type Style = Parameters<typeof styleText>[0];

const PHASE_STYLE: Record<string, Style> = {
  Succeeded: 'green', Initialized: 'green', Failed: 'red',
  Waiting: 'yellow', WaitingPromotion: 'yellow',
  Progressing: 'cyan', Promoting: 'cyan', Finalising: 'cyan',
};
const BAR_WIDTH = 20;

class TextRenderer implements Renderer {
  private lastApplied?: string;
  private lastRecord?: WatchRecord;
  private live?: { phase: string; weight: number; maxWeight: number; failedChecks: number; threshold: number };
  private readonly startedAt = Date.now();
  private liveShown = false;

  constructor(private readonly options: RenderOptions) {}

  record(record: WatchRecord): void {
    // The start line already shows the state found at start.
    const repeatsStart = record.type === 'status' && this.lastRecord?.type === 'start'
      && record.phase === this.lastRecord.phase && record.lastAppliedSpec === this.lastRecord.lastAppliedSpec;
    this.lastRecord = record;
    if (record.type === 'status') {
      this.live = {
        phase: record.phase, weight: record.canaryWeight, maxWeight: record.maxWeight,
        failedChecks: record.failedChecks, threshold: record.threshold,
      };
    }
    if (!repeatsStart) this.line(this.format(record));
    if (record.type !== 'verdict') this.tick(Date.now());
  }

  /** Text mode reports errors on stderr only (the CLI does that). */
  error(): void {
    this.close();
  }

  tick(now: number): void {
    if (!this.options.tty || !this.live) return;
    const l = this.live;
    const filled = l.maxWeight > 0 ? Math.round(Math.min(l.weight / l.maxWeight, 1) * BAR_WIDTH) : 0;
    const bar = '█'.repeat(filled) + '░'.repeat(BAR_WIDTH - filled);
    this.options.write(`\r\x1b[2K${this.paint('cyan', bar)} ${l.weight}/${l.maxWeight}%  ${this.phase(l.phase)}`
      + `  checks ${l.failedChecks}/${l.threshold || '?'}  ${formatDuration(Math.round((now - this.startedAt) / 1000) * 1000)}`);
    this.liveShown = true;
  }

  close(): void {
    if (this.liveShown) this.options.write('\r\x1b[2K');
    this.liveShown = false;
  }

  private line(text: string): void {
    this.close();
    this.options.write(text + '\n');
  }

  private paint(style: Style, text: string): string {
    return this.options.color ? styleText(style, text) : text;
  }

  private phase(phase: string, width = 0): string {
    const name = (phase || 'no phase yet').padEnd(width);
    return PHASE_STYLE[phase] ? this.paint(PHASE_STYLE[phase], name) : name;
  }

  private format(record: WatchRecord): string {
    const clock = this.paint('dim', record.time.slice(11, 19));
    switch (record.type) {
      case 'start':
        this.lastApplied = record.lastAppliedSpec;
        return `${clock} watching canary ${record.namespace}/${record.name} (expect ${record.expect}): `
          + `phase ${this.phase(record.phase)}, applied ${shortHash(record.lastAppliedSpec)}, `
          + `promoted ${shortHash(record.lastPromotedSpec)}`;
      case 'status': {
        const revision = record.lastAppliedSpec !== this.lastApplied ? `  revision ${shortHash(record.lastAppliedSpec)}` : '';
        this.lastApplied = record.lastAppliedSpec;
        return `${clock} ${this.phase(record.phase, 16)} weight ${record.canaryWeight}/${record.maxWeight}`
          + `  failed checks ${record.failedChecks}/${record.threshold || '?'}${revision}`;
      }
      case 'note':
        return record.level === 'warning'
          ? `${clock} ${this.paint('yellow', 'warning:')} ${record.message}`
          : `${clock} ${record.message}`;
      case 'event': {
        const warning = record.eventType === 'Warning';
        const tag = warning ? this.paint('yellow', 'event WARNING') : 'event';
        return `${clock} ${tag} ${record.message}${record.count > 1 ? ` (x${record.count})` : ''}`;
      }
      case 'metrics':
        return `${clock} metrics ${record.checks.map(formatCheck).join(', ')}`;
      case 'verdict':
        return `${clock} ${this.verdict(record)}`;
    }
  }

  private verdict(v: VerdictRecord): string {
    const mark = v.met ? this.paint('green', 'OK') : this.paint('red', 'FAIL');
    const detail = `phase ${v.phase || 'none'}, max weight ${v.maxWeightReached}/${v.maxWeight}, `
      + `failed checks ${v.failedChecks}/${v.threshold || '?'}, ${formatDuration(v.durationSeconds * 1000)}`;
    return `${mark} ${v.outcome} (expected ${v.expected}, exit ${v.exitCode}): ${v.message} [${detail}]`;
  }
}

/** `error-rate 12.5 (max 1)`, or `error-rate ? (no data)` when no value was read. */
export function formatCheck(check: MetricValue): string {
  const range = [check.min !== undefined ? `min ${check.min}` : '', check.max !== undefined ? `max ${check.max}` : '']
    .filter(Boolean).join(' ');
  const value = check.value === undefined ? `? (${check.error ?? 'no value'})` : `${Number(check.value.toFixed(3))}`;
  return `${check.name} ${value}${range ? ` (${range})` : ''}`;
}
