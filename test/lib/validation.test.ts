import { Chart, Duration, Size, Testing } from 'cdk8s';
import { Construct } from 'constructs';
import { CanaryDemo } from '../../charts';
import {
  Canary, CanaryProps, CanaryProvider, CanaryTarget, CanaryTargetProps, LinkerdMetricTemplates, LoadGenerator, LoadTester, MeshNamespace,
  PodSecurityLevel, WebhookType,
} from '../../lib';
import { testChart } from '../schema/synth';

const canary = (props: Partial<CanaryProps>, scope: Construct = testChart(), id = 'c') =>
  new Canary(scope, id, { targetName: 'api', port: 3000, ...props });
const withScope = (fn: (scope: Construct) => unknown) => () => fn(testChart());
const withCanary = (fn: (c: Canary, scope: Construct) => void) => () => {
  const scope = testChart();
  fn(canary({}, scope), scope);
};
const workload = (props: Partial<CanaryTargetProps>, scope: Construct = testChart()) =>
  new CanaryTarget(scope, 'w', { name: 'api', image: 'registry.local/api', version: '1.0', ...props });
const twice = (build: (scope: Construct, i: number) => unknown) => () => {
  const scope = testChart();
  build(scope, 1);
  build(scope, 2);
};
// A JavaScript caller (or a cast) can hand over what the types forbid.
const loose = <T>(value: unknown) => value as T;
const metric = { name: 'm', templateRef: { name: 't' }, thresholdRange: { min: 1 } };
const hook = { name: 'w', url: 'http://flagger-loadtester.testapi/' };

// Each case: what is built, and the message (prop, value, what is allowed) it must throw.
const cases: Array<[string, () => unknown, RegExp]> = [
  ['stepWeight above 100', () => canary({ stepWeight: 120, maxWeight: 100 }), /stepWeight \(120\) must be an integer from 1 to 100/],
  ['stepWeight 0', () => canary({ stepWeight: 0 }), /stepWeight \(0\) must be an integer from 1 to 100/],
  ['maxWeight above 100', () => canary({ maxWeight: 101 }), /maxWeight \(101\) must be an integer from 1 to 100/],
  ['maxWeight negative', () => canary({ maxWeight: -5 }), /maxWeight \(-5\) must be an integer from 1 to 100/],
  ['fractional stepWeight', () => canary({ stepWeight: 2.5 }), /stepWeight \(2\.5\) must be an integer from 1 to 100/],
  ['stepWeight above maxWeight', () => canary({ stepWeight: 60, maxWeight: 50 }), /stepWeight \(60\) must not exceed maxWeight \(50\)/],
  ['non-increasing stepWeights', () => canary({ stepWeights: [10, 20, 20] }), /stepWeights \(\[10,20,20\]\) must be strictly increasing \(20 after 20\)/],
  ['decreasing stepWeights', () => canary({ stepWeights: [30, 10] }), /stepWeights \(\[30,10\]\) must be strictly increasing \(10 after 30\)/],
  ['stepWeights entry above 100', () => canary({ stepWeights: [50, 150] }), /stepWeights\[1\] \(150\) must be an integer from 1 to 100/],
  ['empty stepWeights', () => canary({ stepWeights: [] }), /stepWeights \(\[\]\) must list at least one weight/],
  ['stepWeights with stepWeight', () => canary({ stepWeights: [10, 20], stepWeight: 10 }), /stepWeights \(\[10,20\]\) cannot be combined with stepWeight or maxWeight/],
  ['threshold 0', () => canary({ threshold: 0 }), /threshold \(0\) must be an integer from 1 to 1000/],
  ['interval under 1s', () => canary({ interval: Duration.millis(500) }), /interval \(500ms\) must be a whole number of seconds, at least 1s/],
  ['interval not whole seconds', () => canary({ interval: Duration.millis(1500) }), /interval \(1500ms\) must be a whole number of seconds/],
  ['progressDeadline 0', () => canary({ progressDeadline: Duration.seconds(0) }), /progressDeadline \(0ms\) must be a whole number of seconds, at least 1s/],
  ['targetName not DNS-1123', () => canary({ targetName: 'My_API' }), /targetName \('My_API'\) must be a DNS-1123 label/],
  ['targetName too long for <name>-primary', () => canary({ targetName: 'a'.repeat(60) }), /targetName \('a{60}'\) must be a DNS-1123 label: at most 55/],
  ['serviceName too long for <name>-primary', () => canary({ serviceName: 'b'.repeat(56) }), /serviceName \('b{56}'\) must be a DNS-1123 label: at most 55/],
  ['Canary name not DNS-1123', () => canary({ name: 'Release' }), /name \('Release'\) must be a DNS-1123 label: at most 63/],
  ['namespace not DNS-1123', () => canary({ namespace: 'Test.Api' }), /namespace \('Test\.Api'\) must be a DNS-1123 label/],
  ['no namespace anywhere', () => canary({}, testChart(null)), /namespace \(undefined\) must be set, on the Canary or on its chart/],
  ['port 0', () => canary({ port: 0 }), /port \(0\) must be an integer from 1 to 65535/],
  ['port above 65535', () => canary({ port: 70000 }), /port \(70000\) must be an integer from 1 to 65535/],
  ['targetPort name invalid', () => canary({ targetPort: 'HTTP_PORT' }), /targetPort \('HTTP_PORT'\) must be an IANA service name/],
  ['unknown provider', () => canary({ provider: 'istio' as CanaryProvider }), /provider \('istio'\) must be one of gatewayapi:v1beta1, gatewayapi:v1, linkerd/],
  ['gatewayapi without gatewayRefs', () => canary({ gatewayRefs: [] }), /gatewayRefs \(\[\]\) must list at least one parent with provider gatewayapi:v1beta1/],
  ['linkerd with gatewayRefs', () => canary({ provider: CanaryProvider.LINKERD, gatewayRefs: [{ name: 'api' }] }), /gatewayRefs \(\[\{"name":"api"\}\]\) is only used by gatewayapi providers, not linkerd/],
  ['gatewayRef port out of range', () => canary({ gatewayRefs: [{ name: 'api', port: 0 }] }), /gatewayRefs\[0\]\.port \(0\) must be an integer from 1 to 65535/],
  ['thresholdRange min > max', withCanary((c) => c.addMetric({ ...metric, thresholdRange: { min: 10, max: 5 } })), /metrics\[0\]\.thresholdRange \(\{"min":10,"max":5\}\) min \(10\) must not exceed max \(5\)/],
  ['thresholdRange empty', withCanary((c) => c.addMetric({ ...metric, thresholdRange: {} })), /metrics\[0\]\.thresholdRange \(\{\}\) must set min, max or both/],
  ['built-in metric with gatewayapi', withCanary((c) => c.addMetric({ name: 'request-success-rate', thresholdRange: { min: 99 } })), /metrics\[0\]\.templateRef \(undefined\) is required with provider gatewayapi:v1beta1: its built-in 'request-success-rate' queries http_request_duration_seconds/],
  ['custom metric without template', withCanary((c) => c.addMetric({ name: 'errors', thresholdRange: { max: 1 } })), /metrics\[0\]\.templateRef \(undefined\) is required for 'errors': only request-success-rate and request-duration are built in/],
  ['duplicate metric', withCanary((c) => { c.addMetric(metric); c.addMetric(metric); }), /metrics\[1\]\.name \('m'\) must be unique/],
  ['metric interval under 1s', withCanary((c) => c.addMetric({ ...metric, interval: Duration.millis(10) })), /metrics\[0\]\.interval \(10ms\) must be a whole number of seconds/],
  ['webhook URL not http', withCanary((c) => c.addWebhook({ ...hook, url: 'ftp://tester/' })), /webhooks\[0\]\.url \('ftp:\/\/tester\/'\) must be an absolute http:\/\/ or https:\/\/ URL with a host/],
  ['webhook URL relative', withCanary((c) => c.addWebhook({ ...hook, url: '/gate/check' })), /webhooks\[0\]\.url \('\/gate\/check'\) must be an absolute http/],
  ['webhook unknown type', withCanary((c) => c.addWebhook({ ...hook, type: 'pre-promotion' as WebhookType })), /webhooks\[0\]\.type \('pre-promotion'\) must be one of confirm-rollout, pre-rollout, rollout/],
  ['duplicate webhook', withCanary((c) => { c.addWebhook(hook); c.addWebhook(hook); }), /webhooks\[1\]\.name \('w'\) must be unique/],
  ['webhook retries negative', withCanary((c) => c.addWebhook({ ...hook, retries: -1 })), /webhooks\[0\]\.retries \(-1\) must be an integer from 0 to 100/],
  ['success rate above 100', () => new LinkerdMetricTemplates(testChart(), 't').successRate({ min: 101 }), /successRate\.min \(101\) must be a number from 0 to 100/],
  ['success rate negative', () => new LinkerdMetricTemplates(testChart(), 't').successRate({ min: -1 }), /successRate\.min \(-1\) must be a number from 0 to 100/],
  ['4xx percentage above 100', () => new LinkerdMetricTemplates(testChart(), 't').clientErrors({ max: 200 }), /clientErrors\.max \(200\) must be a number from 0 to 100/],
  ['latency 0', () => new LinkerdMetricTemplates(testChart(), 't').latencyP99({ maxMs: 0 }), /latencyP99\.maxMs \(0\) must be a number from 1 to 3600000/],
  ['Prometheus address not a URL', () => new LinkerdMetricTemplates(testChart(), 't', { prometheusAddress: 'prometheus:9090' }), /prometheusAddress \('prometheus:9090'\) must be an absolute http/],
  ['templates without namespace', () => new LinkerdMetricTemplates(testChart(null), 't'), /namespace \(undefined\) must be set/],
  ['workload name not DNS-1123', () => workload({ name: 'API' }), /name \('API'\) must be a DNS-1123 label/],
  ['workload port out of range', () => workload({ port: 65536 }), /port \(65536\) must be an integer from 1 to 65535/],
  ['workload port name too long', () => workload({ portName: 'http-port-number-one' }), /portName \('http-port-number-one'\) must be an IANA service name/],
  ['image with a tag', () => workload({ image: 'cyrilbkr/testapp:1.0' }), /image \('cyrilbkr\/testapp:1\.0'\) must be an image repository without tag or digest/],
  ['version not a tag', () => workload({ version: '1.0 beta' }), /version \('1\.0 beta'\) must be an image tag/],
  ['version not a label value', () => workload({ version: '1.0-' }), /version \('1\.0-'\) must be a label value/],
  ['replicas negative', () => workload({ replicas: -1 }), /replicas \(-1\) must be an integer from 0 to 1000/],
  ['runAsUser root', () => workload({ securityContext: { runAsUser: 0 } }), /securityContext\.runAsUser \(0\) must be an integer from 1 to 2147483647/],
  ['runAsGroup root', () => workload({ securityContext: { runAsGroup: 0 } }), /securityContext\.runAsGroup \(0\) must be an integer from 1 to 2147483647/],
  ['readOnlyRootFilesystem not boolean', () => workload({ securityContext: loose({ readOnlyRootFilesystem: 'no' }) }), /securityContext\.readOnlyRootFilesystem \('no'\) must be true or false/],
  ['cpu request above limit', () => workload({ resources: { cpuRequestMillis: 500, cpuLimitMillis: 100 } }), /resources\.cpuRequestMillis \(500\) must not exceed cpuLimitMillis \(100\)/],
  ['cpu limit 0 millicores', () => workload({ resources: { cpuRequestMillis: 0 } }), /resources\.cpuRequestMillis \(0\) must be an integer from 1 to 1000000/],
  ['cpu limit above 1000 cores', () => workload({ resources: { cpuLimitMillis: 1_000_001 } }), /resources\.cpuLimitMillis \(1000001\) must be an integer from 1 to 1000000/],
  ['memory limit 0', () => workload({ resources: { memoryLimit: Size.mebibytes(0) } }), /resources\.memoryLimit \('0Mi'\) must be more than 0/],
  ['interval a plain object (JavaScript)', () => canary({ interval: loose({ seconds: 30 }) }), /interval \(\{"seconds":30\}\) must be a Duration/],
  ['version longer than a label value', () => workload({ version: 'v'.repeat(64) }), /version \('v{64}'\) must be a label value: at most 63/],
  ['cpu fractional millicores', () => workload({ resources: { cpuLimitMillis: 0.5 } }), /resources\.cpuLimitMillis \(0\.5\) must be an integer from 1 to 1000000/],
  ['memory request above limit', () => workload({ resources: { memoryRequest: Size.gibibytes(1) } }), /resources\.memoryRequest \('1024Mi'\) must not exceed memoryLimit \(128Mi\)/],
  ['memory as a string', () => workload({ resources: loose({ memoryLimit: '128Mi' }) }), /resources\.memoryLimit \('128Mi'\) must be a Size, for example Size\.mebibytes\(64\)/],
  ['ephemeral storage request above limit', () => workload({ resources: { ephemeralStorageRequest: Size.gibibytes(2) } }), /resources\.ephemeralStorageRequest \('2048Mi'\) must not exceed ephemeralStorageLimit \(1024Mi\)/],
  ['ephemeral storage limit 0', () => workload({ resources: { ephemeralStorageLimit: Size.mebibytes(0) } }), /resources\.ephemeralStorageLimit \('0Mi'\) must be more than 0/],
  ['probe path relative', () => workload({ livenessPath: 'healthz' }), /livenessPath \('healthz'\) must be an absolute URL path/],
  ['interval as a string (JavaScript)', () => canary({ interval: loose('30s') }), /interval \('30s'\) must be a Duration, for example Duration\.seconds\(30\)/],
  ['metric interval as a number (JavaScript)', withCanary((c) => c.addMetric({ ...metric, interval: loose(60) })), /metrics\[0\]\.interval \(60\) must be a Duration/],
  ['load test duration as a string (JavaScript)', withCanary((c, s) => new LoadTester(s, 'l').loadTest(c, { duration: loose('1m') })), /loadTest\.duration \('1m'\) must be a Duration/],
  ['two Canaries for one target', twice((s, i) => canary({ name: `c${i}`, serviceName: `svc${i}` }, s, `c${i}`)), /Canary 'c2': targetName \('api'\) already has a Canary in namespace 'testapi'.*already used by test\/c1/],
  ['two Canaries for one target, in two charts', () => {
    const app = Testing.app();
    canary({}, new Chart(app, 'one', { namespace: 'shop' }));
    canary({}, new Chart(app, 'two', { namespace: 'shop' }));
  }, /targetName \('api'\) already has a Canary in namespace 'shop':.*already used by one\/c\)/],
  ['two Canaries with one name', twice((s, i) => canary({ targetName: `api${i}`, serviceName: `svc${i}`, name: 'release' }, s, `c${i}`)), /name \('release'\) is already the name of a Canary in namespace 'testapi'/],
  ['two Canaries with one serviceName', twice((s, i) => canary({ targetName: `api${i}`, serviceName: 'svc' }, s, `c${i}`)), /serviceName \('svc'\) already names the Services of another Canary/],
  ['two load testers with one name', twice((s, i) => new LoadTester(s, `l${i}`)), /LoadTester 'l2': name \('flagger-loadtester'\) is already the name of a load tester in namespace 'testapi'/],
  ['target and targetName', () => canary({ target: workload({}) , targetName: 'api' }), /targetName \('api'\) cannot be combined with target/],
  ['neither target nor targetName', () => canary({ targetName: undefined }), /targetName \(undefined\) must be set when there is no target/],
  ['no port without target', () => canary({ port: undefined }), /port \(undefined\) must be set when there is no target/],
  ['targetPort not the target\'s container port', withScope((s) => canary({ target: workload({ port: 3000 }, s), targetName: undefined, targetPort: 8080 }, s)),
    /targetPort \(8080\) does not match target 'api', whose container port is 3000 \('http'\)/],
  ['targetPort name not the target\'s port name', withScope((s) => canary({ target: workload({ port: 3000 }, s), targetName: undefined, targetPort: 'web' }, s)),
    /targetPort \('web'\) does not match target 'api'/],
  ['targetPort neither number nor name', () => canary({ targetPort: loose(true) }), /targetPort \(true\) must be a port number or a port name/],
  ['load test qps below concurrency', withCanary((c, s) => new LoadTester(s, 'l').loadTest(c, { qps: 3, concurrency: 4 })), /loadTest\.qps \(3\) must be at least concurrency \(4\): hey's -q is a per-worker rate/],
  ['namespace name invalid', () => new MeshNamespace(testChart(null), 'n', { name: '-testapi' }), /name \('-testapi'\) must be a DNS-1123 label/],
  ['unknown Pod Security level', () => new MeshNamespace(testChart(null), 'n', { name: 'shop', podSecurity: 'strict' as PodSecurityLevel }), /podSecurity \('strict'\) must be one of privileged, baseline, restricted/],
  ['load tester port', () => new LoadTester(testChart(), 'l', { containerPort: 0 }), /containerPort \(0\) must be an integer from 1 to 65535/],
  ['load test concurrency 0', withCanary((c, s) => new LoadTester(s, 'l').loadTest(c, { concurrency: 0 })), /loadTest\.concurrency \(0\) must be an integer from 1 to 1000/],
  ['load test duration under 1s', withCanary((c, s) => new LoadTester(s, 'l').loadTest(c, { duration: Duration.millis(100) })), /loadTest\.duration \(100ms\) must be a whole number of seconds/],
  ['load generator qps 0', withCanary((c, s) => new LoadGenerator(s, 'g', { canary: c, qps: 0 })), /qps \(0\) must be a number from 0\.1 to 10000/],
  ['load generator path with quote', withCanary((c, s) => new LoadGenerator(s, 'g', { canary: c, path: "/'; rm -rf /" })), /path \('\/'; rm -rf \/'\) must start with '\/' and contain no spaces or quotes/],
  ['demo version', () => new CanaryDemo(Testing.app(), { version: 'v3' }), /CanaryDemo: version \("v3"\) must be a release number such as 1\.0, 2\.0 or 3\.0/],
];

describe('bad input throws an Error naming the prop, the value and what is allowed', () => {
  test('at least 20 cases', () => expect(cases.length).toBeGreaterThanOrEqual(20));

  test.each(cases)('%s', (_name, build, message) => {
    expect(build).toThrow(Error);
    expect(build).toThrow(message);
  });

  test('messages name the construct', () => {
    expect(() => canary({ stepWeight: 60, maxWeight: 50 })).toThrow("Canary 'c': stepWeight (60) must not exceed maxWeight (50)");
  });

  test('nothing is synthesized from a chart whose construction failed', () => {
    const app = Testing.app();
    expect(() => new CanaryDemo(app, { stepWeight: 80 })).toThrow(/stepWeight \(80\) must not exceed maxWeight \(50\)/);
  });
});
