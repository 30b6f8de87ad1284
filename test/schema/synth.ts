import { App, Chart, Testing } from 'cdk8s';
import { Construct } from 'constructs';

type Json = { [key: string]: any };

/** A fresh chart in a test App, in namespace testapi unless given another or `null` for none. */
export function testChart(namespace: string | null = 'testapi'): Chart {
  return new Chart(Testing.app(), 'test', { namespace: namespace ?? undefined });
}

/** Synthesizes every chart of an app, in dependency order. */
export function synthApp(app: App): Json[] {
  return app.charts.flatMap((chart) => Testing.synth(chart));
}

/** Objects of a chart whose kind (and name, if given) match. */
export function find(objects: Json[], kind: string, name?: string): Json[] {
  return objects.filter((o) => o.kind === kind && (name === undefined || o.metadata?.name === name));
}

/** The single object of that kind and name; fails the test otherwise. */
export function only(objects: Json[], kind: string, name?: string): Json {
  const found = find(objects, kind, name);
  if (found.length !== 1) throw new Error(`expected one ${kind}${name ? ` '${name}'` : ''}, found ${found.length}`);
  return found[0];
}

/** Synthesizes a chart built by `build`. */
export function synthWith(build: (scope: Construct) => void, namespace?: string | null): Json[] {
  const chart = testChart(namespace);
  build(chart);
  return Testing.synth(chart);
}
