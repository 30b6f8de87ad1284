import { Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { Canary } from './canary';
import { DEFAULT_RUN_AS_USER, restrictedDeployment } from './pod-security';
import { LOADTESTER_IMAGE } from './load-tester';
import { checkDnsLabel, checkImageReference, checkNumber, checkRunAsUser, invalid } from './validate';

/** Props for `LoadGenerator`. */
export interface LoadGeneratorProps {
  /** The Canary whose apex Service (`<name>`, which Flagger splits) receives the load. */
  readonly canary: Canary;

  /**
   * Name of the Deployment.
   * @default - `<canary name>-load-generator`
   */
  readonly name?: string;

  /**
   * Requests per second, in total, sent by one worker (`hey -c 1 -q <qps>`).
   * @default 10
   */
  readonly qps?: number;

  /**
   * Path requested on the apex Service.
   * @default '/'
   */
  readonly path?: string;

  /**
   * Image that ships `hey` and a POSIX shell.
   * @default 'ghcr.io/fluxcd/flagger-loadtester:0.38.0'
   */
  readonly image?: string;

  /**
   * UID and GID the generator runs as.
   * @default 10001
   */
  readonly runAsUser?: number;
}

/**
 * Constant traffic to the apex Service, from inside the mesh, so the success
 * rate is always measured (as the demo's load generator does). The split
 * happens in the client's Linkerd proxy: the pods are annotated for
 * injection, since traffic from outside the mesh would bypass the split.
 * `hey` runs in one-hour rounds so its in-memory results stay small.
 */
export class LoadGenerator extends Construct {
  /** Name of the Deployment. */
  public readonly name: string;
  /** URL the generator requests. */
  public readonly targetUrl: string;
  /** Requests per second. */
  public readonly qps: number;
  /** The generator Deployment. */
  public readonly resource: kplus.Deployment;

  public constructor(scope: Construct, id: string, props: LoadGeneratorProps) {
    super(scope, id);
    const where = `LoadGenerator '${id}'`;
    this.name = props.name ?? `${props.canary.name}-load-generator`;
    this.qps = props.qps ?? 10;
    const path = props.path ?? '/';
    const uid = props.runAsUser ?? DEFAULT_RUN_AS_USER;
    const image = props.image ?? LOADTESTER_IMAGE;
    checkDnsLabel(where, 'name', this.name);
    checkNumber(where, 'qps', this.qps, 0.1, 10_000);
    checkRunAsUser(where, uid);
    if (!/^\/[^\s'"]*$/.test(path)) throw invalid(where, 'path', path, 'must start with \'/\' and contain no spaces or quotes');
    checkImageReference(where, 'image', image);
    const canary = props.canary;
    this.targetUrl = `http://${canary.serviceName}.${canary.namespace}:${canary.port}${path}`;

    this.resource = restrictedDeployment(this, 'Resource', {
      name: this.name,
      uid,
      meshInject: true,
      container: {
        name: 'hey',
        image,
        command: ['sh', '-c'],
        args: [`while true; do hey -z 1h -q ${this.qps} -c 1 ${this.targetUrl} > /dev/null; done`],
        resources: {
          cpu: { request: kplus.Cpu.millis(10), limit: kplus.Cpu.millis(200) },
          memory: { request: Size.mebibytes(16), limit: Size.mebibytes(64) },
        },
      },
    });
  }
}
