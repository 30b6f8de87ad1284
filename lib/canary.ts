import { Chart, Duration, Lazy } from 'cdk8s';
import { Construct } from 'constructs';
import * as flagger from '../imports/flagger.app';
import { CanaryTarget } from './canary-target';
import {
  checkDnsLabel, checkDnsSubdomain, checkHttpUrl, checkInt, checkNumber, checkPort, checkPortName, claimUnique, goDuration, invalid,
  wholeSeconds,
} from './validate';

/** Traffic providers for a Linkerd mesh. */
export enum CanaryProvider {
  /** Gateway API HTTPRoute, v1beta1: what Flagger's Linkerd install uses since Linkerd 2.14. */
  GATEWAY_API_V1BETA1 = 'gatewayapi:v1beta1',
  /** Gateway API HTTPRoute, v1 (Gateway API 1.0 and later). */
  GATEWAY_API_V1 = 'gatewayapi:v1',
  /** SMI TrafficSplit: needs the linkerd-smi extension since Linkerd 2.12. */
  LINKERD = 'linkerd',
}

/** When Flagger calls a webhook. */
export enum WebhookType {
  /** Before scaling up the canary; non-2xx keeps it waiting. */
  CONFIRM_ROLLOUT = 'confirm-rollout',
  /** Before routing traffic to the canary; failures count against the threshold. */
  PRE_ROLLOUT = 'pre-rollout',
  /** At every analysis step (load tests); failures count against the threshold. */
  ROLLOUT = 'rollout',
  /** Before each traffic increase; non-2xx holds the weight. */
  CONFIRM_TRAFFIC_INCREASE = 'confirm-traffic-increase',
  /** Before promotion; non-2xx keeps the canary in WaitingPromotion. */
  CONFIRM_PROMOTION = 'confirm-promotion',
  /** After promotion or rollback. */
  POST_ROLLOUT = 'post-rollout',
  /** Polled during analysis; 2xx triggers a rollback. */
  ROLLBACK = 'rollback',
  /** Receives every Flagger event. */
  EVENT = 'event',
}

/** Accepted range of a metric's value; at least one bound. */
export interface ThresholdRange {
  /**
   * Lowest accepted value.
   * @default - no lower bound
   */
  readonly min?: number;
  /**
   * Highest accepted value.
   * @default - no upper bound
   */
  readonly max?: number;
}

/** A MetricTemplate reference. */
export interface MetricTemplateRef {
  /** Name of the MetricTemplate. */
  readonly name: string;
  /**
   * Namespace of the MetricTemplate.
   * @default - the Canary's namespace
   */
  readonly namespace?: string;
}

/** One metric check of the analysis. */
export interface CanaryMetric {
  /** Name of the check, unique within the Canary. */
  readonly name: string;
  /**
   * The MetricTemplate holding the query. Required with a Gateway API provider,
   * whose built-in metrics query `http_request_duration_seconds_*`, which
   * Linkerd does not export.
   * @default - Flagger's built-in metric called `name` (`request-success-rate`
   * or `request-duration`; only with the `linkerd` provider)
   */
  readonly templateRef?: MetricTemplateRef;
  /** Accepted range of the query's value. */
  readonly thresholdRange: ThresholdRange;
  /**
   * Window of the query (`{{ interval }}` in templates).
   * @default Duration.minutes(1)
   */
  readonly interval?: Duration;
  /**
   * Extra template variables (`{{ variables.<key> }}`).
   * @default - none
   */
  readonly templateVariables?: { readonly [key: string]: string };
}

/** One webhook of the analysis. */
export interface CanaryWebhook {
  /** Name of the webhook, unique within the Canary. */
  readonly name: string;
  /**
   * When Flagger calls it.
   * @default WebhookType.ROLLOUT
   */
  readonly type?: WebhookType;
  /** http(s) URL Flagger POSTs to. */
  readonly url: string;
  /**
   * Request timeout.
   * @default - Flagger's 10s
   */
  readonly timeout?: Duration;
  /**
   * Key-value metadata sent with the call (the load tester reads `type` and `cmd`).
   * @default - none
   */
  readonly metadata?: { readonly [key: string]: string };
  /**
   * Retries on failure.
   * @default - none
   */
  readonly retries?: number;
}

/** A parent reference for the HTTPRoute Flagger generates. */
export interface CanaryGatewayRef {
  /** Name of the parent (for Linkerd: the apex Service). */
  readonly name: string;
  /**
   * Namespace of the parent.
   * @default - the Canary's namespace
   */
  readonly namespace?: string;
  /**
   * API group of the parent (`core` for a Service).
   * @default 'core'
   */
  readonly group?: string;
  /**
   * Kind of the parent.
   * @default 'Service'
   */
  readonly kind?: string;
  /**
   * Port of the parent.
   * @default - the Canary's port
   */
  readonly port?: number;
}

/** Props for `Canary`. */
export interface CanaryProps {
  /**
   * The workload to canary. Gives `targetName`, the default `port`, and the
   * `targetPort`, which must then be its container port (number or name).
   * @default - none: `targetName` and `port` must be set
   */
  readonly target?: CanaryTarget;

  /**
   * Name of the Deployment to canary (Flagger's targetRef), when it is not a
   * `CanaryTarget` of this app.
   * @default - `target.name`; one of `target` and `targetName` must be set
   */
  readonly targetName?: string;

  /**
   * Port of the Services Flagger creates (`<name>`, `<name>-primary`, `<name>-canary`).
   * @default - `target.port`; required without `target`
   */
  readonly port?: number;

  /**
   * Container port (number or name) the Services send traffic to.
   * @default - the target's container port, or `port` without `target`
   */
  readonly targetPort?: number | string;

  /**
   * Name of the Canary object.
   * @default - `targetName`
   */
  readonly name?: string;

  /**
   * Name of the apex Service Flagger creates (`spec.service.name`); the others
   * are `<serviceName>-primary` and `<serviceName>-canary`. Flagger names them
   * after the target, not after the Canary, unless this is set.
   * @default - `targetName`
   */
  readonly serviceName?: string;

  /**
   * Namespace of the Canary (it must be the target's namespace).
   * @default - the chart's namespace; one of the two must be set
   */
  readonly namespace?: string;

  /**
   * Traffic provider.
   * @default CanaryProvider.GATEWAY_API_V1BETA1
   */
  readonly provider?: CanaryProvider;

  /**
   * Parents of the generated HTTPRoute (Gateway API providers only).
   * @default - the apex Service `<name>` in the Canary's namespace on `port`
   */
  readonly gatewayRefs?: CanaryGatewayRef[];

  /**
   * Time between two analysis checks.
   * @default Duration.minutes(1)
   */
  readonly interval?: Duration;

  /**
   * Failed checks before rollback.
   * @default 5
   */
  readonly threshold?: number;

  /**
   * Highest canary weight (percent) before promotion.
   * @default 50
   */
  readonly maxWeight?: number;

  /**
   * Weight (percent) added at each successful check.
   * @default 10
   */
  readonly stepWeight?: number;

  /**
   * Explicit, strictly increasing weights (percent), instead of `stepWeight`
   * and `maxWeight`.
   * @default - `stepWeight` steps up to `maxWeight`
   */
  readonly stepWeights?: number[];

  /**
   * Time for the target to make progress before Flagger rolls back.
   * @default - Flagger's 600 seconds
   */
  readonly progressDeadline?: Duration;

  /**
   * Promote without analysis.
   * @default false
   */
  readonly skipAnalysis?: boolean;

  /**
   * Pause all canary runs.
   * @default false
   */
  readonly suspend?: boolean;

  /**
   * Metric checks; more with `addMetric()`.
   * @default - none
   */
  readonly metrics?: CanaryMetric[];

  /**
   * Webhooks; more with `addWebhook()`.
   * @default - none
   */
  readonly webhooks?: CanaryWebhook[];
}

const BUILTIN_METRICS = ['request-success-rate', 'request-duration'];

/**
 * A Flagger Canary (`flagger.app/v1beta1`) over the class generated from
 * Flagger's CRD. Flagger creates and owns the Services `<name>`,
 * `<name>-primary`, `<name>-canary`, the HTTPRoute or TrafficSplit and the
 * `<name>-primary` Deployment: never define them yourself.
 */
export class Canary extends Construct {
  /** Name of the Canary object. */
  public readonly name: string;
  /** Name of the Deployment the Canary targets. */
  public readonly targetName: string;
  /** Name of the apex Service Flagger creates (and prefix of the other two). */
  public readonly serviceName: string;
  /** Namespace of the Canary. */
  public readonly namespace: string;
  /** Service port. */
  public readonly port: number;
  /** Traffic provider. */
  public readonly provider: CanaryProvider;
  /** The generated Flagger ApiObject. */
  public readonly resource: flagger.Canary;

  private readonly where: string;
  private readonly targetPort: number | string;
  private readonly interval: string;
  private readonly threshold: number;
  private readonly progressDeadlineSeconds?: number;
  private readonly steps: Pick<flagger.CanarySpecAnalysis, 'maxWeight' | 'stepWeight' | 'stepWeights'>;
  private readonly gatewayRefs?: flagger.CanarySpecServiceGatewayRefs[];
  private readonly skipAnalysis?: boolean;
  private readonly suspend?: boolean;
  private readonly metrics: flagger.CanarySpecAnalysisMetrics[] = [];
  private readonly webhooks: flagger.CanarySpecAnalysisWebhooks[] = [];

  public constructor(scope: Construct, id: string, props: CanaryProps) {
    super(scope, id);
    const where = `Canary '${id}'`;
    this.where = where;
    const target = props.target;
    if (target !== undefined && props.targetName !== undefined) {
      throw invalid(where, 'targetName', props.targetName, 'cannot be combined with target: the target names the Deployment');
    }
    const targetName = target?.name ?? props.targetName;
    if (targetName === undefined) throw invalid(where, 'targetName', targetName, 'must be set when there is no target');
    // Flagger creates `<targetName>-primary` and `<serviceName>-primary`/`-canary`.
    const maxBase = 63 - '-primary'.length;
    checkDnsLabel(where, 'targetName', targetName, maxBase);
    this.targetName = targetName;
    this.name = props.name ?? targetName;
    checkDnsLabel(where, 'name', this.name);
    this.serviceName = props.serviceName ?? targetName;
    checkDnsLabel(where, 'serviceName', this.serviceName, maxBase);

    const port = props.port ?? target?.port;
    if (port === undefined) throw invalid(where, 'port', port, 'must be set when there is no target');
    checkPort(where, 'port', port);
    this.port = port;
    this.targetPort = this.resolveTargetPort(props.targetPort, target);

    const namespace = props.namespace ?? Chart.of(this).namespace;
    if (namespace === undefined) {
      throw invalid(where, 'namespace', namespace, 'must be set, on the Canary or on its chart: the load test and gatewayRefs need it');
    }
    checkDnsLabel(where, 'namespace', namespace);
    this.namespace = namespace;

    this.provider = props.provider ?? CanaryProvider.GATEWAY_API_V1BETA1;
    const providers = Object.values(CanaryProvider) as string[];
    if (!providers.includes(this.provider)) {
      throw invalid(where, 'provider', this.provider, `must be one of ${providers.join(', ')}`);
    }

    this.interval = goDuration(where, 'interval', props.interval ?? Duration.minutes(1));
    this.threshold = props.threshold ?? 5;
    checkInt(where, 'threshold', this.threshold, 1, 1000);
    this.progressDeadlineSeconds = props.progressDeadline === undefined
      ? undefined : wholeSeconds(where, 'progressDeadline', props.progressDeadline);
    this.steps = this.resolveSteps(props);
    this.gatewayRefs = this.resolveGatewayRefs(props);
    this.skipAnalysis = props.skipAnalysis;
    this.suspend = props.suspend;

    // Flagger runs one analysis per target and owns the Services named after serviceName.
    claimUnique(this, where, 'targetName', targetName, `Canary target ${namespace}/${targetName}`,
      `already has a Canary in namespace '${namespace}': Flagger would run two analyses on one Deployment`);
    claimUnique(this, where, 'name', this.name, `Canary ${namespace}/${this.name}`,
      `is already the name of a Canary in namespace '${namespace}'`);
    claimUnique(this, where, 'serviceName', this.serviceName, `Canary service ${namespace}/${this.serviceName}`,
      `already names the Services of another Canary in namespace '${namespace}'`);

    this.resource = new flagger.Canary(this, 'Resource', {
      metadata: { name: this.name, namespace },
      // One spec, rendered at synth time so that addMetric/addWebhook calls made later are in it.
      spec: Lazy.any({ produce: () => this.renderSpec() }),
    });
    for (const metric of props.metrics ?? []) this.addMetric(metric);
    for (const webhook of props.webhooks ?? []) this.addWebhook(webhook);
  }

  /** URL of the canary-only Service Flagger creates, for load tests. */
  public get canaryUrl(): string {
    return `http://${this.serviceName}-canary.${this.namespace}:${this.port}/`;
  }

  /** URL of the apex Service Flagger creates, which splits traffic. */
  public get apexUrl(): string {
    return `http://${this.serviceName}.${this.namespace}:${this.port}/`;
  }

  /** Adds a metric check to the analysis. */
  public addMetric(metric: CanaryMetric): flagger.CanarySpecAnalysisMetrics {
    const where = this.where;
    const prop = `metrics[${this.metrics.length}]`;
    checkDnsSubdomain(where, `${prop}.name`, metric.name);
    if (this.metrics.some((m) => m.name === metric.name)) {
      throw invalid(where, `${prop}.name`, metric.name, 'must be unique among the Canary\'s metrics');
    }
    if (metric.templateRef) {
      checkDnsSubdomain(where, `${prop}.templateRef.name`, metric.templateRef.name);
      if (metric.templateRef.namespace !== undefined) checkDnsLabel(where, `${prop}.templateRef.namespace`, metric.templateRef.namespace);
    } else if (!BUILTIN_METRICS.includes(metric.name)) {
      throw invalid(where, `${prop}.templateRef`, metric.templateRef,
        `is required for '${metric.name}': only ${BUILTIN_METRICS.join(' and ')} are built in`);
    } else if (this.provider !== CanaryProvider.LINKERD) {
      throw invalid(where, `${prop}.templateRef`, metric.templateRef,
        `is required with provider ${this.provider}: its built-in '${metric.name}' queries http_request_duration_seconds, which Linkerd does not export`);
    }
    const range = metric.thresholdRange ?? {};
    if (range.min === undefined && range.max === undefined) {
      throw invalid(where, `${prop}.thresholdRange`, range, 'must set min, max or both');
    }
    if (range.min !== undefined) checkNumber(where, `${prop}.thresholdRange.min`, range.min, -Number.MAX_VALUE, Number.MAX_VALUE);
    if (range.max !== undefined) checkNumber(where, `${prop}.thresholdRange.max`, range.max, -Number.MAX_VALUE, Number.MAX_VALUE);
    if (range.min !== undefined && range.max !== undefined && range.min > range.max) {
      throw invalid(where, `${prop}.thresholdRange`, range, `min (${range.min}) must not exceed max (${range.max})`);
    }
    const entry: flagger.CanarySpecAnalysisMetrics = {
      name: metric.name,
      templateRef: metric.templateRef ? { ...metric.templateRef } : undefined,
      thresholdRange: { min: range.min, max: range.max },
      interval: goDuration(where, `${prop}.interval`, metric.interval ?? Duration.minutes(1)),
      templateVariables: metric.templateVariables ? { ...metric.templateVariables } : undefined,
    };
    this.metrics.push(entry);
    return entry;
  }

  /** Adds a webhook to the analysis. */
  public addWebhook(webhook: CanaryWebhook): flagger.CanarySpecAnalysisWebhooks {
    const where = this.where;
    const prop = `webhooks[${this.webhooks.length}]`;
    checkDnsSubdomain(where, `${prop}.name`, webhook.name);
    if (this.webhooks.some((w) => w.name === webhook.name)) {
      throw invalid(where, `${prop}.name`, webhook.name, 'must be unique among the Canary\'s webhooks');
    }
    const type = webhook.type ?? WebhookType.ROLLOUT;
    const types = Object.values(WebhookType) as string[];
    if (!types.includes(type)) {
      throw invalid(where, `${prop}.type`, type, `must be one of ${types.join(', ')}`);
    }
    checkHttpUrl(where, `${prop}.url`, webhook.url);
    if (webhook.retries !== undefined) checkInt(where, `${prop}.retries`, webhook.retries, 0, 100);
    for (const [key, value] of Object.entries(webhook.metadata ?? {})) {
      if (typeof value !== 'string') throw invalid(where, `${prop}.metadata.${key}`, value, 'must be a string');
    }
    const entry: flagger.CanarySpecAnalysisWebhooks = {
      name: webhook.name,
      type: type as string as flagger.CanarySpecAnalysisWebhooksType,
      url: webhook.url,
      timeout: webhook.timeout === undefined ? undefined : goDuration(where, `${prop}.timeout`, webhook.timeout),
      retries: webhook.retries,
      metadata: webhook.metadata ? { ...webhook.metadata } : undefined,
    };
    this.webhooks.push(entry);
    return entry;
  }

  private renderSpec(): flagger.CanarySpec {
    return {
      provider: this.provider as string as flagger.CanarySpecProvider,
      progressDeadlineSeconds: this.progressDeadlineSeconds,
      targetRef: { apiVersion: 'apps/v1', kind: flagger.CanarySpecTargetRefKind.DEPLOYMENT, name: this.targetName },
      service: {
        name: this.serviceName === this.targetName ? undefined : this.serviceName,
        port: this.port,
        targetPort: this.targetPort,
        gatewayRefs: this.gatewayRefs,
      },
      skipAnalysis: this.skipAnalysis,
      suspend: this.suspend,
      analysis: {
        interval: this.interval,
        threshold: this.threshold,
        ...this.steps,
        metrics: this.metrics.length ? [...this.metrics] : undefined,
        webhooks: this.webhooks.length ? [...this.webhooks] : undefined,
      },
    };
  }

  private resolveTargetPort(given: number | string | undefined, target: CanaryTarget | undefined): number | string {
    const where = this.where;
    if (typeof given === 'number') checkPort(where, 'targetPort', given);
    else if (typeof given === 'string') checkPortName(where, 'targetPort', given);
    else if (given !== undefined) throw invalid(where, 'targetPort', given, 'must be a port number or a port name');
    if (target === undefined) return given ?? this.port;
    if (given !== undefined && given !== target.port && given !== target.portName) {
      throw invalid(where, 'targetPort', given,
        `does not match target '${target.name}', whose container port is ${target.port} ('${target.portName}'): Flagger's Services would send traffic to a closed port`);
    }
    return given ?? target.port;
  }

  private resolveSteps(props: CanaryProps): Pick<flagger.CanarySpecAnalysis, 'maxWeight' | 'stepWeight' | 'stepWeights'> {
    const where = this.where;
    if (props.stepWeights !== undefined) {
      if (props.stepWeight !== undefined || props.maxWeight !== undefined) {
        throw invalid(where, 'stepWeights', props.stepWeights, 'cannot be combined with stepWeight or maxWeight: set one or the other');
      }
      if (!Array.isArray(props.stepWeights) || props.stepWeights.length === 0) {
        throw invalid(where, 'stepWeights', props.stepWeights, 'must list at least one weight');
      }
      const weights = props.stepWeights;
      weights.forEach((w, i) => {
        checkInt(where, `stepWeights[${i}]`, w, 1, 100);
        if (i > 0 && w <= weights[i - 1]) {
          throw invalid(where, 'stepWeights', weights, `must be strictly increasing (${w} after ${weights[i - 1]})`);
        }
      });
      return { stepWeights: [...weights] };
    }
    const maxWeight = props.maxWeight ?? 50;
    const stepWeight = props.stepWeight ?? 10;
    checkInt(where, 'maxWeight', maxWeight, 1, 100);
    checkInt(where, 'stepWeight', stepWeight, 1, 100);
    if (stepWeight > maxWeight) {
      throw invalid(where, 'stepWeight', stepWeight, `must not exceed maxWeight (${maxWeight})`);
    }
    return { maxWeight, stepWeight };
  }

  private resolveGatewayRefs(props: CanaryProps): flagger.CanarySpecServiceGatewayRefs[] | undefined {
    const where = this.where;
    if (this.provider === CanaryProvider.LINKERD) {
      if (props.gatewayRefs !== undefined) {
        throw invalid(where, 'gatewayRefs', props.gatewayRefs, `is only used by gatewayapi providers, not ${this.provider}`);
      }
      return undefined;
    }
    const refs = props.gatewayRefs ?? [{ name: this.serviceName }];
    if (!Array.isArray(refs) || refs.length === 0) {
      throw invalid(where, 'gatewayRefs', refs,
        `must list at least one parent with provider ${this.provider} (Flagger: "GatewayRefs must be specified when using Gateway API as a provider")`);
    }
    return refs.map((ref, i) => {
      checkDnsSubdomain(where, `gatewayRefs[${i}].name`, ref.name);
      const port = ref.port ?? this.port;
      checkPort(where, `gatewayRefs[${i}].port`, port);
      return {
        name: ref.name,
        namespace: ref.namespace ?? this.namespace,
        group: ref.group ?? 'core',
        kind: ref.kind ?? 'Service',
        port,
      };
    });
  }
}
