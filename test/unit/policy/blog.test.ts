// The four policies of the reference blog, verbatim (fixtures/blog): the published text, and
// the documented decisions: apt blocked; the service-account token directory blocked
// recursively; /etc/nginx/ audited; only nginx and bash may execute under block posture.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { compileTables } from '../../../enforcer/policy/compile.js';
import { formatIssue } from '../../../enforcer/policy/errors.js';
import { loadPolicySource } from '../../../enforcer/policy/load.js';
import { createMatcher } from '../../../enforcer/policy/matcher.js';
import type { Decision, Operation, Policy } from '../../../enforcer/policy/types.js';

const read = (name: string): string => readFileSync(new URL(`./fixtures/blog/${name}.yaml`, import.meta.url), 'utf8');
/** The evident intent: `recursive` at the indentation of `dir`. */
const aligned = (src: string): string => src.replace(/\n {12}recursive: true/g, '\n          recursive: true');

function load(src: string, file: string): Policy[] {
  const r = loadPolicySource(src, file);
  assert.deepEqual(r.issues.map(formatIssue), []);
  assert.equal(r.policies.length, 1);
  return [...r.policies];
}

const nginx = (annotations: Record<string, string> = {}) => ({ kind: 'container' as const, namespace: 'default', labels: { app: 'nginx' }, namespaceAnnotations: annotations });
const pick = (d: Decision) => ({ matched: d.matched, action: d.action, type: d.type, policyName: d.policyName });

test('blog text as published: three policies indent recursive under the dir scalar, which YAML rejects', () => {
  for (const name of ['block-service-access-token-access', 'audit-etc-nginx-access', 'only-allow-nginx-exec']) {
    const r = loadPolicySource(read(name), `${name}.yaml`);
    assert.equal(r.policies.length, 0);
    assert.deepEqual(r.issues.map(formatIssue), [
      `${name}.yaml:11:16 spec.file.matchDirectories[0].dir: YAML: Nested mappings are not allowed in compact mappings`,
      `${name}.yaml:11:16 spec.file.matchDirectories[0].dir: YAML: Implicit keys need to be on a single line`,
    ]);
  }
});

test('blog: package management tools are blocked', () => {
  const m = createMatcher(compileTables(load(read('block-pkg-mgmt-tools-exec'), 'blog'), nginx()));
  const op: Operation = { class: 'process', path: '/usr/bin/apt', source: '/bin/dash' };
  assert.deepEqual(pick(m.decide(op)), { matched: true, action: 'Block', type: 'MatchedPolicy', policyName: 'block-pkg-mgmt-tools-exec' });
  assert.equal(m.decide({ class: 'process', path: '/usr/bin/apt-get' }).action, 'Block');
  assert.equal(m.decide({ class: 'process', path: '/usr/bin/masscan' }).matched, false);
  assert.equal(m.decide(op).severity, 1); // the blog's alert shows "Severity": "1"
});

test('blog: the service-account token directory is blocked recursively', () => {
  const m = createMatcher(compileTables(load(aligned(read('block-service-access-token-access')), 'blog'), nginx()));
  assert.deepEqual(pick(m.decide({ class: 'file', path: '/run/secrets/kubernetes.io/serviceaccount/token', source: '/bin/cat' })),
    { matched: true, action: 'Block', type: 'MatchedPolicy', policyName: 'block-service-access-token-access' });
  assert.equal(m.decide({ class: 'file', path: '/run/secrets/kubernetes.io/serviceaccount/..2026_11_29/token' }).action, 'Block');
  assert.equal(m.decide({ class: 'file', path: '/run/secrets/kubernetes.io/other' }).matched, false);
});

test('blog: access to /etc/nginx/ is audited', () => {
  const m = createMatcher(compileTables(load(aligned(read('audit-etc-nginx-access')), 'blog'), nginx()));
  const d = m.decide({ class: 'file', path: '/etc/nginx/conf.d/default.conf', source: '/bin/cat' });
  assert.deepEqual(pick(d), { matched: true, action: 'Audit', type: 'MatchedPolicy', policyName: 'audit-etc-nginx-access' });
  assert.equal(m.decide({ class: 'file', path: '/etc/passwd' }).matched, false);
});

test('blog: only nginx and bash may execute once the namespace file posture is block', () => {
  const policies = load(aligned(read('only-allow-nginx-exec')), 'blog');
  const m = createMatcher(compileTables(policies, nginx({ 'kubearmor-file-posture': 'block' })));
  assert.equal(m.decide({ class: 'process', path: '/usr/sbin/nginx' }).action, 'Allow');
  assert.equal(m.decide({ class: 'process', path: '/bin/bash' }).action, 'Allow');
  assert.deepEqual(pick(m.decide({ class: 'process', path: '/usr/sbin/chroot', source: '/bin/bash' })),
    { matched: true, action: 'Block', type: 'DefaultPosture', policyName: 'DefaultPosture' });
  assert.equal(m.decide({ class: 'file', path: '/usr/share/nginx/html/index.html', source: '/usr/sbin/nginx' }).action, 'Allow');
  // before the annotation (default audit posture) the same exec is only audited
  const audit = createMatcher(compileTables(policies, nginx()));
  assert.deepEqual(pick(audit.decide({ class: 'process', path: '/usr/sbin/chroot' })),
    { matched: true, action: 'Audit', type: 'DefaultPosture', policyName: 'DefaultPosture' });
});
