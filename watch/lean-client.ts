/**
 * client-node 1.4, loaded lean: its KubeConfig without its generated API client.
 *
 * `@kubernetes/client-node` has no exports map and no smaller entry point: KubeConfig
 * (dist/config.js) imports two names (createConfiguration, ServerConfiguration) from
 * dist/gen/index.js, and that module pulls in the whole generated client, some 21 MB of
 * JavaScript in 936 modules (every API group twice over in types/ObservableAPI.js and
 * the apis/, every model through models/ObjectSerializer.js). Loading it took peak RSS
 * past 100 MB. A resolve hook hands config.js a module with just those two names, so
 * KubeConfig (kubeconfig loading, exec/OIDC/cloud auth, TLS, proxies) is client-node's own
 * code, unchanged; the watcher's three GETs (KubeApi below) go through client-node's own
 * request context, auth, middleware and HTTP library, as its generated CustomObjectsApi
 * and CoreV1Api send them.
 *
 * The hook only applies when config.js imports nothing else from ./gen/index.js
 * (checked in its source at startup); otherwise client-node loads whole, as before (more memory, same
 * behaviour). It is in-thread (module.registerHooks) where Node has it (22.15, 23.5 and
 * later); on older Node it is module.register, whose hooks run on a thread of their own and
 * only see import(), not require().
 */
import * as nodeModule from 'node:module';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import type {
  ApiException, Configuration, ConfigurationOptions, HttpMethod, KubeConfig, Observable, RequestContext, ResponseContext,
} from '@kubernetes/client-node';
import type { mergeConfiguration } from '@kubernetes/client-node/dist/gen/configuration.js';

export interface ClientNode {
  readonly KubeConfig: typeof KubeConfig;
  readonly Observable: typeof Observable;
  /** The watcher's three requests, on `kc`'s current cluster and user. */
  makeApi(kc: KubeConfig): KubeApi;
}

/** config.js's import from ./gen/index.js that the lean module stands in for. */
const GEN_INDEX = './gen/index.js';
const GEN_NAMES: Readonly<Record<string, string>> = {
  createConfiguration: 'gen/configuration.js',
  ServerConfiguration: 'gen/servers.js',
};

type ResolveHook = (specifier: string, context: { parentURL?: string }, next: (specifier: string, context: object) => unknown) => unknown;
interface ModuleHooksApi {
  registerHooks?(hooks: { resolve: ResolveHook }): unknown;
  register?(specifier: string): void;
}

let loading: Promise<ClientNode> | undefined;
let loaded: ClientNode | undefined;

/** Loads client-node's KubeConfig and what KubeApi needs, once. */
export function loadClientNode(): Promise<ClientNode> {
  loading ??= load().then((lib) => (loaded = lib));
  return loading;
}

/** What loadClientNode() loaded (a KubeConfig exists only once it has). */
export function clientNode(): ClientNode {
  if (!loaded) throw new Error('client-node is not loaded yet (loadClientNode)');
  return loaded;
}

async function load(): Promise<ClientNode> {
  const dist = path.dirname(require.resolve('@kubernetes/client-node/dist/config.js'));
  const configUrl = pathToFileURL(path.join(dist, 'config.js')).href;
  const lean = leanIndex(dist);
  const files = ['config.js', 'gen/configuration.js', 'gen/apis/exception.js', 'gen/rxjsStub.js'].map((f) => path.join(dist, f));
  const hooks = nodeModule as unknown as ModuleHooksApi;
  let importEsm: ((url: string) => Promise<unknown>) | undefined;
  if (lean && typeof hooks.registerHooks !== 'function' && typeof hooks.register === 'function') {
    try {
      // A real import(): tsc turns import() into require() in CommonJS output.
      importEsm = new Function('url', 'return import(url)') as (url: string) => Promise<unknown>;
    } catch {
      // --disallow-code-generation-from-strings: client-node loads whole.
    }
  }
  let modules: unknown[];
  if (importEsm) {
    const importUrl = importEsm;
    hooks.register?.('data:text/javascript,' + encodeURIComponent(
      'export async function resolve(specifier, context, next) {\n'
      + `  if (specifier === ${JSON.stringify(GEN_INDEX)} && context.parentURL === ${JSON.stringify(configUrl)}) {\n`
      + `    return { url: ${JSON.stringify(lean)}, shortCircuit: true };\n`
      + '  }\n'
      + '  return next(specifier, context);\n'
      + '}\n'));
    modules = await Promise.all(files.map((f) => importUrl(pathToFileURL(f).href)));
  } else {
    if (lean && typeof hooks.registerHooks === 'function') {
      hooks.registerHooks({
        resolve: (specifier, context, next) => (specifier === GEN_INDEX && context.parentURL === configUrl
          ? { url: lean, shortCircuit: true } : next(specifier, context)),
      });
    }
    // require(esm), as `await import()` compiles to in CommonJS output.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    modules = files.map((f) => require(f));
  }
  const [config, configuration, exception, rxjs] = modules as [
    typeof import('@kubernetes/client-node/dist/config.js'),
    typeof import('@kubernetes/client-node/dist/gen/configuration.js'),
    typeof import('@kubernetes/client-node/dist/gen/apis/exception.js'),
    typeof import('@kubernetes/client-node/dist/gen/rxjsStub.js'),
  ];
  const lib: Internals = {
    mergeConfiguration: configuration.mergeConfiguration,
    ApiException: exception.ApiException,
  };
  return {
    KubeConfig: config.KubeConfig,
    Observable: rxjs.Observable,
    makeApi: (kc) => kc.makeApiClient(class extends KubeApi {
      constructor(configuration: Configuration) {
        super(configuration, lib);
      }
    }),
  };
}

/**
 * The data: URL of a module exporting what config.js imports from ./gen/index.js, or
 * undefined when config.js imports something else from it (another client-node version).
 */
function leanIndex(dist: string): string | undefined {
  let source: string;
  try {
    source = fs.readFileSync(path.join(dist, 'config.js'), 'utf8');
  } catch {
    return undefined;
  }
  // config.js must name ./gen/index.js once, in that import (a re-export would lose names).
  if ((source.match(/['"]\.\/gen\/index\.js['"]/g) ?? []).length !== 1) return undefined;
  const imports = [...source.matchAll(/\bimport\s*\{([^}]*)\}\s*from\s*(['"])([^'"]+)\2/g)].filter((m) => m[3] === GEN_INDEX);
  if (imports.length !== 1) return undefined;
  const names = imports[0][1].split(',').map((n) => n.trim()).filter((n) => n !== '');
  if (names.length === 0 || !names.every((n) => Object.hasOwn(GEN_NAMES, n))) return undefined;
  return 'data:text/javascript,' + encodeURIComponent(names
    .map((n) => `export { ${n} } from ${JSON.stringify(pathToFileURL(path.join(dist, GEN_NAMES[n])).href)};\n`).join(''));
}

interface Internals {
  readonly mergeConfiguration: typeof mergeConfiguration;
  readonly ApiException: typeof ApiException;
}

export interface CustomObjectParams {
  readonly group: string;
  readonly version: string;
  readonly namespace: string;
  readonly plural: string;
}

export interface EventList {
  readonly metadata?: { readonly resourceVersion?: string };
  readonly items: unknown[];
}

/**
 * listNamespacedCustomObject, getNamespacedCustomObject and listNamespacedEvent, sent and
 * answered as client-node 1.4's generated CustomObjectsApi and CoreV1Api do (request
 * factory, ObservableAPI middleware chain, response processor), without loading them.
 */
export class KubeApi {
  constructor(private readonly configuration: Configuration, private readonly lib: Internals) {}

  listNamespacedCustomObject(param: CustomObjectParams & { readonly fieldSelector?: string },
    options?: ConfigurationOptions): Promise<unknown> {
    return this.send(`/apis/${enc(param.group)}/${enc(param.version)}/namespaces/${enc(param.namespace)}/${enc(param.plural)}`,
      { fieldSelector: param.fieldSelector }, options);
  }

  getNamespacedCustomObject(param: CustomObjectParams & { readonly name: string }, options?: ConfigurationOptions): Promise<unknown> {
    return this.send(`/apis/${enc(param.group)}/${enc(param.version)}/namespaces/${enc(param.namespace)}/${enc(param.plural)}/${enc(param.name)}`,
      {}, options);
  }

  async listNamespacedEvent(param: { readonly namespace: string; readonly fieldSelector?: string },
    options?: ConfigurationOptions): Promise<EventList> {
    return eventList(await this.send(`/api/v1/namespaces/${enc(param.namespace)}/events`, { fieldSelector: param.fieldSelector }, options));
  }

  private async send(resource: string, query: Record<string, string | undefined>, options?: ConfigurationOptions): Promise<unknown> {
    const config = this.lib.mergeConfiguration(this.configuration, options);
    // The request factory.
    let request: RequestContext = config.baseServer.makeRequestContext(resource, 'GET' as HttpMethod);
    request.setHeaderParam('Accept', 'application/json, */*;q=0.8');
    for (const [name, value] of Object.entries(query)) {
      if (value !== undefined) request.setQueryParam(name, value);
    }
    for (const auth of [config.authMethods.BearerToken, config.authMethods.default]) {
      if (auth?.applySecurityAuthentication) await auth.applySecurityAuthentication(request);
    }
    // The middleware chain: pre in order, post in reverse.
    for (const middleware of config.middleware) request = await middleware.pre(request).toPromise();
    let response: ResponseContext = await config.httpApi.send(request).toPromise();
    for (const middleware of [...config.middleware].reverse()) response = await middleware.post(response).toPromise();
    // The response processor.
    const contentType = normalizeMediaType(response.headers['content-type']);
    if (response.httpStatusCode === 401) {
      throw new this.lib.ApiException(response.httpStatusCode, 'Unauthorized', undefined, response.headers);
    }
    if (response.httpStatusCode >= 200 && response.httpStatusCode <= 299) return parse(await response.body.text(), contentType);
    throw new this.lib.ApiException(response.httpStatusCode, 'Unknown API Status Code!', await response.getBodyAsAny(), response.headers);
  }
}

function enc(value: string): string {
  return encodeURIComponent(String(value));
}

/** ObjectSerializer.normalizeMediaType. */
function normalizeMediaType(mediaType: string | undefined): string | undefined {
  return mediaType === undefined ? undefined : (mediaType.split(';')[0] ?? '').trim().toLowerCase();
}

/** ObjectSerializer.parse: text/* as is, application/json and application/*+json parsed, anything else refused. */
function parse(text: string, mediaType: string | undefined): unknown {
  if (mediaType === undefined) throw new Error('Cannot parse content. No Content-Type defined.');
  const [type = '', subtype = ''] = mediaType.split('/');
  if (type === 'text') return text;
  if (type === 'application' && subtype.split('+').some((token) => token === 'json')) return JSON.parse(text);
  throw new Error('The mediaType ' + mediaType + ' is not supported by ObjectSerializer.parse.');
}

/**
 * What the watcher reads of ObjectSerializer.deserialize(list, 'CoreV1EventList'): the
 * list's metadata and its items, copied the way deserialize copies an array (it throws
 * "data is not iterable" for anything else).
 */
function eventList(list: unknown): EventList {
  if (list === null || list === undefined) return list as unknown as EventList;
  const { metadata, items: data } = list as { metadata?: EventList['metadata']; items?: unknown };
  if (data === null || data === undefined) return { metadata, items: data as unknown as unknown[] };
  const items: unknown[] = [];
  for (const item of data as Iterable<unknown>) items.push(item);
  return { metadata, items };
}
