/**
 * Run by kube-loop.test.ts in a child process (client-node does not load under
 * jest): the emulator's loop of KubeSource and RouteStatusWriter, three
 * rounds against the API server at argv[2], one JSON line a round.
 */
import { KubeSource, RouteStatusWriter } from '../../e2e/dataplane/kube-source';
import { describeSplit } from '../../e2e/dataplane/topology';
import { fakeKubeConfig } from './fake-kubeconfig';

async function main(): Promise<void> {
  const kc = fakeKubeConfig(process.argv[2]);
  const log: string[] = [];
  const source = new KubeSource(kc, 'testapi', (l) => log.push(l));
  const writer = new RouteStatusWriter(kc, (l) => log.push(l));
  for (let round = 0; round < 3; round++) {
    const snapshot = await source.snapshot();
    const patched = await writer.reconcile(snapshot.httpRoutes, snapshot.services, new Date('2026-03-04T05:06:07.500Z'));
    process.stdout.write(`${JSON.stringify({ splits: snapshot.splits.map((s) => `${s.service}:${s.port} ${describeSplit(s)}`), patched, log: log.splice(0) })}\n`);
  }
}

main().catch((err: Error) => {
  process.stderr.write(`${err.stack}\n`);
  process.exit(1);
});
