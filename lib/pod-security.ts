import { ApiObject, JsonPatch, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { checkInt, checkRunAsUser, invalid } from './validate';
import { WorkloadResources, WorkloadSecurityContext } from './workload-settings';

/*
 * Pod hardening shared by the constructs' Deployments. Internal: not exported
 * from the package index (jsii languages see only the props that use it).
 */

/** What `restrictedDeployment` needs. */
export interface RestrictedDeploymentOptions {
  /** Who is asking, for error messages (`CanaryTarget 'Api'`). */
  readonly where: string;
  /** Name of the Deployment and value of its `app` label, the only selector label. */
  readonly name: string;
  /** Labels beside `app` on the Deployment and its pods (never in the selector). */
  readonly labels?: { readonly [key: string]: string };
  /** The one container, without security context. */
  readonly container: kplus.ContainerProps;
  /** The container's security context settings. */
  readonly securityContext?: WorkloadSecurityContext;
  /** Number of pods (default 1). */
  readonly replicas?: number;
  /** Annotate the pods for Linkerd injection whatever the namespace says. */
  readonly meshInject?: boolean;
}

/**
 * A cdk8s-plus Deployment selected by `app: <name>` alone (Flagger's selector
 * labels need `app`; cdk8s-plus would select on its own address label) whose
 * pods pass Pod Security `restricted`.
 */
export function restrictedDeployment(scope: Construct, id: string, options: RestrictedDeploymentOptions): kplus.Deployment {
  const selector = { app: options.name };
  const labels = { ...options.labels, ...selector };
  const securityContext = toContainerSecurityContext(options.where, options.securityContext);
  // cdk8s-plus writes ephemeral storage in whole GiB only: it is set in MiB below, like memory.
  const { ephemeralStorage, ...resources } = options.container.resources ?? {};
  const deployment = new kplus.Deployment(scope, id, {
    metadata: { name: options.name, labels },
    replicas: options.replicas ?? 1,
    select: false,
    podMetadata: { labels, annotations: options.meshInject ? { 'linkerd.io/inject': 'enabled' } : {} },
    automountServiceAccountToken: false,
    securityContext: { ensureNonRoot: true, user: securityContext.user, group: securityContext.group },
    containers: [{
      imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
      ...options.container,
      ...(options.container.resources ? { resources } : {}),
      securityContext,
    }],
  });
  deployment.select(kplus.LabelSelector.of({ labels: selector }));
  // The patch lands before the generated KubeDeployment.toJson, which writes each quantity's `value`; it
  // adds to the requests and limits that toContainerResources always fills (cpu, memory).
  for (const [field, size] of [['requests', ephemeralStorage?.request], ['limits', ephemeralStorage?.limit]] as const) {
    if (size === undefined) continue;
    ApiObject.of(deployment).addJsonPatch(JsonPatch.add(`/spec/template/spec/containers/0/resources/${field}/ephemeral-storage`,
      kplus.k8s.Quantity.fromString(`${size.toMebibytes()}Mi`)));
  }
  return deployment;
}

const MAX_MILLICORES = 1_000_000;

/** Resolves `WorkloadResources` over a construct's defaults into cdk8s-plus terms. */
export function toContainerResources(where: string, given: WorkloadResources | undefined,
  defaults: Required<WorkloadResources>): kplus.ContainerResources {
  const settings = { ...defaults, ...stripUndefined(given ?? {}) };
  checkInt(where, 'resources.cpuRequestMillis', settings.cpuRequestMillis, 1, MAX_MILLICORES);
  checkInt(where, 'resources.cpuLimitMillis', settings.cpuLimitMillis, 1, MAX_MILLICORES);
  if (settings.cpuRequestMillis > settings.cpuLimitMillis) {
    throw invalid(where, 'resources.cpuRequestMillis', settings.cpuRequestMillis,
      `must not exceed cpuLimitMillis (${settings.cpuLimitMillis})`);
  }
  for (const kind of ['memory', 'ephemeralStorage'] as const) {
    const request = mebibytes(where, `resources.${kind}Request`, settings[`${kind}Request`]);
    const limit = mebibytes(where, `resources.${kind}Limit`, settings[`${kind}Limit`]);
    if (request > limit) {
      throw invalid(where, `resources.${kind}Request`, `${request}Mi`, `must not exceed ${kind}Limit (${limit}Mi)`);
    }
  }
  return {
    cpu: { request: kplus.Cpu.millis(settings.cpuRequestMillis), limit: kplus.Cpu.millis(settings.cpuLimitMillis) },
    memory: { request: settings.memoryRequest, limit: settings.memoryLimit },
    ephemeralStorage: { request: settings.ephemeralStorageRequest, limit: settings.ephemeralStorageLimit },
  };
}

/**
 * Resolves `WorkloadSecurityContext` into a cdk8s-plus container security
 * context: non-root with an explicit uid (the kubelet cannot verify an image
 * that declares a non-numeric or root user otherwise), no privilege
 * escalation, all capabilities dropped, RuntimeDefault seccomp.
 */
export function toContainerSecurityContext(where: string,
  given: WorkloadSecurityContext | undefined): kplus.ContainerSecurityContextProps {
  const user = given?.runAsUser ?? DEFAULT_RUN_AS_USER;
  const group = given?.runAsGroup ?? user;
  checkRunAsUser(where, 'securityContext.runAsUser', user);
  checkRunAsUser(where, 'securityContext.runAsGroup', group);
  const readOnly = given?.readOnlyRootFilesystem ?? true;
  if (typeof readOnly !== 'boolean') {
    throw invalid(where, 'securityContext.readOnlyRootFilesystem', readOnly, 'must be true or false');
  }
  return {
    ensureNonRoot: true,
    user,
    group,
    privileged: false,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: readOnly,
    capabilities: { drop: [kplus.Capability.ALL] },
    seccompProfile: { type: kplus.SeccompProfileType.RUNTIME_DEFAULT },
  };
}

/**
 * UID/GID the constructs run containers as unless told otherwise: above 10000,
 * so a container escape does not land on a host user.
 */
export const DEFAULT_RUN_AS_USER = 10001;

function mebibytes(where: string, prop: string, value: Size): number {
  if (typeof value !== 'object' || value === null || typeof (value as Size).toMebibytes !== 'function') {
    throw invalid(where, prop, value, 'must be a Size, for example Size.mebibytes(64)');
  }
  const mib = value.toMebibytes();
  if (!Number.isFinite(mib) || mib <= 0) throw invalid(where, prop, `${mib}Mi`, 'must be more than 0');
  return mib;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
