/**
 * Who sent a request: the emulated inbound proxy names the client WORKLOAD of
 * each connection, so that the requests of each load source can be counted per
 * pod. Linkerd's own `client_id` label is the client's ServiceAccount identity,
 * which the demo's load tester and load generator share (`default`), so it
 * could not tell them apart; the emulator names the workload instead:
 *  - by the connection's source address, for clients the emulator runs itself
 *    (its load generator binds an address of its own, as a pod has its IP);
 *  - else by the process that holds the client end of the connection, as
 *    `ss -p` finds it (/proc/net/tcp, then /proc/<pid>/fd): the workload is the
 *    one whose process, or one of whose parents, listens on the workload's port
 *    (the load tester serves its Service's target port, and runs `hey` and
 *    `curl` as its children). The process name is kept: `flagger-loadtester/hey`,
 *    and so is its pid, which tells one `hey` run from the next.
 * Any other client (the rehearsal's own probes) is `other`.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';

/** A workload identified by the port its process (or a parent) listens on. */
export interface ListeningWorkload {
  readonly name: string;
  readonly host: string;
  readonly port: number;
}

export interface ClientIdentityOptions {
  /** Source address -> workload, for clients whose address is theirs alone. */
  readonly addresses?: ReadonlyMap<string, string>;
  readonly listeners?: readonly ListeningWorkload[];
  /** @default '/proc' */
  readonly procRoot?: string;
}

/** The name of a client that is none of the known workloads. */
export const OTHER_CLIENT = 'other';

/** The client of a connection. */
export interface Client {
  /** `workload`, `workload/process` (a child process of the workload's), or `other`. */
  readonly name: string;
  /** The client process, when it was found through /proc. */
  readonly pid?: number;
}

const OTHER: Client = { name: OTHER_CLIENT };

interface SocketEntry {
  readonly local: string;
  readonly remote: string;
  readonly state: number;
  readonly inode: number;
}

const TCP_LISTEN = 0x0a;

/** `0100007F:1F90` (tcp) or the 32-hex-digit form (tcp6) as `127.0.0.1:8080` / `[::]:8080`. */
export function decodeProcAddress(text: string): string {
  const [hex, portHex] = text.split(':');
  const port = parseInt(portHex, 16);
  if (hex.length === 8) return `${ipv4(hex)}:${port}`;
  const words = hex.match(/.{8}/g) ?? [];
  // Four 32-bit words, each in host (little-endian) byte order.
  const bytes = words.flatMap((w) => (w.match(/../g) ?? []).reverse().map((b) => parseInt(b, 16)));
  if (bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) {
    return `${bytes.slice(12).join('.')}:${port}`;
  }
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] << 8) | bytes[i + 1]).toString(16));
  return `[${groups.join(':').replace(/(^|:)0(:0)+(:|$)/, '::')}]:${port}`;
}

function ipv4(hex: string): string {
  return (hex.match(/../g) ?? []).reverse().map((b) => parseInt(b, 16)).join('.');
}

function readSockets(procRoot: string): SocketEntry[] {
  const out: SocketEntry[] = [];
  for (const file of ['net/tcp', 'net/tcp6']) {
    let text: string;
    try {
      text = fs.readFileSync(path.join(procRoot, file), 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10) continue;
      out.push({ local: decodeProcAddress(f[1]), remote: decodeProcAddress(f[2]), state: parseInt(f[3], 16), inode: Number(f[9]) });
    }
  }
  return out;
}

/** Socket inode -> pid, for the inodes asked for (one pass over every process' fds). */
function socketOwners(procRoot: string, inodes: ReadonlySet<number>): Map<number, number> {
  const owners = new Map<number, number>();
  if (inodes.size === 0) return owners;
  for (const entry of fs.readdirSync(procRoot)) {
    if (!/^\d+$/.test(entry)) continue;
    let fds: string[];
    try {
      fds = fs.readdirSync(path.join(procRoot, entry, 'fd'));
    } catch {
      continue;
    }
    for (const fd of fds) {
      let link: string;
      try {
        link = fs.readlinkSync(path.join(procRoot, entry, 'fd', fd));
      } catch {
        continue;
      }
      const m = /^socket:\[(\d+)\]$/.exec(link);
      if (m && inodes.has(Number(m[1]))) owners.set(Number(m[1]), Number(entry));
    }
    if (owners.size === inodes.size) break;
  }
  return owners;
}

/** The process' command name and its parent, from /proc/<pid>/stat. */
function stat(procRoot: string, pid: number): { comm: string; ppid: number } | undefined {
  try {
    const text = fs.readFileSync(path.join(procRoot, String(pid), 'stat'), 'utf8');
    const open = text.indexOf('(');
    const close = text.lastIndexOf(')');
    const rest = text.slice(close + 2).split(' ');
    return { comm: text.slice(open + 1, close), ppid: Number(rest[1]) };
  } catch {
    return undefined;
  }
}

const unmapped = (address: string | undefined) => (address ?? '').replace(/^::ffff:/, '');

export class ClientIdentity {
  private readonly addresses: ReadonlyMap<string, string>;
  private readonly listeners: readonly ListeningWorkload[];
  private readonly procRoot: string;

  constructor(options: ClientIdentityOptions = {}) {
    this.addresses = options.addresses ?? new Map();
    this.listeners = options.listeners ?? [];
    this.procRoot = options.procRoot ?? '/proc';
  }

  /** The client of a connection accepted by an emulated Service listener. */
  identify(socket: net.Socket): Client {
    const peer = unmapped(socket.remoteAddress);
    const byAddress = this.addresses.get(peer);
    if (byAddress) return { name: byAddress };
    if (this.listeners.length === 0 || socket.remotePort === undefined || socket.localPort === undefined) return OTHER;
    try {
      return this.byProcess(`${peer}:${socket.remotePort}`, `${unmapped(socket.localAddress)}:${socket.localPort}`);
    } catch {
      return OTHER;
    }
  }

  private byProcess(client: string, server: string): Client {
    const sockets = readSockets(this.procRoot);
    const clientEnd = sockets.find((s) => s.local === client && s.remote === server && s.state !== TCP_LISTEN);
    if (!clientEnd) return OTHER;
    const listening = new Map<number, string>();
    for (const s of sockets) {
      if (s.state !== TCP_LISTEN) continue;
      const w = this.listeners.find((l) => listensOn(s.local, l));
      if (w) listening.set(s.inode, w.name);
    }
    const owners = socketOwners(this.procRoot, new Set([clientEnd.inode, ...listening.keys()]));
    const clientPid = owners.get(clientEnd.inode);
    if (clientPid === undefined) return OTHER;
    const workloadByPid = new Map<number, string>();
    for (const [inode, name] of listening) {
      const pid = owners.get(inode);
      if (pid !== undefined) workloadByPid.set(pid, name);
    }
    const comm = stat(this.procRoot, clientPid)?.comm ?? '?';
    for (let pid = clientPid, depth = 0; pid > 1 && depth < 16; depth++) {
      const workload = workloadByPid.get(pid);
      if (workload) return { name: pid === clientPid ? workload : `${workload}/${comm}`, pid: clientPid };
      const parent = stat(this.procRoot, pid);
      if (!parent) break;
      pid = parent.ppid;
    }
    return OTHER;
  }
}

/** Whether a listening socket's local address serves `host:port` (its own address or a wildcard). */
function listensOn(local: string, w: ListeningWorkload): boolean {
  const i = local.lastIndexOf(':');
  const host = local.slice(0, i);
  const port = Number(local.slice(i + 1));
  return port === w.port && (host === w.host || host === '0.0.0.0' || host === '[::]');
}
