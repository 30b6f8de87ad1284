import { App } from 'cdk8s';
import { CanaryDemo } from './charts';
import { StrategyKind } from './lib';

// `API_VERSION=2.0 npm run synth` picks the release and `STRATEGY=blue-green`
// (or ab-testing; canary by default) the delivery strategy; a bad value is reported
// in one line, without a stack trace. `--check` validates without writing:
// `npm run synth` runs it first, because cdk8s-cli adds a stack trace of its
// own when the app exits non-zero.
function strategyFromEnv(text: string | undefined): StrategyKind | undefined {
  if (text === undefined || text === '') return undefined;
  const kinds = Object.values(StrategyKind) as string[];
  if (!kinds.includes(text)) throw new Error(`STRATEGY (${JSON.stringify(text)}) must be one of ${kinds.join(', ')}`);
  return text as StrategyKind;
}

try {
  const app = new App();
  new CanaryDemo(app, { version: process.env.API_VERSION ?? '1.0', strategy: strategyFromEnv(process.env.STRATEGY) });
  if (!process.argv.includes('--check')) app.synth();
} catch (err) {
  process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
