// Differential test of the matcher's fast paths (per-path Decisions for exact keys, per-trie-node
// Decisions for directory walks, the miss Decision of exact-only classes) against the general
// path (`fastPaths: false`) over random policy sets, postures and operations: every decision
// must be equal. Also checks that the random sets really take the fast paths.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileTables } from '../../../enforcer/policy/compile.js';
import { createMatcher } from '../../../enforcer/policy/matcher.js';
import type { GlobalPosture, Workload } from '../../../enforcer/policy/types.js';
import { randomSet, rng } from './random-policies.js';

const WORKLOAD: Workload = { kind: 'container', namespace: 'default', labels: { app: 'web' } };
const POSTURES: readonly GlobalPosture[] = [
  { file: 'audit', network: 'audit', capabilities: 'audit' },
  { file: 'block', network: 'audit', capabilities: 'audit' },
];

test('fast paths decide exactly as the general path on random policy sets', () => {
  const rand = rng(20261130);
  let compared = 0;
  let decided = 0;
  const shapes = [
    { fromSource: 0, flags: 0, patterns: 0 }, // every class fast: exact map, walk decisions
    { fromSource: 0, flags: 0.3, patterns: 0 }, // GENERAL entries for flagged paths and nodes
    { fromSource: 0, flags: 0.1, patterns: 0.2 }, // patterns: exact map only, walk general
    { fromSource: 0.2, flags: 0.1, patterns: 0.1 }, // sources: no fast path for the class
  ];
  for (let set = 0; set < 400; set++) {
    const shape = shapes[set % shapes.length] as (typeof shapes)[number];
    const { policies, ops } = randomSet(rand, 1 + Math.floor(rand() * 12), 300, shape);
    const tables = compileTables(policies, WORKLOAD, { globalPosture: POSTURES[set % 2] as GlobalPosture });
    const fast = createMatcher(tables);
    const general = createMatcher(tables, { fastPaths: false });
    for (const op of ops) {
      const a = fast.decide(op);
      const b = general.decide(op);
      assert.deepEqual(a, b, `set ${set} (${JSON.stringify(shape)}), op ${JSON.stringify(op)}`);
      compared++;
      if (a.matched) decided++;
    }
  }
  assert.equal(compared, 400 * 300);
  // the sets must make rules decide often, or the comparison proves little
  assert.ok(decided > compared / 4, `only ${decided} of ${compared} operations matched a rule or the posture`);
});

test('fast paths: exact-only, directory-only and flagged tables give the documented decisions', () => {
  const mk = (yamlRules: { path?: string; dir?: string; recursive?: boolean; readOnly?: boolean; action: 'Allow' | 'Audit' | 'Block' }[]) => {
    const rules = yamlRules.map((r, i) => ({
      class: 'file' as const,
      target: r.path !== undefined ? { type: 'path' as const, path: r.path } : { type: 'dir' as const, dir: r.dir as string, recursive: r.recursive === true },
      fromSource: [], readOnly: r.readOnly === true, ownerOnly: false, action: r.action, severity: 5, tags: [], message: '',
      policyName: `r${i}`, policyKind: 'KubeArmorPolicy' as const, where: `spec.file[${i}]`,
    }));
    const tables = compileTables([{
      kind: 'KubeArmorPolicy', name: 'p', namespace: 'default', origin: 'x.yaml:1:1', rules,
      selector: { kind: 'workload', namespace: 'default', matchLabels: {}, matchExpressions: [] },
    }], WORKLOAD);
    return createMatcher(tables);
  };
  const m = mk([
    { path: '/etc/shadow', action: 'Block' },
    { dir: '/etc/', recursive: true, action: 'Audit' },
    { dir: '/etc/ssl/', action: 'Block' },
    { path: '/etc/passwd', readOnly: true, action: 'Allow' },
  ]);
  const d = (path: string, write = false): string => { const x = m.decide({ class: 'file', path, write }); return `${x.action}:${x.policyName ?? ''}`; };
  assert.equal(d('/etc/shadow'), 'Block:r0');
  assert.equal(d('/etc/hosts'), 'Audit:r1');
  assert.equal(d('/etc/ssl/cert.pem'), 'Block:r2');
  assert.equal(d('/etc/ssl/certs/a.pem'), 'Audit:r1'); // non-recursive: only files directly inside
  // least-permissive (an Allow rule exists): read passes with the Audit of /etc/, write is blocked
  // by the readOnly Allow rule itself
  assert.equal(d('/etc/passwd'), 'Audit:r1');
  assert.equal(d('/etc/passwd', true), 'Block:r3');
  assert.equal(d('/usr/bin/x'), 'Audit:DefaultPosture');
});
