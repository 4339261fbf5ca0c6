// Hostile inputs: every limit of the parser answers with a positioned issue, never a throw.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatIssue } from '../../../enforcer/policy/errors.js';
import { loadPolicySource } from '../../../enforcer/policy/load.js';
import { PARSE_LIMITS } from '../../../enforcer/policy/parse-yaml.js';

const issues = (src: string): string[] => loadPolicySource(src, 'x.yaml').issues.map(formatIssue);

test('alias expansion (billion laughs) is bounded', () => {
  const lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
  for (let i = 1; i < 12; i++) lines.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9).fill(`*${String.fromCharCode(96 + i)}`).join(',')}]`);
  const out = issues(lines.join('\n'));
  assert.equal(out.length, 1);
  assert.match(out[0] as string, /^x\.yaml:1:1 YAML: Excessive alias count/);
});

test('deep nesting is refused before parsing', () => {
  assert.deepEqual(issues('['.repeat(100_000)), [`x.yaml:1:1 nesting deeper than ${PARSE_LIMITS.maxDepth} levels`]);
  assert.deepEqual(issues(`${'- '.repeat(100_000)}x`), [`x.yaml:1:1 nesting deeper than ${PARSE_LIMITS.maxDepth} levels`]);
  const block = Array.from({ length: 40 }, (_, i) => `${' '.repeat(i)}k${i}:`).join('\n');
  assert.match(issues(block)[0] as string, /nesting deeper than|document nesting deeper than/);
});

test('oversized sources are refused', () => {
  const out = issues('#'.repeat(PARSE_LIMITS.maxSourceLength + 1));
  assert.equal(out.length, 1);
  assert.match(out[0] as string, /more than the limit of/);
});

test('too many documents are refused', () => {
  const out = issues('---\na: 1\n'.repeat(PARSE_LIMITS.maxDocuments + 1));
  assert.equal(out.length, 1);
  assert.match(out[0] as string, /documents, more than the limit/);
});

test('non-mapping documents, odd scalars, duplicate keys and tags give issues, not throws', () => {
  assert.match(issues('just a string')[0] as string, /x\.yaml:1:1 a policy document must be a mapping/);
  assert.match(issues('- 1\n- 2')[0] as string, /must be a mapping/);
  assert.match(issues('a: 1\na: 2')[0] as string, /x\.yaml:2:1 a: YAML: Map keys must be unique/);
  assert.ok(issues('!!binary aGVsbG8=').length > 0);
  assert.ok(issues('? [a, b]\n: c').length > 0);
  assert.deepEqual(issues(''), []);
  assert.deepEqual(issues('---\n---\n'), []);
});

test('issues per document are capped', () => {
  const rules = Array.from({ length: 300 }, (_, i) => `    - path: rel${i}`).join('\n');
  const out = issues(`apiVersion: security.kubearmor.com/v1\nkind: KubeArmorPolicy\nmetadata: { name: many }\nspec:\n  file:\n    matchPaths:\n${rules}\n`);
  assert.equal(out.length, 101);
  assert.match(out[100] as string, /more problems in this document not shown/);
});
