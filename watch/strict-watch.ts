/**
 * The watch request of client-node 1.4's Watch, with its stream read strictly.
 *
 * client-node's Watch skips every line that is not JSON (and whatever its callback
 * throws) without a word, so a proxy's HTML page or a corrupted stream looks like a
 * quiet watch until the timeout. This one sends the same request (server, auth, TLS
 * and proxy agent from the kubeconfig, via applyToFetchOptions) and ends the stream
 * with a BadAnswer at the first line that is not a watch event, or when the answer
 * ends inside an event. A connection lost mid-event stays a network error
 * (ECONNRESET): the caller resumes from the last resourceVersion, nothing is lost.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import { BadAnswer, excerpt } from './resumable-watch';

const EVENT_TYPES: ReadonlySet<string> = new Set(['ADDED', 'MODIFIED', 'DELETED', 'BOOKMARK', 'ERROR']);

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export class StrictWatch {
  constructor(private readonly kc: KubeConfig) {}

  /** client-node's Watch.watch contract: `done` is called once, with null when the server ends the stream. */
  async watch(path: string, query: Record<string, string | number | boolean | undefined>,
    callback: (type: string, obj: any) => void, done: (err: unknown) => void): Promise<AbortController> {
    const cluster = this.kc.getCurrentCluster();
    if (!cluster) throw new Error('No currently active cluster');
    const url = new URL(cluster.server + path);
    url.searchParams.set('watch', 'true');
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    const init = await this.kc.applyToFetchOptions({});
    const headers: Record<string, string> = {};
    (init.headers as { forEach(f: (value: string, name: string) => void): void } | undefined)
      ?.forEach((value, name) => (headers[name] = value));
    headers.accept = 'application/json';

    const controller = new AbortController();
    let ended = false;
    const end = (err: unknown) => {
      if (ended) return;
      ended = true;
      controller.abort();
      done(err);
    };
    const what = `the API server's watch of ${path}`;
    const request = (url.protocol === 'https:' ? https : http).request(url,
      { method: 'GET', headers, agent: init.agent as http.Agent | undefined, signal: controller.signal }, (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          // As client-node's Watch: the status text, with the code where failure() reads it.
          const text = res.statusMessage || http.STATUS_CODES[res.statusCode ?? 500] || 'Internal Server Error';
          end(Object.assign(new Error(text), { statusCode: res.statusCode }));
          return;
        }
        const contentType = (res.headers['content-type'] ?? 'no content type').split(';')[0].trim();
        const notJson = (line: string) => new BadAnswer(
          `${what} sent a line that is not JSON (${contentType}: ${excerpt(line)}); is a proxy answering in its place?`);
        const onLine = (line: string) => {
          let event: unknown;
          try {
            event = JSON.parse(line);
          } catch {
            end(notJson(line));
            return;
          }
          if (!isObject(event) || typeof event.type !== 'string' || !EVENT_TYPES.has(event.type) || !isObject(event.object)) {
            end(new BadAnswer(`${what} sent a line that is not a watch event: ${excerpt(line)}`));
            return;
          }
          callback(event.type, event.object);
        };
        let pending = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          pending += chunk;
          for (let nl = pending.indexOf('\n'); nl >= 0 && !ended; nl = pending.indexOf('\n')) {
            const line = pending.slice(0, nl).trim();
            pending = pending.slice(nl + 1);
            if (line) onLine(line);
          }
        });
        res.on('end', () => {
          const rest = pending.trim();
          if (!rest) end(null);
          else if (rest.startsWith('{')) end(new BadAnswer(`${what} ended in the middle of an event: ${excerpt(rest)}`));
          else end(notJson(rest));
        });
        // A connection lost mid-answer: 'aborted' ECONNRESET, a network error like any other.
        res.on('error', end);
      });
    request.on('socket', (socket) => socket.setKeepAlive(true, 30_000));
    request.on('error', end);
    request.end();
    return controller;
  }
}
