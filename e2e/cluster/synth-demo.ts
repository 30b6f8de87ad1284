/**
 * Synthesizes the demo for the e2e stack: the chart of main.ts with a 10 s analysis interval
 * (Flagger re-examines a Canary once per interval, so initialization takes one interval), the
 * namespace labelled for Pod Security `restricted`, and namespace e2e-demo (testapi is left to
 * the rehearsal suites sharing the stack). Usage: node --require tsx/cjs e2e/cluster/synth-demo.ts <outdir>
 */
import { App, Duration } from 'cdk8s';
import { CanaryDemo } from '../../charts';
import { PodSecurityLevel } from '../../lib';

const outdir = process.argv[2];
if (!outdir) throw new Error('usage: synth-demo <outdir>');
const app = new App({ outdir });
new CanaryDemo(app, {
  namespace: 'e2e-demo', version: '1.0', interval: Duration.seconds(10), podSecurity: PodSecurityLevel.RESTRICTED,
});
app.synth();
