import { Chart, Duration } from 'cdk8s';
import { IConstruct } from 'constructs';

/**
 * Input checks shared by the constructs. Each throws a plain Error naming the
 * construct, the prop, the bad value and what is allowed, so nothing invalid
 * reaches the synthesized YAML. Internal: not exported from the package index.
 */

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const IANA_SVC_NAME = /^(?=.*[a-z])[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Renders a value for an error message: strings quoted, everything else as JSON. */
export function show(value: unknown): string {
  // Control characters are escaped so that every message stays on one line.
  // eslint-disable-next-line no-control-regex -- the control characters are what is escaped
  if (typeof value === 'string') return `'${value.replace(/[\x00-\x1f\x7f]/g, (c) => JSON.stringify(c).slice(1, -1))}'`;
  if (isDuration(value)) return `${value.toMilliseconds()}ms`;
  return JSON.stringify(value) ?? String(value);
}

/**
 * A cdk8s Duration, recognised by shape rather than `instanceof`: a user's
 * project may hold another copy of cdk8s, and a JavaScript caller may pass a
 * string such as '30s', which must be refused by name, not fail later.
 */
function isDuration(value: unknown): value is Duration {
  return typeof value === 'object' && value !== null && typeof (value as Duration).toMilliseconds === 'function';
}

/** Builds the error every check throws: `<where>: <prop> (<value>) <rule>`. */
export function invalid(where: string, prop: string, value: unknown, rule: string): Error {
  return new Error(`${where}: ${prop} (${show(value)}) ${rule}`);
}

/** A Kubernetes object or port name: DNS-1123 label (RFC 1123), at most `max` characters. */
export function checkDnsLabel(where: string, prop: string, value: string, max = 63): void {
  if (typeof value !== 'string' || value.length > max || !DNS1123_LABEL.test(value)) {
    throw invalid(where, prop, value,
      `must be a DNS-1123 label: at most ${max} lowercase letters, digits or '-', starting and ending with a letter or digit`);
  }
}

/** A Kubernetes object name that may contain dots (MetricTemplate, ConfigMap, ...). */
export function checkDnsSubdomain(where: string, prop: string, value: string): void {
  if (typeof value !== 'string' || value.length > 253 || !DNS1123_SUBDOMAIN.test(value)) {
    throw invalid(where, prop, value,
      'must be a DNS-1123 subdomain: at most 253 lowercase letters, digits, \'-\' or \'.\', starting and ending with a letter or digit');
  }
}

/** A named container port: IANA service name, 1..15 characters with at least one letter. */
export function checkPortName(where: string, prop: string, value: string): void {
  if (typeof value !== 'string' || value.length > 15 || !IANA_SVC_NAME.test(value) || value.includes('--')) {
    throw invalid(where, prop, value,
      'must be an IANA service name: 1 to 15 lowercase letters, digits or \'-\', with at least one letter');
  }
}

/** An integer in [min, max]. */
export function checkInt(where: string, prop: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw invalid(where, prop, value, `must be an integer from ${min} to ${max}`);
  }
}

/** A TCP port number. */
export function checkPort(where: string, prop: string, value: number): void {
  checkInt(where, prop, value, 1, 65535);
}

/** A finite number in [min, max]. */
export function checkNumber(where: string, prop: string, value: number, min: number, max: number): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw invalid(where, prop, value, `must be a number from ${min} to ${max}`);
  }
}

/** The WHATWG URL parser every Node.js runtime has (the library compiles without Node's types). */
interface ParsedUrl { readonly protocol: string; readonly hostname: string }
const WhatwgUrl = (globalThis as unknown as { URL: new (input: string) => ParsedUrl }).URL;

/** An http(s) URL with a host, as Flagger's webhooks and metric providers need. */
export function checkHttpUrl(where: string, prop: string, value: string): void {
  let url: ParsedUrl | undefined;
  try {
    url = typeof value === 'string' ? new WhatwgUrl(value) : undefined;
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') {
    throw invalid(where, prop, value, 'must be an absolute http:// or https:// URL with a host');
  }
}

/** A container image reference without a tag or digest (the tag comes from `version`). */
export function checkImageRepository(where: string, prop: string, value: string): void {
  const component = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
  const repo = new RegExp(`^${component}(?::[0-9]+)?(?:/${component})*$`);
  if (typeof value !== 'string' || value.length > 255 || !repo.test(value)) {
    throw invalid(where, prop, value,
      'must be an image repository without tag or digest, e.g. \'cyrilbkr/testapp\' or \'registry.local:5000/testapi\'');
  }
}

/** A label value: at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit. */
export function checkLabelValue(where: string, prop: string, value: string): void {
  if (typeof value !== 'string' || value.length > 63 || !/^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/.test(value)) {
    throw invalid(where, prop, value,
      'must be a label value: at most 63 letters, digits, \'-\', \'_\' or \'.\', starting and ending with a letter or digit');
  }
}

/** RFC 9110 token: header names, and cookie names (RFC 6265 cookie-name is a token). */
export const HTTP_TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** An HTTP header name. */
export function checkHeaderName(where: string, prop: string, value: string): void {
  if (typeof value !== 'string' || !HTTP_TOKEN.test(value)) {
    throw invalid(where, prop, value, 'must be a header name (RFC 9110 token: letters, digits and !#$%&\'*+.^_`|~-)');
  }
}

/** A header value Flagger or the load tester passes on: no line breaks that would start another header. */
export function checkHeaderValue(where: string, prop: string, value: string): void {
  if (typeof value !== 'string' || /[\r\n\0]/.test(value)) {
    throw invalid(where, prop, value, 'must be a string without CR, LF or NUL');
  }
}

/** A label or annotation key: an optional DNS subdomain prefix and '/', then a name of at most 63 characters. */
export function checkQualifiedName(where: string, prop: string, value: string): void {
  const slash = typeof value === 'string' ? value.lastIndexOf('/') : -1;
  const prefix = slash >= 0 ? value.slice(0, slash) : undefined;
  const name = typeof value === 'string' ? value.slice(slash + 1) : '';
  const prefixOk = prefix === undefined || (prefix.length <= 253 && DNS1123_SUBDOMAIN.test(prefix));
  if (typeof value !== 'string' || !prefixOk || name.length > 63 || !/^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/.test(name)) {
    throw invalid(where, prop, value,
      'must be a qualified name: an optional DNS subdomain and \'/\', then at most 63 letters, digits, \'-\', \'_\' or \'.\'');
  }
}

/**
 * The namespace of a namespaced construct: its own prop, else its chart's. `why` ends
 * the message when neither is set (what the namespace is needed for).
 */
export function resolveNamespace(scope: IConstruct, where: string, given: string | undefined, why: string): string {
  const namespace = given ?? Chart.of(scope).namespace;
  if (namespace === undefined) throw invalid(where, 'namespace', namespace, why);
  checkDnsLabel(where, 'namespace', namespace);
  return namespace;
}

/** A full container image reference (repository, tag or digest): one word. */
export function checkImageReference(where: string, prop: string, value: string): void {
  if (typeof value !== 'string' || !/^\S+$/.test(value)) {
    throw invalid(where, prop, value, 'must be a non-empty image reference without spaces');
  }
}

/** A uid (and gid) for `runAsUser`: non-root, within Kubernetes' int32 range. */
export function checkRunAsUser(where: string, prop: string, value: number): void {
  checkInt(where, prop, value, 1, 2147483647);
}

/** A container image tag (Docker's grammar). */
export function checkImageTag(where: string, prop: string, value: string): void {
  if (typeof value !== 'string' || !/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(value)) {
    throw invalid(where, prop, value,
      'must be an image tag: 1 to 128 letters, digits, \'_\', \'.\' or \'-\', not starting with \'.\' or \'-\'');
  }
}

/**
 * Renders a Duration the way Flagger's CRD accepts it (pattern `^[0-9]+(m|s)`,
 * read by Go's time.ParseDuration): whole minutes as '1m', else seconds '90s'.
 */
export function goDuration(where: string, prop: string, value: Duration, minSeconds = 1): string {
  if (!isDuration(value)) {
    throw invalid(where, prop, value, 'must be a Duration, for example Duration.seconds(30) (a string such as \'30s\' is not one)');
  }
  const ms = value.toMilliseconds();
  if (!Number.isFinite(ms) || ms < minSeconds * 1000 || ms % 1000 !== 0) {
    throw invalid(where, prop, value, `must be a whole number of seconds, at least ${minSeconds}s`);
  }
  const seconds = ms / 1000;
  return seconds % 60 === 0 ? `${seconds / 60}m` : `${seconds}s`;
}

/** Whole seconds of a Duration, at least `minSeconds`. */
export function wholeSeconds(where: string, prop: string, value: Duration, minSeconds = 1): number {
  goDuration(where, prop, value, minSeconds);
  return value.toMilliseconds() / 1000;
}

/** Keys already claimed in one construct tree (an App), per kind of claim. */
const claims = new WeakMap<IConstruct, Map<string, string>>();

/**
 * Refuses a second construct that would synthesize an object Kubernetes or
 * Flagger can only have once per namespace (two Canaries for one target, two
 * load testers with one name). Claims are kept per construct tree, so two Apps
 * in one process (tests, benchmarks) do not see each other.
 */
export function claimUnique(scope: IConstruct, where: string, prop: string, value: unknown, key: string, rule: string): void {
  const root = scope.node.root;
  let taken = claims.get(root);
  if (!taken) {
    taken = new Map();
    claims.set(root, taken);
  }
  const owner = taken.get(key);
  if (owner !== undefined) throw invalid(where, prop, value, `${rule} (already used by ${owner})`);
  taken.set(key, scope.node.path);
}

/**
 * The name the API server's service proxy knows a Service URL by
 * (`http://prometheus.linkerd-viz:9090` is `http:prometheus:9090` in namespace
 * `linkerd-viz`), or undefined for a URL that is not a Service's.
 */
export function serviceProxyName(address: string): { namespace: string; name: string } | undefined {
  const m = /^(https?):\/\/([a-z0-9]([-a-z0-9]*[a-z0-9])?)\.([a-z0-9]([-a-z0-9]*[a-z0-9])?)(\.svc(\.[a-z0-9.-]+)?)?(:(\d+))?\/?$/.exec(address);
  if (!m) return undefined;
  return { namespace: m[4], name: `${m[1]}:${m[2]}:${m[9] ?? (m[1] === 'https' ? '443' : '80')}` };
}
