import { App } from 'cdk8s';
import { CanaryDemo } from './charts';

// `API_VERSION=2.0 npm run synth` picks the release; a bad value is reported
// in one line, without a stack trace.
try {
  const app = new App();
  new CanaryDemo(app, { version: process.env.API_VERSION ?? '1.0' });
  app.synth();
} catch (err) {
  process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
