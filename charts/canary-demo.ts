import { Chart, ChartProps, Duration } from 'cdk8s';
import { Construct } from 'constructs';
import {
  AlertAddress, AlertProvider, AlertProviderType, AlertSeverity, Canary, CanaryAutoscaler, CanaryProvider, CanaryWatcherRbac, CanaryStrategy, CanaryTarget,
  CanaryWebhook, LinkerdMetricTemplates, LoadGenerator, LoadTester, LoadTestOptions, MeshAuthorization, MeshNamespace, MeshServiceAccount, PodSecurityLevel, RequestMatch, SessionAffinity,
  StrategyKind, StringMatch,
} from '../lib';
import { serviceProxyName } from '../lib/validate';

/** Release numbers the demo accepts: the image tags of cyrilbkr/testapp and testapi builds. */
const RELEASE = /^[0-9]+\.[0-9]+(\.[0-9]+)?$/;

/** The demo's own defaults (the library's are those of a real service). */
export const DEMO_DEFAULTS = {
  namespace: 'testapi',
  image: 'cyrilbkr/testapp',
  version: '1.0',
  appName: 'api',
  port: 3000,
  strategy: StrategyKind.CANARY,
  iterations: 10,
} as const;

/** The demo's A/B test, as in Flagger's tutorials: a header or a cookie picks the canary. */
export const DEMO_AB_MATCH: RequestMatch[] = [
  { headers: { 'x-canary': StringMatch.exact('insider') } },
  { cookies: { canary: 'always' } },
];

/** Alerts of the demo Canary. */
export interface DemoAlerts {
  /** Chat service. */
  readonly type: AlertProviderType;
  /** Where Flagger posts. */
  readonly address: AlertAddress;
  /**
   * Lowest severity sent.
   * @default AlertSeverity.INFO
   */
  readonly severity?: AlertSeverity;
}

/** Autoscaling of the demo API. */
export interface DemoAutoscaling {
  /** @default 2 */
  readonly minReplicas?: number;
  /** Most pods. */
  readonly maxReplicas: number;
}

/** Props for `CanaryDemo`: every analysis setting, so variants need no YAML edits. */
export interface CanaryDemoProps {
  /**
   * Namespace of the demo (created, Linkerd-injected).
   * @default 'testapi'
   */
  readonly namespace?: string;

  /**
   * Release of the API (`API_VERSION`): 1.0 and 2.0 answer 200, 3.0 answers 404.
   * @default '1.0'
   */
  readonly version?: string;

  /**
   * Image repository of the API, tagged with `version`.
   * @default 'cyrilbkr/testapp'
   */
  readonly image?: string;

  /**
   * Name of the API Deployment and of the Services Flagger creates for it.
   * @default 'api'
   */
  readonly appName?: string;

  /**
   * Port of the API and of its Services.
   * @default 3000
   */
  readonly port?: number;

  /**
   * HTTP liveness path, for images that serve one (testapi: '/healthz').
   * @default - TCP probe
   */
  readonly livenessPath?: string;

  /**
   * HTTP readiness path, for images that serve one (testapi: '/readyz').
   * @default - TCP probe
   */
  readonly readinessPath?: string;

  /**
   * Pod Security level labelled on the namespace.
   * @default - no Pod Security labels
   */
  readonly podSecurity?: PodSecurityLevel;

  /**
   * Traffic provider of the Canary.
   * @default CanaryProvider.GATEWAY_API_V1BETA1
   */
  readonly provider?: CanaryProvider;

  /**
   * Confirms that the mesh reports HTTPRoute observedGeneration (needed by
   * the gatewayapi:v1 provider; Linkerd does not yet).
   * @default false
   */
  readonly routeStatusReportsGeneration?: boolean;

  /**
   * Delivery strategy (`STRATEGY`): canary (weights, the seed's demo),
   * blue-green or ab-testing.
   * @default StrategyKind.CANARY
   */
  readonly strategy?: StrategyKind;

  /**
   * Checks before promotion, for blue-green and ab-testing.
   * @default 10
   */
  readonly iterations?: number;

  /**
   * Requests the A/B test sends to the canary.
   * @default DEMO_AB_MATCH: header `x-canary: insider` or cookie `canary=always`
   */
  readonly abMatch?: RequestMatch[];

  /**
   * Session affinity of the weighted canary: a client that reached the
   * canary once keeps reaching it.
   * @default - none
   */
  readonly sessionAffinity?: SessionAffinity;

  /**
   * An acceptance test before any traffic moves (pre-rollout webhook: the
   * load tester requests the canary and fails on an HTTP error). Off by
   * default, so that 3.0 is caught by the analysis, as in the demo.
   * @default false
   */
  readonly acceptanceTest?: boolean;

  /**
   * Alerts through an AlertProvider.
   * @default - none
   */
  readonly alerts?: DemoAlerts;

  /**
   * A HorizontalPodAutoscaler for the API; Flagger copies it for the primary.
   * @default - a fixed single replica
   */
  readonly autoscaling?: DemoAutoscaling;

  /**
   * Time between analysis checks.
   * @default Duration.minutes(1)
   */
  readonly interval?: Duration;

  /**
   * Failed checks before rollback.
   * @default 5
   */
  readonly threshold?: number;

  /**
   * Weight added per successful check (percent).
   * @default 10
   */
  readonly stepWeight?: number;

  /**
   * Highest canary weight before promotion (percent). 50 is Flagger's
   * tutorial value: promotion then copies the canary to the primary.
   * @default 50
   */
  readonly maxWeight?: number;

  /**
   * Explicit weights; when set, `stepWeight` and `maxWeight` are not used
   * (as in Flagger, where the last weight is the maximum).
   * @default - stepWeight steps up to maxWeight
   */
  readonly stepWeights?: number[];

  /**
   * Progress deadline of the target.
   * @default - Flagger's 600 seconds
   */
  readonly progressDeadline?: Duration;

  /**
   * Window of the metric queries.
   * @default Duration.minutes(1)
   */
  readonly metricInterval?: Duration;

  /**
   * Lowest accepted success rate (percent of non-5xx responses).
   * @default 99
   */
  readonly successRateMin?: number;

  /**
   * Check the percentage of 4xx responses: what rolls back 3.0, which Linkerd's
   * success rate counts as successful. Turn off only to show that trap.
   * @default true
   */
  readonly clientErrorCheck?: boolean;

  /**
   * Highest accepted percentage of 4xx responses.
   * @default 1
   */
  readonly clientErrorMax?: number;

  /**
   * Check the p99 latency.
   * @default true
   */
  readonly latencyCheck?: boolean;

  /**
   * Highest accepted p99 latency in milliseconds.
   * @default 500
   */
  readonly latencyMaxMs?: number;

  /**
   * Prometheus the metric templates query.
   * @default 'http://prometheus.linkerd-viz:9090'
   */
  readonly prometheusAddress?: string;

  /**
   * The rollout load test (`hey` against `<app>-canary`).
   * @default - 10 requests per second in total from 2 workers for 1m: `hey -z 1m -q 5 -c 2`
   */
  readonly loadTest?: LoadTestOptions;

  /**
   * Requests per second of the constant in-mesh load on the apex Service.
   * @default 10
   */
  readonly loadGeneratorQps?: number;

  /**
   * Hold promotion until the load tester's gate is opened (confirm-promotion).
   * @default false
   */
  readonly promotionGate?: boolean;

  /**
   * The promotion and rollback gates that `canary-watch promote` and `abort` open
   * (`LoadTester.addGates`). A promotion gate holds every rollout in
   * WaitingPromotion until it is opened.
   * @default false
   */
  readonly gates?: boolean;

  /**
   * A ServiceAccount with exactly what canary-watch needs for this Canary
   * (`CanaryWatcherRbac`): read the Canary and its events, read the metric
   * templates and query their Prometheus through the service proxy, and, with
   * `gates`, open the load tester's gates.
   * @default true
   */
  readonly watcherRbac?: boolean;

  /**
   * Least privilege on the mesh (`MeshAuthorization`): the api's port accepts
   * only meshed clients of the namespace (the load tester, the load generator)
   * and `meshClients`. Needs Linkerd 2.16 or later.
   * @default true
   */
  readonly meshAuthorization?: boolean;

  /**
   * ServiceAccounts of other namespaces whose meshed pods may call the api,
   * for example an ingress controller's.
   * @default - none
   */
  readonly meshClients?: MeshServiceAccount[];

  /**
   * Extra webhooks of the Canary.
   * @default - none
   */
  readonly webhooks?: CanaryWebhook[];
}

const STRATEGIES = Object.values(StrategyKind) as string[];

/** The Canary strategy of the demo props; weights apply to the weighted canary only. */
function demoStrategy(props: CanaryDemoProps): CanaryStrategy {
  const kind = props.strategy ?? DEMO_DEFAULTS.strategy;
  if (!STRATEGIES.includes(kind)) {
    throw new Error(`CanaryDemo: strategy (${JSON.stringify(kind)}) must be one of ${STRATEGIES.join(', ')}`);
  }
  const iterations = props.iterations ?? DEMO_DEFAULTS.iterations;
  switch (kind) {
    case StrategyKind.BLUE_GREEN:
      return CanaryStrategy.blueGreen({ iterations });
    case StrategyKind.AB_TESTING:
      return CanaryStrategy.abTesting({ iterations, match: props.abMatch ?? DEMO_AB_MATCH });
    default:
      // A preset may carry stepWeight/maxWeight; explicit weights take precedence here.
      return CanaryStrategy.canary({
        ...(props.stepWeights ? { stepWeights: props.stepWeights } : { stepWeight: props.stepWeight, maxWeight: props.maxWeight }),
        sessionAffinity: props.sessionAffinity,
      });
  }
}

/** Props for `DemoNamespaceChart`. */
export interface DemoNamespaceChartProps extends Omit<ChartProps, 'namespace'> {
  /**
   * Name of the namespace.
   * @default 'testapi'
   */
  readonly name?: string;

  /**
   * Pod Security level labelled on the namespace.
   * @default - no Pod Security labels
   */
  readonly podSecurity?: PodSecurityLevel;
}

/** The cluster-scoped part of the demo: the injected namespace, in a chart without a namespace. */
export class DemoNamespaceChart extends Chart {
  /** The namespace. */
  public readonly meshNamespace: MeshNamespace;

  public constructor(scope: Construct, id: string, props: DemoNamespaceChartProps = {}) {
    const { name, podSecurity, ...chartProps } = props;
    super(scope, id, chartProps);
    this.meshNamespace = new MeshNamespace(this, 'Namespace', { name: name ?? DEMO_DEFAULTS.namespace, podSecurity });
  }
}

/** The namespaced part of the demo: API, Canary, metric templates, load. */
export class DemoAppChart extends Chart {
  /** The API workload. */
  public readonly api: CanaryTarget;
  /** The Canary. */
  public readonly canary: Canary;
  /** The metric templates. */
  public readonly templates: LinkerdMetricTemplates;
  /** The load tester. */
  public readonly loadTester: LoadTester;
  /** The constant load. */
  public readonly loadGenerator: LoadGenerator;
  /** The autoscaler, when asked for. */
  public readonly autoscaler?: CanaryAutoscaler;
  /** The alert provider, when asked for. */
  public readonly alertProvider?: AlertProvider;
  /** The mesh authorization of the api's port (see `meshAuthorization`). */
  public readonly meshAuthorization?: MeshAuthorization;
  /** canary-watch's ServiceAccount and Roles (see `watcherRbac`). */
  public readonly watcherRbac?: CanaryWatcherRbac;

  public constructor(scope: Construct, id: string, props: CanaryDemoProps = {}) {
    super(scope, id, { namespace: props.namespace ?? DEMO_DEFAULTS.namespace });
    const version = props.version ?? DEMO_DEFAULTS.version;
    if (typeof version !== 'string' || !RELEASE.test(version)) {
      throw new Error(`CanaryDemo: version (${JSON.stringify(version)}) must be a release number such as 1.0, 2.0 or 3.0`);
    }

    this.api = new CanaryTarget(this, 'Api', {
      name: props.appName ?? DEMO_DEFAULTS.appName,
      image: props.image ?? DEMO_DEFAULTS.image,
      version,
      port: props.port ?? DEMO_DEFAULTS.port,
      livenessPath: props.livenessPath,
      readinessPath: props.readinessPath,
    });
    if (props.autoscaling) {
      this.autoscaler = new CanaryAutoscaler(this, 'Autoscaler', { target: this.api, ...props.autoscaling });
    }
    this.templates = new LinkerdMetricTemplates(this, 'MetricTemplates', { prometheusAddress: props.prometheusAddress });
    this.loadTester = new LoadTester(this, 'LoadTester');
    this.canary = new Canary(this, 'Canary', {
      target: this.api,
      provider: props.provider,
      routeStatusReportsGeneration: props.routeStatusReportsGeneration,
      interval: props.interval,
      threshold: props.threshold,
      strategy: demoStrategy(props),
      progressDeadline: props.progressDeadline,
      autoscaler: this.autoscaler,
    });
    if (props.alerts) {
      this.alertProvider = new AlertProvider(this, 'Alerts', { name: 'demo-alerts', type: props.alerts.type, address: props.alerts.address });
      this.canary.addAlert({ name: 'demo', provider: this.alertProvider, severity: props.alerts.severity });
    }
    if (props.acceptanceTest) this.loadTester.addAcceptanceTest(this.canary);

    const interval = props.metricInterval ?? Duration.minutes(1);
    this.canary.addMetric(this.templates.successRate({ min: props.successRateMin, interval }));
    if (props.clientErrorCheck ?? true) {
      this.canary.addMetric(this.templates.clientErrors({ max: props.clientErrorMax, interval }));
    }
    if (props.latencyCheck ?? true) {
      this.canary.addMetric(this.templates.latencyP99({ maxMs: props.latencyMaxMs, interval }));
    }
    this.loadTester.addLoadTest(this.canary, props.loadTest);
    if (props.gates) this.loadTester.addGates(this.canary);
    else if (props.promotionGate) this.loadTester.addPromotionGate(this.canary);
    if (props.meshAuthorization ?? true) {
      this.meshAuthorization = new MeshAuthorization(this, 'MeshAuthorization', { target: this.api, serviceAccounts: props.meshClients });
    } else if (props.meshClients) {
      throw new Error(`CanaryDemo: meshClients (${props.meshClients.length} accounts) needs meshAuthorization, which is off`);
    }
    if (props.watcherRbac ?? true) {
      this.watcherRbac = new CanaryWatcherRbac(this, 'WatcherRbac');
      this.watcherRbac.watchCanary(this.canary);
      // Metric values need Prometheus as a Service the API server can proxy to.
      if (serviceProxyName(this.templates.prometheusAddress)) {
        this.watcherRbac.allowMetrics({ prometheusAddress: this.templates.prometheusAddress });
      }
      if (props.gates) this.watcherRbac.allowGates(this.loadTester);
    }
    for (const webhook of props.webhooks ?? []) this.canary.addWebhook(webhook);

    this.loadGenerator = new LoadGenerator(this, 'LoadGenerator', { canary: this.canary, qps: props.loadGeneratorQps });
  }
}

/**
 * The whole demo as two charts: `<namespace>-namespace` and `<namespace>`,
 * which depends on it, so `cdk8s synth` writes them in apply order:
 * `dist/0000-<namespace>-namespace.k8s.yaml`, `dist/0001-<namespace>.k8s.yaml`.
 */
export class CanaryDemo {
  /** The namespace chart. */
  public readonly namespaceChart: DemoNamespaceChart;
  /** The application chart. */
  public readonly appChart: DemoAppChart;

  public constructor(app: Construct, props: CanaryDemoProps = {}) {
    const namespace = props.namespace ?? DEMO_DEFAULTS.namespace;
    this.namespaceChart = new DemoNamespaceChart(app, `${namespace}-namespace`, { name: namespace, podSecurity: props.podSecurity });
    this.appChart = new DemoAppChart(app, namespace, props);
    this.appChart.addDependency(this.namespaceChart);
  }
}
