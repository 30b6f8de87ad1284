/**
 * Faults on the stack's processes, through the stack's own launcher
 * (e2e/cluster/component.sh): stop a component, or SIGKILL its process group,
 * and start it again with the very command line it ran (read from /proc before
 * it goes), so the restarted process has the same flags, ports and storage
 * (kine's SQLite, Prometheus' TSDB stay in the state folder).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO, StackInfo } from '../rehearse/stack';

const COMPONENT_SH = path.join(REPO, 'e2e/cluster/component.sh');

/** Components started under the stack's hosts file (e2e/cluster/with-hosts.sh): Flagger, Prometheus, the load tester. */
const WITH_HOSTS = new Set(['flagger', 'prometheus', 'loadtester']);

function componentSh(args: string[]): { status: number; out: string } {
  const r = spawnSync('bash', [COMPONENT_SH, ...args], { encoding: 'utf8' });
  return { status: r.status ?? -1, out: `${r.stdout}${r.stderr}`.trim() };
}

export function isAlive(name: string): boolean {
  return componentSh(['alive', name]).status === 0;
}

/** The components the stack owns, in start order. */
export function componentNames(stack: StackInfo): string[] {
  const file = path.join(stack.state, 'components');
  if (!fs.existsSync(file)) return [];
  return [...new Set(fs.readFileSync(file, 'utf8').split('\n').filter(Boolean))];
}

function pidOf(stack: StackInfo, name: string): number {
  const file = path.join(stack.state, 'pids', name);
  if (!fs.existsSync(file)) throw new Error(`${name} is not running (no ${file})`);
  return Number(fs.readFileSync(file, 'utf8').trim());
}

/**
 * A component's command line, as the process runs it: the launcher's setsid and
 * with-hosts.sh exec into the program itself, so /proc shows the program's argv.
 */
function commandLine(pid: number): string[] {
  const raw = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  return raw.replace(/\0$/, '').split('\0');
}

/** A component brought down by a fault, and how to bring it back. */
export class Outage {
  private constructor(readonly name: string, private readonly argv: string[], readonly at: number) {}

  /** Stops the component as the launcher does (SIGTERM to its group, SIGKILL after 10 s). */
  static stop(stack: StackInfo, name: string): Outage {
    const argv = commandLine(pidOf(stack, name));
    const r = componentSh(['stop', name]);
    if (r.status !== 0) throw new Error(`component.sh stop ${name} failed (${r.status}): ${r.out}`);
    return new Outage(name, argv, Date.now());
  }

  /** SIGKILLs the component's process group: no shutdown of any kind. */
  static kill(stack: StackInfo, name: string): Outage {
    const pid = pidOf(stack, name);
    const argv = commandLine(pid);
    process.kill(-pid, 'SIGKILL');
    const at = Date.now();
    // The launcher forgets the pid once the group is gone (it waits for that itself).
    const r = componentSh(['stop', name]);
    if (r.status !== 0) throw new Error(`component.sh stop ${name} after SIGKILL failed (${r.status}): ${r.out}`);
    return new Outage(name, argv, at);
  }

  /** Starts the component again with the command line it had. */
  restart(): void {
    const hosts = WITH_HOSTS.has(this.name) ? ['--hosts'] : [];
    const r = componentSh(['start', this.name, ...hosts, '--', ...this.argv]);
    if (r.status !== 0) throw new Error(`component.sh start ${this.name} failed (${r.status}): ${r.out}`);
  }
}
