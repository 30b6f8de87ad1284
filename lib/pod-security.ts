import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';

/** Pod Security Standards levels (`pod-security.kubernetes.io/<mode>: <level>`). */
export enum PodSecurityLevel {
  /** Unrestricted. */
  PRIVILEGED = 'privileged',
  /** Prevents known privilege escalations. */
  BASELINE = 'baseline',
  /** Current pod hardening best practice: what the constructs' pods are built to pass. */
  RESTRICTED = 'restricted',
}

/**
 * UID/GID the constructs run containers as unless told otherwise: above 10000,
 * so a container escape does not land on a host user.
 */
export const DEFAULT_RUN_AS_USER = 10001;

/**
 * A container security context that passes Pod Security `restricted`:
 * non-root with an explicit uid (images that declare a non-numeric or root
 * user cannot be verified by the kubelet otherwise), no privilege escalation,
 * all capabilities dropped, RuntimeDefault seccomp, read-only root filesystem.
 */
export function restrictedSecurityContext(user = DEFAULT_RUN_AS_USER, group = user): kplus.ContainerSecurityContextProps {
  return {
    ensureNonRoot: true,
    user,
    group,
    privileged: false,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: [kplus.Capability.ALL] },
    seccompProfile: { type: kplus.SeccompProfileType.RUNTIME_DEFAULT },
  };
}

/** What `restrictedDeployment` needs. */
export interface RestrictedDeploymentOptions {
  /** Name of the Deployment and value of its `app` label. */
  readonly name: string;
  /** UID and GID of the pod. */
  readonly uid: number;
  /** The one container; its security context defaults to `restrictedSecurityContext(uid)`. */
  readonly container: kplus.ContainerProps;
  /**
   * Number of pods.
   * @default 1
   */
  readonly replicas?: number;
  /**
   * Annotate the pods for Linkerd injection whatever the namespace says.
   * @default false
   */
  readonly meshInject?: boolean;
}

/**
 * A cdk8s-plus Deployment selected by `app: <name>` (Flagger's selector labels
 * need `app`; cdk8s-plus would select on its own address label) whose pods
 * pass Pod Security `restricted`.
 */
export function restrictedDeployment(scope: Construct, id: string, options: RestrictedDeploymentOptions): kplus.Deployment {
  const labels = { app: options.name };
  const deployment = new kplus.Deployment(scope, id, {
    metadata: { name: options.name, labels },
    replicas: options.replicas ?? 1,
    select: false,
    podMetadata: { labels, annotations: options.meshInject ? { 'linkerd.io/inject': 'enabled' } : {} },
    automountServiceAccountToken: false,
    securityContext: { ensureNonRoot: true, user: options.uid, group: options.uid },
    containers: [{
      imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
      ...options.container,
      securityContext: options.container.securityContext ?? restrictedSecurityContext(options.uid),
    }],
  });
  deployment.select(kplus.LabelSelector.of({ labels }));
  return deployment;
}
