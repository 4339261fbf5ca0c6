// Globs (matchPatterns) and the table store: unit behaviour the conformance cases rely on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileGlob, globMatches, globMatchesStates, globRegex } from '../../../enforcer/policy/glob.js';
import { compileTables } from '../../../enforcer/policy/compile.js';
import { loadPolicySource } from '../../../enforcer/policy/load.js';
import { createMatcher } from '../../../enforcer/policy/matcher.js';
import { createTableStore, entryAction, entryFlags, entryRule, packEntry, tablesToJSON } from '../../../enforcer/policy/tables.js';

const m = (pattern: string, path: string): boolean => {
  const g = compileGlob(pattern);
  assert.ok(g.ok, pattern);
  return globMatches(g.glob, path);
};

test('glob syntax', () => {
  assert.equal(m('/etc/*', '/etc/passwd'), true);
  assert.equal(m('/etc/*', '/etc/ssl/x'), false);
  assert.equal(m('/etc/**', '/etc/ssl/x'), true);
  assert.equal(m('/**/*.key', '/a/b/c.key'), true);
  assert.equal(m('/**/*.key', '/a/b/c.keys'), false);
  assert.equal(m('/tmp/?', '/tmp/a'), true);
  assert.equal(m('/tmp/?', '/tmp/ab'), false);
  assert.equal(m('/dev/tty[0-9]', '/dev/tty7'), true);
  assert.equal(m('/dev/tty[^0-9]', '/dev/tty7'), false);
  assert.equal(m('/dev/tty[!0-9]', '/dev/ttyS'), true);
  assert.equal(m('/{bin,sbin}/sh', '/sbin/sh'), true);
  assert.equal(m('/{bin,sbin}/sh', '/usr/sh'), false);
  assert.equal(m('/a\\*b', '/a*b'), true);
  assert.equal(m('/a\\*b', '/axb'), false);
  for (const bad of ['', '/a[b', '/a{b', '/a}b', '/a\\', '/[z-a]']) assert.equal(compileGlob(bad).ok, false, bad);
  assert.equal(compileGlob('/{a,b}{c,d}{e,f}{g,h}{i,j}{k,l}{m,n}{o,p}{q,r}').ok, false, 'too many alternatives');
});

test('glob matching stays linear on adversarial input', () => {
  const g = compileGlob(`/${'*a'.repeat(40)}b`);
  assert.ok(g.ok);
  assert.equal(globMatches(g.glob, `/${'a'.repeat(4000)}`), false); // backtracking would never finish
});

test('entries pack rule, action and flags into one unsigned 32-bit integer', () => {
  const e = packEntry(123_456, 2, 3);
  assert.equal(entryRule(e), 123_456);
  assert.equal(entryAction(e), 2);
  assert.equal(entryFlags(e), 3);
  assert.ok(e >= 0 && e <= 0xffffffff);
});

test('a table store swaps whole table sets; readers keep the set they took', () => {
  const load = (path: string) => loadPolicySource(`apiVersion: security.kubearmor.com/v1
kind: KubeArmorPolicy
metadata: { name: p }
spec: { file: { matchPaths: [ { path: ${path} } ] } }
`, 'p.yaml').policies;
  const w = { kind: 'container' as const, namespace: 'default', labels: {} };
  const v1 = compileTables(load('/a'), w, { version: 1 });
  const v2 = compileTables(load('/b'), w, { version: 2 });
  const store = createTableStore(v1);
  const reader = createMatcher(store.current() ?? v1);
  assert.equal(store.swap(v2), v1);
  assert.equal(store.current()?.version, 2);
  assert.equal(reader.decide({ class: 'file', path: '/a' }).action, 'Block');
  assert.equal(createMatcher(store.current() ?? v2).decide({ class: 'file', path: '/a' }).matched, false);
  assert.equal(createMatcher(store.current() ?? v2).decide({ class: 'file', path: '/b' }).action, 'Block');
  const json = JSON.parse(JSON.stringify(tablesToJSON(v2))) as { file: { any: { exact: Record<string, number[]> } } };
  assert.deepEqual(Object.keys(json.file.any.exact), ['/b']);
});

test('the RegExp fast path and the state-set matcher agree on random globs and paths', () => {
  let seed = 7;
  const rnd = (n: number): number => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n; };
  const parts = ['/', 'a', 'b', '-', '.', '*', '**', '?', '[a-c]', '[^b]', '[!/]', '{a,b}', '\\*', 'x'];
  const chars = ['/', 'a', 'b', 'c', '-', '.', '*', 'x'];
  let fast = 0;
  for (let i = 0; i < 3000; i++) {
    const src = '/' + Array.from({ length: 1 + rnd(6) }, () => parts[rnd(parts.length)]).join('');
    const g = compileGlob(src);
    if (!g.ok) continue;
    if (globRegex(g.glob) !== null) fast++;
    for (let j = 0; j < 20; j++) {
      const path = '/' + Array.from({ length: rnd(10) }, () => chars[rnd(chars.length)]).join('');
      const want = globMatchesStates(g.glob, path);
      assert.equal(globMatches(g.glob, path), want, `${src} on ${path}`);
    }
  }
  assert.ok(fast > 500, `only ${fast} globs took the RegExp path`);
});
