import { Duration, Lazy } from 'cdk8s';
import { Construct } from 'constructs';
import * as flagger from '../imports/flagger.app';
import { AlertProvider } from './alert-provider';
import { CanaryAutoscaler } from './canary-autoscaler';
import { CanaryStrategy, CookieSameSite, SessionAffinity, StrategyKind, WeightedCanaryOptions } from './canary-strategy';
import { CanaryTarget } from './canary-target';
import { renderRequestMatches } from './render-match';
import {
  checkDnsLabel, checkDnsSubdomain, checkHeaderName, checkHeaderValue, checkHttpUrl, checkInt, checkLabelValue, checkNumber, checkPort, checkPortName, checkQualifiedName,
  claimUnique, goDuration, HTTP_TOKEN, invalid, wholeSeconds, resolveNamespace,
} from './validate';

/** Traffic providers for a Linkerd mesh. */
export enum CanaryProvider {
  /** Gateway API HTTPRoute, v1beta1: what Flagger's Linkerd install uses since Linkerd 2.14. */
  GATEWAY_API_V1BETA1 = 'gatewayapi:v1beta1',
  /**
   * Gateway API HTTPRoute, v1. Flagger 1.42 and later wait for the route's
   * `Accepted` condition to report its `observedGeneration`, which Linkerd's
   * policy controller does not set: refused unless `routeStatusReportsGeneration`.
   */
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
  /**
   * Send no alert when this webhook fails.
   * @default false
   */
  readonly muteAlert?: boolean;
  /**
   * Skip TLS verification of an https URL.
   * @default false
   */
  readonly disableTls?: boolean;
}

/** Severity of a Canary alert. */
export enum AlertSeverity {
  /** Every event: rollout started, advanced, promoted, failed. */
  INFO = 'info',
  /** Warnings and errors only. */
  WARN = 'warn',
  /** Failures only. */
  ERROR = 'error',
}

/** An alert of the analysis: Flagger posts events to an `AlertProvider`. */
export interface CanaryAlert {
  /** Name of the alert, unique within the Canary. */
  readonly name: string;
  /** Where the alerts go. */
  readonly provider: AlertProvider;
  /**
   * Lowest severity sent.
   * @default AlertSeverity.INFO
   */
  readonly severity?: AlertSeverity;
}

/** Header changes Flagger writes into the route (`service.headers`). */
export interface HeaderOperations {
  /**
   * Headers appended to those present.
   * @default - none
   */
  readonly add?: { readonly [name: string]: string };
  /**
   * Headers set, replacing those present.
   * @default - none
   */
  readonly set?: { readonly [name: string]: string };
  /**
   * Headers removed.
   * @default - none
   */
  readonly remove?: string[];
}

/** Request and response header changes of the route. */
export interface CanaryHeaders {
  /**
   * Changes to requests.
   * @default - none
   */
  readonly request?: HeaderOperations;
  /**
   * Changes to responses.
   * @default - none
   */
  readonly response?: HeaderOperations;
}

/** Labels and annotations Flagger puts on a Service it generates. */
export interface ServiceMetadata {
  /**
   * Labels.
   * @default - none
   */
  readonly labels?: { readonly [key: string]: string };
  /**
   * Annotations.
   * @default - none
   */
  readonly annotations?: { readonly [key: string]: string };
}

/** Bounds of the primary's autoscaler, when they differ from the target's. */
export interface ScalerReplicas {
  /**
   * Fewest primary pods.
   * @default - the target autoscaler's minReplicas
   */
  readonly minReplicas?: number;
  /**
   * Most primary pods.
   * @default - the target autoscaler's maxReplicas
   */
  readonly maxReplicas?: number;
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
   * How traffic moves to a new revision: `CanaryStrategy.canary()`,
   * `.blueGreen()` or `.abTesting()`.
   * @default - a weighted canary from `stepWeight`/`maxWeight`/`stepWeights`
   */
  readonly strategy?: CanaryStrategy;

  /**
   * Highest canary weight (percent) before promotion; shorthand for
   * `CanaryStrategy.canary({ maxWeight })`, not combined with `strategy`.
   * @default 50
   */
  readonly maxWeight?: number;

  /**
   * Weight (percent) added at each successful check; shorthand for
   * `CanaryStrategy.canary({ stepWeight })`, not combined with `strategy`.
   * @default 10
   */
  readonly stepWeight?: number;

  /**
   * Explicit, strictly increasing weights (percent), instead of `stepWeight`
   * and `maxWeight`; shorthand for `CanaryStrategy.canary({ stepWeights })`.
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

  /**
   * Alerts; more with `addAlert()`.
   * @default - none
   */
  readonly alerts?: CanaryAlert[];

  /**
   * The target's autoscaler (`spec.autoscalerRef`): Flagger copies it as
   * `<name>-primary` for the primary. It must scale this Canary's target.
   * @default - none, unless `autoscalerName` is set
   */
  readonly autoscaler?: CanaryAutoscaler;

  /**
   * Name of an autoscaling/v2 HorizontalPodAutoscaler of the target defined
   * elsewhere, instead of `autoscaler`.
   * @default - none
   */
  readonly autoscalerName?: string;

  /**
   * Bounds of the primary's autoscaler, when they differ from the target's.
   * @default - those of the target's autoscaler
   */
  readonly primaryScalerReplicas?: ScalerReplicas;

  /**
   * On deletion of the Canary, give the target its traffic back and delete
   * the primary (Flagger's `revertOnDeletion`).
   * @default false
   */
  readonly revertOnDeletion?: boolean;

  /**
   * Percentage of primary pods that must be ready before the analysis goes on.
   * @default - Flagger's 100
   */
  readonly primaryReadyThreshold?: number;

  /**
   * Percentage of canary pods that must be ready before the analysis goes on.
   * @default - Flagger's 100
   */
  readonly canaryReadyThreshold?: number;

  /**
   * Name of the port of the generated Services.
   * @default - Flagger's 'http'
   */
  readonly portName?: string;

  /**
   * `appProtocol` of the generated Services' port (for example `http`, `kubernetes.io/h2c`).
   * @default - none
   */
  readonly appProtocol?: string;

  /**
   * Add every container port of the target to the generated Services.
   * @default false
   */
  readonly portDiscovery?: boolean;

  /**
   * Header changes written into the route (Gateway API providers only: the
   * SMI TrafficSplit has no filters).
   * @default - none
   */
  readonly headers?: CanaryHeaders;

  /**
   * Request timeout written into the route. Only Flagger's `gatewayapi:v1`
   * router writes it (v1.44.0 pkg/router/gateway_api.go makeHTTPRouteTimeouts);
   * the others ignore it, so it is refused with them.
   * @default - none
   */
  readonly timeout?: Duration;

  /**
   * Labels and annotations of the apex Service (and of the route).
   * @default - none
   */
  readonly apexMetadata?: ServiceMetadata;

  /**
   * Labels and annotations of the `<name>-primary` Service.
   * @default - none
   */
  readonly primaryMetadata?: ServiceMetadata;

  /**
   * Labels and annotations of the `<name>-canary` Service.
   * @default - none
   */
  readonly canaryMetadata?: ServiceMetadata;

  /**
   * Confirms that the mesh reports HTTPRoute status with `observedGeneration`,
   * which the `gatewayapi:v1` provider waits for (Flagger 1.42 and later,
   * v1.44.0 pkg/router/gateway_api.go GetRoutes). Linkerd's policy controller
   * writes the `Accepted` condition without it (linkerd2
   * policy-controller/k8s/status/src/index.rs, edge-26.8; linkerd/linkerd2#14964,
   * fix pending in #15490), so on Linkerd such a canary never advances.
   * @default false
   */
  readonly routeStatusReportsGeneration?: boolean;
}

const BUILTIN_METRICS = ['request-success-rate', 'request-duration'];
// Printable ASCII without spaces or semicolons (RFC 6265 attribute values).
const COOKIE_ATTRIBUTE = /^[\x21-\x3a\x3c-\x7e]+$/;
// Kubernetes ServicePort.appProtocol: an IANA service name or a domain-prefixed name.
const APP_PROTOCOL = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;


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
  /** The delivery strategy (`strategy.kind` tells which). */
  public readonly strategy: CanaryStrategy;
  /** The generated Flagger ApiObject. */
  public readonly resource: flagger.Canary;

  private readonly where: string;
  private readonly targetPort: number | string;
  private readonly interval: string;
  private readonly threshold: number;
  private readonly progressDeadlineSeconds?: number;
  private readonly strategyFields: Partial<flagger.CanarySpecAnalysis>;
  private readonly gatewayRefs?: flagger.CanarySpecServiceGatewayRefs[];
  private readonly specExtras: Partial<flagger.CanarySpec>;
  private readonly serviceExtras: Partial<flagger.CanarySpecService>;
  private readonly analysisExtras: Partial<flagger.CanarySpecAnalysis>;
  private readonly skipAnalysis?: boolean;
  private readonly suspend?: boolean;
  private readonly metrics: flagger.CanarySpecAnalysisMetrics[] = [];
  private readonly webhooks: flagger.CanarySpecAnalysisWebhooks[] = [];
  private readonly alerts: flagger.CanarySpecAnalysisAlerts[] = [];

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

    const namespace = resolveNamespace(this, where, props.namespace,
      'must be set, on the Canary or on its chart: the load test and gatewayRefs need it');
    this.namespace = namespace;

    this.provider = props.provider ?? CanaryProvider.GATEWAY_API_V1BETA1;
    const providers = Object.values(CanaryProvider) as string[];
    if (!providers.includes(this.provider)) {
      throw invalid(where, 'provider', this.provider, `must be one of ${providers.join(', ')}`);
    }
    if (this.provider === CanaryProvider.GATEWAY_API_V1 && props.routeStatusReportsGeneration !== true) {
      throw invalid(where, 'provider', this.provider,
        'stalls on Linkerd: Flagger 1.42+ waits for the HTTPRoute\'s Accepted condition to report observedGeneration '
        + '(fluxcd/flagger v1.44.0 pkg/router/gateway_api.go GetRoutes), which Linkerd\'s policy controller does not set '
        + '(linkerd/linkerd2#14964); use gatewayapi:v1beta1, or set routeStatusReportsGeneration once your mesh sets it');
    }

    this.interval = goDuration(where, 'interval', props.interval ?? Duration.minutes(1));
    this.threshold = props.threshold ?? 5;
    checkInt(where, 'threshold', this.threshold, 1, 1000);
    this.progressDeadlineSeconds = props.progressDeadline === undefined
      ? undefined : wholeSeconds(where, 'progressDeadline', props.progressDeadline);
    this.strategy = this.resolveStrategy(props);
    this.strategyFields = this.renderStrategy(this.strategy);
    this.gatewayRefs = this.resolveGatewayRefs(props);
    this.serviceExtras = this.resolveServiceExtras(props);
    this.specExtras = { ...this.resolveAutoscaler(props, target), revertOnDeletion: props.revertOnDeletion };
    this.analysisExtras = {
      primaryReadyThreshold: this.readyThreshold('primaryReadyThreshold', props.primaryReadyThreshold),
      canaryReadyThreshold: this.readyThreshold('canaryReadyThreshold', props.canaryReadyThreshold),
    };
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
    for (const alert of props.alerts ?? []) this.addAlert(alert);
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
    const prop = this.claimEntryName('metrics', this.metrics, metric.name);
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
    const prop = this.claimEntryName('webhooks', this.webhooks, webhook.name);
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
      muteAlert: webhook.muteAlert,
      disableTls: webhook.disableTls,
    };
    if (webhook.disableTls && !webhook.url.startsWith('https:')) {
      throw invalid(where, `${prop}.disableTls`, webhook.disableTls, `only applies to an https URL, not '${webhook.url}'`);
    }
    this.webhooks.push(entry);
    return entry;
  }

  /** Adds an alert: Flagger posts the Canary's events of at least `severity` to the provider. */
  public addAlert(alert: CanaryAlert): flagger.CanarySpecAnalysisAlerts {
    const where = this.where;
    const prop = this.claimEntryName('alerts', this.alerts, alert.name);
    const provider = alert.provider;
    if (!(provider instanceof AlertProvider)) {
      throw invalid(where, `${prop}.provider`, provider, 'must be an AlertProvider: without one Flagger has nowhere to send the alert');
    }
    const severity = alert.severity ?? AlertSeverity.INFO;
    const severities = Object.values(AlertSeverity) as string[];
    if (!severities.includes(severity)) throw invalid(where, `${prop}.severity`, severity, `must be one of ${severities.join(', ')}`);
    const entry: flagger.CanarySpecAnalysisAlerts = {
      name: alert.name,
      severity: severity as string as flagger.CanarySpecAnalysisAlertsSeverity,
      providerRef: { name: provider.name, namespace: provider.namespace },
    };
    this.alerts.push(entry);
    return entry;
  }

  private renderSpec(): flagger.CanarySpec {
    return {
      provider: this.provider as string as flagger.CanarySpecProvider,
      progressDeadlineSeconds: this.progressDeadlineSeconds,
      targetRef: { apiVersion: 'apps/v1', kind: flagger.CanarySpecTargetRefKind.DEPLOYMENT, name: this.targetName },
      ...this.specExtras,
      service: {
        name: this.serviceName === this.targetName ? undefined : this.serviceName,
        port: this.port,
        targetPort: this.targetPort,
        ...this.serviceExtras,
        gatewayRefs: this.gatewayRefs,
      },
      skipAnalysis: this.skipAnalysis,
      suspend: this.suspend,
      analysis: {
        interval: this.interval,
        threshold: this.threshold,
        ...this.strategyFields,
        ...this.analysisExtras,
        alerts: this.alerts.length ? [...this.alerts] : undefined,
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

  /** Checks the name of a new list entry (unique in its list) and returns the entry's prop path. */
  private claimEntryName(list: string, entries: ReadonlyArray<{ readonly name: string }>, name: string): string {
    const prop = `${list}[${entries.length}]`;
    checkDnsSubdomain(this.where, `${prop}.name`, name);
    if (entries.some((e) => e.name === name)) {
      throw invalid(this.where, `${prop}.name`, name, `must be unique among the Canary's ${list}`);
    }
    return prop;
  }

  private get isGatewayApi(): boolean {
    return this.provider !== CanaryProvider.LINKERD;
  }

  /** Refuses what the provider's Flagger router cannot do, with the reason. */
  private requireGatewayApi(prop: string, value: unknown, what: string): void {
    if (!this.isGatewayApi) {
      throw invalid(this.where, prop, value,
        `needs a Gateway API provider: with ${this.provider} Flagger writes an SMI TrafficSplit, which has no ${what} `
        + '(fluxcd/flagger v1.44.0 pkg/router/smi.go)');
    }
  }

  private resolveStrategy(props: CanaryProps): CanaryStrategy {
    const shorthand = props.stepWeight !== undefined || props.maxWeight !== undefined || props.stepWeights !== undefined;
    if (props.strategy === undefined) {
      return CanaryStrategy.canary({ stepWeight: props.stepWeight, maxWeight: props.maxWeight, stepWeights: props.stepWeights });
    }
    if (!(props.strategy instanceof CanaryStrategy)) {
      throw invalid(this.where, 'strategy', props.strategy, 'must come from CanaryStrategy.canary(), .blueGreen() or .abTesting()');
    }
    if (shorthand) {
      throw invalid(this.where, 'strategy', props.strategy.kind,
        'cannot be combined with stepWeight, maxWeight or stepWeights: give the weights to CanaryStrategy.canary()');
    }
    return props.strategy;
  }

  private renderStrategy(strategy: CanaryStrategy): Partial<flagger.CanarySpecAnalysis> {
    switch (strategy.kind) {
      case StrategyKind.BLUE_GREEN: {
        const options = strategy.blueGreenOptions ?? {};
        if (options.mirror) {
          throw invalid(this.where, 'strategy.mirror', options.mirror,
            'is not possible on Linkerd: its policy controller refuses RequestMirror route filters '
            + '(linkerd2 policy-controller/k8s/index/src/outbound/index/http.rs) and SMI cannot mirror');
        }
        return { iterations: this.iterations(options.iterations) };
      }
      case StrategyKind.AB_TESTING: {
        const options = strategy.abTestingOptions ?? ({} as never);
        this.requireGatewayApi('strategy', strategy.kind, 'request matching (analysis.match)');
        return { iterations: this.iterations(options.iterations), match: renderRequestMatches(this.where, 'strategy.match', options.match) };
      }
      default:
        return this.renderWeights(strategy.canaryOptions ?? {});
    }
  }

  private iterations(given: number | undefined): number {
    const iterations = given ?? 10;
    checkInt(this.where, 'strategy.iterations', iterations, 1, 10_000);
    return iterations;
  }

  private renderWeights(options: WeightedCanaryOptions): Partial<flagger.CanarySpecAnalysis> {
    const where = this.where;
    const promotion = options.stepWeightPromotion;
    if (promotion !== undefined) checkInt(where, 'stepWeightPromotion', promotion, 1, 100);
    const sessionAffinity = options.sessionAffinity === undefined ? undefined : this.renderSessionAffinity(options.sessionAffinity);
    const extras = { stepWeightPromotion: promotion, sessionAffinity };
    if (options.stepWeights !== undefined) {
      if (options.stepWeight !== undefined || options.maxWeight !== undefined) {
        throw invalid(where, 'stepWeights', options.stepWeights, 'cannot be combined with stepWeight or maxWeight: set one or the other');
      }
      if (!Array.isArray(options.stepWeights) || options.stepWeights.length === 0) {
        throw invalid(where, 'stepWeights', options.stepWeights, 'must list at least one weight');
      }
      const weights = options.stepWeights;
      weights.forEach((w, i) => {
        checkInt(where, `stepWeights[${i}]`, w, 1, 100);
        if (i > 0 && w <= weights[i - 1]) {
          throw invalid(where, 'stepWeights', weights, `must be strictly increasing (${w} after ${weights[i - 1]})`);
        }
      });
      return { stepWeights: [...weights], ...extras };
    }
    const maxWeight = options.maxWeight ?? 50;
    const stepWeight = options.stepWeight ?? 10;
    checkInt(where, 'maxWeight', maxWeight, 1, 100);
    checkInt(where, 'stepWeight', stepWeight, 1, 100);
    if (stepWeight > maxWeight) {
      throw invalid(where, 'stepWeight', stepWeight, `must not exceed maxWeight (${maxWeight})`);
    }
    return { maxWeight, stepWeight, ...extras };
  }

  private renderSessionAffinity(affinity: SessionAffinity): flagger.CanarySpecAnalysisSessionAffinity {
    const where = this.where;
    this.requireGatewayApi('sessionAffinity', affinity, 'header filters to set the affinity cookie');
    const cookieName = affinity?.cookieName;
    if (typeof cookieName !== 'string' || !HTTP_TOKEN.test(cookieName)) {
      throw invalid(where, 'sessionAffinity.cookieName', cookieName, 'must be a cookie name (RFC 6265 token: letters, digits and !#$%&\'*+.^_`|~-)');
    }
    if (affinity.primaryCookieName !== undefined) {
      if (this.provider !== CanaryProvider.GATEWAY_API_V1) {
        throw invalid(where, 'sessionAffinity.primaryCookieName', affinity.primaryCookieName,
          `is only written by Flagger's gatewayapi:v1 router, not ${this.provider} (v1.44.0 pkg/router/gateway_api_v1beta1.go never reads it)`);
      }
      if (!HTTP_TOKEN.test(affinity.primaryCookieName) || affinity.primaryCookieName === cookieName) {
        throw invalid(where, 'sessionAffinity.primaryCookieName', affinity.primaryCookieName, 'must be a cookie name other than cookieName');
      }
    }
    for (const [prop, value] of [['domain', affinity.domain], ['path', affinity.path]] as const) {
      if (value !== undefined && (typeof value !== 'string' || !COOKIE_ATTRIBUTE.test(value))) {
        throw invalid(where, `sessionAffinity.${prop}`, value, 'must be a non-empty cookie attribute without spaces, semicolons or control characters');
      }
    }
    if (affinity.sameSite !== undefined && !(Object.values(CookieSameSite) as string[]).includes(affinity.sameSite)) {
      throw invalid(where, 'sessionAffinity.sameSite', affinity.sameSite, `must be one of ${Object.values(CookieSameSite).join(', ')}`);
    }
    if (affinity.sameSite === CookieSameSite.NONE && !affinity.secure) {
      throw invalid(where, 'sessionAffinity.sameSite', affinity.sameSite, 'needs secure: browsers drop SameSite=None cookies that are not Secure');
    }
    return {
      cookieName,
      primaryCookieName: affinity.primaryCookieName,
      maxAge: affinity.maxAge === undefined ? undefined : wholeSeconds(where, 'sessionAffinity.maxAge', affinity.maxAge),
      domain: affinity.domain,
      path: affinity.path,
      httpOnly: affinity.httpOnly,
      secure: affinity.secure,
      partitioned: affinity.partitioned,
      sameSite: affinity.sameSite as string as flagger.CanarySpecAnalysisSessionAffinitySameSite | undefined,
    };
  }

  private resolveServiceExtras(props: CanaryProps): Partial<flagger.CanarySpecService> {
    const where = this.where;
    if (props.portName !== undefined) checkPortName(where, 'portName', props.portName);
    if (props.appProtocol !== undefined && (typeof props.appProtocol !== 'string' || !APP_PROTOCOL.test(props.appProtocol))) {
      throw invalid(where, 'appProtocol', props.appProtocol, 'must be an IANA service name or a prefixed name such as kubernetes.io/h2c');
    }
    let timeout: string | undefined;
    if (props.timeout !== undefined) {
      if (this.provider !== CanaryProvider.GATEWAY_API_V1) {
        throw invalid(where, 'timeout', props.timeout,
          `is ignored by Flagger's ${this.provider} router: only gatewayapi:v1 writes route timeouts (v1.44.0 pkg/router/gateway_api.go makeHTTPRouteTimeouts)`);
      }
      timeout = goDuration(where, 'timeout', props.timeout);
    }
    let headers: flagger.CanarySpecServiceHeaders | undefined;
    if (props.headers !== undefined) {
      this.requireGatewayApi('headers', props.headers, 'header filters');
      headers = { request: this.headerOperations('headers.request', props.headers.request), response: this.headerOperations('headers.response', props.headers.response) };
      if (!headers.request && !headers.response) throw invalid(where, 'headers', props.headers, 'must change request or response headers');
    }
    return {
      portName: props.portName,
      appProtocol: props.appProtocol,
      portDiscovery: props.portDiscovery,
      timeout,
      headers,
      apex: this.serviceMetadata('apexMetadata', props.apexMetadata),
      primary: this.serviceMetadata('primaryMetadata', props.primaryMetadata),
      canary: this.serviceMetadata('canaryMetadata', props.canaryMetadata),
    };
  }

  private headerOperations(prop: string, ops: HeaderOperations | undefined): flagger.CanarySpecServiceHeadersRequest | undefined {
    if (ops === undefined) return undefined;
    const where = this.where;
    for (const key of ['add', 'set'] as const) {
      for (const [name, value] of Object.entries(ops[key] ?? {})) {
        checkHeaderName(where, `${prop}.${key}`, name);
        checkHeaderValue(where, `${prop}.${key}.${name}`, value);
      }
    }
    for (const name of ops.remove ?? []) checkHeaderName(where, `${prop}.remove`, name);
    const empty = Object.keys(ops.add ?? {}).length + Object.keys(ops.set ?? {}).length + (ops.remove ?? []).length === 0;
    if (empty) return undefined;
    return { add: ops.add ? { ...ops.add } : undefined, set: ops.set ? { ...ops.set } : undefined, remove: ops.remove ? [...ops.remove] : undefined };
  }

  private serviceMetadata(prop: string, metadata: ServiceMetadata | undefined): flagger.CanarySpecServiceApex | undefined {
    if (metadata === undefined) return undefined;
    for (const [key, value] of Object.entries(metadata.labels ?? {})) {
      checkQualifiedName(this.where, `${prop}.labels`, key);
      checkLabelValue(this.where, `${prop}.labels.${key}`, value);
    }
    for (const [key, value] of Object.entries(metadata.annotations ?? {})) {
      checkQualifiedName(this.where, `${prop}.annotations`, key);
      if (typeof value !== 'string') throw invalid(this.where, `${prop}.annotations.${key}`, value, 'must be a string');
    }
    return {
      labels: metadata.labels ? { ...metadata.labels } : undefined,
      annotations: metadata.annotations ? { ...metadata.annotations } : undefined,
    };
  }

  private readyThreshold(prop: string, value: number | undefined): number | undefined {
    if (value !== undefined) checkInt(this.where, prop, value, 1, 100);
    return value;
  }

  private resolveAutoscaler(props: CanaryProps, target: CanaryTarget | undefined): Partial<flagger.CanarySpec> {
    const where = this.where;
    const { autoscaler, autoscalerName, primaryScalerReplicas } = props;
    if (autoscaler !== undefined && autoscalerName !== undefined) {
      throw invalid(where, 'autoscalerName', autoscalerName, 'cannot be combined with autoscaler: the autoscaler names itself');
    }
    let name = autoscalerName;
    if (autoscaler !== undefined) {
      if (!(autoscaler instanceof CanaryAutoscaler)) throw invalid(where, 'autoscaler', autoscaler, 'must be a CanaryAutoscaler');
      if (autoscaler.target.name !== this.targetName || (target !== undefined && autoscaler.target !== target)) {
        throw invalid(where, 'autoscaler', autoscaler.name,
          `scales '${autoscaler.target.name}', not this Canary's target '${this.targetName}'`);
      }
      name = autoscaler.name;
    } else if (name !== undefined) {
      checkDnsLabel(where, 'autoscalerName', name, 63 - '-primary'.length);
    }
    if (name === undefined) {
      if (primaryScalerReplicas !== undefined) {
        throw invalid(where, 'primaryScalerReplicas', primaryScalerReplicas, 'needs autoscaler or autoscalerName: there is no autoscaler to copy');
      }
      return {};
    }
    let replicas: flagger.CanarySpecAutoscalerRefPrimaryScalerReplicas | undefined;
    if (primaryScalerReplicas !== undefined) {
      const { minReplicas, maxReplicas } = primaryScalerReplicas;
      if (minReplicas === undefined && maxReplicas === undefined) {
        throw invalid(where, 'primaryScalerReplicas', primaryScalerReplicas, 'must set minReplicas, maxReplicas or both');
      }
      if (minReplicas !== undefined) checkInt(where, 'primaryScalerReplicas.minReplicas', minReplicas, 1, 1000);
      if (maxReplicas !== undefined) checkInt(where, 'primaryScalerReplicas.maxReplicas', maxReplicas, 1, 1000);
      const min = minReplicas ?? autoscaler?.minReplicas;
      const max = maxReplicas ?? autoscaler?.maxReplicas;
      if (min !== undefined && max !== undefined && min > max) {
        throw invalid(where, 'primaryScalerReplicas', primaryScalerReplicas, `minReplicas (${min}) must not exceed maxReplicas (${max})`);
      }
      replicas = { minReplicas, maxReplicas };
    }
    return {
      autoscalerRef: {
        apiVersion: 'autoscaling/v2',
        kind: flagger.CanarySpecAutoscalerRefKind.HORIZONTAL_POD_AUTOSCALER,
        name,
        primaryScalerReplicas: replicas,
      },
    };
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
