/**
 * Canary status sequences as Flagger 1.44 writes them (pkg/controller/scheduler.go,
 * pkg/canary/status.go): each status step is one UpdateStatus, each event one
 * recorded Event. Shared by the reducer unit tests and the CLI tests.
 */
import type { FakeApiServer } from './fake-apiserver';

export const NAME = 'api';
export const NAMESPACE = 'testapi';
/** Opaque spec hashes of releases 1.0, 2.0, 3.0 (and a 4.0). */
export const H1 = '5c8f7d9b6a';
export const H2 = '6b9d4f7c8e';
export const H3 = '7d2e9a6c4f';
export const H4 = '8f1a3b5d7e';

export type StatusPatch = Record<string, unknown>;

export type Step =
  | { readonly status: StatusPatch }
  | { readonly event: readonly ['Normal' | 'Warning', string] }
  | { readonly fault: (server: FakeApiServer) => unknown }
  | { readonly wait: number };

export const SPEC = {
  targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: NAME },
  service: { port: 3000 },
  analysis: { interval: '1m', threshold: 5, maxWeight: 50, stepWeight: 10 },
};

const target = `${NAME}.${NAMESPACE}`;

export const initialized: StatusPatch = {
  phase: 'Initialized', canaryWeight: 0, failedChecks: 0, iterations: 0, lastAppliedSpec: H1, lastPromotedSpec: H1,
};
export const succeeded2: StatusPatch = {
  phase: 'Succeeded', canaryWeight: 0, failedChecks: 0, iterations: 0, lastAppliedSpec: H2, lastPromotedSpec: H2,
};
export const failed3: StatusPatch = {
  phase: 'Failed', canaryWeight: 0, failedChecks: 5, iterations: 0, lastAppliedSpec: H3, lastPromotedSpec: H2,
};

/** 1.0: a new Canary is initialized; no analysis. */
export const initialization: Step[] = [
  { status: { phase: 'Initializing', canaryWeight: 0, failedChecks: 0, iterations: 0 } },
  { status: initialized },
  { event: ['Normal', `Initialization done! ${target}`] },
];

function advance(weights: number[]): Step[] {
  return weights.flatMap((w): Step[] => [
    { status: { canaryWeight: w } },
    { event: ['Normal', `Advance ${target} canary weight ${w}`] },
  ]);
}

/** Detection of a new revision from a terminal phase. */
function detect(hash: string): Step[] {
  return [
    { event: ['Normal', `New revision detected! Scaling up ${target}`] },
    { status: { phase: 'Progressing', canaryWeight: 0, failedChecks: 0, iterations: 0, lastAppliedSpec: hash } },
    { event: ['Normal', `Starting canary analysis for ${target}`] },
  ];
}

function promote(hash: string): Step[] {
  return [
    { event: ['Normal', `Copying ${target} template spec to ${NAME}-primary.${NAMESPACE}`] },
    // As observed on Flagger 1.44: the weight stays at its maximum while Promoting.
    { status: { phase: 'Promoting' } },
    { event: ['Normal', 'Routing all traffic to primary'] },
    { status: { phase: 'Finalising', canaryWeight: 0 } },
    { status: { phase: 'Succeeded', lastPromotedSpec: hash } },
    { event: ['Normal', `Promotion completed! Scaling down ${target}`] },
  ];
}

/** 2.0 after 1.0: analysis passes at weights 10..50, then Promoting, Finalising, Succeeded. */
export const promotion2: Step[] = [...detect(H2), ...advance([10, 20, 30, 40, 50]), ...promote(H2)];

/** 3.0 after 2.0: 404s fail every check until the threshold (5), then rollback. */
export const rollback3: Step[] = [
  ...detect(H3),
  ...advance([10]),
  ...[1, 2, 3, 4, 5].flatMap((n): Step[] => [
    { status: { failedChecks: n } },
    { event: ['Warning', `Halt ${target} advancement not-found-percentage 100.00 > 5`] },
  ]),
  { event: ['Warning', `Rolling back ${target} failed checks threshold reached 5`] },
  { event: ['Warning', `Canary failed! Scaling down ${target}`] },
  { status: { phase: 'Failed', canaryWeight: 0 } },
];

/** 2.0 in analysis, then 3.0 applied mid-analysis: Flagger restarts and promotes 3.0. */
export const restarted: Step[] = [
  ...detect(H2),
  ...advance([10, 20]),
  { status: { phase: 'Progressing', canaryWeight: 0, failedChecks: 0, iterations: 0, lastAppliedSpec: H3 } },
  { event: ['Normal', `New revision detected! Restarting analysis for ${target}`] },
  ...advance([10, 20, 30, 40, 50]),
  ...promote(H3),
];

/** Confirm-rollout and confirm-promotion gates hold the rollout, then approve. */
export const gatedWaiting: Step[] = [
  { status: { phase: 'Progressing', canaryWeight: 0, failedChecks: 0, iterations: 0, lastAppliedSpec: H2 } },
  { status: { phase: 'Waiting' } },
  { event: ['Warning', `Halt ${target} advancement waiting for approval confirm-rollout`] },
];
export const gatedApproved: Step[] = [
  ...gatedWaiting,
  ...detect(H2),
  ...advance([10, 20, 30, 40, 50]),
  { status: { phase: 'WaitingPromotion', canaryWeight: 0 } },
  { event: ['Warning', `Halt ${target} advancement waiting for promotion approval confirm-promotion`] },
  ...promote(H2),
];

/** After 3.0 failed, 2.0 (the promoted spec) is applied again: Flagger syncs lastAppliedSpec and starts nothing. */
export const reapplyPromoted: Step[] = [
  { status: { lastAppliedSpec: H2 } },
];

/** After 3.0 failed, 4.0 is applied: Flagger syncs lastAppliedSpec while still Failed, then starts the analysis. */
export const fromFailedTo4: Step[] = [
  { status: { lastAppliedSpec: H4 } },
  ...detect(H4),
  ...advance([10, 20, 30, 40, 50]),
  ...promote(H4),
];

/** A rollout already in progress when the watcher starts, ending in promotion. */
export const inProgress2: StatusPatch = {
  phase: 'Progressing', canaryWeight: 30, failedChecks: 0, iterations: 0, lastAppliedSpec: H2, lastPromotedSpec: H1,
};
export const finishInProgress2: Step[] = [...advance([40, 50]), ...promote(H2)];

/** Inserts a step after the status step that sets canaryWeight `weight` for the first time. */
export function withStepAfterWeight(steps: readonly Step[], weight: number, extra: Step[]): Step[] {
  const index = steps.findIndex((s) => 'status' in s && s.status.canaryWeight === weight);
  if (index < 0) throw new Error(`no weight ${weight} in the scenario`);
  return [...steps.slice(0, index + 1), ...extra, ...steps.slice(index + 1)];
}

/** Applies the steps to a fake server with a small gap between them. */
export async function play(server: FakeApiServer, steps: readonly Step[], gapMs = 15): Promise<void> {
  for (const step of steps) {
    if ('status' in step) server.setStatus(step.status);
    else if ('event' in step) server.addEvent(step.event[0], step.event[1]);
    else if ('fault' in step) await step.fault(server);
    else await new Promise((resolve) => setTimeout(resolve, step.wait));
    await new Promise((resolve) => setTimeout(resolve, gapMs));
  }
}
