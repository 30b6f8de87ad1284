import { Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { Canary } from './canary';
import { LoadTester } from './load-tester';
import { restrictedDeployment, toContainerResources } from './pod-security';
import { checkDnsLabel, checkImageReference, checkNumber, invalid } from './validate';
import { WorkloadResources, WorkloadSecurityContext } from './workload-settings';

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
   * The container's security context.
   * @default - uid and gid 10001, read-only root filesystem, Pod Security `restricted`
   */
  readonly securityContext?: WorkloadSecurityContext;

  /**
   * CPU, memory and local disk; each field defaults on its own.
   * @default - requests 10 millicores, 16 MiB and 16 MiB of ephemeral storage,
   * limits 200 millicores, 64 MiB and 256 MiB of ephemeral storage
   */
  readonly resources?: WorkloadResources;
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
    const image = props.image ?? LoadTester.DEFAULT_IMAGE;
    checkDnsLabel(where, 'name', this.name);
    checkNumber(where, 'qps', this.qps, 0.1, 10_000);
    if (!/^\/[^\s'"]*$/.test(path)) throw invalid(where, 'path', path, 'must start with \'/\' and contain no spaces or quotes');
    checkImageReference(where, 'image', image);
    const canary = props.canary;
    this.targetUrl = `http://${canary.serviceName}.${canary.namespace}:${canary.port}${path}`;

    this.resource = restrictedDeployment(this, 'Resource', {
      where,
      name: this.name,
      securityContext: props.securityContext,
      meshInject: true,
      container: {
        name: 'hey',
        image,
        command: ['sh', '-c'],
        args: [`while true; do hey -z 1h -q ${this.qps} -c 1 ${this.targetUrl} > /dev/null; done`],
        resources: toContainerResources(where, props.resources, {
          cpuRequestMillis: 10, cpuLimitMillis: 200, memoryRequest: Size.mebibytes(16), memoryLimit: Size.mebibytes(64),
          ephemeralStorageRequest: Size.mebibytes(16), ephemeralStorageLimit: Size.mebibytes(256),
        }),
      },
    });
  }
}
