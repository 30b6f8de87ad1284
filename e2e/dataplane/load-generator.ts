/**
 * The demo's meshed load generator (10 QPS, concurrency 1, to the apex Service),
 * emulated as a request loop whose requests go through the data plane's router:
 * being "in the mesh" means the client-side split applies to it.
 */
import * as http from 'node:http';

export interface LoadGeneratorOptions {
  readonly host: string;
  readonly port: number;
  readonly path?: string;
  /** Source address of its connections (see DataPlane.clientAddress). @default - the system's choice */
  readonly localAddress?: string;
  /** Requests per second. @default 10 */
  readonly qps?: number;
  /** Called with each response status (0 for a connection error). */
  readonly onResponse?: (status: number) => void;
}

export class LoadGenerator {
  private timer?: NodeJS.Timeout;
  private inFlight = false;
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

  constructor(private readonly options: LoadGeneratorOptions) {}

  start(): void {
    const qps = this.options.qps ?? 10;
    if (!(qps > 0 && qps <= 1000)) throw new Error(`qps (${qps}) must be in (0, 1000]`);
    this.timer = setInterval(() => this.tick(), 1000 / qps);
  }

  stop(): void {
    clearInterval(this.timer);
    this.agent.destroy();
  }

  /** Concurrency 1: a tick that finds the previous request still open is skipped. */
  private tick(): void {
    if (this.inFlight) return;
    this.inFlight = true;
    const done = (status: number) => {
      this.inFlight = false;
      this.options.onResponse?.(status);
    };
    const req = http.get({
      host: this.options.host, port: this.options.port, path: this.options.path ?? '/', agent: this.agent, timeout: 5000,
      localAddress: this.options.localAddress,
    }, (res) => {
      res.resume();
      res.on('end', () => done(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => done(0));
  }
}
