import { Duration, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { restrictedDeployment, toContainerResources } from './pod-security';
import { checkDnsLabel, checkImageRepository, checkImageTag, checkInt, checkLabelValue, checkPort, checkPortName, invalid } from './validate';
import { WorkloadResources, WorkloadSecurityContext } from './workload-settings';

/** Props for `CanaryTarget`. */
export interface CanaryTargetProps {
  /**
   * Name of the Deployment, also the `app` label that selects its pods and the
   * name Flagger gives the Services it creates (`<name>`, `<name>-primary`,
   * `<name>-canary`).
   */
  readonly name: string;

  /** Image repository, without tag: the tag is `version`. */
  readonly image: string;

  /**
   * Release to run: the image tag, also the `app.kubernetes.io/version` label.
   * Changing it changes only the pod template's image and that label, which is
   * what starts a Flagger analysis.
   */
  readonly version: string;

  /**
   * Container port the service listens on.
   * @default 8080
   */
  readonly port?: number;

  /**
   * Name of the container port (Flagger and Linkerd refer to it).
   * @default 'http'
   */
  readonly portName?: string;

  /**
   * Number of pods. Flagger copies it to `<name>-primary`. Leave it unset
   * when a `CanaryAutoscaler` scales the target: the Deployment then has no
   * `replicas` field, so that re-applying it does not undo the autoscaler.
   * @default 1 (none with a `CanaryAutoscaler`)
   */
  readonly replicas?: number;

  /**
   * HTTP path for the liveness probe. Only for images that serve one; a probe
   * on a path the release under test may answer 404 on would fail that
   * release, and the kubelet, not the analysis, would roll it back.
   * @default - a TCP probe on the container port
   */
  readonly livenessPath?: string;

  /**
   * HTTP path for the readiness probe.
   * @default - a TCP probe on the container port
   */
  readonly readinessPath?: string;

  /**
   * CPU, memory and local disk requests and limits; each field defaults on its own.
   * @default - requests 50 millicores, 64 MiB and 64 MiB of ephemeral storage,
   * limits 250 millicores, 128 MiB and 1 GiB of ephemeral storage
   */
  readonly resources?: WorkloadResources;

  /**
   * The container's security context.
   * @default - uid and gid 10001, read-only root filesystem, no privilege
   * escalation, all capabilities dropped, RuntimeDefault seccomp (Pod Security `restricted`)
   */
  readonly securityContext?: WorkloadSecurityContext;

  /**
   * Extra environment variables. Keep release-specific values out of them:
   * the version switch should change the image only.
   * @default - none
   */
  readonly env?: { readonly [name: string]: string };
}

/**
 * The Deployment a Flagger Canary targets: selected by `app: <name>` alone
 * (Flagger requires `app`, `name` or `app.kubernetes.io/name` in the
 * selector, and a selector cannot change after creation), with the
 * recommended `app.kubernetes.io/name` and `app.kubernetes.io/version` labels
 * on the Deployment and its pods. It creates no Service: Flagger owns
 * `<name>`, `<name>-primary` and `<name>-canary`.
 */
export class CanaryTarget extends Construct {
  /** Name of the Deployment (Flagger's target). */
  public readonly name: string;
  /** Container port the API listens on. */
  public readonly port: number;
  /** Name of the container port. */
  public readonly portName: string;
  /** The full image reference, `<image>:<version>`. */
  public readonly image: string;
  /** The release: the image tag and the `app.kubernetes.io/version` label. */
  public readonly version: string;
  /** The underlying cdk8s-plus Deployment. */
  public readonly resource: kplus.Deployment;
  /** Replicas given in the props; undefined when defaulted (1), as a `CanaryAutoscaler` requires. */
  public readonly replicas?: number;

  public constructor(scope: Construct, id: string, props: CanaryTargetProps) {
    super(scope, id);
    const where = `CanaryTarget '${id}'`;
    this.name = props.name;
    this.port = props.port ?? 8080;
    this.portName = props.portName ?? 'http';
    const repository = props.image;
    this.version = props.version;
    this.replicas = props.replicas;
    const replicas = props.replicas ?? 1;

    checkDnsLabel(where, 'name', this.name);
    checkImageRepository(where, 'image', repository);
    checkImageTag(where, 'version', this.version);
    checkLabelValue(where, 'version', this.version);
    checkPort(where, 'port', this.port);
    checkPortName(where, 'portName', this.portName);
    checkInt(where, 'replicas', replicas, 0, 1000);
    for (const [prop, path] of [['livenessPath', props.livenessPath], ['readinessPath', props.readinessPath]]) {
      if (path !== undefined && !/^\/[^\s?#]*$/.test(path)) {
        throw invalid(where, prop as string, path, 'must be an absolute URL path starting with \'/\', without spaces, query or fragment');
      }
    }
    this.image = `${repository}:${this.version}`;

    const probe = (path: string | undefined, failureThreshold: number) => path
      ? kplus.Probe.fromHttpGet(path, { port: this.port, failureThreshold, periodSeconds: Duration.seconds(10) })
      : kplus.Probe.fromTcpSocket({ port: this.port, failureThreshold, periodSeconds: Duration.seconds(10) });

    this.resource = restrictedDeployment(this, 'Resource', {
      where,
      name: this.name,
      labels: { 'app.kubernetes.io/name': this.name, 'app.kubernetes.io/version': this.version },
      securityContext: props.securityContext,
      replicas,
      container: {
        name: this.name,
        image: this.image,
        ports: [{ number: this.port, name: this.portName }],
        envVariables: Object.fromEntries(Object.entries(props.env ?? {})
          .map(([k, v]) => [k, kplus.EnvValue.fromValue(v)])),
        liveness: probe(props.livenessPath, 3),
        readiness: probe(props.readinessPath, 2),
        startup: kplus.Probe.fromTcpSocket({ port: this.port, failureThreshold: 30, periodSeconds: Duration.seconds(2) }),
        resources: toContainerResources(where, props.resources, {
          cpuRequestMillis: 50, cpuLimitMillis: 250, memoryRequest: Size.mebibytes(64), memoryLimit: Size.mebibytes(128),
          ephemeralStorageRequest: Size.mebibytes(64), ephemeralStorageLimit: Size.gibibytes(1),
        }),
      },
    });
  }
}
