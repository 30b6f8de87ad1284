import { Duration } from 'cdk8s';
import { Construct } from 'constructs';
import {
  AlertAddress, AlertProvider, AlertProviderType, AlertSeverity, Canary, CanaryAutoscaler, CanaryProps, CanaryProvider, CanaryStrategy, CanaryTarget, CookieSameSite,
  RequestMatch, StringMatch,
} from '../../lib';
import { testChart } from '../schema/synth';

// Bad input to strategies, autoscaling, alerts and the rest of the spec: each case names
// what is built and the message (prop, value, rule) it must throw.
const target = (scope: Construct, props: { replicas?: number; name?: string } = {}) =>
  new CanaryTarget(scope, props.name ?? 'api', { name: 'api', image: 'registry.local/api', version: '1.0', port: 3000, ...props });
const canary = (props: Partial<CanaryProps>, scope: Construct = testChart()) =>
  new Canary(scope, 'c', { target: target(scope), ...props });
const ab = (match: RequestMatch[], props: Partial<CanaryProps> = {}) => canary({ strategy: CanaryStrategy.abTesting({ match }), ...props });
const loose = <T>(value: unknown) => value as T;
const affinity = (sessionAffinity: object, props: Partial<CanaryProps> = {}) =>
  canary({ strategy: CanaryStrategy.canary({ sessionAffinity: loose(sessionAffinity) }), ...props });

const cases: Array<[string, () => unknown, RegExp]> = [
  // strategy mixes
  ['strategy with stepWeight', () => canary({ strategy: CanaryStrategy.blueGreen(), stepWeight: 10 }),
    /strategy \('blue-green'\) cannot be combined with stepWeight, maxWeight or stepWeights/],
  ['strategy with stepWeights', () => canary({ strategy: CanaryStrategy.canary(), stepWeights: [10] }),
    /strategy \('canary'\) cannot be combined with stepWeight, maxWeight or stepWeights/],
  ['strategy that is not a CanaryStrategy', () => canary({ strategy: loose({ kind: 'canary' }) }),
    /strategy \(\{"kind":"canary"\}\) must come from CanaryStrategy\.canary\(\), \.blueGreen\(\) or \.abTesting\(\)/],
  ['stepWeights with maxWeight inside canary()', () => canary({ strategy: CanaryStrategy.canary({ stepWeights: [5], maxWeight: 50 }) }),
    /stepWeights \(\[5\]\) cannot be combined with stepWeight or maxWeight/],
  ['stepWeightPromotion 0', () => canary({ strategy: CanaryStrategy.canary({ stepWeightPromotion: 0 }) }),
    /stepWeightPromotion \(0\) must be an integer from 1 to 100/],
  // iterations
  ['blue/green iterations 0', () => canary({ strategy: CanaryStrategy.blueGreen({ iterations: 0 }) }),
    /strategy\.iterations \(0\) must be an integer from 1 to 10000/],
  ['A/B iterations negative', () => canary({ strategy: CanaryStrategy.abTesting({ iterations: -1, match: [{ cookies: { a: 'b' } }] }) }),
    /strategy\.iterations \(-1\) must be an integer from 1 to 10000/],
  ['blue/green iterations fractional', () => canary({ strategy: CanaryStrategy.blueGreen({ iterations: 2.5 }) }),
    /strategy\.iterations \(2\.5\) must be an integer/],
  ['blue/green mirroring', () => canary({ strategy: CanaryStrategy.blueGreen({ mirror: true }) }),
    /strategy\.mirror \(true\) is not possible on Linkerd: its policy controller refuses RequestMirror route filters/],
  // matches
  ['A/B without matches', () => ab([]), /strategy\.match \(\[\]\) must list at least one match/],
  ['A/B match with no condition', () => ab([{ headers: {} }]),
    /strategy\.match\[0\] \(\{"headers":\{\}\}\) must hold at least one condition \(headers, cookies or queryParams\)/],
  ['A/B match with an invalid regex', () => ab([{ headers: { 'x-user': StringMatch.regex('([a-z]+') } }]),
    /strategy\.match\[0\]\.headers\.x-user \('\(\[a-z\]\+'\) is not a valid regular expression/],
  ['A/B regex with look-ahead', () => ab([{ headers: { 'x-user': StringMatch.regex('^(?!bot).*') } }]),
    /headers\.x-user \('\^\(\?!bot\)\.\*'\) uses look-around or a backreference, which Linkerd's proxy \(Rust regex crate\) does not support/],
  ['A/B regex with a backreference', () => ab([{ queryParams: { q: StringMatch.regex('(a)\\1') } }]),
    /queryParams\.q \('\(a\)\\1'\) uses look-around or a backreference/],
  ['A/B empty exact value', () => ab([{ headers: { 'x-canary': StringMatch.exact('') } }]),
    /headers\.x-canary \(''\) must be a non-empty string/],
  ['A/B header name with a space', () => ab([{ headers: { 'x canary': StringMatch.exact('1') } }]),
    /strategy\.match\[0\]\.headers \('x canary'\) must be a valid header name/],
  ['A/B header given twice', () => ab([{ headers: { 'X-A': StringMatch.exact('1'), 'x-a': StringMatch.exact('2') } }]),
    /headers \('x-a'\) is given twice \(header names are case-insensitive\)/],
  ['A/B cookie value with a semicolon', () => ab([{ cookies: { canary: 'a;b' } }]),
    /strategy\.match\[0\]\.cookies\.canary \('a;b'\) must be a non-empty cookie value/],
  ['A/B cookies and a Cookie header', () => ab([{ cookies: { a: '1' }, headers: { Cookie: StringMatch.regex('.*') } }]),
    /cookies \(\{"a":"1"\}\) cannot be combined with a condition on the Cookie header/],
  ['A/B condition that is not a StringMatch', () => ab([{ headers: { 'x-a': loose('insider') } }]),
    /headers\.x-a \('insider'\) must be a StringMatch/],
  // features a provider cannot do
  ['A/B with the SMI provider', () => ab([{ cookies: { a: '1' } }], { provider: CanaryProvider.LINKERD }),
    /strategy \('ab-testing'\) needs a Gateway API provider: with linkerd Flagger writes an SMI TrafficSplit, which has no request matching/],
  ['session affinity with the SMI provider', () => affinity({ cookieName: 'c' }, { provider: CanaryProvider.LINKERD }),
    /sessionAffinity \(\{"cookieName":"c"\}\) needs a Gateway API provider/],
  ['headers with the SMI provider', () => canary({ provider: CanaryProvider.LINKERD, headers: { request: { set: { a: 'b' } } } }),
    /headers \(.*\) needs a Gateway API provider: .* which has no header filters/],
  ['timeout with gatewayapi:v1beta1', () => canary({ timeout: Duration.seconds(5) }),
    /timeout \(5000ms\) is ignored by Flagger's gatewayapi:v1beta1 router: only gatewayapi:v1 writes route timeouts/],
  ['timeout with SMI', () => canary({ provider: CanaryProvider.LINKERD, timeout: Duration.seconds(5) }),
    /timeout \(5000ms\) is ignored by Flagger's linkerd router/],
  ['gatewayapi:v1 on Linkerd', () => canary({ provider: CanaryProvider.GATEWAY_API_V1 }),
    /provider \('gatewayapi:v1'\) stalls on Linkerd: Flagger 1\.42\+ waits for the HTTPRoute's Accepted condition to report observedGeneration/],
  ['primaryCookieName with gatewayapi:v1beta1', () => affinity({ cookieName: 'c', primaryCookieName: 'p' }),
    /sessionAffinity\.primaryCookieName \('p'\) is only written by Flagger's gatewayapi:v1 router/],
  // session affinity
  ['session affinity without a cookie name', () => affinity({}), /sessionAffinity\.cookieName \(undefined\) must be a cookie name/],
  ['session affinity cookie name with "="', () => affinity({ cookieName: 'a=b' }), /sessionAffinity\.cookieName \('a=b'\) must be a cookie name/],
  ['session affinity maxAge under a second', () => affinity({ cookieName: 'c', maxAge: Duration.millis(10) }),
    /sessionAffinity\.maxAge \(10ms\) must be a whole number of seconds/],
  ['SameSite=None without Secure', () => affinity({ cookieName: 'c', sameSite: CookieSameSite.NONE }),
    /sessionAffinity\.sameSite \('None'\) needs secure/],
  ['unknown SameSite', () => affinity({ cookieName: 'c', sameSite: 'Loose' }), /sessionAffinity\.sameSite \('Loose'\) must be one of Strict, Lax, None/],
  ['cookie path with a space', () => affinity({ cookieName: 'c', path: '/a b' }), /sessionAffinity\.path \('\/a b'\) must be a non-empty cookie attribute/],
  // autoscaling
  ['autoscaler and autoscalerName', withScope((s) => {
    const t = target(s);
    new Canary(s, 'c', { target: t, autoscaler: new CanaryAutoscaler(s, 'h', { target: t, maxReplicas: 3 }), autoscalerName: 'x' });
  }), /autoscalerName \('x'\) cannot be combined with autoscaler/],
  ['autoscaler of another target', withScope((s) => {
    const other = new CanaryTarget(s, 'web', { name: 'web', image: 'registry.local/web', version: '1.0' });
    new Canary(s, 'c', { target: target(s), autoscaler: new CanaryAutoscaler(s, 'h', { target: other, maxReplicas: 3 }) });
  }), /autoscaler \('web'\) scales 'web', not this Canary's target 'api'/],
  ['autoscaler on a target with replicas', withScope((s) => new CanaryAutoscaler(s, 'h', { target: target(s, { replicas: 3 }), maxReplicas: 5 })),
    /target \('api'\) sets replicas \(3\): leave them unset, the autoscaler owns them/],
  ['autoscaler min above max', withScope((s) => new CanaryAutoscaler(s, 'h', { target: target(s), minReplicas: 4, maxReplicas: 2 })),
    /minReplicas \(4\) must not exceed maxReplicas \(2\)/],
  ['autoscaler maxReplicas 0', withScope((s) => new CanaryAutoscaler(s, 'h', { target: target(s), maxReplicas: 0 })),
    /maxReplicas \(0\) must be an integer from 1 to 1000/],
  ['primaryScalerReplicas without an autoscaler', () => canary({ primaryScalerReplicas: { minReplicas: 2 } }),
    /primaryScalerReplicas \(\{"minReplicas":2\}\) needs autoscaler or autoscalerName/],
  ['primaryScalerReplicas min above max', () => canary({ autoscalerName: 'hpa', primaryScalerReplicas: { minReplicas: 5, maxReplicas: 2 } }),
    /primaryScalerReplicas \(\{"minReplicas":5,"maxReplicas":2\}\) minReplicas \(5\) must not exceed maxReplicas \(2\)/],
  ['primaryScalerReplicas empty', () => canary({ autoscalerName: 'hpa', primaryScalerReplicas: {} }),
    /primaryScalerReplicas \(\{\}\) must set minReplicas, maxReplicas or both/],
  // alerts
  ['an alert without a provider', () => canary({ alerts: [loose({ name: 'slack' })] }),
    /alerts\[0\]\.provider \(undefined\) must be an AlertProvider/],
  ['an alert with an unknown severity', withScope((s) => canary({ alerts: [{ name: 'a', provider: slack(s), severity: loose('fatal') }] }, s)),
    /alerts\[0\]\.severity \('fatal'\) must be one of info, warn, error/],
  ['two alerts with one name', withScope((s) => {
    const p = slack(s);
    canary({ alerts: [{ name: 'a', provider: p }, { name: 'a', provider: p, severity: AlertSeverity.ERROR }] }, s);
  }), /alerts\[1\]\.name \('a'\) must be unique among the Canary's alerts/],
  // the rest of the spec
  ['primaryReadyThreshold 0', () => canary({ primaryReadyThreshold: 0 }), /primaryReadyThreshold \(0\) must be an integer from 1 to 100/],
  ['canaryReadyThreshold above 100', () => canary({ canaryReadyThreshold: 101 }), /canaryReadyThreshold \(101\) must be an integer from 1 to 100/],
  ['portName with capitals', () => canary({ portName: 'HTTP' }), /portName \('HTTP'\) must be an IANA service name/],
  ['appProtocol with a space', () => canary({ appProtocol: 'my proto' }), /appProtocol \('my proto'\) must be an IANA service name or a prefixed name/],
  ['header value with a newline', () => canary({ headers: { request: { set: { 'x-a': 'b\r\nx-evil: 1' } } } }),
    /headers\.request\.set\.x-a \('b\\r\\nx-evil: 1'\) must be a string without CR, LF or NUL/],
  ['header to remove with a colon', () => canary({ headers: { response: { remove: ['x-a:'] } } }),
    /headers\.response\.remove \('x-a:'\) must be a header name/],
  ['headers that change nothing', () => canary({ headers: { request: {} } }), /headers \(\{"request":\{\}\}\) must change request or response headers/],
  ['apex label value too long', () => canary({ apexMetadata: { labels: { tier: 'x'.repeat(64) } } }),
    /apexMetadata\.labels\.tier \('x{64}'\) must be a label value/],
  ['annotation key with two slashes', () => canary({ canaryMetadata: { annotations: { 'a/b/c': 'x' } } }),
    /canaryMetadata\.annotations \('a\/b\/c'\) must be a qualified name/],
  ['disableTls on an http URL', () => canary({ webhooks: [{ name: 'w', url: 'http://hooks/', disableTls: true }] }),
    /webhooks\[0\]\.disableTls \(true\) only applies to an https URL, not 'http:\/\/hooks\/'/],
];

function withScope(fn: (scope: Construct) => unknown): () => unknown {
  return () => fn(testChart());
}

function slack(scope: Construct): AlertProvider {
  return new AlertProvider(scope, 'slack', { name: 'slack', type: AlertProviderType.SLACK, address: AlertAddress.fromSecret('slack-url') });
}

test.each(cases)('%s is refused with a message naming prop, value and rule', (_name, build, message) => {
  expect(build).toThrow(message);
});

test('at least 25 bad-input cases', () => {
  expect(cases.length).toBeGreaterThanOrEqual(25);
});
