/** `report`: draws a rollout's records (report.ts) into an HTML page. */
import * as fs from 'node:fs';
import type { ReportFileOptions, WatchOptions } from './args';
import type { Io } from './cli';
import { EXIT, WatchRecord } from './verdict';

/** report --from <file|->: renders recorded NDJSON; exit 0, or 3 on a bad file. */
export async function reportFromFile(io: Io, options: ReportFileOptions, program: string): Promise<number> {
  const { parseRecords, renderReport } = await import('./report');
  let text: string;
  try {
    text = fs.readFileSync(options.from === '-' ? 0 : options.from, 'utf8');
  } catch (err) {
    io.stderr.write(`${program}: cannot read ${options.from} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})\n`);
    return EXIT.error;
  }
  let records: WatchRecord[];
  try {
    records = parseRecords(text);
  } catch (err) {
    io.stderr.write(`${program}: ${options.from}: ${(err as Error).message}\n`);
    return EXIT.error;
  }
  return write(io, await renderReport(records, { title: options.title }), options.out, program, EXIT.met);
}

/** The live report: the watch's records, drawn; exits with the watch's code. */
export async function writeReport(io: Io, records: readonly WatchRecord[], options: WatchOptions, program: string, code: number): Promise<number> {
  const { renderReport } = await import('./report');
  const title = options.title ?? `canary ${options.namespace ?? ''}${options.namespace ? '/' : ''}${options.name}`;
  return write(io, await renderReport(records, { title }), options.out, program, code);
}

function write(io: Io, html: string, out: string | undefined, program: string, code: number): number {
  if (out === undefined || out === '-') {
    io.stdout.write(html);
    return code;
  }
  try {
    fs.writeFileSync(out, html);
  } catch (err) {
    io.stderr.write(`${program}: cannot write ${out} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})\n`);
    return EXIT.error;
  }
  io.stderr.write(`report written to ${out}\n`);
  return code;
}
