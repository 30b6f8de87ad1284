/**
 * Loading the kubeconfig the way kubectl does, with one-line errors, and plain
 * HTTPS requests with its credentials for what client-node's generated clients do
 * not cover (POST bodies through the API server's service proxy).
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import type { CommonOptions } from './args';
import { loadClientNode } from './lean-client';
import type { CanaryObject } from './verdict';

/** A problem the user must fix (exit code 3); the message is one actionable line. */
export class WatchError extends Error {}

/**
 * client-node, given no kubeconfig at all, falls back to a cluster at
 * http://localhost:8080 and then blames that address; kubectl says what is missing.
 */
function noKubeconfig(options: CommonOptions, env: NodeJS.ProcessEnv): boolean {
  if (options.kubeconfig || env.KUBECONFIG) return false;
  if (env.KUBERNETES_SERVICE_HOST) return false;
  const home = env.HOME || os.homedir();
  return !fs.existsSync(path.join(home, '.kube', 'config'));
}

export async function loadKubeConfig(options: CommonOptions, env: NodeJS.ProcessEnv): Promise<KubeConfig> {
  if (noKubeconfig(options, env)) {
    throw new WatchError('no kubeconfig: pass --kubeconfig, set KUBECONFIG, or create ~/.kube/config '
      + '(in a pod, the ServiceAccount is used)');
  }
  const lib = await loadClientNode();
  const kc = new lib.KubeConfig();
  try {
    if (options.kubeconfig) kc.loadFromFile(options.kubeconfig);
    else kc.loadFromDefault();
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const what = options.kubeconfig ? `kubeconfig ${options.kubeconfig}` : 'the kubeconfig';
    const reason = e.code === 'ENOENT' ? 'file not found'
      : e instanceof TypeError ? 'it is empty or not a kubeconfig' : e.message.split('\n')[0];
    throw new WatchError(`cannot load ${what}: ${reason}`);
  }
  if (options.context) {
    if (!kc.getContextObject(options.context)) {
      const known = kc.getContexts().map((c) => c.name).join(', ') || 'none';
      throw new WatchError(`context "${options.context}" not found in the kubeconfig (known: ${known})`);
    }
    kc.setCurrentContext(options.context);
  }
  if (!kc.getCurrentCluster()) {
    throw new WatchError('the kubeconfig has no current context with a cluster; pass --context or fix current-context');
  }
  return kc;
}

export function namespaceOf(kc: KubeConfig, options: CommonOptions): string {
  return options.namespace ?? kc.getContextObject(kc.getCurrentContext())?.namespace ?? 'default';
}

export interface RawAnswer {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

/**
 * One request to the API server with the kubeconfig's credentials. Network errors
 * reject with the error; any HTTP status resolves (the caller explains it).
 */
export async function kubeRequest(kc: KubeConfig, method: string, apiPath: string,
  options: { body?: string; timeoutMs?: number } = {}): Promise<RawAnswer> {
  const server = kc.getCurrentCluster()!.server;
  const url = new URL(server.replace(/\/$/, '') + apiPath);
  const request: https.RequestOptions = {
    method,
    protocol: url.protocol,
    hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port,
    path: url.pathname + url.search,
    headers: {
      'Accept': 'application/json, */*',
      ...(options.body !== undefined ? { 'Content-Type': 'application/json' } : {}),
    },
  };
  await kc.applyToHTTPSOptions(request);
  const send = url.protocol === 'https:' ? https.request : http.request;
  return new Promise<RawAnswer>((resolve, reject) => {
    const req = send(request, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({
        status: res.statusCode ?? 0,
        contentType: String(res.headers['content-type'] ?? ''),
        body: Buffer.concat(chunks).toString('utf8'),
      }));
      res.on('error', reject);
    });
    if (options.timeoutMs) {
      req.setTimeout(options.timeoutMs, () => req.destroy(new Error(`no answer within ${options.timeoutMs} ms`)));
    }
    req.on('error', reject);
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}

/** The message of a Kubernetes Status body, else an excerpt of the body. */
export function statusMessage(answer: RawAnswer): string {
  try {
    const parsed = JSON.parse(answer.body) as { kind?: string; message?: string };
    if (parsed.kind === 'Status' && parsed.message) return parsed.message;
  } catch {
    // not JSON
  }
  const text = answer.body.replace(/\s+/g, ' ').trim();
  return text.length > 160 ? `${text.slice(0, 160)}...` : text || `HTTP ${answer.status}`;
}

/** `"system:serviceaccount:ci:deployer"` from a 403 Status, or 'this account'. */
export function userOf(answer: RawAnswer): string {
  const user = /User "([^"]+)"/.exec(statusMessage(answer))?.[1];
  return user ? `"${user}"` : 'this account';
}

/**
 * kubeRequest for the one-shot commands: a request that gets no HTTP answer is a
 * WatchError, one line that says where to look.
 */
export function commandRequest(kc: KubeConfig, method: string, apiPath: string,
  options: { body?: string; timeoutMs?: number } = {}): Promise<RawAnswer> {
  return kubeRequest(kc, method, apiPath, options).catch((err: unknown) => {
    throw new WatchError(`cannot reach the API server at ${kc.getCurrentCluster()!.server} (${(err as Error).message}); check --kubeconfig/--context`);
  });
}

/**
 * One GET of a Canary for the one-shot commands (status, get, promote, abort), every
 * failure a WatchError in one line; a missing Canary, a missing CRD and rejected
 * credentials are worded as the watch's own (source.ts).
 */
export async function getCanary(kc: KubeConfig, namespace: string, name: string, timeoutMs: number): Promise<CanaryObject> {
  const path = `/apis/flagger.app/v1beta1/namespaces/${encodeURIComponent(namespace)}/canaries/${encodeURIComponent(name)}`;
  const server = kc.getCurrentCluster()!.server;
  const answer = await commandRequest(kc, 'GET', path, { timeoutMs });
  if (answer.status === 404) {
    // The API server's own 404 for a missing object names it; any other 404 means the resource is not served.
    throw new WatchError(/canaries/.test(statusMessage(answer)) && /not found/.test(statusMessage(answer))
      ? `canary "${name}" not found in namespace "${namespace}" (check the name and -n; list them with: kubectl get canaries.flagger.app -n ${namespace})`
      : `${server} does not serve canaries.flagger.app/v1beta1 in namespace "${namespace}" (HTTP 404): is Flagger installed (its Canary CRD) and the namespace right?`);
  }
  if (answer.status === 403) throw new WatchError(`forbidden: ${userOf(answer)} cannot get canaries.flagger.app in namespace "${namespace}"`);
  if (answer.status === 401) throw new WatchError(`unauthorized: ${server} rejected the credentials (HTTP 401); refresh them or pick another --context`);
  if (answer.status !== 200) throw new WatchError(`cannot get canary ${namespace}/${name}: ${statusMessage(answer)}`);
  let canary: CanaryObject & { kind?: string };
  try {
    canary = JSON.parse(answer.body) as CanaryObject & { kind?: string };
  } catch {
    throw new WatchError(`the API server's answer to GET ${path} is not JSON (${answer.contentType || 'no content type'})`);
  }
  if (canary.kind !== 'Canary') throw new WatchError(`the API server's answer to GET ${path} is not a Canary`);
  return canary;
}
