#!/usr/bin/env node
// Assertions of the consumer tests (examples/run.sh), on synthesized YAML:
//   node examples/check.js shop <dir>        the user's chart: two canaried services, nothing Flagger owns
//   node examples/check.js same <a> <b>      two syntheses are identical object for object
//   node examples/check.js quickstart <dir>  the README's quick start: a Deployment, its Canary, two templates, a load tester
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { Yaml } = require('cdk8s');

function load(dir) {
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.k8s.yaml')).sort();
  assert.ok(files.length > 0, `no manifests in ${dir}`);
  return Object.fromEntries(files.map((f) => [f, Yaml.load(path.join(dir, f)).filter((o) => o)]));
}

function shop(dir) {
  const objects = Object.values(load(dir)).flat();
  const named = (kind) => objects.filter((o) => o.kind === kind).map((o) => o.metadata.name).sort();
  assert.deepEqual(named('Canary'), ['orders', 'payments']);
  assert.deepEqual(named('Deployment'), ['flagger-loadtester', 'orders', 'orders-load-generator', 'payments', 'payments-load-generator']);
  assert.deepEqual(named('Service'), ['flagger-loadtester'], 'Flagger owns <name>, <name>-primary and <name>-canary');
  const orders = objects.find((o) => o.kind === 'Canary' && o.metadata.name === 'orders');
  assert.deepEqual(orders.spec.service.gatewayRefs, [{ name: 'orders', namespace: 'shop', group: 'core', kind: 'Service', port: 8080 }]);
  assert.equal(orders.spec.analysis.webhooks[0].metadata.cmd, 'hey -z 1m -q 2 -c 2 http://orders-canary.shop:8080/');
  const payments = objects.find((o) => o.kind === 'Canary' && o.metadata.name === 'payments');
  assert.equal(payments.spec.provider, 'linkerd');
  const target = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'payments');
  assert.deepEqual(target.spec.selector, { matchLabels: { app: 'payments' } });
  assert.equal(target.spec.template.spec.containers[0].resources.limits.memory, '256Mi');
  for (const o of objects) assert.equal(o.metadata.namespace, 'shop', `${o.kind}/${o.metadata.name}`);
  return `${objects.length} objects, 2 Canaries`;
}

function quickstart(dir) {
  const objects = Object.values(load(dir)).flat();
  assert.deepEqual(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort(), [
    'Canary/api', 'Deployment/api', 'Deployment/flagger-loadtester',
    'MetricTemplate/linkerd-4xx-percentage', 'MetricTemplate/linkerd-latency-p99', 'MetricTemplate/linkerd-success-rate',
    'Service/flagger-loadtester',
  ]);
  const canary = objects.find((o) => o.kind === 'Canary');
  assert.deepEqual(canary.spec.analysis.metrics.map((m) => m.name), ['success-rate', '4xx-percentage']);
  assert.equal(canary.spec.analysis.webhooks[0].metadata.cmd, 'hey -z 1m -q 5 -c 2 http://api-canary.shop:8080/');
  return `${objects.length} objects`;
}

function same(a, b) {
  const left = load(a);
  const right = load(b);
  assert.deepEqual(Object.keys(left), Object.keys(right), 'the same manifest files');
  let count = 0;
  for (const file of Object.keys(left)) {
    assert.equal(left[file].length, right[file].length, `${file}: object count`);
    left[file].forEach((obj, i) => {
      assert.deepEqual(obj, right[file][i], `${file}: object ${i} (${obj.kind}/${obj.metadata?.name})`);
      count++;
    });
  }
  return `${count} objects identical`;
}

const [mode, ...dirs] = process.argv.slice(2);
const checks = { shop, same, quickstart };
if (!checks[mode]) {
  console.error('usage: check.js shop <dir> | same <a> <b> | quickstart <dir>');
  process.exit(2);
}
console.log(checks[mode](...dirs));
