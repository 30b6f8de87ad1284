/**
 * The rehearsal's scenarios, run in order on one Canary: analysis settings are
 * not part of Flagger's revision hash, so each scenario changes them and ships
 * a new release, and the demo is initialized only once.
 */
import { AFFINITY_COOKIE, REHEARSAL_STEP_WEIGHTS } from './app';
import { Probe, Scenario } from './scenario';

const HELLO = (major: number) => new RegExp(`Hello v${major}\\b`);

/** The demo's 4xx check (LinkerdMetricTemplates' `4xx-percentage`): what must roll a 404 release back. */
const CLIENT_ERRORS = { check: '4xx-percentage' };

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
    steps: [{
      release: { version: '3.0' }, expect: 'failed', reason: CLIENT_ERRORS,
      primary: { release: '2.0', status: 200, body: HELLO(2) },
    }],
  },
];

/** Further scenarios for `npm run test:e2e`, mirroring Flagger's Linkerd e2e tests. */
export const MORE: Scenario[] = [
  {
    name: 'rollback-5xx',
    proves: 'a release answering 500 is rolled back by the success rate',
    analysis: 'demo',
    steps: [{
      release: { version: '2.1', env: { FAILURE_MODE: 'server-error' } }, expect: 'failed', reason: { check: 'success-rate' },
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
    name: 'acceptance-test',
    proves: 'with the pre-rollout acceptance test on, the 404 release fails before any traffic moves to it',
    analysis: 'acceptance-test',
    steps: [{
      release: { version: '3.2' }, expect: 'failed', reason: { webhook: 'acceptance-test' }, checkWeights: true, expectNoWeights: true,
      // No traffic moves and no rollout webhook runs (hey from an earlier release's run may still reach the pod).
      load: { hey: false, generator: false },
      primary: { release: '2.3', status: 200, body: HELLO(2) },
    }],
  },
  {
    name: 'control-without-4xx-check',
    proves: 'with every check but the 4xx one (success rate, latency), the 404 release WOULD be promoted (why the 4xx check exists)',
    analysis: 'without-4xx-check',
    steps: [{
      release: { version: '3.1' }, expect: 'succeeded', checkWeights: true, checks: ['success-rate', 'latency-p99'],
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

const PRIMARY_V1: Probe = { what: 'without a match the primary (1.0) answers', status: 200, body: HELLO(1) };

/** Blue/green (`npm run rehearse -- --strategy blue-green`): a new Canary, 1.0, 2.0, 3.0. */
export const BLUE_GREEN: Scenario[] = [
  {
    name: 'blue-green-initialize-1.0',
    proves: 'a blue/green Canary initializes its first revision',
    analysis: 'blue-green',
    fresh: true,
    steps: [{ release: { version: '1.0' }, expect: 'initialized', primary: { release: '1.0', status: 200, body: HELLO(1) } }],
  },
  {
    name: 'blue-green-promote-2.0',
    proves: 'during the iterations live traffic stays on 1.0 while the canary Service runs 2.0; then 2.0 is promoted',
    analysis: 'blue-green',
    steps: [{
      release: { version: '2.0' }, expect: 'succeeded',
      probes: [
        { what: 'live traffic stays on the primary (1.0)', status: 200, body: HELLO(1) },
        { what: 'the canary Service runs 2.0', via: 'canary', status: 200, body: HELLO(2) },
      ],
      primary: { release: '2.0', status: 200, body: HELLO(2) },
    }],
  },
  {
    name: 'blue-green-rollback-3.0',
    proves: 'the 404 release is rolled back by the 4xx check without live traffic ever reaching it',
    analysis: 'blue-green',
    steps: [{
      release: { version: '3.0' }, expect: 'failed', reason: CLIENT_ERRORS,
      probes: [{ what: 'live traffic stays on the primary (2.0)', status: 200, body: HELLO(2) }],
      primary: { release: '2.0', status: 200, body: HELLO(2) },
    }],
  },
];

/** A/B testing (`npm run rehearse -- --strategy ab-testing`): a new Canary, 1.0, 2.0, 3.0. */
export const AB_TESTING: Scenario[] = [
  {
    name: 'ab-testing-initialize-1.0',
    proves: 'an A/B Canary initializes its first revision',
    analysis: 'ab-testing',
    fresh: true,
    steps: [{ release: { version: '1.0' }, expect: 'initialized', primary: { release: '1.0', status: 200, body: HELLO(1) } }],
  },
  {
    name: 'ab-testing-promote-2.0',
    proves: 'only requests with the header or the cookie reach 2.0 during the iterations; then 2.0 is promoted',
    analysis: 'ab-testing',
    steps: [{
      release: { version: '2.0' }, expect: 'succeeded',
      probes: [
        { what: 'the header x-canary: insider picks the canary (2.0)', headers: { 'x-canary': 'insider' }, status: 200, body: HELLO(2) },
        { what: 'the cookie canary=always, among others, picks the canary (2.0)', headers: { cookie: 'session=42; canary=always' }, status: 200, body: HELLO(2) },
        PRIMARY_V1,
        { what: 'another header value stays on the primary (1.0)', headers: { 'x-canary': 'outsider' }, status: 200, body: HELLO(1) },
      ],
      primary: { release: '2.0', status: 200, body: HELLO(2) },
    }],
  },
  {
    name: 'ab-testing-rollback-3.0',
    proves: 'matched requests meet the 404 release, which the 4xx check rolls back; the rest keep 2.0',
    analysis: 'ab-testing',
    steps: [{
      release: { version: '3.0' }, expect: 'failed', reason: CLIENT_ERRORS,
      probes: [
        { what: 'the header picks the canary (3.0, 404)', headers: { 'x-canary': 'insider' }, status: 404 },
        { what: 'without a match the primary (2.0) answers', status: 200, body: HELLO(2) },
      ],
      primary: { release: '2.0', status: 200, body: HELLO(2) },
    }],
  },
];

/** A weighted canary with session affinity (`--strategy session-affinity`): a new Canary, 1.0, 2.0. */
export const SESSION_AFFINITY: Scenario[] = [
  {
    name: 'session-affinity-initialize-1.0',
    proves: 'a Canary with session affinity initializes its first revision',
    analysis: 'session-affinity',
    fresh: true,
    steps: [{ release: { version: '1.0' }, expect: 'initialized', primary: { release: '1.0', status: 200, body: HELLO(1) } }],
  },
  {
    name: 'session-affinity-promote-2.0',
    proves: 'a client the canary answered once gets the cookie and keeps reaching 2.0 at 10% weight; then 2.0 is promoted',
    analysis: 'session-affinity',
    steps: [{
      release: { version: '2.0' }, expect: 'succeeded', checkWeights: true,
      sticky: { cookie: AFFINITY_COOKIE, canaryBody: HELLO(2), primaryBody: HELLO(1) },
      primary: { release: '2.0', status: 200, body: HELLO(2) },
    }],
  },
];

/** The scenarios of each strategy, for `--strategy`. */
export const BY_STRATEGY: Readonly<Record<string, Scenario[]>> = {
  'canary': DEMO,
  'blue-green': BLUE_GREEN,
  'ab-testing': AB_TESTING,
  'session-affinity': SESSION_AFFINITY,
};
