/**
 * What the chaos run sees of the Canary, independently of the watcher: the
 * Canary's status and the primary's image, read once a second through the API
 * server (client-node), kept as samples. Reads that fail (the API server is
 * down) are kept too, as gaps. False promotions and "nothing lost from the
 * status" are judged on these samples.
 */
import * as k8s from '@kubernetes/client-node';
import type { CanaryStatus } from '../../watch/verdict';

/** One read: the Canary's status fields (as the watcher types them), the whole status, the primary's image. */
export interface Sample extends Pick<CanaryStatus, 'phase' | 'canaryWeight' | 'failedChecks' | 'iterations' | 'lastAppliedSpec' | 'lastPromotedSpec'> {
  readonly at: number;
  /** The read failed (API server down or slow). */
  readonly error?: string;
  /** The whole status, to compare across a fault. */
  readonly status?: Record<string, unknown>;
  /** Image of the primary Deployment's first container. */
  readonly primaryImage?: string;
}

/** client-node 1.4 has no request timeout: a read must not hang the loop. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

function message(err: unknown): string {
  const e = err as { code?: number; message?: string };
  return e.code ? `HTTP ${e.code}` : (e.message ?? String(err)).split('\n')[0];
}

export class CanaryObserver {
  readonly samples: Sample[] = [];
  private readonly custom: k8s.CustomObjectsApi;
  private readonly apps: k8s.AppsV1Api;
  private readonly core: k8s.CoreV1Api;
  private timer?: NodeJS.Timeout;
  private running = false;

  constructor(kubeconfig: string, readonly namespace = 'testapi', readonly name = 'api', private readonly periodMs = 1000) {
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(kubeconfig);
    this.custom = kc.makeApiClient(k8s.CustomObjectsApi);
    this.apps = kc.makeApiClient(k8s.AppsV1Api);
    this.core = kc.makeApiClient(k8s.CoreV1Api);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    const loop = async () => {
      if (!this.running) return;
      this.samples.push(await this.read());
      // Keep the last half hour: enough for any scenario, bounded for --repeat.
      while (this.samples.length > 1800) this.samples.shift();
      this.timer = setTimeout(() => void loop(), this.periodMs);
    };
    void loop();
  }

  stop(): void {
    this.running = false;
    clearTimeout(this.timer);
  }

  async read(): Promise<Sample> {
    const at = Date.now();
    try {
      const [canary, primary] = await Promise.all([
        within(this.custom.getNamespacedCustomObject({
          group: 'flagger.app', version: 'v1beta1', namespace: this.namespace, plural: 'canaries', name: this.name,
        }), 5000, 'GET canary'),
        within(this.apps.readNamespacedDeployment({ namespace: this.namespace, name: `${this.name}-primary` }), 5000, 'GET primary')
          .catch((err: unknown) => {
            if ((err as { code?: number }).code === 404) return undefined;
            throw err;
          }),
      ]);
      const status = ((canary as { status?: Record<string, unknown> }).status ?? {});
      return {
        at, status,
        phase: status.phase as string | undefined,
        canaryWeight: (status.canaryWeight as number | undefined) ?? 0,
        failedChecks: (status.failedChecks as number | undefined) ?? 0,
        iterations: (status.iterations as number | undefined) ?? 0,
        lastAppliedSpec: status.lastAppliedSpec as string | undefined,
        lastPromotedSpec: status.lastPromotedSpec as string | undefined,
        primaryImage: primary?.spec?.template.spec?.containers[0]?.image,
      };
    } catch (err) {
      return { at, error: message(err) };
    }
  }

  /** The newest successful sample. */
  latest(): Sample | undefined {
    for (let i = this.samples.length - 1; i >= 0; i--) if (!this.samples[i].error) return this.samples[i];
    return undefined;
  }

  between(from: number, to = Infinity): Sample[] {
    return this.samples.filter((s) => s.at >= from && s.at <= to);
  }

  /** Waits for a sample taken at or after `since` that passes the test; undefined when `giveUp` says so first, or at the timeout. */
  async until(test: (s: Sample) => boolean, since: number, giveUp: () => boolean, timeoutMs: number): Promise<Sample | undefined> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline && !giveUp()) {
      const hit = this.samples.find((s) => s.at >= since && !s.error && test(s));
      if (hit) return hit;
      await new Promise((r) => setTimeout(r, 250));
    }
    return undefined;
  }

  /** Replicas of the target Deployment (spec), through the scale subresource. */
  async scaleTarget(replicas: number): Promise<void> {
    await within(this.apps.patchNamespacedDeploymentScale({
      namespace: this.namespace, name: this.name, body: { spec: { replicas } },
    }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch)), 10_000, 'scale target');
  }

  /** Names of the running pods of a Deployment (by its `app` label). */
  async podsOf(app: string): Promise<string[]> {
    const pods = await within(this.core.listNamespacedPod({ namespace: this.namespace, labelSelector: `app=${app}` }), 5000, 'list pods');
    return pods.items.filter((p) => !p.metadata?.deletionTimestamp).map((p) => p.metadata!.name!);
  }
}
