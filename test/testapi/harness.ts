import { ChildProcess, spawn } from 'node:child_process';
import * as http from 'node:http';
import * as path from 'node:path';
import * as readline from 'node:readline';

export const SERVER = path.join(__dirname, '..', '..', 'testapi', 'server.js');

export type LogLine = Record<string, unknown>;

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface RunningServer {
  readonly proc: ChildProcess;
  readonly port: number;
  /** Every JSON line the server printed so far (it keeps growing). */
  readonly logs: LogLine[];
  readonly exited: Promise<Exit>;
}

export interface Response {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

const running = new Set<ChildProcess>();

/** Only the variables a test names reach the server, on loopback and an ephemeral port. */
function spawnServer(env: Record<string, string>): ChildProcess {
  const proc = spawn(process.execPath, [SERVER], {
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(proc);
  return proc;
}

/** Spawn the real server; resolve once it logs the address it listens on. */
export function startServer(env: Record<string, string> = {}): Promise<RunningServer> {
  const proc = spawnServer(env);
  const logs: LogLine[] = [];
  let stderr = '';
  proc.stderr!.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
  const exited = new Promise<Exit>((resolve) => {
    proc.on('exit', (code, signal) => {
      running.delete(proc);
      resolve({ code, signal });
    });
  });
  return new Promise((resolve, reject) => {
    readline.createInterface({ input: proc.stdout! }).on('line', (line) => {
      const entry = JSON.parse(line) as LogLine;
      logs.push(entry);
      if (entry.msg === 'listening') {
        resolve({ proc, port: entry.port as number, logs, exited });
      }
    });
    void exited.then((exit) => reject(new Error(`server exited (${exit.code}) before listening: ${stderr}`)));
  });
}

/** Kill whatever a test left running, so jest never waits on a child. */
export function killAll(): void {
  for (const proc of running) proc.kill('SIGKILL');
}

export interface RunResult extends Exit {
  readonly stdout: string;
  readonly stderr: string;
}

/** Run the server to completion (for settings it must refuse). */
export function runToExit(env: Record<string, string>): Promise<RunResult> {
  const proc = spawnServer(env);
  let stdout = '';
  let stderr = '';
  proc.stdout!.on('data', (chunk: Buffer) => { stdout += chunk.toString(); });
  proc.stderr!.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
  // A server that wrongly accepts the setting would listen forever: stop it.
  const guard = setTimeout(() => proc.kill('SIGKILL'), 3000);
  return new Promise((resolve) => {
    proc.on('close', (code, signal) => {
      clearTimeout(guard);
      running.delete(proc);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

export interface RequestOptions {
  readonly method?: string;
  readonly agent?: http.Agent | false;
}

export function request(port: number, urlPath: string, options: RequestOptions = {}): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1',
      port,
      path: urlPath,
      method: options.method ?? 'GET',
      agent: options.agent ?? false,
    }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => { body += chunk; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Wait until `predicate` holds for one of the server's log lines. */
export async function waitForLog(logs: LogLine[], predicate: (line: LogLine) => boolean): Promise<LogLine> {
  for (let i = 0; i < 200; i++) {
    const found = logs.find(predicate);
    if (found) return found;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('log line not seen within 2 s');
}
