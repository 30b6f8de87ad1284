/** A kubeconfig for a plain-http fake API server (the fixtures run client-node in a child process). */
import * as k8s from '@kubernetes/client-node';

export function fakeKubeConfig(server: string): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'fake', server, skipTLSVerify: true }],
    users: [{ name: 'fake' }],
    contexts: [{ name: 'fake', cluster: 'fake', user: 'fake' }],
    currentContext: 'fake',
  });
  return kc;
}
