import { Chart, Duration, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { Canary, CanaryWebhook, WebhookType } from './canary';
import { DEFAULT_RUN_AS_USER, restrictedDeployment } from './pod-security';
import { checkDnsLabel, checkImageReference, checkInt, checkNumber, checkPort, checkRunAsUser, goDuration, invalid } from './validate';

/** flagger-loadtester release shipped with Flagger v1.44.0 (it also ships `hey` and a shell). */
export const LOADTESTER_IMAGE = 'ghcr.io/fluxcd/flagger-loadtester:0.38.0';

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
   * UID and GID the load tester runs as. The image declares a non-numeric
   * user, which the kubelet cannot check against runAsNonRoot.
   * @default 10001
   */
  readonly runAsUser?: number;
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
   * Path requested on the canary Service.
   * @default '/'
   */
  readonly path?: string;
}

/**
 * Flagger's load tester (Deployment and Service) inside the mesh. It runs the
 * commands that Canary webhooks send it, such as `hey` against
 * `<name>-canary`, so the canary pods get traffic to measure. The pods are
 * annotated for Linkerd injection: traffic from outside the mesh bypasses
 * the split and is not measured by the proxies.
 */
export class LoadTester extends Construct {
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
    const uid = props.runAsUser ?? DEFAULT_RUN_AS_USER;
    const image = props.image ?? LOADTESTER_IMAGE;
    checkDnsLabel(where, 'name', this.name);
    checkPort(where, 'port', this.port);
    checkPort(where, 'containerPort', containerPort);
    checkRunAsUser(where, uid);
    checkImageReference(where, 'image', image);
    this.namespace = Chart.of(this).namespace;

    this.resource = restrictedDeployment(this, 'Resource', {
      name: this.name,
      uid,
      meshInject: true,
      container: {
        name: 'loadtester',
        image,
        command: ['./loadtester'],
        args: [`-port=${containerPort}`, '-log-level=info', '-timeout=1h'],
        ports: [{ number: containerPort, name: 'http' }],
        liveness: kplus.Probe.fromHttpGet('/healthz', { port: containerPort, periodSeconds: Duration.seconds(10) }),
        readiness: kplus.Probe.fromHttpGet('/healthz', { port: containerPort, periodSeconds: Duration.seconds(10) }),
        startup: kplus.Probe.fromTcpSocket({ port: containerPort }),
        resources: {
          cpu: { request: kplus.Cpu.millis(10), limit: kplus.Cpu.millis(1000) },
          memory: { request: Size.mebibytes(32), limit: Size.mebibytes(512) },
        },
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
    if (!/^\/[^\s]*$/.test(path)) throw invalid(where, 'loadTest.path', path, 'must start with \'/\' and contain no spaces');
    const duration = goDuration(where, 'loadTest.duration', options.duration ?? Duration.minutes(1));
    const target = `http://${canary.serviceName}-canary.${canary.namespace}:${canary.port}${path}`;
    return {
      name: options.name ?? 'load-test',
      type: WebhookType.ROLLOUT,
      url: this.url(canary.namespace),
      timeout: Duration.seconds(5),
      metadata: { type: 'cmd', cmd: `hey -z ${duration} -q ${Number((qps / concurrency).toFixed(3))} -c ${concurrency} ${target}` },
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
}
