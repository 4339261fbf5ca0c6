// The CRDs in deploy/crds are generated from the one schema and must not drift from it; they
// must be structural (what the Kubernetes API server demands of openAPIV3Schema); and the
// emitted spec schema must accept and reject the same documents as the validator.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { renderCrds } from '../../../enforcer/policy/crd.js';
import { loadPolicySource } from '../../../enforcer/policy/load.js';

const crdDir = new URL('../../../deploy/crds/', import.meta.url);

test('committed CRDs equal the CRDs generated from the schema', () => {
  const files = renderCrds();
  assert.equal(files.size, 3);
  for (const [name, text] of files) {
    let committed = '';
    try { committed = readFileSync(new URL(name, crdDir), 'utf8'); } catch (err) { assert.fail(`deploy/crds/${name} missing: ${(err as Error).message}`); }
    assert.ok(committed === text, `deploy/crds/${name} drifted from enforcer/policy/schema.ts; run: palisade policy crds -o deploy/crds`);
  }
});

function checkStructural(node: unknown, path: string, problems: string[]): void {
  if (node === null || typeof node !== 'object' || Array.isArray(node)) return;
  const n = node as Record<string, unknown>;
  if (n.additionalProperties === false) problems.push(`${path}: additionalProperties false`);
  if (n.properties !== undefined && n.additionalProperties !== undefined) problems.push(`${path}: properties with additionalProperties`);
  if (n.properties !== undefined && n.type !== 'object') problems.push(`${path}: properties without type object`);
  for (const k of ['$ref', '$schema', '$id', 'const', 'definitions']) if (k in n) problems.push(`${path}: keyword ${k}`);
  if (Array.isArray(n.allOf)) {
    for (const sub of n.allOf) {
      const keys = Object.keys(sub as object);
      if (keys.some((k) => k !== 'pattern')) problems.push(`${path}.allOf: only value validations allowed, got ${keys.join(',')}`);
    }
  }
  if (n.items !== undefined && n.type !== 'array') problems.push(`${path}: items without type array`);
  if (n.properties) for (const [k, v] of Object.entries(n.properties as object)) {
    if (typeof (v as { type?: unknown }).type !== 'string') problems.push(`${path}.${k}: no type`);
    checkStructural(v, `${path}.${k}`, problems);
  }
  if (n.items) checkStructural(n.items, `${path}[]`, problems);
  if (typeof n.additionalProperties === 'object') checkStructural(n.additionalProperties, `${path}{}`, problems);
}

type Crd = { spec: { versions: { schema: { openAPIV3Schema: { properties: { spec: object } } } }[]; names: { kind: string } } };

test('CRD schemas are structural', () => {
  for (const [name, text] of renderCrds()) {
    const crd = parse(text) as Crd;
    const problems: string[] = [];
    checkStructural(crd.spec.versions[0]?.schema.openAPIV3Schema, name, problems);
    assert.deepEqual(problems, []);
  }
});

test('the CRD spec schema agrees with the validator', () => {
  const ajv = new Ajv({ allErrors: true, strict: false });
  const good = `apiVersion: security.kubearmor.com/v1
kind: KubeArmorPolicy
metadata: { name: ok }
spec:
  selector: { matchLabels: { app: nginx } }
  file: { matchDirectories: [ { dir: /etc/nginx/, recursive: true } ] }
  process: { matchPaths: [ { path: /usr/bin/apt } ] }
  network: { matchProtocols: [ { protocol: tcp } ] }
  capabilities: { matchCapabilities: [ { capability: net_raw } ] }
  action: Audit
`;
  const bad = good.replace('/etc/nginx/', '/etc/nginx').replace('Audit', 'Deny');
  const crd = parse(renderCrds().get('security.kubearmor.com_kubearmorpolicies.yaml') as string) as Crd;
  const validateSpec = ajv.compile(crd.spec.versions[0]?.schema.openAPIV3Schema.properties.spec as object);
  assert.equal(validateSpec((parse(good) as { spec: unknown }).spec), true);
  assert.equal(loadPolicySource(good, 'good').issues.length, 0);
  assert.equal(validateSpec((parse(bad) as { spec: unknown }).spec), false);
  assert.equal(validateSpec.errors?.length, 2);
  assert.equal(loadPolicySource(bad, 'bad').issues.length, 2);
});
