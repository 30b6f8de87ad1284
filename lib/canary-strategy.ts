import { Duration } from 'cdk8s';
import { RequestMatch } from './request-match';

/** The delivery strategies Flagger runs on Linkerd. */
export enum StrategyKind {
  /** Progressive traffic shifting by weights. */
  CANARY = 'canary',
  /** All traffic stays on the primary for N checks, then switches at once. */
  BLUE_GREEN = 'blue-green',
  /** Requests that match go to the canary for N checks; the rest stay on the primary. */
  AB_TESTING = 'ab-testing',
}

/** `SameSite` attribute of the session affinity cookie. */
export enum CookieSameSite {
  /** Sent with same-site requests only. */
  STRICT = 'Strict',
  /** Also sent on top-level navigations. */
  LAX = 'Lax',
  /** Sent with cross-site requests too (needs `secure`). */
  NONE = 'None',
}

/**
 * Session affinity of a weighted canary (Flagger `analysis.sessionAffinity`):
 * a client that reached the canary once gets a cookie and keeps reaching it.
 */
export interface SessionAffinity {
  /** Name of the cookie Flagger sets on canary responses. */
  readonly cookieName: string;
  /**
   * Lifetime of the cookie, in whole seconds.
   * @default Duration.days(1) (Flagger's 86400 seconds)
   */
  readonly maxAge?: Duration;
  /**
   * Cookie set on primary responses, so that primary clients stay on the
   * primary. Only the `gatewayapi:v1` router writes it.
   * @default - none
   */
  readonly primaryCookieName?: string;
  /**
   * `Domain` attribute.
   * @default - none
   */
  readonly domain?: string;
  /**
   * `Path` attribute.
   * @default - none
   */
  readonly path?: string;
  /**
   * `HttpOnly` attribute.
   * @default false
   */
  readonly httpOnly?: boolean;
  /**
   * `Secure` attribute.
   * @default false
   */
  readonly secure?: boolean;
  /**
   * `Partitioned` attribute.
   * @default false
   */
  readonly partitioned?: boolean;
  /**
   * `SameSite` attribute.
   * @default - none
   */
  readonly sameSite?: CookieSameSite;
}

/** Options of a weighted canary. */
export interface WeightedCanaryOptions {
  /**
   * Weight (percent) added at each successful check.
   * @default 10
   */
  readonly stepWeight?: number;
  /**
   * Highest canary weight (percent) before promotion.
   * @default 50
   */
  readonly maxWeight?: number;
  /**
   * Explicit, strictly increasing weights (percent), instead of `stepWeight`
   * and `maxWeight`.
   * @default - `stepWeight` steps up to `maxWeight`
   */
  readonly stepWeights?: number[];
  /**
   * Weight (percent) moved to the primary at each promotion step, instead of
   * all at once.
   * @default - the whole weight at once
   */
  readonly stepWeightPromotion?: number;
  /**
   * Keep clients that reached the canary on it (Gateway API providers only).
   * @default - none
   */
  readonly sessionAffinity?: SessionAffinity;
}

/** Options of a blue/green rollout. */
export interface BlueGreenOptions {
  /**
   * Successful checks before the switch.
   * @default 10
   */
  readonly iterations?: number;
  /**
   * Mirror live traffic to the canary during the checks. Linkerd cannot:
   * its policy controller refuses HTTPRoute RequestMirror filters
   * (linkerd2 `policy-controller/k8s/index/src/outbound/index/http.rs`), and
   * SMI has no mirroring. Setting it true is refused.
   * @default false
   */
  readonly mirror?: boolean;
}

/** Options of an A/B test. */
export interface AbTestingOptions {
  /**
   * Successful checks before promotion.
   * @default 10
   */
  readonly iterations?: number;
  /** Requests routed to the canary: a request that satisfies any one match. */
  readonly match: RequestMatch[];
}

/**
 * How Flagger moves traffic to a new revision. Use the static factories:
 * `CanaryStrategy.canary()`, `.blueGreen()`, `.abTesting()`. Flagger tells
 * them apart by the analysis fields (v1.44.0 `Canary.DeploymentStrategy()`,
 * pkg/apis/flagger/v1beta1/canary.go): `iterations` with `match` is A/B
 * testing, `iterations` alone blue/green, weights a canary.
 */
export class CanaryStrategy {
  /** Progressive traffic shifting by weights, optionally with session affinity. */
  public static canary(options: WeightedCanaryOptions = {}): CanaryStrategy {
    return new CanaryStrategy(StrategyKind.CANARY, options, undefined, undefined);
  }

  /** Blue/green: the canary is checked for `iterations` intervals, then traffic switches at once. */
  public static blueGreen(options: BlueGreenOptions = {}): CanaryStrategy {
    return new CanaryStrategy(StrategyKind.BLUE_GREEN, undefined, options, undefined);
  }

  /** A/B testing: matching requests go to the canary for `iterations` intervals, then promotion. */
  public static abTesting(options: AbTestingOptions): CanaryStrategy {
    return new CanaryStrategy(StrategyKind.AB_TESTING, undefined, undefined, options);
  }

  /** Which strategy this is. */
  public readonly kind: StrategyKind;
  /** Options of a weighted canary (`kind` CANARY). */
  public readonly canaryOptions?: WeightedCanaryOptions;
  /** Options of a blue/green rollout (`kind` BLUE_GREEN). */
  public readonly blueGreenOptions?: BlueGreenOptions;
  /** Options of an A/B test (`kind` AB_TESTING). */
  public readonly abTestingOptions?: AbTestingOptions;

  private constructor(kind: StrategyKind, canary?: WeightedCanaryOptions, blueGreen?: BlueGreenOptions,
    abTesting?: AbTestingOptions) {
    this.kind = kind;
    this.canaryOptions = canary;
    this.blueGreenOptions = blueGreen;
    this.abTestingOptions = abTesting;
  }
}
