/**
 * Test-side access to the running e2e stack (started by e2e/cluster/up.sh): its state folder,
 * a kubectl bound to its kubeconfig, and polling helpers. Used by e2e/*.e2e.test.ts only.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; [k: string]: unknown };
  spec?: any;
  status?: any;
  [k: string]: unknown;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Variables written by up.sh into <state>/env (CLUSTER_STATE, KUBECONFIG, CLUSTER_KUBECTL, ...). */
export function stackEnv(): Record<string, string> {
  const pointer = path.join(process.env.TMPDIR || os.tmpdir(), 'cdk8s-canary-e2e', 'current');
  if (!fs.existsSync(pointer)) throw new Error(`no e2e stack is up (${pointer} missing): npm run cluster:up`);
  const state = fs.readFileSync(pointer, 'utf8').trim();
  const env: Record<string, string> = {};
  for (const line of fs.readFileSync(path.join(state, 'env'), 'utf8').split('\n')) {
    const m = /^export (\w+)=(.*)$/.exec(line);
    if (m) env[m[1]] = m[2].replace(/^"(.*)"$/, '$1');
  }
  return env;
}

const env = stackEnv();
export const STATE = env.CLUSTER_STATE;
export const KUBECONFIG = env.KUBECONFIG;

/** Runs the stack's kubectl; never throws, the caller asserts on code/stdout/stderr. */
export function kubectl(args: string[], input?: string): RunResult {
  const r = spawnSync(env.CLUSTER_KUBECTL, ['--kubeconfig', KUBECONFIG, ...args], {
    input, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: 120_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? (r.error ? String(r.error) : '') };
}

/** kubectl that must succeed; returns stdout. */
export function kubectlOk(args: string[], input?: string): string {
  const r = kubectl(args, input);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

/** The object as JSON, or undefined when it does not exist. */
export function getObject(kind: string, name: string, namespace?: string): KubeObject | undefined {
  const r = kubectl(['get', kind, name, ...(namespace ? ['-n', namespace] : []), '-o', 'json']);
  if (r.code !== 0) {
    if (/NotFound|not found/.test(r.stderr)) return undefined;
    throw new Error(`kubectl get ${kind} ${name}: ${r.stderr}`);
  }
  return JSON.parse(r.stdout);
}

/** Reads every object of the *.yaml files in a folder (YAML parsed by kubectl, offline). */
export function readManifests(dir: string): KubeObject[] {
  const files = fs.readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort();
  const objects: KubeObject[] = [];
  for (const f of files) {
    const out = kubectlOk(['create', '--dry-run=client', '--validate=false', '-o', 'json', '-f', path.join(dir, f)]);
    // One pretty-printed JSON document per object, back to back ("}\n{" at column 0).
    const docs: KubeObject[] = JSON.parse(`[${out.trim().replace(/^}\n{$/gm, '},\n{')}]`);
    for (const d of docs) objects.push(...(d.kind === 'List' ? (d.items as KubeObject[]) : [d]));
  }
  return objects;
}

/** Server-side apply of objects given as JSON; dryRun asks the API server to validate only. */
export function apply(objects: KubeObject[], opts: { dryRun?: boolean } = {}): RunResult {
  const list = { apiVersion: 'v1', kind: 'List', items: objects };
  return kubectl(['apply', '--server-side', '--field-manager', 'cdk8s-canary-e2e', '--force-conflicts',
    ...(opts.dryRun ? ['--dry-run=server'] : []), '-o', 'name', '-f', '-'], JSON.stringify(list));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls fn until it returns a value other than undefined/false; rejects with `what` on timeout. */
export async function eventually<T>(what: string, timeoutMs: number, fn: () => T | undefined | false): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = fn();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last}` : ''}`);
    await sleep(1000);
  }
}

/** Messages of the Warning events recorded on an object. */
export function warningEvents(kind: string, name: string, namespace: string): string[] {
  const out = kubectlOk(['get', 'events', '-n', namespace, '-o', 'json', '--field-selector',
    `involvedObject.kind=${kind},involvedObject.name=${name},type=Warning`]);
  return JSON.parse(out).items.map((e: { message: string }) => e.message);
}

export function componentLog(name: string): string {
  return fs.readFileSync(path.join(STATE, 'logs', `${name}.log`), 'utf8');
}

export function componentPid(name: string): number {
  return Number(fs.readFileSync(path.join(STATE, 'pids', name), 'utf8').trim());
}

/**
 * Folder holding synthesized demo manifests: by default the e2e variant the stack runs
 * (E2E_SYNTH_DIR), with 'main' the unmodified `npm run synth` output (E2E_MAIN_SYNTH_DIR).
 */
export function synthDir(which: 'e2e' | 'main' = 'e2e'): string {
  const name = which === 'main' ? 'E2E_MAIN_SYNTH_DIR' : 'E2E_SYNTH_DIR';
  const dir = process.env[name];
  if (!dir || !fs.existsSync(dir)) throw new Error(`${name} is not set or missing: run through npm run test:e2e`);
  return dir;
}

/** A deep copy moved into another namespace (references to the old namespace follow it). */
export function relocate<T extends KubeObject>(obj: T, from: string, to: string): T {
  return JSON.parse(JSON.stringify(obj).split(`"namespace":"${from}"`).join(`"namespace":"${to}"`));
}

/** kubectl's name for an object's resource: Kind.group (plain Kind for the core group). */
export function resourceOf(o: KubeObject): string {
  return o.apiVersion.includes('/') ? `${o.kind}.${o.apiVersion.split('/')[0]}` : o.kind;
}

export const sameName = (kind: string, name: string) => (o: KubeObject) => o.kind === kind && o.metadata.name === name;
