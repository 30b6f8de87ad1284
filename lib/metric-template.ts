import { Duration } from 'cdk8s';
import { Construct } from 'constructs';
import * as flagger from '../imports/flagger.app';
import { CanaryMetric } from './canary';
import { checkDnsSubdomain, checkHttpUrl, checkNumber, claimUnique, goDuration, invalid, resolveNamespace } from './validate';

/** Options of `MetricProvider.prometheus()`. */
export interface PrometheusProviderOptions {
  /** Base URL of the Prometheus HTTP API (Flagger queries `<address>/api/v1/query`). */
  readonly address: string;
  /**
   * Secret with the key `token` (bearer token) or the keys `username` and `password` (basic auth).
   * @default - no authentication
   */
  readonly secretName?: string;
  /**
   * Headers sent with every query, such as `X-Scope-OrgID` for Mimir or Cortex.
   * They are written into the manifest: credentials belong in the Secret.
   * @default - none
   */
  readonly headers?: { [name: string]: string };
  /**
   * Skip verification of the server's TLS certificate.
   * @default false
   */
  readonly insecureSkipVerify?: boolean;
}

/** Options of `MetricProvider.graphite()`. */
export interface GraphiteProviderOptions {
  /** Base URL of the Graphite render API. */
  readonly address: string;
  /**
   * Secret with the keys `username` and `password` (basic auth).
   * @default - no authentication
   */
  readonly secretName?: string;
  /**
   * Skip verification of the server's TLS certificate.
   * @default false
   */
  readonly insecureSkipVerify?: boolean;
}

/** Options of `MetricProvider.influxDb()`. */
export interface InfluxDbProviderOptions {
  /** URL of the InfluxDB 2 server (queries are Flux). */
  readonly address: string;
  /**
   * Secret with the keys `token` and `org`.
   * @default - no authentication
   */
  readonly secretName?: string;
}

/** Options of `MetricProvider.datadog()`. */
export interface DatadogProviderOptions {
  /** Secret with the keys `datadog_api_key` and `datadog_application_key`. */
  readonly secretName: string;
  /**
   * Datadog API URL, without a trailing '/' (Flagger appends `/api/v1/query`).
   * @default - Flagger's 'https://api.datadoghq.com'
   */
  readonly address?: string;
}

/** Options of `MetricProvider.newRelic()`. */
export interface NewRelicProviderOptions {
  /** Secret with the keys `newrelic_account_id` and `newrelic_query_key`. */
  readonly secretName: string;
  /**
   * Insights API URL, without a trailing '/' (Flagger appends `/v1/accounts/<id>/query`).
   * @default - Flagger's 'https://insights-api.newrelic.com'
   */
  readonly address?: string;
}

/** Options of `MetricProvider.dynatrace()`. */
export interface DynatraceProviderOptions {
  /** Environment URL such as 'https://abc123.live.dynatrace.com', without a trailing '/' (Flagger appends `/api/v2/metrics/query`). */
  readonly address: string;
  /** Secret with the key `dynatrace_token`. */
  readonly secretName: string;
}

/** Options of `MetricProvider.splunk()`. */
export interface SplunkProviderOptions {
  /**
   * Splunk Observability API URL, 'https://api.<realm>.signalfx.com', without a
   * trailing '/' (Flagger derives the `wss://stream.<realm>` SignalFlow endpoint from it).
   */
  readonly address: string;
  /** Secret with the key `sf_token_key`. */
  readonly secretName: string;
}

/** Options of `MetricProvider.stackdriver()`. */
export interface StackdriverProviderOptions {
  /**
   * Secret with the key `project` (the Google Cloud project id) and, without
   * Workload Identity, `serviceAccountKey` (a JSON key).
   */
  readonly secretName: string;
}

/** Options of `MetricProvider.cloudWatch()`. */
export interface CloudWatchProviderOptions {
  /** AWS region of the metrics, such as 'eu-west-1'. Flagger uses its own AWS credentials (IAM `cloudwatch:GetMetricData`). */
  readonly region: string;
}

/** Options of `MetricProvider.externalMetrics()`. */
export interface ExternalMetricsProviderOptions {
  /**
   * URL of the server of the Kubernetes External Metrics API.
   * @default - the Kubernetes API server Flagger talks to
   */
  readonly address?: string;
  /**
   * Secret with the key `token` (bearer token).
   * @default - Flagger's own service account
   */
  readonly secretName?: string;
  /**
   * Skip verification of the server's TLS certificate.
   * @default false
   */
  readonly insecureSkipVerify?: boolean;
}

/** Every field a provider may carry (the union of the options above). */
interface ProviderFields {
  readonly address?: string;
  readonly secretName?: string;
  readonly headers?: { [name: string]: string };
  readonly insecureSkipVerify?: boolean;
  readonly region?: string;
}

/**
 * The metrics backend of a MetricTemplate, one factory per provider type of
 * Flagger v1.44.0's CRD. Any Secret must be in the template's namespace:
 * Flagger reads it there (pkg/controller/scheduler_metrics.go).
 */
export class MetricProvider {
  /** Prometheus (PromQL). */
  public static prometheus(options: PrometheusProviderOptions): MetricProvider {
    return new MetricProvider(flagger.MetricTemplateSpecProviderType.PROMETHEUS, options);
  }

  /** Graphite (render API targets). */
  public static graphite(options: GraphiteProviderOptions): MetricProvider {
    return new MetricProvider(flagger.MetricTemplateSpecProviderType.GRAPHITE, options);
  }

  /** InfluxDB 2 (Flux). */
  public static influxDb(options: InfluxDbProviderOptions): MetricProvider {
    return new MetricProvider(flagger.MetricTemplateSpecProviderType.INFLUXDB, options);
  }

  /** Datadog (metric queries). */
  public static datadog(options: DatadogProviderOptions): MetricProvider {
    return new MetricProvider(flagger.MetricTemplateSpecProviderType.DATADOG, options);
  }

  /** New Relic Insights (NRQL). */
  public static newRelic(options: NewRelicProviderOptions): MetricProvider {
    return new MetricProvider(flagger.MetricTemplateSpecProviderType.NEWRELIC, options);
  }

  /** Dynatrace (metric selectors, API v2). */
  public static dynatrace(options: DynatraceProviderOptions): MetricProvider {
    return new MetricProvider(flagger.MetricTemplateSpecProviderType.DYNATRACE, options);
  }

  /** Splunk Observability (SignalFlow). */
  public static splunk(options: SplunkProviderOptions): MetricProvider {
    return new MetricProvider(flagger.MetricTemplateSpecProviderType.SPLUNK, options);
  }

  /** Google Cloud Monitoring (MQL). */
  public static stackdriver(options: StackdriverProviderOptions): MetricProvider {
    return new MetricProvider(flagger.MetricTemplateSpecProviderType.STACKDRIVER, options);
  }

  /** Amazon CloudWatch (GetMetricData queries as JSON). */
  public static cloudWatch(options: CloudWatchProviderOptions): MetricProvider {
    return new MetricProvider(flagger.MetricTemplateSpecProviderType.CLOUDWATCH, options);
  }

  /** Kubernetes External Metrics API (query `<namespace>/<metric>?labelSelector=<selector>`). */
  public static externalMetrics(options: ExternalMetricsProviderOptions = {}): MetricProvider {
    return new MetricProvider(flagger.MetricTemplateSpecProviderType.EXTERNALMETRICS, options);
  }

  /** Keptn KeptnMetrics and Analyses (query `<keptnmetric|analysis>/<namespace>/<name>[/<timeframe>/<args>]`). */
  public static keptn(): MetricProvider {
    return new MetricProvider(flagger.MetricTemplateSpecProviderType.KEPTN, {});
  }

  /** Provider type. */
  public readonly type: flagger.MetricTemplateSpecProviderType;
  /** API address, when the provider takes one. */
  public readonly address?: string;
  /** Name of the Secret with the credentials, if any. */
  public readonly secretName?: string;
  /** Headers sent with each query (Prometheus only). */
  public readonly headers?: { [name: string]: string };
  /** Whether TLS verification is skipped. */
  public readonly insecureSkipVerify?: boolean;
  /** AWS region (CloudWatch only). */
  public readonly region?: string;

  private constructor(type: flagger.MetricTemplateSpecProviderType, fields: ProviderFields) {
    this.type = type;
    this.address = fields.address;
    this.secretName = fields.secretName;
    this.headers = fields.headers;
    this.insecureSkipVerify = fields.insecureSkipVerify;
    this.region = fields.region;
  }
}

/** What Flagger v1.44.0 reads of one provider type (pkg/metrics/providers/<type>.go). */
interface ProviderRule {
  /** The address: required, optional (with Flagger's default), or never read. */
  readonly address: 'required' | 'optional' | 'unused';
  /** Path Flagger appends to the address as a string, so a trailing '/' doubles the slash. */
  readonly appendsPath?: string;
  /** The Secret: required (Flagger reads credentials only through secretRef), optional, or never read. */
  readonly secret: 'required' | 'optional' | 'unused';
  /** The Secret's keys, for messages. */
  readonly secretKeys?: string;
  /** Other fields the provider reads. */
  readonly reads: Array<'headers' | 'insecureSkipVerify' | 'region'>;
  /** Shape the provider's query parser requires. */
  readonly query?: { readonly pattern: RegExp; readonly rule: string };
}

type Type = flagger.MetricTemplateSpecProviderType;
const T = flagger.MetricTemplateSpecProviderType;

// Read in fluxcd/flagger v1.44.0 pkg/metrics/providers/: prometheus.go, graphite.go and
// influxdb.go fail on an empty address and read their Secret only if secretRef is set;
// datadog.go, newrelic.go, dynatrace.go and splunk.go fail without credentials, which
// exist only with a secretRef; stackdriver.go queries `projects/<project>` from its
// Secret; cloudwatch.go needs region; keptn.go reads nothing; externalmetrics.go
// defaults to Flagger's own API server. Only prometheus.go sends headers; only
// prometheus.go, graphite.go and externalmetrics.go honour insecureSkipVerify.
const RULES: { readonly [type in Type]: ProviderRule } = {
  [T.PROMETHEUS]: { address: 'required', secret: 'optional', reads: ['headers', 'insecureSkipVerify'] },
  [T.GRAPHITE]: { address: 'required', secret: 'optional', reads: ['insecureSkipVerify'] },
  [T.INFLUXDB]: { address: 'required', secret: 'optional', reads: [] },
  [T.DATADOG]: {
    address: 'optional', appendsPath: '/api/v1/query', secret: 'required', secretKeys: 'datadog_api_key and datadog_application_key', reads: [],
  },
  [T.NEWRELIC]: {
    address: 'optional', appendsPath: '/v1/accounts/<id>/query', secret: 'required', secretKeys: 'newrelic_account_id and newrelic_query_key', reads: [],
  },
  [T.DYNATRACE]: { address: 'required', appendsPath: '/api/v2/metrics/query', secret: 'required', secretKeys: 'dynatrace_token', reads: [] },
  [T.SPLUNK]: { address: 'required', appendsPath: '/v2/signalflow', secret: 'required', secretKeys: 'sf_token_key', reads: [] },
  [T.STACKDRIVER]: { address: 'unused', secret: 'required', secretKeys: 'project (the queries run in projects/<project>)', reads: [] },
  [T.CLOUDWATCH]: { address: 'unused', secret: 'unused', reads: ['region'] },
  [T.EXTERNALMETRICS]: {
    address: 'optional', secret: 'optional', reads: ['insecureSkipVerify'],
    query: { pattern: /^([^/?\s]*\/)?[^/?\s]+(\?\S*)?$/, rule: 'must be \'<namespace>/<metric>?labelSelector=<selector>\' on one line, the form Flagger\'s externalmetrics provider parses' },
  },
  [T.KEPTN]: {
    address: 'unused', secret: 'unused', reads: [],
    query: { pattern: /^\s*(keptnmetrics?|analysis|analyses)\/[^/]+\/[^/]+/i, rule: 'must be \'<keptnmetric|analysis>/<namespace>/<name>[/<timeframe>/<args>]\', the form Flagger\'s keptn provider parses' },
  },
};

// The functions Flagger v1.44.0 gives a query (pkg/apis/flagger/v1beta1/metric.go,
// TemplateFunctions), plus Go's template keywords and builtins.
const TEMPLATE_FUNCTIONS = ['name', 'namespace', 'target', 'service', 'ingress', 'route', 'interval', 'variables'];
const GO_TEMPLATE_WORDS = [
  'end', 'else', 'break', 'continue', 'and', 'or', 'not', 'call', 'html', 'index', 'slice', 'js', 'len', 'print', 'printf',
  'println', 'urlquery', 'eq', 'ne', 'lt', 'le', 'gt', 'ge',
];
const ACTION = /\{\{(.*?)\}\}/gs;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const CREDENTIAL_HEADERS = ['authorization', 'proxy-authorization'];

/** Props for `MetricTemplate`. */
export interface MetricTemplateProps {
  /** Name of the MetricTemplate, which Canaries give in `templateRef.name`. */
  readonly name: string;

  /**
   * Namespace of the MetricTemplate; a Secret named by the provider must be in it too.
   * @default - the chart's namespace; one of the two must be set
   */
  readonly namespace?: string;

  /** The metrics backend: `MetricProvider.prometheus({ address })` and the other factories. */
  readonly provider: MetricProvider;

  /**
   * Query in the provider's language, rendered by Flagger as a Go template
   * (missing keys are errors) with:
   * - `{{ name }}`, `{{ namespace }}`: the Canary's name and namespace;
   * - `{{ target }}`: `spec.targetRef.name`;
   * - `{{ service }}`: `spec.service.name`, else the target;
   * - `{{ ingress }}`, `{{ route }}`: `spec.ingressRef.name`, `spec.routeRef.name`, else the target;
   * - `{{ interval }}`: the metric check's interval, such as '1m';
   * - `{{ variables.<key> }}`: the check's `templateVariables`.
   * The value must be a single number (Flagger compares it with the check's
   * thresholdRange); no value at all counts as a failed check.
   */
  readonly query: string;
}

/** Options of `MetricTemplate.metric()`. */
export interface MetricCheckOptions {
  /**
   * Name of the check, unique within the Canary.
   * @default - the template's name
   */
  readonly name?: string;

  /**
   * Lowest accepted value of the query.
   * @default - no lower bound (set min, max or both)
   */
  readonly min?: number;

  /**
   * Highest accepted value of the query.
   * @default - no upper bound (set min, max or both)
   */
  readonly max?: number;

  /**
   * Window of the query (`{{ interval }}`).
   * @default - the Canary's default, one minute
   */
  readonly interval?: Duration;

  /**
   * Values of `{{ variables.<key> }}`: every key the query reads must be set.
   * @default - none
   */
  readonly templateVariables?: { [key: string]: string };
}

/**
 * A Flagger MetricTemplate (`flagger.app/v1beta1`): a query against a metrics
 * backend that a Canary's analysis runs at every check. `metric()` gives the
 * check to pass to `Canary.addMetric()`.
 */
export class MetricTemplate extends Construct {
  /** Name of the MetricTemplate. */
  public readonly name: string;
  /** Namespace of the MetricTemplate. */
  public readonly namespace: string;
  /** The metrics backend. */
  public readonly provider: MetricProvider;
  /** The query. */
  public readonly query: string;
  /** The generated Flagger ApiObject. */
  public readonly resource: flagger.MetricTemplate;

  private readonly where: string;
  private readonly variables: string[];

  public constructor(scope: Construct, id: string, props: MetricTemplateProps) {
    super(scope, id);
    const where = `MetricTemplate '${id}'`;
    this.where = where;
    this.name = props.name;
    checkDnsSubdomain(where, 'name', this.name);
    const namespace = resolveNamespace(this, where, props.namespace,
      'must be set, on the MetricTemplate or on its chart: Canaries refer to it by namespace and Flagger reads its Secret there');
    this.namespace = namespace;

    this.provider = props.provider;
    const spec = renderProvider(where, props.provider);
    this.query = props.query;
    this.variables = checkQuery(where, this.query);
    // The provider parses the rendered query: template actions stand for one word.
    const format = RULES[spec.type].query;
    if (format && !format.pattern.test(this.query.replace(ACTION, 'x'))) throw invalid(where, 'query', this.query, format.rule);

    claimUnique(this, where, 'name', this.name, `MetricTemplate ${namespace}/${this.name}`,
      `is already the name of a MetricTemplate in namespace '${namespace}'`);

    this.resource = new flagger.MetricTemplate(this, 'Resource', {
      metadata: { name: this.name, namespace },
      spec: { provider: spec, query: this.query },
    });
  }

  /** A metric check on this template, for `Canary.addMetric()`. */
  public metric(options: MetricCheckOptions): CanaryMetric {
    const where = this.where;
    const name = options.name ?? this.name;
    checkDnsSubdomain(where, 'metric.name', name);
    const { min, max } = options;
    if (min === undefined && max === undefined) throw invalid(where, 'metric', { min, max }, 'must set min, max or both: a check needs a bound');
    if (min !== undefined) checkNumber(where, 'metric.min', min, -Number.MAX_VALUE, Number.MAX_VALUE);
    if (max !== undefined) checkNumber(where, 'metric.max', max, -Number.MAX_VALUE, Number.MAX_VALUE);
    if (min !== undefined && max !== undefined && min > max) throw invalid(where, 'metric.min', min, `must not exceed metric.max (${max})`);
    if (options.interval !== undefined) goDuration(where, 'metric.interval', options.interval);
    const variables = options.templateVariables ?? {};
    for (const [key, value] of Object.entries(variables)) {
      if (typeof value !== 'string') throw invalid(where, `metric.templateVariables.${key}`, value, 'must be a string');
    }
    const missing = this.variables.filter((key) => !Object.prototype.hasOwnProperty.call(variables, key));
    if (missing.length > 0) {
      throw invalid(where, 'metric.templateVariables', variables,
        `must set ${missing.map((k) => `'${k}'`).join(', ')}: the query reads {{ variables.${missing[0]} }}, and Flagger fails the check on a missing key`);
    }
    return {
      name,
      templateRef: { name: this.name, namespace: this.namespace },
      thresholdRange: { min, max },
      interval: options.interval,
      templateVariables: options.templateVariables ? { ...variables } : undefined,
    };
  }
}

/** Checks a provider against what Flagger reads of its type, and renders it. */
function renderProvider(where: string, provider: MetricProvider | undefined): flagger.MetricTemplateSpecProvider {
  if (provider === undefined || provider === null) {
    throw invalid(where, 'provider', provider, 'must be set, for example MetricProvider.prometheus({ address: \'http://prometheus.linkerd-viz:9090\' })');
  }
  const type = provider.type;
  const rule: ProviderRule | undefined = Object.prototype.hasOwnProperty.call(RULES, type) ? RULES[type] : undefined;
  if (rule === undefined) throw invalid(where, 'provider.type', type, `must be one of ${Object.values(T).join(', ')}`);

  const { address, secretName, headers, insecureSkipVerify, region } = provider;
  const unread = (prop: string, value: unknown) => invalid(where, `provider.${prop}`, value, `is not read by Flagger's ${type} provider: remove it`);
  if (address === undefined && rule.address === 'required') throw invalid(where, 'provider.address', address, `must be set for ${type}`);
  if (address !== undefined) {
    if (rule.address === 'unused') throw unread('address', address);
    checkHttpUrl(where, 'provider.address', address);
    if (rule.appendsPath && address.endsWith('/')) {
      throw invalid(where, 'provider.address', address, `must not end with '/': Flagger appends '${rule.appendsPath}' to it`);
    }
  }
  if (secretName === undefined && rule.secret === 'required') {
    throw invalid(where, 'provider.secretName', secretName, `must be set for ${type}: Flagger reads ${rule.secretKeys} from that Secret`);
  }
  if (secretName !== undefined) {
    if (rule.secret === 'unused') throw unread('secretName', secretName);
    checkDnsSubdomain(where, 'provider.secretName', secretName);
  }
  for (const [prop, value] of Object.entries({ headers, insecureSkipVerify, region })) {
    if (value !== undefined && !(rule.reads as string[]).includes(prop)) throw unread(prop, value);
  }
  if (insecureSkipVerify !== undefined && typeof insecureSkipVerify !== 'boolean') {
    throw invalid(where, 'provider.insecureSkipVerify', insecureSkipVerify, 'must be true or false');
  }
  if (rule.reads.includes('region') && (typeof region !== 'string' || !/^[a-z]{2}(-[a-z]+)+-[0-9]+$/.test(region))) {
    throw invalid(where, 'provider.region', region, `must be an AWS region such as 'eu-west-1' (${type} needs it)`);
  }
  return {
    type,
    address,
    secretRef: secretName === undefined ? undefined : { name: secretName },
    headers: headers === undefined ? undefined : renderHeaders(where, headers),
    insecureSkipVerify,
    region,
  };
}

/** Headers as Go's http.Header (one value each); credentials refused, they would be committed to Git. */
function renderHeaders(where: string, headers: { [name: string]: string }): { [name: string]: string[] } {
  const out: { [name: string]: string[] } = {};
  for (const [name, value] of Object.entries(headers)) {
    const prop = `provider.headers.${name}`;
    if (!HEADER_NAME.test(name)) throw invalid(where, 'provider.headers', name, 'must be HTTP header names (RFC 9110 tokens)');
    if (CREDENTIAL_HEADERS.includes(name.toLowerCase())) {
      throw invalid(where, prop, '…', 'is a credential written into the manifest, and so into Git: put a token (or username and password) in the Secret named by secretName');
    }
    if (typeof value !== 'string' || /[\r\n]/.test(value)) throw invalid(where, prop, value, 'must be a string without line breaks');
    out[name] = [value];
  }
  return out;
}

/**
 * Checks what can be told of a query before Flagger renders it (Go text/template
 * with missingkey=error, pkg/metrics/observers/render.go): not empty, actions
 * closed, no single-word action naming a function Flagger does not define.
 * Returns the keys the query reads as `{{ variables.<key> }}`.
 */
function checkQuery(where: string, query: string): string[] {
  if (typeof query !== 'string' || query.trim() === '') throw invalid(where, 'query', query, 'must be a non-empty query');
  const actions = [...query.matchAll(ACTION)].map((m) => m[1]);
  if (query.replace(ACTION, '').includes('{{')) {
    throw invalid(where, 'query', query, 'has a \'{{\' without its \'}}\': Flagger could not parse the template');
  }
  const known = [...TEMPLATE_FUNCTIONS, ...GO_TEMPLATE_WORDS];
  const variables = new Set<string>();
  for (const action of actions) {
    const word = /^(?:-\s)?\s*([A-Za-z_]\w*)\s*(?:\s-)?$/.exec(action)?.[1];
    if (word !== undefined && !known.includes(word)) {
      throw invalid(where, 'query', `{{${action}}}`, `is not a function Flagger defines: use ${TEMPLATE_FUNCTIONS.slice(0, -1).join(', ')} or variables.<key>`);
    }
    for (const m of action.matchAll(/\bvariables\.([A-Za-z_]\w*)/g)) variables.add(m[1]);
  }
  return [...variables];
}
