#!/usr/bin/env node
'use strict';
// The demo's test API: one small program, three releases (APP_VERSION), and a
// simulated bug (FAILURE_MODE). Zero dependencies on purpose: the image is just
// Node plus this file, and users can read all of it in one sitting.

const http = require('node:http');

// The Linkerd proxy in front of the app pools idle HTTP/1 connections to it and
// reuses them (its inbound pool drops a connection after 20 s idle by default, per
// Linkerd's edge-20.11.2 release notes; cloud load balancers wait 60 s). If the app
// closed an idle socket first, a request the proxy sends at that instant meets a
// reset and counts as a failure, spoiling the canary's success rate. So the app's
// idle timeout is longer than the proxy's and the proxy is always the side that
// closes. headersTimeout must exceed keepAliveTimeout, or Node could time out a
// kept-alive socket's next request while its headers are still arriving.
const KEEP_ALIVE_TIMEOUT_MS = 65_000;
const HEADERS_TIMEOUT_MS = 66_000;
const REQUEST_TIMEOUT_MS = 120_000;
const MAX_SLOW_MS = 60_000;

const FAILURE_MODES = 'not-found|server-error|slow:<ms>|none';
const VERSION_RE = /^(\d+)\.(\d+)(?:\.(\d+))?$/;

class ConfigError extends Error {}

/** Parse a whole non-negative decimal integer, or return undefined. */
function parseInteger(text) {
  return /^\d{1,9}$/.test(text) ? Number(text) : undefined;
}

/** An unset or empty variable (as a Kubernetes env entry may be) means the default. */
function setting(env, name, fallback) {
  const value = env[name];
  return value === undefined || value === '' ? fallback : value;
}

function millis(env, name, fallback, min) {
  const text = setting(env, name, String(fallback));
  const value = parseInteger(text);
  if (value === undefined || value < min) {
    throw new ConfigError(`${name} (${JSON.stringify(text)}) must be an integer of milliseconds, at least ${min}`);
  }
  return value;
}

/** Read and validate the settings; throws ConfigError naming the bad variable. */
function parseConfig(env) {
  const version = setting(env, 'APP_VERSION', '1.0');
  const match = VERSION_RE.exec(version);
  if (!match) {
    throw new ConfigError(`APP_VERSION (${JSON.stringify(version)}) must look like MAJOR.MINOR or MAJOR.MINOR.PATCH, e.g. 2.0`);
  }
  const major = Number(match[1]);

  const portText = setting(env, 'PORT', '3000');
  const port = parseInteger(portText);
  if (port === undefined || port > 65535) {
    throw new ConfigError(`PORT (${JSON.stringify(portText)}) must be an integer from 0 to 65535`);
  }

  const host = setting(env, 'HOST', '0.0.0.0');

  // The release picks the demo's bug: 3.x answers 404, the others are healthy.
  const failureMode = setting(env, 'FAILURE_MODE', major === 3 ? 'not-found' : 'none');
  const failure = parseFailureMode(failureMode);

  // Serving on while failing readiness gives endpoints (and the mesh) time to stop
  // sending new connections; the deadline then bounds the whole shutdown.
  const shutdownDelayMs = millis(env, 'SHUTDOWN_DELAY_MS', 0, 0);
  const shutdownTimeoutMs = millis(env, 'SHUTDOWN_TIMEOUT_MS', 10_000, 1);
  if (shutdownDelayMs >= shutdownTimeoutMs) {
    throw new ConfigError(`SHUTDOWN_DELAY_MS (${shutdownDelayMs}) must be less than SHUTDOWN_TIMEOUT_MS (${shutdownTimeoutMs})`);
  }

  return { version, major, port, host, failure, failureMode, shutdownDelayMs, shutdownTimeoutMs };
}

function parseFailureMode(text) {
  if (text === 'none' || text === 'not-found' || text === 'server-error') {
    return { kind: text, delayMs: 0 };
  }
  if (text.startsWith('slow:')) {
    const delayMs = parseInteger(text.slice('slow:'.length));
    if (delayMs === undefined || delayMs > MAX_SLOW_MS) {
      throw new ConfigError(`FAILURE_MODE (${JSON.stringify(text)}): slow:<ms> needs an integer from 0 to ${MAX_SLOW_MS}`);
    }
    return { kind: 'slow', delayMs };
  }
  throw new ConfigError(`FAILURE_MODE (${JSON.stringify(text)}) must be one of ${FAILURE_MODES}`);
}

function log(fields) {
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), ...fields })}\n`);
}

/** Build the HTTP server; `state.draining` flips readiness and closes keep-alives. */
function createServer(config) {
  const state = { draining: false };
  const appRoutes = {
    '/': `Hello v${config.major}`,
    '/api': `api v${config.major}`,
  };

  const server = http.createServer({
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    headersTimeout: HEADERS_TIMEOUT_MS,
    requestTimeout: REQUEST_TIMEOUT_MS,
  }, (req, res) => {
    const started = process.hrtime.bigint();
    // Query strings never select a route; splitting (not URL parsing) keeps paths
    // like `//x` from being read as a host name.
    const path = (req.url || '/').split('?', 1)[0];
    res.on('close', () => {
      log({
        method: req.method,
        path,
        // A client that left before any answer gets status null, not Node's default 200.
        status: res.headersSent ? res.statusCode : null,
        durationMs: Math.round(Number(process.hrtime.bigint() - started) / 1e4) / 100,
        version: config.version,
        ...(res.writableFinished ? {} : { aborted: true }),
      });
    });
    try {
      route(req, res, path);
    } catch (err) {
      log({ level: 'error', msg: 'handler failed', error: String(err && err.stack || err) });
      if (!res.headersSent) {
        send(res, 500, 'internal error');
      } else {
        res.destroy();
      }
    }
  });

  function send(res, status, body, headers = {}) {
    res.writeHead(status, {
      'Content-Type': 'text/plain; charset=utf-8',
      'Content-Length': Buffer.byteLength(body),
      'X-App-Version': config.version,
      // While draining, let each in-flight request finish and then close its socket,
      // so clients reconnect to a pod that is staying.
      ...(state.draining ? { Connection: 'close' } : {}),
      ...headers,
    });
    res.end(body);
  }

  function route(req, res, path) {
    const isApp = Object.prototype.hasOwnProperty.call(appRoutes, path);
    if (!isApp && path !== '/healthz' && path !== '/readyz') {
      send(res, 404, 'not found');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, 'method not allowed', { Allow: 'GET, HEAD' });
      return;
    }
    // Probes ignore the simulated bug: the demo is about a release that is alive
    // and ready yet wrong, which only traffic analysis can catch.
    if (path === '/healthz') {
      send(res, 200, 'ok');
      return;
    }
    if (path === '/readyz') {
      if (state.draining) {
        send(res, 503, 'draining');
      } else {
        send(res, 200, 'ready');
      }
      return;
    }
    switch (config.failure.kind) {
      case 'not-found':
        send(res, 404, 'not found');
        return;
      case 'server-error':
        send(res, 500, 'internal server error');
        return;
      case 'slow': {
        const timer = setTimeout(() => send(res, 200, appRoutes[path]), config.failure.delayMs);
        // A client that gives up must not leave a timer writing to a dead socket.
        res.on('close', () => clearTimeout(timer));
        return;
      }
      default:
        send(res, 200, appRoutes[path]);
    }
  }

  // Malformed requests never reach the handler: answer them here, keep serving.
  server.on('clientError', (err, socket) => {
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const [status, reason] = err.code === 'HPE_HEADER_OVERFLOW' ? [431, 'Request Header Fields Too Large']
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? [408, 'Request Timeout']
        : [400, 'Bad Request'];
    const body = reason.toLowerCase();
    log({ method: null, path: null, status, error: err.code || err.message, version: config.version });
    socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n`
      + `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  });

  return { server, state };
}

/**
 * SIGTERM (or SIGINT): fail readiness, keep serving for SHUTDOWN_DELAY_MS, stop
 * accepting, finish in-flight requests, exit 0; exit 1 at the hard deadline.
 */
function installShutdown(server, state, config) {
  let signals = 0;
  const onSignal = (signal) => {
    signals += 1;
    if (signals > 1) {
      log({ level: 'warn', msg: 'second signal, exiting now', signal });
      process.exit(1);
    }
    state.draining = true;
    log({ msg: 'draining', signal, delayMs: config.shutdownDelayMs, timeoutMs: config.shutdownTimeoutMs });
    // Hard deadline, counted from the signal: a stuck client must not stretch the
    // pod's termination.
    setTimeout(() => {
      log({ level: 'warn', msg: 'shutdown deadline reached, closing open connections', signal });
      server.closeAllConnections();
      process.exit(1);
    }, config.shutdownTimeoutMs).unref();
    setTimeout(() => {
      // close() stops accepting; in-flight responses carry `Connection: close`. Idle
      // keep-alive sockets would hold the server open for keepAliveTimeout: close
      // them now (Node 20's close() does it too; being explicit keeps it on purpose).
      server.close(() => {
        log({ msg: 'stopped', signal });
        process.exit(0);
      });
      server.closeIdleConnections();
    }, config.shutdownDelayMs);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

function main() {
  let config;
  try {
    config = parseConfig(process.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`testapi: ${err.message}\n`);
    process.exit(2);
  }
  const { server, state } = createServer(config);
  server.on('error', (err) => {
    process.stderr.write(`testapi: cannot listen on ${config.host}:${config.port}: ${err.message}\n`);
    process.exit(1);
  });
  installShutdown(server, state, config);
  server.listen(config.port, config.host, () => {
    const address = server.address();
    // Tests and the e2e emulator read the real port from this line (PORT=0 picks one).
    log({
      msg: 'listening',
      address: address.address,
      port: address.port,
      version: config.version,
      failureMode: config.failureMode,
    });
  });
}

if (require.main === module) {
  main();
}

module.exports = { parseConfig, createServer, ConfigError };
