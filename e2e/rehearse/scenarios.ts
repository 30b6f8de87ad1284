/**
 * The rehearsal's scenarios, run in order on one Canary: analysis settings are
 * not part of Flagger's revision hash, so each scenario changes them and ships
 * a new release, and the demo is initialized only once.
 */
import { REHEARSAL_STEP_WEIGHTS } from './app';
import { Scenario } from './scenario';

const HELLO = (major: number) => new RegExp(`Hello v${major}\\b`);

/** The demo's story: what `npm run rehearse` runs. */
export const DEMO: Scenario[] = [
  {
    name: 'initialize-1.0',
    proves: 'the first revision is initialized without analysis',
    analysis: 'demo',
    steps: [{ release: { version: '1.0' }, expect: 'initialized', primary: { release: '1.0', status: 200, body: HELLO(1) } }],
  },
  {
    name: 'promote-2.0',
    proves: 'a healthy release is promoted after stepping 10..50% on real traffic',
    analysis: 'demo',
    steps: [{
      release: { version: '2.0' }, expect: 'succeeded', checkWeights: true,
      primary: { release: '2.0', status: 200, body: HELLO(2) },
    }],
  },
  {
    name: 'rollback-3.0',
    proves: 'the 404 release is rolled back by the 4xx check; the primary keeps 2.0',
    analysis: 'demo',
    steps: [{ release: { version: '3.0' }, expect: 'failed', primary: { release: '2.0', status: 200, body: HELLO(2) } }],
  },
];

/** Further scenarios for `npm run test:e2e`, mirroring Flagger's Linkerd e2e tests. */
export const MORE: Scenario[] = [
  {
    name: 'rollback-5xx',
    proves: 'a release answering 500 is rolled back by the success rate',
    analysis: 'demo',
    steps: [{
      release: { version: '2.1', env: { FAILURE_MODE: 'server-error' } }, expect: 'failed',
      primary: { release: '2.0', status: 200, body: HELLO(2) },
    }],
  },
  {
    name: 'step-weights',
    proves: `fixed stepWeights ${JSON.stringify(REHEARSAL_STEP_WEIGHTS)} are followed, then promotion`,
    analysis: 'step-weights',
    steps: [{
      release: { version: '2.2' }, expect: 'succeeded', checkWeights: true,
      primary: { release: '2.2', status: 200, body: HELLO(2) },
    }],
  },
  {
    name: 'promotion-gate',
    proves: 'a confirm-promotion gate holds the canary in WaitingPromotion until it is opened',
    analysis: 'promotion-gate',
    steps: [{
      release: { version: '2.3' }, expect: 'succeeded', gateHoldMs: 25_000,
      primary: { release: '2.3', status: 200, body: HELLO(2) },
    }],
  },
  {
    name: 'control-success-rate-only',
    proves: "with only Linkerd's success rate, the 404 release WOULD be promoted (why the 4xx check exists)",
    analysis: 'success-rate-only',
    steps: [{
      release: { version: '3.1' }, expect: 'succeeded', checkWeights: true,
      primary: { release: '3.1', status: 404 },
    }],
  },
  {
    name: 'linkerd-smi',
    proves: 'with the linkerd provider the weights Flagger writes in an SMI TrafficSplit are followed',
    analysis: 'linkerd-smi',
    fresh: true,
    steps: [
      { release: { version: '1.0' }, expect: 'initialized', primary: { release: '1.0', status: 200, body: HELLO(1) } },
      {
        release: { version: '2.0' }, expect: 'succeeded', checkWeights: true,
        primary: { release: '2.0', status: 200, body: HELLO(2) },
      },
    ],
  },
];
