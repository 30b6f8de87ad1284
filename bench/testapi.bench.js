#!/usr/bin/env node
'use strict';
// `npm run bench:testapi`: throughput and p99 latency of the test API on loopback.
// Starts the real server (release 2.0, no failure mode) with its per-request JSON
// log going to a temporary file, as a container runtime would take it, then drives
// it with autocannon. Prints figures; asserts nothing about speed.
//   BENCH_DURATION (s, default 10), BENCH_CONNECTIONS (default 10), BENCH_PATH (default /api)

const autocannon = require('autocannon');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const duration = Number(process.env.BENCH_DURATION || 10);
const connections = Number(process.env.BENCH_CONNECTIONS || 10);
const urlPath = process.env.BENCH_PATH || '/api';
const server = path.join(__dirname, '..', 'testapi', 'server.js');

async function waitForPort(logFile, child) {
  for (let i = 0; i < 500; i++) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    const first = fs.readFileSync(logFile, 'utf8').split('\n', 1)[0];
    if (first) return JSON.parse(first).port;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('server did not start within 5 s');
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'testapi-bench-'));
  const logFile = path.join(dir, 'server.log');
  const out = fs.openSync(logFile, 'w');
  const child = spawn(process.execPath, [server], {
    env: { PATH: process.env.PATH, HOST: '127.0.0.1', PORT: '0', APP_VERSION: '2.0' },
    stdio: ['ignore', out, 'inherit'],
  });
  try {
    const port = await waitForPort(logFile, child);
    const run = autocannon({ url: `http://127.0.0.1:${port}${urlPath}`, connections, duration });
    // autocannon's histogram stores whole milliseconds, so a sub-millisecond p99
    // would print as 0: keep the exact response times as well.
    const times = [];
    run.on('response', (_client, _status, _bytes, ms) => times.push(ms));
    const result = await run;
    times.sort((a, b) => a - b);
    const quantile = (q) => times[Math.min(times.length - 1, Math.floor(q * times.length))].toFixed(3);
    const logged = fs.readFileSync(logFile, 'utf8').split('\n').filter((l) => l.includes('"path"')).length;
    console.log(`testapi ${urlPath} on loopback, ${connections} connections, ${duration} s (node ${process.version}, ${os.cpus().length} cpus)`);
    console.log(`  requests/s  avg ${result.requests.average.toFixed(0)}  (min ${result.requests.min}, max ${result.requests.max})`);
    console.log(`  latency ms  p50 ${quantile(0.5)}  p99 ${quantile(0.99)}  max ${quantile(1)}`);
    console.log(`  total ${result.requests.total} requests, ${result['2xx']} 2xx, ${result.non2xx} non-2xx, `
      + `${result.errors} errors, ${result.timeouts} timeouts; ${logged} request log lines`);
    if (result.errors > 0 || result.non2xx > 0) process.exitCode = 1;
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
    fs.closeSync(out);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(`bench:testapi: ${err.message}`);
  process.exit(1);
});
