/**
 * Run by pod-status-writer.test.ts in a child process (client-node does not
 * load under jest): the emulator's kubelet loop (KubeSource, EmulatedKubelet,
 * PodStatusWriter) against the API server at argv[2], one round every 300 ms
 * until argv[3] rounds passed, one JSON line a round.
 */
import * as path from 'node:path';
import { KubeSource, PodStatusWriter } from '../../e2e/dataplane/kube-source';
import { EmulatedKubelet } from '../../e2e/dataplane/kubelet';
import { LoopbackPool } from '../../e2e/dataplane/loopback';
import { fakeKubeConfig } from './fake-kubeconfig';

async function main(): Promise<void> {
  const kc = fakeKubeConfig(process.argv[2]);
  const log: string[] = [];
  const source = new KubeSource(kc, 'testapi', (l) => log.push(l));
  const writer = new PodStatusWriter(kc, (l) => log.push(l));
  const kubelet = new EmulatedKubelet({
    serverPath: path.resolve(__dirname, '../../testapi/server.js'),
    addresses: new LoopbackPool(process.argv[4]),
    log: (l) => log.push(l),
  });
  for (let round = 0; round < Number(process.argv[3]); round++) {
    const snapshot = await source.snapshot();
    kubelet.reconcile(snapshot.pods);
    const patched = await writer.reconcile(kubelet.statuses(), snapshot.pods);
    process.stdout.write(`${JSON.stringify({ patched, log: log.splice(0) })}\n`);
    await new Promise((r) => setTimeout(r, 300));
  }
  await kubelet.stopAll();
}

main().catch((err: Error) => {
  process.stderr.write(`${err.stack}\n`);
  process.exit(1);
});
