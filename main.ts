import { App } from 'cdk8s';
import { CanaryDemo } from './charts';

// `API_VERSION=2.0 npm run synth` picks the release; a bad value is reported
// in one line, without a stack trace. `--check` validates without writing:
// `npm run synth` runs it first, because cdk8s-cli adds a stack trace of its
// own when the app exits non-zero.
try {
  const app = new App();
  new CanaryDemo(app, { version: process.env.API_VERSION ?? '1.0' });
  if (!process.argv.includes('--check')) app.synth();
} catch (err) {
  process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
