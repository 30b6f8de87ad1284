/**
 * CPU and memory of the stack's processes, read from /proc while a phase runs:
 * each component's process group (the pids in `<state>/pids/` lead them),
 * its main process (Flagger's binary, the emulator's node process) and the
 * whole group (the emulator's per-pod test API processes are its children).
 * Also the machine's busy share from /proc/stat. Linux only.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

const TICKS = 100; // USER_HZ (getconf CLK_TCK) on Linux
const PAGE_KB = 4;

interface ProcSample {
  readonly pid: number;
  readonly comm: string;
  readonly pgrp: number;
  /** utime+stime of the process, and of its reaped children (cutime+cstime), in seconds. */
  readonly cpu: number;
  readonly childCpu: number;
  /** Resident set, MiB. */
  readonly rssMiB: number;
}

function readProc(pid: number): ProcSample | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const f = stat.slice(close + 2).split(' ');
    // After the comm: state(0) ppid(1) pgrp(2) ... utime(11) stime(12) cutime(13) cstime(14) ... rss(21)
    return {
      pid, comm, pgrp: Number(f[2]),
      cpu: (Number(f[11]) + Number(f[12])) / TICKS,
      childCpu: (Number(f[13]) + Number(f[14])) / TICKS,
      rssMiB: (Number(f[21]) * PAGE_KB) / 1024,
    };
  } catch {
    return undefined;
  }
}

/** VmHWM of a process (its peak resident set since it started), MiB. */
function vmHwmMiB(pid: number): number {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

function allProcs(): ProcSample[] {
  return fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map((d) => readProc(Number(d)))
    .filter((p): p is ProcSample => p !== undefined);
}

function machineTicks(): { busy: number; total: number } {
  const cpu = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].split(/\s+/).slice(1).map(Number);
  const total = cpu.reduce((a, b) => a + b, 0);
  const idle = cpu[3] + (cpu[4] ?? 0);
  return { busy: total - idle, total };
}

export interface ComponentFigures {
  readonly name: string;
  /** The main process: the group member named `main` (or the leader). */
  readonly mainPid: number;
  /** CPU seconds of the main process during the phase. */
  readonly mainCpuS: number;
  /** Peak resident set of the main process sampled during the phase, and its VmHWM at the end (since start), MiB. */
  readonly mainPeakRssMiB: number;
  readonly mainVmHwmMiB: number;
  /** The whole process group: CPU seconds (live members plus reaped children) and the peak of its summed RSS. */
  readonly groupCpuS: number;
  readonly groupPeakRssMiB: number;
  readonly groupPeakProcs: number;
}

export interface PhaseFigures {
  readonly seconds: number;
  /** Share of both cores busy (all processes on the machine), 0..1. */
  readonly machineBusy: number;
  readonly loadavgBefore: string;
  readonly loadavgAfter: string;
  readonly components: ComponentFigures[];
}

/** The comm of each component's main process; others: the group leader. */
const MAIN_COMM: Readonly<Record<string, string>> = { flagger: 'flagger', dataplane: 'node', prometheus: 'prometheus' };

/** Samples every component of the stack once a second between start() and stop(). */
export class ResourceSampler {
  private timer?: NodeJS.Timeout;
  private readonly leaders: Map<string, number>;
  private first = new Map<number, number>();
  private firstChildCpu = new Map<string, number>();
  private readonly peaks = new Map<string, { main: number; group: number; procs: number }>();
  private mains = new Map<string, number>();
  private startedAt = 0;
  private ticks = machineTicks();
  private loadavg = '';

  constructor(stateDir: string) {
    const dir = path.join(stateDir, 'pids');
    this.leaders = new Map(fs.readdirSync(dir).map((name) => [name, Number(fs.readFileSync(path.join(dir, name), 'utf8').trim())]));
  }

  start(): void {
    this.startedAt = Date.now();
    this.loadavg = fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
    this.ticks = machineTicks();
    const procs = allProcs();
    this.mains = new Map([...this.leaders].map(([name, leader]) => {
      const members = procs.filter((p) => p.pgrp === leader);
      const main = members.find((p) => p.comm === MAIN_COMM[name]) ?? members.find((p) => p.pid === leader);
      return [name, main?.pid ?? leader];
    }));
    this.first = new Map(procs.map((p) => [p.pid, p.cpu]));
    this.firstChildCpu = new Map([...this.leaders].map(([name, leader]) => [name, procs.find((p) => p.pid === leader)?.childCpu ?? 0]));
    this.sample();
    this.timer = setInterval(() => this.sample(), 1000);
  }

  private sample(): void {
    const procs = allProcs();
    for (const [name, leader] of this.leaders) {
      const members = procs.filter((p) => p.pgrp === leader);
      const main = members.find((p) => p.pid === this.mains.get(name));
      const peak = this.peaks.get(name) ?? { main: 0, group: 0, procs: 0 };
      peak.main = Math.max(peak.main, main?.rssMiB ?? 0);
      peak.group = Math.max(peak.group, members.reduce((s, p) => s + p.rssMiB, 0));
      peak.procs = Math.max(peak.procs, members.length);
      this.peaks.set(name, peak);
    }
  }

  stop(): PhaseFigures {
    clearInterval(this.timer);
    this.sample();
    const procs = allProcs();
    const ticks = machineTicks();
    const components = [...this.leaders].map(([name, leader]): ComponentFigures => {
      const mainPid = this.mains.get(name) ?? leader;
      const main = procs.find((p) => p.pid === mainPid);
      const peak = this.peaks.get(name)!;
      const startCpu = this.first.get(mainPid) ?? 0;
      // Group CPU: what every live member used since start (one started meanwhile from 0),
      // plus the children the leader reaped meanwhile (its cutime+cstime growth).
      const members = procs.filter((p) => p.pgrp === leader);
      const reaped = (procs.find((p) => p.pid === leader)?.childCpu ?? 0) - (this.firstChildCpu.get(name) ?? 0);
      const groupCpuS = members.reduce((s, p) => s + p.cpu - (this.first.get(p.pid) ?? 0), 0) + Math.max(0, reaped);
      return {
        name, mainPid,
        mainCpuS: main ? main.cpu - startCpu : 0,
        mainPeakRssMiB: peak.main,
        mainVmHwmMiB: vmHwmMiB(mainPid),
        groupCpuS,
        groupPeakRssMiB: peak.group,
        groupPeakProcs: peak.procs,
      };
    });
    return {
      seconds: (Date.now() - this.startedAt) / 1000,
      machineBusy: (ticks.busy - this.ticks.busy) / Math.max(1, ticks.total - this.ticks.total),
      loadavgBefore: this.loadavg,
      loadavgAfter: fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '),
      components,
    };
  }
}
