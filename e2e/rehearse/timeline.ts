/**
 * One timeline per scenario, merged from the rehearsal's own steps, the
 * watcher's output and the data plane's log (weights, pods, load responses).
 */
import * as fs from 'node:fs';

export interface TimelineEntry {
  readonly at: number;
  readonly source: string;
  readonly text: string;
}

/** Data-plane lines worth showing: splits, pods, what the load generator saw. */
const DATAPLANE_SHOWN = /^(weights|pod (up|down)|load responses) /;

export class Timeline {
  private readonly entries: TimelineEntry[] = [];

  constructor(readonly startedAt = Date.now()) {}

  add(source: string, text: string, at = Date.now()): void {
    this.entries.push({ at, source, text });
  }

  /** Entries of one source, in time order. */
  of(source: string): TimelineEntry[] {
    return this.sorted().filter((e) => e.source === source);
  }

  render(): string {
    return this.sorted().map((e) => {
      const secs = ((e.at - this.startedAt) / 1000).toFixed(1).padStart(6);
      return `  +${secs}s  ${e.source.padEnd(9)} ${e.text}`;
    }).join('\n');
  }

  private sorted(): TimelineEntry[] {
    return [...this.entries].sort((a, b) => a.at - b.at);
  }
}

/** Reads what a log file gained since the last call (the data plane's, Flagger's). */
export class LogTail {
  private offset: number;

  constructor(private readonly file: string) {
    this.offset = fs.existsSync(file) ? fs.statSync(file).size : 0;
  }

  /** New complete lines of the data plane's log, as timeline entries. */
  drainDataplane(timeline: Timeline): void {
    for (const line of this.newLines()) {
      const m = /^(\d{4}-\d\d-\d\dT[\d:.]+Z) (.*)$/.exec(line);
      if (m && DATAPLANE_SHOWN.test(m[2])) timeline.add('dataplane', m[2], Date.parse(m[1]));
    }
  }

  /** The complete lines the file gained since the last call (or since the tail was made). */
  newLines(): string[] {
    if (!fs.existsSync(this.file)) return [];
    const size = fs.statSync(this.file).size;
    if (size <= this.offset) return [];
    const fd = fs.openSync(this.file, 'r');
    const buf = Buffer.alloc(size - this.offset);
    fs.readSync(fd, buf, 0, buf.length, this.offset);
    fs.closeSync(fd);
    const text = buf.toString('utf8');
    const complete = text.slice(0, text.lastIndexOf('\n') + 1);
    this.offset += Buffer.byteLength(complete);
    return complete.split('\n').filter((l) => l !== '');
  }
}

/**
 * Canary weights the apex split went through, from the data plane's `weights`
 * lines (consecutive repeats collapsed), e.g. [0, 10, 20, 30, 40, 50, 0].
 */
export function canaryWeights(timeline: Timeline, service = 'api', canary = 'api-canary'): number[] {
  const out: number[] = [];
  for (const e of timeline.of('dataplane')) {
    if (!e.text.startsWith(`weights ${service}.`)) continue;
    const m = new RegExp(`\\b${canary}=(\\d+(?:\\.\\d+)?)`).exec(e.text);
    if (!m) continue;
    const w = Number(m[1]);
    if (out[out.length - 1] !== w) out.push(w);
  }
  return out;
}
