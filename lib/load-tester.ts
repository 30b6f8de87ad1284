import { Chart, Duration, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { Canary, CanaryWebhook, WebhookType } from './canary';
import { StrategyKind } from './canary-strategy';
import { restrictedDeployment, toContainerResources } from './pod-security';
import { exactRequestHeaders } from './render-match';
import { checkDnsLabel, checkHeaderName, checkHeaderValue, checkImageReference, checkInt, checkNumber, checkPort, claimUnique, goDuration, invalid } from './validate';
import { WorkloadResources, WorkloadSecurityContext } from './workload-settings';

/** One shell word: the load tester runs `cmd` with `sh -c` (flagger v1.44.0 pkg/loadtester/task_shell.go). */
function shellQuote(text: string): string {
  return `'${text.replace(/'/g, '\'\\\'\'')}'`;
}

/** Props for `LoadTester`. */
export interface LoadTesterProps {
  /**
   * Name of the Deployment and Service.
   * @default 'flagger-loadtester'
   */
  readonly name?: string;

  /**
   * Load tester image (ships `hey`).
   * @default 'ghcr.io/fluxcd/flagger-loadtester:0.38.0'
   */
  readonly image?: string;

  /**
   * Service port.
   * @default 80
   */
  readonly port?: number;

  /**
   * Container port (the binary's `-port`; its own default is 9090).
   * @default 8080
   */
  readonly containerPort?: number;

  /**
   * The container's security context. The image declares a non-numeric user,
   * which the kubelet cannot check against runAsNonRoot: a uid is always set.
   * @default - uid and gid 10001, read-only root filesystem (with a writable
   * `/tmp`), Pod Security `restricted`
   */
  readonly securityContext?: WorkloadSecurityContext;

  /**
   * CPU, memory and local disk (`/tmp` included); each field defaults on its own.
   * @default - requests 10 millicores, 32 MiB and 64 MiB of ephemeral storage,
   * limits 1000 millicores, 512 MiB and 1 GiB of ephemeral storage
   */
  readonly resources?: WorkloadResources;
}

/** Options of a rollout load test. */
export interface LoadTestOptions {
  /**
   * Requests per second in total, shared by the workers (hey's own `-q` is
   * per worker, so the command carries `qps / concurrency`).
   * @default 10
   */
  readonly qps?: number;

  /**
   * Concurrent workers (`hey -c`).
   * @default 2
   */
  readonly concurrency?: number;

  /**
   * Duration of one run (`hey -z`). Runs are restarted at each analysis step
   * once the previous one has finished.
   * @default Duration.minutes(1)
   */
  readonly duration?: Duration;

  /**
   * Name of the webhook.
   * @default 'load-test'
   */
  readonly name?: string;

  /**
   * Path requested.
   * @default '/'
   */
  readonly path?: string;

  /**
   * Headers sent with every request (`hey -H`).
   * @default - none; for an A/B test whose first match is all exact
   * conditions on headers and cookies, the headers that satisfy it
   */
  readonly headers?: { readonly [name: string]: string };

  /**
   * Send the load through the apex Service, where the route decides who
   * answers, instead of straight to `<name>-canary`. An A/B test needs it:
   * its canary only gets requests that the route matches.
   * @default - true for an A/B test, false otherwise
   */
  readonly throughApex?: boolean;

  /**
   * Also start the same `hey` one analysis interval early, from a pre-rollout
   * webhook named `<name>-warm-up` (only `addLoadTest` adds it). A blue/green
   * or A/B canary gets no other traffic before its first check, and Flagger
   * calls rollout webhooks right before that check's query: without a warm-up
   * the first check finds no values and counts as failed. The load tester runs
   * one copy of a command per canary, so the rollout webhook's identical
   * command is skipped while the warm-up still runs. Keep `duration` at least
   * the analysis interval, or the checks' windows see gaps in the load.
   * @default - true for blue/green and A/B testing, false for a weighted canary
   */
  readonly warmUp?: boolean;
}

/** Options of an acceptance test. */
export interface AcceptanceTestOptions {
  /**
   * Path requested on the canary Service.
   * @default '/'
   */
  readonly path?: string;
  /**
   * Name of the webhook.
   * @default 'acceptance-test'
   */
  readonly name?: string;
}

/** Options of `LoadTester.addGates`. */
export interface GateOptions {
  /**
   * Add the promotion gate (confirm-promotion on `/gate/check`).
   * @default true
   */
  readonly promotion?: boolean;

  /**
   * Add the rollback gate (rollback on `/rollback/check`).
   * @default true
   */
  readonly rollback?: boolean;
}

/**
 * Flagger's load tester (Deployment and Service) inside the mesh. It runs the
 * commands that Canary webhooks send it, such as `hey` against
 * `<name>-canary`, so the canary pods get traffic to measure. The pods are
 * annotated for Linkerd injection: traffic from outside the mesh bypasses
 * the split and is not measured by the proxies.
 */
export class LoadTester extends Construct {
  /** flagger-loadtester release shipped with Flagger v1.44.0 (it also ships `hey` and a shell). */
  public static readonly DEFAULT_IMAGE = 'ghcr.io/fluxcd/flagger-loadtester:0.38.0';

  /** Name of the Deployment and Service. */
  public readonly name: string;
  /** Namespace, when known from the chart. */
  public readonly namespace?: string;
  /** Service port. */
  public readonly port: number;
  /** The load tester Deployment. */
  public readonly resource: kplus.Deployment;
  /** The load tester Service. */
  public readonly service: kplus.Service;

  public constructor(scope: Construct, id: string, props: LoadTesterProps = {}) {
    super(scope, id);
    const where = `LoadTester '${id}'`;
    this.name = props.name ?? 'flagger-loadtester';
    this.port = props.port ?? 80;
    const containerPort = props.containerPort ?? 8080;
    const image = props.image ?? LoadTester.DEFAULT_IMAGE;
    checkDnsLabel(where, 'name', this.name);
    checkPort(where, 'port', this.port);
    checkPort(where, 'containerPort', containerPort);
    checkImageReference(where, 'image', image);
    this.namespace = Chart.of(this).namespace;
    // Without a namespace the objects land wherever they are applied: no collision can be told.
    if (this.namespace !== undefined) {
      claimUnique(this, where, 'name', this.name, `LoadTester ${this.namespace}/${this.name}`,
        `is already the name of a load tester in namespace '${this.namespace}': its Deployment and Service can exist once`);
    }

    this.resource = restrictedDeployment(this, 'Resource', {
      where,
      name: this.name,
      securityContext: props.securityContext,
      meshInject: true,
      container: {
        name: 'loadtester',
        image,
        command: ['./loadtester'],
        args: [`-port=${containerPort}`, '-log-level=info', '-timeout=1h'],
        ports: [{ number: containerPort, name: 'http' }],
        // Liveness is the listening socket, readiness the HTTP health check: the same probe for both
        // would restart a load tester that is only slow to answer while it runs load tests.
        liveness: kplus.Probe.fromTcpSocket({ port: containerPort, periodSeconds: Duration.seconds(10) }),
        readiness: kplus.Probe.fromHttpGet('/healthz', { port: containerPort, periodSeconds: Duration.seconds(10) }),
        startup: kplus.Probe.fromTcpSocket({ port: containerPort }),
        resources: toContainerResources(where, props.resources, {
          cpuRequestMillis: 10, cpuLimitMillis: 1000, memoryRequest: Size.mebibytes(32), memoryLimit: Size.mebibytes(512),
          ephemeralStorageRequest: Size.mebibytes(64), ephemeralStorageLimit: Size.gibibytes(1),
        }),
        // hey and the shell write temporary files; the root filesystem stays read-only.
        volumeMounts: [{ path: '/tmp', volume: kplus.Volume.fromEmptyDir(this, 'Tmp', 'tmp') }],
      },
    });

    this.service = new kplus.Service(this, 'Service', {
      metadata: { name: this.name, labels: { app: this.name } },
      ports: [{ name: 'http', port: this.port, targetPort: containerPort }],
    });
    this.service.selectLabel('app', this.name);
  }

  /** Base URL of the load tester, for webhooks. */
  public url(namespace?: string): string {
    const ns = namespace ?? this.namespace;
    const host = ns ? `${this.name}.${ns}` : this.name;
    return this.port === 80 ? `http://${host}/` : `http://${host}:${this.port}/`;
  }

  /**
   * A rollout webhook that has the load tester run `hey` against the
   * canary-only Service at every analysis step.
   */
  public loadTest(canary: Canary, options: LoadTestOptions = {}): CanaryWebhook {
    const where = `LoadTester '${this.node.id}'`;
    const qps = options.qps ?? 10;
    const concurrency = options.concurrency ?? 2;
    const path = options.path ?? '/';
    checkNumber(where, 'loadTest.qps', qps, 0.1, 10_000);
    checkInt(where, 'loadTest.concurrency', concurrency, 1, 1000);
    if (qps < concurrency) {
      throw invalid(where, 'loadTest.qps', qps,
        `must be at least concurrency (${concurrency}): hey's -q is a per-worker rate, which would fall below one request per second`);
    }
    if (!/^\/[^\s]*$/.test(path)) throw invalid(where, 'loadTest.path', path, 'must start with \'/\' and contain no spaces');
    const duration = goDuration(where, 'loadTest.duration', options.duration ?? Duration.minutes(1));
    const abMatch = canary.strategy.abTestingOptions?.match;
    const throughApex = options.throughApex ?? abMatch !== undefined;
    let headers = options.headers;
    if (headers === undefined && abMatch !== undefined && throughApex) {
      headers = exactRequestHeaders(abMatch[0]);
      if (headers === undefined) {
        throw invalid(where, 'loadTest.headers', headers,
          `must be given for Canary '${canary.name}': its first A/B match has a prefix, regex or query condition, so the headers that reach the canary cannot be derived`);
      }
    }
    const headerArgs = Object.entries(headers ?? {}).map(([name, value]) => {
      checkHeaderName(where, 'loadTest.headers', name);
      checkHeaderValue(where, `loadTest.headers.${name}`, value);
      return ` -H ${shellQuote(`${name}: ${value}`)}`;
    }).join('');
    const base = throughApex ? canary.apexUrl : canary.canaryUrl;
    const target = `${base.replace(/\/$/, '')}${path}`;
    return {
      name: options.name ?? 'load-test',
      type: WebhookType.ROLLOUT,
      url: this.url(canary.namespace),
      timeout: Duration.seconds(5),
      metadata: {
        type: 'cmd',
        cmd: `hey -z ${duration} -q ${Number((qps / concurrency).toFixed(3))} -c ${concurrency}${headerArgs} ${target}`,
      },
    };
  }

  /**
   * A confirm-promotion gate on the load tester: the canary waits in
   * WaitingPromotion until the gate is opened (POST `/gate/open` on the load
   * tester with the canary's name and namespace).
   */
  public promotionGate(canary: Canary, name = 'promotion-gate'): CanaryWebhook {
    return { name, type: WebhookType.CONFIRM_PROMOTION, url: `${this.url(canary.namespace)}gate/check` };
  }

  /**
   * Adds `loadTest(canary, options)` to the canary's webhooks and returns it.
   * The one-call form for every jsii language: Python, Java and .NET take a
   * struct as the last argument of `addWebhook` as keyword arguments, so a
   * struct returned by `loadTest` cannot be handed on as one value there.
   */
  public addLoadTest(canary: Canary, options: LoadTestOptions = {}): CanaryWebhook {
    const webhook = this.loadTest(canary, options);
    canary.addWebhook(webhook);
    if (options.warmUp ?? canary.strategy.kind !== StrategyKind.CANARY) {
      canary.addWebhook({ ...webhook, name: `${webhook.name}-warm-up`, type: WebhookType.PRE_ROLLOUT });
    }
    return webhook;
  }

  /**
   * A pre-rollout acceptance test, as in Flagger's tutorials: before any
   * traffic moves, the load tester requests `path` on `<name>-canary` and the
   * webhook fails on a connection error or an HTTP status of 400 or above
   * (`curl --fail`), which counts as a failed check.
   */
  public acceptanceTest(canary: Canary, options: AcceptanceTestOptions = {}): CanaryWebhook {
    const where = `LoadTester '${this.node.id}'`;
    const path = options.path ?? '/';
    if (!/^\/[^\s']*$/.test(path)) throw invalid(where, 'acceptanceTest.path', path, 'must start with \'/\' and contain no spaces or quotes');
    const target = `${canary.canaryUrl.replace(/\/$/, '')}${path}`;
    return {
      name: options.name ?? 'acceptance-test',
      type: WebhookType.PRE_ROLLOUT,
      url: this.url(canary.namespace),
      timeout: Duration.seconds(30),
      metadata: { type: 'bash', cmd: `curl --silent --show-error --fail --max-time 10 ${shellQuote(target)}` },
    };
  }

  /** Adds `acceptanceTest(canary, options)` to the canary's webhooks and returns it. */
  public addAcceptanceTest(canary: Canary, options: AcceptanceTestOptions = {}): CanaryWebhook {
    const webhook = this.acceptanceTest(canary, options);
    canary.addWebhook(webhook);
    return webhook;
  }

  /**
   * A rollback gate on the load tester: while the canary is in analysis, Flagger
   * rolls it back as soon as the gate is opened (POST `/rollback/open`, which
   * `canary-watch abort` sends through the API server's service proxy).
   */
  public rollbackGate(canary: Canary, name = 'rollback-gate'): CanaryWebhook {
    return { name, type: WebhookType.ROLLBACK, url: `${this.url(canary.namespace)}rollback/check` };
  }

  /**
   * The gates `canary-watch promote` and `abort` open, in one call: a
   * confirm-promotion webhook on `/gate/check` (the canary waits in
   * WaitingPromotion until promoted), a rollback webhook on `/rollback/check`, and
   * post-rollout webhooks on `/gate/close` and `/rollback/close`, so that a gate
   * opened for one rollout is closed again before the next (the load tester keeps
   * gates in memory by canary name and namespace; v1.44.0 pkg/loadtester/server.go).
   * Returns the webhooks added.
   */
  public addGates(canary: Canary, options: GateOptions = {}): CanaryWebhook[] {
    const promotion = options.promotion ?? true;
    const rollback = options.rollback ?? true;
    if (!promotion && !rollback) {
      throw invalid(`LoadTester '${this.node.id}'`, 'addGates', options, 'must keep promotion or rollback: both are false');
    }
    const base = this.url(canary.namespace);
    const webhooks: CanaryWebhook[] = [
      ...(promotion ? [this.promotionGate(canary),
        { name: 'close-promotion-gate', type: WebhookType.POST_ROLLOUT, url: `${base}gate/close` }] : []),
      ...(rollback ? [this.rollbackGate(canary),
        { name: 'close-rollback-gate', type: WebhookType.POST_ROLLOUT, url: `${base}rollback/close` }] : []),
    ];
    webhooks.forEach((w) => canary.addWebhook(w));
    return webhooks;
  }

  /** Adds `rollbackGate(canary, name)` to the canary's webhooks and returns it. */
  public addRollbackGate(canary: Canary, name = 'rollback-gate'): CanaryWebhook {
    const webhook = this.rollbackGate(canary, name);
    canary.addWebhook(webhook);
    return webhook;
  }

  /** The Service name the API server's proxy knows the load tester by: `http:<name>:<port>`. */
  public get proxyName(): string {
    return `http:${this.name}:${this.port}`;
  }

  /** Adds `promotionGate(canary, name)` to the canary's webhooks and returns it. */
  public addPromotionGate(canary: Canary, name = 'promotion-gate'): CanaryWebhook {
    const webhook = this.promotionGate(canary, name);
    canary.addWebhook(webhook);
    return webhook;
  }
}
