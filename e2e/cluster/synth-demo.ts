/**
 * Synthesizes the demo for the e2e stack: the chart of main.ts with a 10 s analysis interval
 * (Flagger re-examines a Canary once per interval, so initialization takes one interval), the
 * namespace labelled for Pod Security `restricted`, the project's test API image with its health
 * paths (as the rehearsal deploys it), and namespace e2e-demo (testapi is left to the rehearsal
 * suites sharing the stack; e2e-demo is not an emulated namespace, so kwok makes its pods Ready).
 * Usage: node --require tsx/cjs e2e/cluster/synth-demo.ts <outdir>
 */
import { App, Duration } from 'cdk8s';
import { CanaryDemo } from '../../charts';
import { PodSecurityLevel } from '../../lib';
import { TESTAPI_IMAGE } from '../dataplane/images';

const outdir = process.argv[2];
if (!outdir) throw new Error('usage: synth-demo <outdir>');
const app = new App({ outdir });
new CanaryDemo(app, {
  namespace: 'e2e-demo', version: '1.0', interval: Duration.seconds(10), podSecurity: PodSecurityLevel.RESTRICTED,
  image: TESTAPI_IMAGE, livenessPath: '/healthz', readinessPath: '/readyz',
});
app.synth();
