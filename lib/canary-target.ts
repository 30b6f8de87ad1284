import { Duration, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { DEFAULT_RUN_AS_USER, restrictedDeployment } from './pod-security';
import { checkDnsLabel, checkImageRepository, checkImageTag, checkInt, checkPort, checkPortName, checkRunAsUser, invalid } from './validate';

/** Props for `TestApiWorkload`. */
export interface TestApiWorkloadProps {
  /**
   * Name of the Deployment, also the `app` label that selects its pods and the
   * name Flagger gives the Services it creates (`<name>`, `<name>-primary`,
   * `<name>-canary`).
   * @default 'api'
   */
  readonly name?: string;

  /**
   * Image repository, without tag: the tag is `version`. Point it at your own
   * build of `testapi/` to get health endpoints and selectable failure modes.
   * @default 'cyrilbkr/testapp'
   */
  readonly image?: string;

  /**
   * Release to run: the image tag. Changing it changes only the pod template's
   * image, which is what starts a Flagger analysis.
   * @default '1.0'
   */
  readonly version?: string;

  /**
   * Container port the API listens on.
   * @default 3000
   */
  readonly port?: number;

  /**
   * Name of the container port (Flagger and Linkerd refer to it).
   * @default 'http'
   */
  readonly portName?: string;

  /**
   * Number of pods. Flagger copies it to `<name>-primary`.
   * @default 1
   */
  readonly replicas?: number;

  /**
   * HTTP path for the liveness probe. Only for images that serve one (the
   * testapi image serves `/healthz`); a probe on `/` would fail a release that
   * answers 404 there, and the kubelet, not the analysis, would roll it back.
   * @default - a TCP probe on the container port
   */
  readonly livenessPath?: string;

  /**
   * HTTP path for the readiness probe (testapi: `/readyz`).
   * @default - a TCP probe on the container port
   */
  readonly readinessPath?: string;

  /**
   * CPU and memory requests and limits.
   * @default - requests 50m CPU / 64Mi memory, limits 250m CPU / 128Mi memory
   */
  readonly resources?: kplus.ContainerResources;

  /**
   * UID and GID the container runs as. The demo's public images run as root;
   * their files are world-readable, so they also run under this uid, which
   * lets the pod pass Pod Security `restricted`.
   * @default 10001
   */
  readonly runAsUser?: number;

  /**
   * The whole container security context, replacing the restricted default
   * (for example for an image that must run as root).
   * @default - non-root as `runAsUser`, no privilege escalation, all
   * capabilities dropped, RuntimeDefault seccomp, read-only root filesystem
   */
  readonly securityContext?: kplus.ContainerSecurityContextProps;

  /**
   * Extra environment variables. Keep release-specific values out of them:
   * the version switch should change the image only.
   * @default - none
   */
  readonly env?: { readonly [name: string]: string };
}

/**
 * The demo's HTTP API as Flagger's canary target: a Deployment whose selector
 * and pod labels are `app: <name>` (Flagger requires `app`, `name` or
 * `app.kubernetes.io/name`). It creates no Service: Flagger owns `<name>`,
 * `<name>-primary` and `<name>-canary`.
 */
export class TestApiWorkload extends Construct {
  /** Name of the Deployment (Flagger's target). */
  public readonly name: string;
  /** Container port the API listens on. */
  public readonly port: number;
  /** Name of the container port. */
  public readonly portName: string;
  /** The full image reference, `<image>:<version>`. */
  public readonly image: string;
  /** The underlying cdk8s-plus Deployment. */
  public readonly resource: kplus.Deployment;

  public constructor(scope: Construct, id: string, props: TestApiWorkloadProps = {}) {
    super(scope, id);
    const where = `TestApiWorkload '${id}'`;
    this.name = props.name ?? 'api';
    this.port = props.port ?? 3000;
    this.portName = props.portName ?? 'http';
    const repository = props.image ?? 'cyrilbkr/testapp';
    const version = props.version ?? '1.0';
    const replicas = props.replicas ?? 1;
    const uid = props.runAsUser ?? DEFAULT_RUN_AS_USER;

    checkDnsLabel(where, 'name', this.name);
    checkImageRepository(where, 'image', repository);
    checkImageTag(where, 'version', version);
    checkPort(where, 'port', this.port);
    checkPortName(where, 'portName', this.portName);
    checkInt(where, 'replicas', replicas, 0, 1000);
    checkRunAsUser(where, uid);
    for (const [prop, path] of [['livenessPath', props.livenessPath], ['readinessPath', props.readinessPath]]) {
      if (path !== undefined && !/^\/[^\s?#]*$/.test(path)) {
        throw invalid(where, prop!, path, 'must be an absolute URL path starting with \'/\', without spaces, query or fragment');
      }
    }
    this.image = `${repository}:${version}`;

    const probe = (path: string | undefined, failureThreshold: number) => path
      ? kplus.Probe.fromHttpGet(path, { port: this.port, failureThreshold, periodSeconds: Duration.seconds(10) })
      : kplus.Probe.fromTcpSocket({ port: this.port, failureThreshold, periodSeconds: Duration.seconds(10) });

    this.resource = restrictedDeployment(this, 'Resource', {
      name: this.name,
      uid,
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
        resources: props.resources ?? {
          cpu: { request: kplus.Cpu.millis(50), limit: kplus.Cpu.millis(250) },
          memory: { request: Size.mebibytes(64), limit: Size.mebibytes(128) },
        },
        securityContext: props.securityContext,
      },
    });
  }
}
