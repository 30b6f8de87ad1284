/**
 * `promote` and `abort`: open the Flagger load tester's stateful gates
 * (v1.44.0 pkg/loadtester/server.go: POST /gate/open and /rollback/open with the
 * Canary's name and namespace; a confirm-promotion webhook on /gate/check and a
 * rollback webhook on /rollback/check read them). The load tester is reached through
 * the API server's service proxy, so only Kubernetes credentials are needed:
 * get on the Canary and create on services/proxy of the load tester's Service.
 * Flagger reads the rollback webhook in Progressing, Waiting and WaitingPromotion
 * (pkg/controller/scheduler.go), and the promotion gate at the end of the analysis;
 * outside those phases an opened gate would only act on a later rollout, so both
 * commands refuse.
 */
import type { GateOptions } from './args';
import type { Io } from './cli';
import { commandRequest, getCanary, loadKubeConfig, namespaceOf, statusMessage, userOf, WatchError } from './kube';
import { proxyPath, serviceAddress } from './service-url';
import { CanaryObject, CanaryWebhookSpec, EXIT } from './verdict';

const IN_ANALYSIS = ['Progressing', 'Waiting', 'WaitingPromotion'];

interface GateKind {
  readonly webhookType: string;
  readonly checkPath: string;
  readonly openPath: string;
  readonly what: string;
  readonly done: string;
}

const GATES: Record<GateOptions['command'], GateKind> = {
  promote: {
    webhookType: 'confirm-promotion', checkPath: '/gate/check', openPath: '/gate/open', what: 'promotion gate',
    done: 'Flagger promotes the canary once its analysis passes',
  },
  abort: {
    webhookType: 'rollback', checkPath: '/rollback/check', openPath: '/rollback/open', what: 'rollback gate',
    done: 'Flagger rolls the canary back at its next check',
  },
};

/** The webhooks of the Canary that are this kind of load-tester gate. */
export function findGates(canary: CanaryObject, kind: GateKind): CanaryWebhookSpec[] {
  return (canary.spec?.analysis?.webhooks ?? []).filter((w) => {
    if (w.type !== kind.webhookType || !w.url) return false;
    try {
      return new URL(w.url).pathname.replace(/\/+$/, '') === kind.checkPath;
    } catch {
      return false;
    }
  });
}

export async function gateCommand(io: Io, options: GateOptions, program: string): Promise<number> {
  const fail = (message: string): number => {
    io.stderr.write(`${program}: ${message}\n`);
    return EXIT.error;
  };
  try {
    io.stdout.write(await openGate(io, options) + '\n');
    return EXIT.met;
  } catch (err) {
    return fail(err instanceof WatchError ? err.message : `unexpected error: ${(err as Error).message.split('\n')[0]}`);
  }
}

async function openGate(io: Io, options: GateOptions): Promise<string> {
  const kind = GATES[options.command];
  const kc = await loadKubeConfig(options, io.env);
  const namespace = namespaceOf(kc, options);
  const ref = `canary ${namespace}/${options.name}`;
  const timeoutMs = options.requestTimeoutMs ?? 15_000;
  const canary = await getCanary(kc, namespace, options.name, timeoutMs);

  const gates = findGates(canary, kind).filter((w) => options.gate === undefined || w.name === options.gate);
  if (gates.length === 0) {
    const named = options.gate ? ` named "${options.gate}"` : '';
    throw new WatchError(`${ref} has no ${kind.what}${named}: no ${kind.webhookType} webhook on a load tester's ${kind.checkPath} `
      + '(add one with the LoadTester construct\'s addGates)');
  }
  if (gates.length > 1) {
    throw new WatchError(`${ref} has ${gates.length} ${kind.what}s (${gates.map((g) => g.name).join(', ')}): pick one with --gate`);
  }
  const phase = canary.status?.phase || 'no phase yet';
  if (!IN_ANALYSIS.includes(phase)) {
    throw new WatchError(`${ref} is not in analysis (phase ${phase}): an opened ${kind.what} would act on a later rollout; `
      + `run ${options.command} while the phase is ${IN_ANALYSIS.join(', ')}`);
  }

  const gate = gates[0];
  const address = serviceAddress(gate.url!, namespace);
  if (!address) throw new WatchError(`webhook "${gate.name}" points at ${gate.url}, not a Service the API server can proxy to`);
  // The gate's URL ends in its check path; open and check share the prefix before it.
  const service = { ...address, basePath: address.basePath.replace(/\/+$/, '').slice(0, -kind.checkPath.length) };
  const path = proxyPath(service, kind.openPath);
  const opened = await commandRequest(kc, 'POST', path, { body: JSON.stringify({ name: options.name, namespace }), timeoutMs });
  if (opened.status === 403) {
    throw new WatchError(`forbidden: ${userOf(opened)} cannot create services/proxy "${service.name}" in namespace "${service.namespace}"`);
  }
  if (opened.status === 404 && /services/.test(statusMessage(opened))) {
    throw new WatchError(`the load tester's Service ${service.namespace}/${service.name} not found`);
  }
  if (opened.status !== 202 && opened.status !== 200) {
    throw new WatchError(`the load tester did not open the ${kind.what} (HTTP ${opened.status}: ${statusMessage(opened)})`);
  }
  return `${kind.what} "${gate.name}" of ${ref} opened (phase ${phase}): ${kind.done}`;
}
