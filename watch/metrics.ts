/**
 * The value each metric check of a Canary sees, read the way Flagger reads it: the
 * Canary's own MetricTemplate, its query rendered with Flagger's variables
 * (v1.44.0 pkg/controller/scheduler_metrics.go toMetricModel, pkg/apis/flagger/v1beta1
 * metric.go TemplateFunctions), run against the template's Prometheus through the API
 * server's service proxy, so only Kubernetes credentials are needed:
 * get on metrictemplates.flagger.app and get on services/proxy of the Prometheus Service.
 * Flagger's built-in checks (request-success-rate, request-duration) have no template:
 * for a Canary of provider linkerd their queries are Flagger's own Linkerd queries
 * (v1.44.0 pkg/metrics/observers/linkerd.go), run against the Canary's
 * spec.metricsServer or --metrics-server (Flagger's -metrics-server flag, which the
 * watcher cannot see).
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { kubeRequest, RawAnswer, statusMessage, userOf } from './kube';
import { proxyPath, ServiceAddress, serviceAddress } from './service-url';
import type { CanaryObject, MetricValue } from './verdict';

export interface CanaryMetric {
  readonly name?: string;
  readonly interval?: string;
  readonly threshold?: number;
  readonly thresholdRange?: { readonly min?: number; readonly max?: number };
  readonly templateRef?: { readonly name?: string; readonly namespace?: string };
  readonly templateVariables?: Readonly<Record<string, string>>;
  /** Inline PromQL (no template), run on Flagger's own Prometheus. */
  readonly query?: string;
}

interface MetricTemplate {
  readonly spec?: {
    readonly provider?: { readonly type?: string; readonly address?: string; readonly secretRef?: { readonly name?: string } };
    readonly query?: string;
  };
}

/** Flagger's variables for one check (toMetricModel). */
export function metricModel(canary: CanaryObject, metric: CanaryMetric): Record<string, string> {
  const spec = canary.spec ?? {};
  const target = spec.targetRef?.name ?? '';
  return {
    name: canary.metadata?.name ?? '',
    namespace: canary.metadata?.namespace ?? '',
    target,
    service: spec.service?.name || target,
    ingress: spec.ingressRef?.name ?? target,
    route: spec.routeRef?.name ?? target,
    interval: metric.interval ?? '',
  };
}

/**
 * Renders the query as Flagger's Go template does for the actions Flagger defines:
 * `{{ namespace }}`, ..., `{{ variables.key }}` (trim markers included). Any other
 * action is refused rather than guessed at.
 */
export function renderQuery(query: string, model: Record<string, string>, variables: Readonly<Record<string, string>> = {}): string {
  return query.replace(/(\s*)\{\{(-\s)?\s*(.*?)\s*(\s-)?\}\}(\s*)/gs, (_all, before: string, trimLeft, action: string, trimRight, after: string) => {
    let value: string | undefined;
    const variable = /^variables\.([A-Za-z_]\w*)$/.exec(action);
    if (variable) {
      value = variables[variable[1]];
      if (value === undefined) throw new Error(`the query reads {{ variables.${variable[1]} }}, which the check does not set`);
    } else if (Object.prototype.hasOwnProperty.call(model, action)) {
      value = model[action];
    } else {
      throw new Error(`the query's action {{ ${action} }} is not one canary-watch renders`);
    }
    return (trimLeft ? '' : before) + value + (trimRight ? '' : after);
  });
}

/** Flagger's Prometheus provider: the first sample of a vector; none, or NaN, is "no values". */
export function prometheusValue(answer: RawAnswer): number {
  let parsed: { status?: string; error?: string; data?: { result?: Array<{ value?: [number, string] }> } };
  try {
    parsed = JSON.parse(answer.body);
  } catch {
    throw new Error(`the answer is not Prometheus JSON (HTTP ${answer.status}: ${statusMessage(answer)})`);
  }
  if (parsed.status !== 'success') throw new Error(`Prometheus: ${parsed.error ?? parsed.status ?? 'no status'}`);
  const sample = parsed.data?.result?.[0]?.value?.[1];
  const value = sample === undefined ? NaN : Number(sample);
  if (Number.isNaN(value)) throw new Error('no values');
  return value;
}

/**
 * Flagger's built-in Linkerd queries (v1.44.0 pkg/metrics/observers/linkerd.go): the
 * success rate in percent, and the p99 latency in milliseconds.
 */
const LINKERD_BUILTIN: Readonly<Record<string, string>> = {
  'request-success-rate': 'sum(rate(response_total{namespace="{{ namespace }}",deployment=~"{{ target }}",classification!="failure",direction="inbound"}[{{ interval }}]))'
    + ' / sum(rate(response_total{namespace="{{ namespace }}",deployment=~"{{ target }}",direction="inbound"}[{{ interval }}])) * 100',
  'request-duration': 'histogram_quantile(0.99, sum(rate(response_latency_ms_bucket{namespace="{{ namespace }}",deployment=~"{{ target }}",direction="inbound"}[{{ interval }}])) by (le))',
};

/** A built-in or inline check's interval when it names none (v1.44.0 Canary.GetMetricInterval). */
const BUILTIN_DEFAULT_INTERVAL = '1m';

function withDefaultInterval(metric: CanaryMetric): CanaryMetric {
  return { ...metric, interval: metric.interval || BUILTIN_DEFAULT_INTERVAL };
}

function isBuiltinSuccessRate(metric: CanaryMetric): boolean {
  return !metric.templateRef?.name && !metric.query && metric.name === 'request-success-rate';
}

export class MetricReader {
  /**
   * @param metricsServer Flagger's -metrics-server, for built-in checks of a Canary
   * without spec.metricsServer.
   */
  constructor(private readonly kc: KubeConfig, private readonly namespace: string, private readonly timeoutMs: number,
    private readonly metricsServer?: string) {}

  /** One value (or the reason there is none) per check of the Canary's analysis. */
  async read(canary: CanaryObject): Promise<MetricValue[]> {
    const metrics = (canary.spec?.analysis?.metrics ?? []) as readonly CanaryMetric[];
    return Promise.all(metrics.map(async (metric) => {
      const name = metric.name ?? '?';
      const range = metric.thresholdRange
        ? { ...(metric.thresholdRange.min !== undefined ? { min: metric.thresholdRange.min } : {}),
          ...(metric.thresholdRange.max !== undefined ? { max: metric.thresholdRange.max } : {}) }
        // The legacy threshold is a maximum, except for the built-in success rate (a minimum).
        : metric.threshold === undefined ? {}
          : isBuiltinSuccessRate(metric) ? { min: metric.threshold } : { max: metric.threshold };
      try {
        return { name, ...range, value: await this.value(canary, metric) };
      } catch (err) {
        return { name, ...range, error: (err as Error).message };
      }
    }));
  }

  private async value(canary: CanaryObject, metric: CanaryMetric): Promise<number> {
    if (!metric.templateRef?.name) return metric.query ? this.inlineValue(canary, metric, metric.query) : this.builtinValue(canary, metric);
    const templateNamespace = metric.templateRef.namespace || this.namespace;
    const templatePath = `/apis/flagger.app/v1beta1/namespaces/${templateNamespace}/metrictemplates/${metric.templateRef.name}`;
    const answer = await this.get(templatePath);
    if (answer.status === 403) throw new Error(`forbidden: ${userOf(answer)} cannot get metrictemplates.flagger.app in namespace "${templateNamespace}"`);
    if (answer.status === 404) throw new Error(`MetricTemplate ${templateNamespace}/${metric.templateRef.name} not found`);
    if (answer.status !== 200) throw new Error(`cannot read MetricTemplate ${templateNamespace}/${metric.templateRef.name}: ${statusMessage(answer)}`);
    let template: MetricTemplate;
    try {
      template = JSON.parse(answer.body) as MetricTemplate;
    } catch {
      throw new Error(`the API server's answer to GET ${templatePath} is not JSON`);
    }
    const provider = template.spec?.provider ?? {};
    if (provider.type !== 'prometheus') throw new Error(`provider ${provider.type ?? 'none'}: only prometheus templates are read`);
    if (provider.secretRef?.name) throw new Error(`the provider needs Secret ${provider.secretRef.name}'s credentials, which canary-watch does not read`);
    const service = serviceAddress(provider.address ?? '', templateNamespace);
    if (!service) throw new Error(`${provider.address ?? 'no address'} is not a Service URL the API server can proxy to`);
    const query = renderQuery(template.spec?.query ?? '', metricModel(canary, metric), metric.templateVariables);
    return this.query(service, query);
  }

  /**
   * A built-in check, as Flagger runs it when its metrics provider is linkerd; the
   * duration in whole milliseconds, as Flagger's. Flagger's provider is the Canary's
   * spec.provider, overridden to linkerd when its own -mesh-provider names linkerd, with
   * ":service" appended for a Service target: only the first part is visible here.
   */
  private async builtinValue(canary: CanaryObject, metric: CanaryMetric): Promise<number> {
    const name = metric.name ?? '';
    const builtin = LINKERD_BUILTIN[name];
    if (builtin === undefined) throw new Error('no templateRef and no query, and not a built-in check (request-success-rate, request-duration)');
    const provider = canary.spec?.provider;
    if (canary.spec?.targetRef?.kind === 'Service') {
      throw new Error('a built-in check of a Service target: Flagger queries it with its ":service" metrics, which canary-watch does not run');
    }
    if (provider !== 'linkerd') {
      throw new Error(`a built-in check of provider ${provider || 'unset'}: Flagger picks its query from the provider and its own `
        + '-mesh-provider (Linkerd\'s when that names linkerd), which canary-watch cannot see; it runs them for provider linkerd only');
    }
    const value = await this.query(this.flaggerPrometheus(canary), renderQuery(builtin, metricModel(canary, withDefaultInterval(metric))));
    return name === 'request-duration' ? Math.trunc(value) : value;
  }

  /** A check with an inline query (no template): Flagger runs it on its own Prometheus, whatever the provider. */
  private async inlineValue(canary: CanaryObject, metric: CanaryMetric, query: string): Promise<number> {
    return this.query(this.flaggerPrometheus(canary), renderQuery(query, metricModel(canary, withDefaultInterval(metric)), metric.templateVariables));
  }

  /** The Canary's spec.metricsServer, else --metrics-server: where Flagger runs built-in and inline queries. */
  private flaggerPrometheus(canary: CanaryObject): ServiceAddress {
    const address = canary.spec?.metricsServer || this.metricsServer;
    if (!address) {
      throw new Error('Flagger runs this check on its -metrics-server: name it with --metrics-server '
        + '(Linkerd\'s Flagger: http://prometheus.linkerd-viz:9090)');
    }
    // No default namespace: Flagger resolves a bare Service name in its own, which canary-watch does not know.
    const service = serviceAddress(address);
    if (service) return service;
    throw new Error(serviceAddress(address, this.namespace)
      ? `${address}: name Prometheus' Service with its namespace (http://<service>.<namespace>:<port>); `
        + 'Flagger resolves a bare name in its own namespace'
      : `${address} is not a Service URL the API server can proxy to`);
  }

  /** One instant query through the service proxy; its first sample. */
  private async query(service: ServiceAddress, query: string): Promise<number> {
    const path = proxyPath(service, `/api/v1/query?query=${encodeURIComponent(query)}`);
    const result = await this.get(path);
    if (result.status === 403) {
      throw new Error(`forbidden: ${userOf(result)} cannot get services/proxy "${service.name}" in namespace "${service.namespace}"`);
    }
    if (result.status === 503 || result.status === 502) {
      throw new Error(`Prometheus ${service.namespace}/${service.name} unreachable: ${statusMessage(result)}`);
    }
    return prometheusValue(result);
  }

  private async get(path: string): Promise<RawAnswer> {
    try {
      return await kubeRequest(this.kc, 'GET', path, { timeoutMs: this.timeoutMs });
    } catch (err) {
      throw new Error(`cannot reach the API server (${(err as Error).message})`, { cause: err });
    }
  }
}
