/**
 * Which revision a watch judges. Flagger's status names revisions only by an opaque
 * hash of the target's pod template (lastAppliedSpec), which cannot be recomputed
 * outside Flagger; so the watcher reads the target itself. The watched revision is
 * the target's pod template when the watch starts (or, with --image, a template
 * that runs that image). Each time a new lastAppliedSpec appears, Flagger has just
 * hashed the target's current template, so reading the target then tells whether
 * that hash is the watched revision. The window between Flagger's read and ours is
 * the limit: an apply landing inside it is attributed to the newer template.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { kubeRequest, statusMessage } from './kube';
import type { CanaryObject, RevisionClass } from './verdict';

/** How often the start's read of the target is tried when it fails in passing. */
const START_ATTEMPTS = 3;

/** A failure worth a retry: a connection that failed in passing, a 5xx or a 429. */
class TransientError extends Error {}

const PASSING_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

const PLURALS: Record<string, string> = { Deployment: 'deployments', DaemonSet: 'daemonsets' };

interface PodTemplate {
  readonly spec?: { readonly containers?: ReadonlyArray<{ readonly image?: string }> };
}

/** JSON with sorted keys: two reads of one template compare equal. */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** The images of a pod template's containers. */
export function imagesOf(template: PodTemplate | undefined): string[] {
  return (template?.spec?.containers ?? []).map((c) => c.image ?? '');
}

export class RevisionTracker {
  private readonly classes = new Map<string, RevisionClass>();

  private constructor(private readonly read: () => Promise<PodTemplate>,
    private readonly watched: (template: PodTemplate) => boolean, readonly description: string,
    /** The class of the target's template at the start. */
    readonly startClass: RevisionClass) {}

  /**
   * A tracker for the Canary's target, or the reason there is none (the target cannot
   * be read: then every rollout that starts counts, as without revision tracking).
   */
  static async create(kc: KubeConfig, namespace: string, canary: CanaryObject, image: string | undefined,
    timeoutMs: number, retryDelayMs = 1000): Promise<RevisionTracker | string> {
    const ref = canary.spec?.targetRef;
    const plural = PLURALS[ref?.kind ?? ''];
    if (!ref?.name || !plural) return `the Canary's target (${ref?.kind ?? 'no kind'}) is not a Deployment or DaemonSet`;
    const path = `/apis/apps/v1/namespaces/${encodeURIComponent(namespace)}/${plural}/${encodeURIComponent(ref.name)}`;
    const what = `${ref.kind} ${namespace}/${ref.name}`;
    const read = async (): Promise<PodTemplate> => {
      const answer = await kubeRequest(kc, 'GET', path, { timeoutMs }).catch((err: NodeJS.ErrnoException) => {
        // A refused or cut connection, or no answer in time, may pass; a TLS or credential error does not.
        const passing = PASSING_ERRORS.has(err.code ?? '') || /^no answer within/.test(err.message);
        throw passing ? new TransientError(`cannot get ${what}: ${err.message}`) : new Error(`cannot get ${what}: ${err.message}`);
      });
      if (answer.status !== 200) {
        const message = `cannot get ${what}: ${answer.status === 403 ? 'forbidden' : statusMessage(answer)}`;
        throw answer.status >= 500 || answer.status === 429 ? new TransientError(message) : new Error(message);
      }
      const template = (JSON.parse(answer.body) as { spec?: { template?: PodTemplate } }).spec?.template;
      if (!template) throw new Error(`${what} has no pod template`);
      return template;
    };
    let start: PodTemplate | undefined;
    // A passing fault (an API server restart, a 503 from a busy one) must not turn
    // tracking off for the whole watch: the start's read is tried START_ATTEMPTS times.
    for (let attempt = 1; !start; attempt++) {
      try {
        start = await read();
      } catch (err) {
        if (!(err instanceof TransientError) || attempt >= START_ATTEMPTS) return (err as Error).message;
        await new Promise((resolve) => setTimeout(resolve, retryDelayMs * attempt));
      }
    }
    if (image !== undefined) {
      const runs = (t: PodTemplate) => imagesOf(t).includes(image);
      return new RevisionTracker(read, runs, `the pod template of ${what} that runs ${image}`, runs(start) ? 'watched' : 'other');
    }
    const key = canonical(start);
    return new RevisionTracker(read, (t) => canonical(t) === key,
      `the pod template of ${what} at the start (${imagesOf(start).join(', ') || 'no image'})`, 'watched');
  }

  /** The class of a hash seen before, if any. */
  known(hash: string): RevisionClass | undefined {
    return this.classes.get(hash);
  }

  /** Classifies a lastAppliedSpec that has just appeared, by the target's template now. */
  async classify(hash: string): Promise<RevisionClass> {
    const known = this.classes.get(hash);
    if (known) return known;
    const template = await this.read();
    const found: RevisionClass = this.watched(template) ? 'watched' : 'other';
    this.classes.set(hash, found);
    return found;
  }

  /** Records the class of a hash without reading (the one in progress at the start). */
  assume(hash: string, revision: RevisionClass): void {
    if (!this.classes.has(hash)) this.classes.set(hash, revision);
  }
}
