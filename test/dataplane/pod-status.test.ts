import {
  ContainerStatusView, describeStatus, podPhase, PodStatusView, readinessConditions, statusDiffers, statusPatch,
} from '../../e2e/dataplane/pod-status';
import { ObservedPodStatus } from '../../e2e/dataplane/topology';

const T = '2026-01-02T03:04:05Z';
const running: ContainerStatusView = { name: 'api', image: 'x/testapi:2.0', ready: true, started: true, restartCount: 0, state: { running: { startedAt: T } } };
const crashed: ContainerStatusView = {
  name: 'api', image: 'x/testapi:2.0', ready: false, started: false, restartCount: 2,
  state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 20s restarting failed container=api pod=p_ns(u)' } },
  lastState: { terminated: { exitCode: 2, reason: 'Error', startedAt: T, finishedAt: T } },
};
const refused: ContainerStatusView = {
  name: 'api', image: 'cyrilbkr/testapp:1.0', ready: false, started: false, restartCount: 0,
  state: { waiting: { reason: 'CreateContainerError', message: 'emulated node: not modelled' } },
};

describe('pod status as the kubelet reports it', () => {
  test('phase: Pending while a container waits for its first start, Running once started or crash-looping', () => {
    expect(podPhase([running])).toBe('Running');
    expect(podPhase([crashed])).toBe('Running');
    expect(podPhase([refused])).toBe('Pending');
    expect(podPhase([running, refused])).toBe('Pending');
  });

  test('Ready and ContainersReady name the unready containers', () => {
    expect(readinessConditions([running], T)).toEqual([
      { type: 'ContainersReady', status: 'True', lastTransitionTime: T },
      { type: 'Ready', status: 'True', lastTransitionTime: T },
    ]);
    const sidecar = { ...refused, name: 'side' };
    expect(readinessConditions([crashed, sidecar, running], T)[1]).toEqual({
      type: 'Ready', status: 'False', reason: 'ContainersNotReady', message: 'containers with unready status: [api side]', lastTransitionTime: T,
    });
  });

  const view = (c: ContainerStatusView): PodStatusView => ({
    namespace: 'ns', name: 'p', uid: 'u', phase: podPhase([c]), conditions: readinessConditions([c], T), containerStatuses: [c],
  });
  /** What the API server returns after the patch: JSON, times with milliseconds. */
  const asStored = (v: PodStatusView): ObservedPodStatus => JSON.parse(JSON.stringify({
    phase: v.phase,
    conditions: [{ type: 'PodScheduled', status: 'True' }, ...v.conditions.map((c) => ({ ...c, lastTransitionTime: c.lastTransitionTime.replace('Z', '.000Z') }))],
    containerStatuses: v.containerStatuses,
  }));

  test('a status differs from the stored one in anything but times', () => {
    expect(statusDiffers(view(crashed), asStored(view(crashed)))).toBe(false);
    const later = { ...crashed, lastState: { terminated: { exitCode: 2, reason: 'Error', startedAt: '2026-01-02T03:05:00Z', finishedAt: '2026-01-02T03:05:01Z' } } };
    expect(statusDiffers(view(later), asStored(view(crashed)))).toBe(false);
    expect(statusDiffers(view({ ...crashed, restartCount: 3 }), asStored(view(crashed)))).toBe(true);
    expect(statusDiffers(view(running), asStored(view(crashed)))).toBe(true);
    expect(statusDiffers(view(running), undefined)).toBe(true);
    // What kwok's start stage wrote: waiting ContainerCreating.
    const kwok = { ...refused, image: running.image, state: { waiting: { reason: 'ContainerCreating' } } };
    expect(statusDiffers(view(running), asStored(view(kwok)))).toBe(true);
  });

  test('the patch: uid precondition, phase, our two conditions, the whole container list', () => {
    expect(statusPatch(view(crashed))).toEqual({
      metadata: { uid: 'u' },
      status: {
        phase: 'Running',
        conditions: readinessConditions([crashed], T),
        containerStatuses: [{
          name: 'api', image: 'x/testapi:2.0', ready: false, started: false, restartCount: 2,
          state: crashed.state, lastState: crashed.lastState,
        }],
      },
    });
    // A True condition deletes the reason and message the False one had.
    expect((statusPatch(view(running)) as any).status.conditions[1]).toEqual({ type: 'Ready', status: 'True', reason: null, message: null, lastTransitionTime: T });
    expect((statusPatch(view(running)) as any).status.containerStatuses[0].lastState).toEqual({});
  });

  test('one log line', () => {
    expect(describeStatus(view(crashed))).toBe('Running Ready=False: api waiting CrashLoopBackOff '
      + '(back-off 20s restarting failed container=api pod=p_ns(u)), restarts 2, last terminated Error exit 2');
    expect(describeStatus(view(running))).toBe('Running Ready=True: api running ready, restarts 0');
  });
});
