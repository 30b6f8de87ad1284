import * as fs from 'fs';
import * as path from 'path';
import Ajv, { AnySchema, ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { ObjectMeta } from '@kubernetes-models/apimachinery/apis/meta/v1/ObjectMeta';
import { Yaml } from 'cdk8s';

/**
 * Schema validation of synthesized objects with maintained validators:
 * - custom resources against the openAPIV3Schema of the CRDs in imports/crds
 *   (ajv), with unknown fields rejected where the API server would prune them
 *   silently (a misspelt `canaryAnalysis` must fail here, not vanish);
 * - core objects against Kubernetes' own schemas, as compiled by
 *   kubernetes-models (ajv-generated validators).
 */

// The CRDs beside the sources.
const CRD_DIR = path.join(__dirname, '..', '..', 'imports', 'crds');

// Kubernetes extensions of OpenAPI: annotations for ajv, checked by the API server.
const K8S_KEYWORDS = [
  'x-kubernetes-preserve-unknown-fields', 'x-kubernetes-int-or-string', 'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys', 'x-kubernetes-map-type', 'x-kubernetes-validations', 'x-kubernetes-embedded-resource',
];

// Formats used by the CRDs that the API server does not check (not in its
// supported list): 'url' is ajv-formats' strict RFC URL, which rejects
// in-cluster hosts such as `flagger-loadtester.a`; our constructs check URLs themselves.
const K8S_IGNORED_FORMATS = ['string', 'url'];

type Json = { [key: string]: any };

/** Adds `additionalProperties: false` wherever structural pruning would drop unknown fields. */
function closeObjects(schema: Json): Json {
  if (Array.isArray(schema)) return schema.map(closeObjects);
  if (schema === null || typeof schema !== 'object') return schema;
  const out: Json = {};
  for (const [key, value] of Object.entries(schema)) {
    out[key] = key === 'properties'
      ? Object.fromEntries(Object.entries(value as Json).map(([k, v]) => [k, closeObjects(v as Json)]))
      : closeObjects(value as Json);
  }
  if (out.properties && out.additionalProperties === undefined && !out['x-kubernetes-preserve-unknown-fields']) {
    out.additionalProperties = false;
  }
  return out;
}

let crdValidators: Map<string, ValidateFunction> | undefined;

function loadCrdValidators(): Map<string, ValidateFunction> {
  if (crdValidators) return crdValidators;
  // strictSchema stays on (unknown keywords fail); CRDs legitimately use `required` inside `not`.
  const ajv = new Ajv({ allErrors: true, strictSchema: true, strictRequired: false, strictTypes: false, keywords: K8S_KEYWORDS });
  addFormats(ajv);
  // Formats the API server does not check (it ignores unknown ones): accepted as-is.
  for (const format of K8S_IGNORED_FORMATS) ajv.addFormat(format, true);
  const validators = new Map<string, ValidateFunction>();
  for (const file of fs.readdirSync(CRD_DIR).filter((f) => f.endsWith('.yaml'))) {
    for (const crd of Yaml.load(path.join(CRD_DIR, file)) as Json[]) {
      if (crd?.kind !== 'CustomResourceDefinition') continue;
      for (const version of crd.spec.versions) {
        const schema = closeObjects(version.schema.openAPIV3Schema);
        // Every object has these, whether or not its CRD lists them; the API
        // server validates metadata as ObjectMeta (kubernetes-models below).
        schema.properties = { ...schema.properties, apiVersion: { type: 'string' }, kind: { type: 'string' }, metadata: { type: 'object' } };
        validators.set(`${crd.spec.group}/${version.name}/${crd.spec.names.kind}`, ajv.compile(schema as AnySchema));
      }
    }
  }
  crdValidators = validators;
  return validators;
}

/** Path of the kubernetes-models class for a core apiVersion and kind, e.g. `apps/v1/Deployment`. */
function modelPath(apiVersion: string, kind: string): string {
  return `kubernetes-models/${apiVersion}/${kind}`;
}

/** Validates one object; returns the problems found (empty when valid). */
export function schemaErrors(obj: Json): string[] {
  const { apiVersion, kind } = obj ?? {};
  if (typeof apiVersion !== 'string' || typeof kind !== 'string') return ['apiVersion and kind must be strings'];
  const name = `${apiVersion} ${kind} ${obj.metadata?.name}`;
  const crd = loadCrdValidators().get(`${apiVersion}/${kind}`);
  if (crd) {
    const errors = crd(obj) ? [] : (crd.errors ?? []).map((e) => `${name}: ${e.instancePath || '/'} ${e.message} ${JSON.stringify(e.params)}`);
    return [...errors, ...modelErrors(name, ObjectMeta, obj.metadata ?? {}, '/metadata')];
  }
  let model: any;
  try {
    // kubernetes-models ships one module per kind: which one is known only from the object.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    model = require(modelPath(apiVersion, kind))[kind];
  } catch {
    return [`${apiVersion} ${kind}: no schema known (not a Kubernetes kind nor one of the CRDs in imports/crds)`];
  }
  return modelErrors(name, model, obj, '');
}

function modelErrors(name: string, model: any, data: Json, prefix: string): string[] {
  try {
    new model(data).validate();
    return [];
  } catch (err: any) {
    const details = (err.errors ?? []).map((e: any) => `${prefix}${e.instancePath || '/'} ${e.message}`);
    return [`${name}: ${details.join('; ') || err.message}`];
  }
}

/** Validates every object; throws with all problems if any object is invalid. */
export function expectSchemaValid(objects: Json[]): void {
  const problems = objects.flatMap(schemaErrors);
  if (problems.length > 0) throw new Error(`schema validation failed:\n${problems.join('\n')}`);
}
