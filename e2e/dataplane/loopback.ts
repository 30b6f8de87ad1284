/**
 * Loopback addresses standing in for pod and Service IPs. Linux routes all of
 * 127.0.0.0/8 to `lo`, so every emulated pod can listen on its own address and
 * the Service's port, as in a cluster, while traffic never leaves the machine.
 */
export class LoopbackPool {
  private readonly inUse = new Set<string>();
  private cursor = 1;

  /** @param prefix first three octets, e.g. `127.0.10` */
  constructor(private readonly prefix: string) {
    if (!/^127\.\d{1,3}\.\d{1,3}$/.test(prefix)) {
      throw new Error(`loopback prefix (${prefix}) must look like 127.x.y`);
    }
  }

  /** Cycles through .2-.254 so a just-released address is the last to be reused. */
  allocate(): string {
    for (let tries = 0; tries < 253; tries++) {
      this.cursor = this.cursor >= 254 ? 2 : this.cursor + 1;
      const addr = `${this.prefix}.${this.cursor}`;
      if (!this.inUse.has(addr)) {
        this.inUse.add(addr);
        return addr;
      }
    }
    throw new Error(`loopback pool ${this.prefix}.0/24 is exhausted`);
  }

  /** Marks an address taken elsewhere (e.g. published by an earlier run). */
  reserve(addr: string): void {
    if (addr.startsWith(`${this.prefix}.`)) this.inUse.add(addr);
  }

  release(addr: string): void {
    this.inUse.delete(addr);
  }
}
