import { Duration } from 'cdk8s';
import { Construct } from 'constructs';
import * as flagger from '../imports/flagger.app';
import { CanaryMetric } from './canary';
import { checkDnsSubdomain, checkHttpUrl, checkNumber, resolveNamespace } from './validate';

/** Props for `LinkerdMetricTemplates`. */
export interface LinkerdMetricTemplatesProps {
  /**
   * Prometheus that scrapes the Linkerd proxies.
   * @default 'http://prometheus.linkerd-viz:9090'
   */
  readonly prometheusAddress?: string;

  /**
   * Prefix of the three template names (`<prefix>success-rate`,
   * `<prefix>latency-p99`, `<prefix>4xx-percentage`).
   * @default 'linkerd-'
   */
  readonly namePrefix?: string;

  /**
   * Namespace of the templates.
   * @default - the chart's namespace; one of the two must be set
   */
  readonly namespace?: string;
}

/** Options of a metric check built from a template. */
export interface TemplateCheckOptions {
  /**
   * Window of the query.
   * @default Duration.minutes(1)
   */
  readonly interval?: Duration;
}

/** Options of `successRate()`. */
export interface SuccessRateOptions extends TemplateCheckOptions {
  /**
   * Lowest accepted percentage of non-5xx responses (0..100).
   * @default 99
   */
  readonly min?: number;
}

/** Options of `latencyP99()`. */
export interface LatencyOptions extends TemplateCheckOptions {
  /**
   * Highest accepted p99 latency in milliseconds.
   * @default 500
   */
  readonly maxMs?: number;
}

/** Options of `clientErrors()`. */
export interface ClientErrorOptions extends TemplateCheckOptions {
  /**
   * Highest accepted percentage of 4xx responses (0..100).
   * @default 1
   */
  readonly max?: number;
}

// Linkerd proxy metrics of the canary's pods; Flagger fills namespace, target and interval.
const SELECTOR = 'namespace="{{ namespace }}",deployment=~"{{ target }}",direction="inbound"';
const ALL = `sum(rate(response_total{${SELECTOR}}[{{ interval }}]))`;

/**
 * Flagger MetricTemplates over Linkerd's proxy metrics, for Gateway API
 * providers (whose built-in metrics Linkerd cannot answer):
 * - success rate: percentage of responses Linkerd does not classify as
 *   failures. Linkerd classifies only 5xx as failures, so a release answering
 *   404 passes it;
 * - 4xx percentage: percentage of responses with a 4xx status code, the check
 *   that rolls back such a release. Written as 100 minus the non-4xx share so a
 *   healthy release gives 0, not an empty result (which Flagger counts as a
 *   failed check);
 * - p99 latency in milliseconds.
 *
 * Linkerd only has a series for a status code it has seen, so the numerators
 * fall back to `vector(0)`: a release answering nothing but 404 (or 5xx) then
 * reads 100% 4xx (or 0% success) and fails on its figure, instead of "no
 * values found". No traffic at all still gives no value, which Flagger counts
 * as a failed check: an idle canary is not a healthy one.
 */
export class LinkerdMetricTemplates extends Construct {
  /** The success-rate template. */
  public readonly successRateTemplate: flagger.MetricTemplate;
  /** The p99 latency template. */
  public readonly latencyTemplate: flagger.MetricTemplate;
  /** The 4xx percentage template. */
  public readonly clientErrorTemplate: flagger.MetricTemplate;
  /** Namespace of the templates. */
  public readonly namespace: string;
  /** The Prometheus the templates query. */
  public readonly prometheusAddress: string;

  private readonly where: string;

  public constructor(scope: Construct, id: string, props: LinkerdMetricTemplatesProps = {}) {
    super(scope, id);
    const where = `LinkerdMetricTemplates '${id}'`;
    this.where = where;
    const address = props.prometheusAddress ?? 'http://prometheus.linkerd-viz:9090';
    checkHttpUrl(where, 'prometheusAddress', address);
    this.prometheusAddress = address;
    const prefix = props.namePrefix ?? 'linkerd-';
    checkDnsSubdomain(where, 'namePrefix', `${prefix}x`);
    const namespace = resolveNamespace(this, where, props.namespace,
      'must be set, on the templates or on their chart: Canaries refer to them by namespace');
    this.namespace = namespace;

    const template = (childId: string, name: string, query: string) => new flagger.MetricTemplate(this, childId, {
      metadata: { name: `${prefix}${name}`, namespace },
      spec: {
        provider: { type: flagger.MetricTemplateSpecProviderType.PROMETHEUS, address },
        query,
      },
    });
    this.successRateTemplate = template('Resource', 'success-rate',
      `(sum(rate(response_total{${SELECTOR},classification!="failure"}[{{ interval }}])) or vector(0)) / ${ALL} * 100`);
    this.clientErrorTemplate = template('ClientErrors', '4xx-percentage',
      `100 - (sum(rate(response_total{${SELECTOR},status_code!~"4.."}[{{ interval }}])) or vector(0)) / ${ALL} * 100`);
    this.latencyTemplate = template('Latency', 'latency-p99',
      `histogram_quantile(0.99, sum(rate(response_latency_ms_bucket{${SELECTOR}}[{{ interval }}])) by (le))`);
  }

  /** A check that the success rate (non-5xx percentage) stays at or above `min`. */
  public successRate(options: SuccessRateOptions = {}): CanaryMetric {
    const min = options.min ?? 99;
    checkNumber(this.where, 'successRate.min', min, 0, 100);
    return this.check('success-rate', this.successRateTemplate, { min }, options);
  }

  /** A check that the 4xx percentage stays at or below `max`. */
  public clientErrors(options: ClientErrorOptions = {}): CanaryMetric {
    const max = options.max ?? 1;
    checkNumber(this.where, 'clientErrors.max', max, 0, 100);
    return this.check('4xx-percentage', this.clientErrorTemplate, { max }, options);
  }

  /** A check that the p99 latency stays at or below `maxMs`. */
  public latencyP99(options: LatencyOptions = {}): CanaryMetric {
    const maxMs = options.maxMs ?? 500;
    checkNumber(this.where, 'latencyP99.maxMs', maxMs, 1, 3_600_000);
    return this.check('latency-p99', this.latencyTemplate, { max: maxMs }, options);
  }

  private check(name: string, template: flagger.MetricTemplate, thresholdRange: { min?: number; max?: number },
    options: TemplateCheckOptions): CanaryMetric {
    return {
      name,
      templateRef: { name: template.name, namespace: this.namespace },
      thresholdRange,
      interval: options.interval,
    };
  }
}
