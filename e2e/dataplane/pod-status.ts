/**
 * Pod status as a kubelet reports it (Kubernetes v1.34 pkg/kubelet:
 * kubelet_pods.go getPhase and convertToAPIContainerStatuses, status/generate.go
 * GenerateContainersReadyCondition / GeneratePodReadyCondition), built from
 * the emulated kubelet's containers, and the patch that writes it.
 *
 * The emulated kubelet owns, for the pods kwok started without making them
 * Ready (e2e/cluster/stages): the phase, the Ready and ContainersReady
 * conditions, and every container status. kwok's start stage owns the rest
 * (pod IP, host IP, start time, Initialized, PodReadyToStartContainers).
 *
 * Pure: loads under jest.
 */
import type { ObservedPodStatus } from './topology';

export type ContainerState =
  | { readonly running: { readonly startedAt: string } }
  | { readonly waiting: { readonly reason: string; readonly message?: string } }
  | {
    readonly terminated: {
      readonly exitCode: number;
      readonly signal?: number;
      readonly reason: string;
      readonly message?: string;
      readonly startedAt: string;
      readonly finishedAt: string;
    };
  };

export interface ContainerStatusView {
  readonly name: string;
  readonly image: string;
  readonly ready: boolean;
  readonly started: boolean;
  readonly restartCount: number;
  readonly state: ContainerState;
  /** The previous instance's end, once one ended. */
  readonly lastState?: ContainerState;
}

export interface PodConditionView {
  readonly type: 'Ready' | 'ContainersReady';
  readonly status: 'True' | 'False';
  readonly reason?: string;
  readonly message?: string;
  readonly lastTransitionTime: string;
}

export interface PodStatusView {
  readonly namespace: string;
  readonly name: string;
  readonly uid?: string;
  readonly phase: 'Pending' | 'Running';
  readonly conditions: readonly PodConditionView[];
  readonly containerStatuses: readonly ContainerStatusView[];
}

/**
 * getPhase for restartPolicy Always: a container waiting for its first start
 * keeps the pod Pending; running ones, or ones waiting to restart after an
 * exit (CrashLoopBackOff), make it Running.
 */
export function podPhase(containers: readonly ContainerStatusView[]): 'Pending' | 'Running' {
  const waiting = containers.filter((c) => 'waiting' in c.state && !(c.lastState && 'terminated' in c.lastState)).length;
  return waiting > 0 || containers.length === 0 ? 'Pending' : 'Running';
}

/** Ready and ContainersReady: False with the unready containers named, as the kubelet words it. */
export function readinessConditions(containers: readonly ContainerStatusView[], since: string): PodConditionView[] {
  const unready = containers.filter((c) => !c.ready).map((c) => c.name);
  const ready = unready.length === 0;
  const detail = ready ? {} : { reason: 'ContainersNotReady', message: `containers with unready status: [${unready.join(' ')}]` };
  return (['ContainersReady', 'Ready'] as const).map((type) => ({
    type, status: ready ? 'True' : 'False', ...detail, lastTransitionTime: since,
  }));
}

/** One state's kind, reason and numbers: what a status change is judged by (times apart). */
function stateKey(s: any): string {
  if (!s) return '-';
  if (s.running) return 'running';
  if (s.waiting) return `waiting ${s.waiting.reason ?? ''} ${s.waiting.message ?? ''}`;
  if (s.terminated) return `terminated ${s.terminated.reason ?? ''} ${s.terminated.exitCode} ${s.terminated.signal ?? ''} ${s.terminated.message ?? ''}`;
  return '-';
}

function containerKey(c: any): string {
  return [c.name, c.image, c.ready === true, c.started === true, c.restartCount ?? 0, stateKey(c.state), stateKey(c.lastState)].join('|');
}

function conditionKey(c: any): string {
  return c ? `${c.status} ${c.reason ?? ''} ${c.message ?? ''}` : '-';
}

/** Whether the API server's copy differs from the view in anything but times. */
export function statusDiffers(view: PodStatusView, observed: ObservedPodStatus | undefined): boolean {
  if (!observed || observed.phase !== view.phase) return true;
  for (const c of view.conditions) {
    if (conditionKey(observed.conditions.find((o) => o.type === c.type)) !== conditionKey(c)) return true;
  }
  const have = observed.containerStatuses.map(containerKey);
  const want = view.containerStatuses.map(containerKey);
  return have.length !== want.length || have.some((k, i) => k !== want[i]);
}

/**
 * A strategic merge patch of the status subresource: conditions merge by type
 * (the scheduler's and kwok's stay) and field by field, so a reason or message
 * the condition no longer has is deleted (null); containerStatuses is an
 * atomic list (the whole list is replaced). The uid makes it a precondition:
 * never a same-named successor.
 */
export function statusPatch(view: PodStatusView): object {
  return {
    ...(view.uid ? { metadata: { uid: view.uid } } : {}),
    status: {
      phase: view.phase,
      conditions: view.conditions.map((c) => ({ ...c, reason: c.reason ?? null, message: c.message ?? null })),
      containerStatuses: view.containerStatuses.map((c) => ({
        name: c.name, image: c.image, ready: c.ready, started: c.started, restartCount: c.restartCount,
        state: c.state, lastState: c.lastState ?? {},
      })),
    },
  };
}

function describeState(s: ContainerState): string {
  if ('running' in s) return 'running';
  if ('waiting' in s) return `waiting ${s.waiting.reason}${s.waiting.message ? ` (${s.waiting.message})` : ''}`;
  return `terminated ${s.terminated.reason} exit ${s.terminated.exitCode}`;
}

/** One line for the emulator's log. */
export function describeStatus(view: PodStatusView): string {
  const ready = view.conditions.find((c) => c.type === 'Ready')?.status ?? '?';
  const containers = view.containerStatuses.map((c) => {
    const last = c.lastState && 'terminated' in c.lastState ? `, last ${describeState(c.lastState)}` : '';
    return `${c.name} ${describeState(c.state)}${c.ready ? ' ready' : ''}, restarts ${c.restartCount}${last}`;
  });
  return `${view.phase} Ready=${ready}: ${containers.join('; ')}`;
}
