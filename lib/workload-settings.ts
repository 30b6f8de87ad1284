import { Size } from 'cdk8s';

/**
 * CPU, memory and local disk of a container, in the library's own terms so that a caller
 * needs nothing but `cdk8s` (for `Size`). Each field defaults on its own.
 */
export interface WorkloadResources {
  /**
   * CPU the scheduler reserves, in millicores.
   * @default - the construct's own default (documented on its `resources` prop)
   */
  readonly cpuRequestMillis?: number;
  /**
   * CPU limit, in millicores.
   * @default - the construct's own default
   */
  readonly cpuLimitMillis?: number;
  /**
   * Memory the scheduler reserves.
   * @default - the construct's own default
   */
  readonly memoryRequest?: Size;
  /**
   * Memory limit: the container is killed above it.
   * @default - the construct's own default
   */
  readonly memoryLimit?: Size;
  /**
   * Local disk the scheduler reserves (`ephemeral-storage`: container logs,
   * writable layer, emptyDir volumes).
   * @default - the construct's own default
   */
  readonly ephemeralStorageRequest?: Size;
  /**
   * Local disk limit: the kubelet evicts the pod above it, before it can
   * fill the node's disk.
   * @default - the construct's own default
   */
  readonly ephemeralStorageLimit?: Size;
}

/**
 * The container security context. The defaults pass Pod Security
 * `restricted`; relax a field only for an image that cannot run otherwise.
 */
export interface WorkloadSecurityContext {
  /**
   * UID the container runs as (also its primary GID unless `runAsGroup` is set).
   * @default 10001
   */
  readonly runAsUser?: number;
  /**
   * GID the container runs as.
   * @default - `runAsUser`
   */
  readonly runAsGroup?: number;
  /**
   * Mount the root filesystem read-only.
   * @default true
   */
  readonly readOnlyRootFilesystem?: boolean;
}
