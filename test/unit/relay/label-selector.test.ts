import { test } from 'node:test';
import assert from 'node:assert/strict';
import { matchesSelector, parseLabelSelector } from '../../../relay/serve/label-selector.js';

const labels = new Map([['app', 'web'], ['tier', 'fe'], ['team', 'a']]);
const m = (s: string): boolean => {
  const r = parseLabelSelector(s);
  if (!r.ok) throw new Error(r.error);
  return matchesSelector(r.value, labels);
};

test('equality, set and existence requirements, ANDed', () => {
  assert.equal(m(''), true);
  assert.equal(m('app=web'), true);
  assert.equal(m('app==web,tier=fe'), true);
  assert.equal(m('app=db'), false);
  assert.equal(m('app!=db'), true);
  assert.equal(m('missing!=x'), true);
  assert.equal(m('app in (db, web)'), true);
  assert.equal(m('app notin (web)'), false);
  assert.equal(m('missing notin (web)'), true);
  assert.equal(m('team'), true);
  assert.equal(m('!team'), false);
  assert.equal(m('!missing,app=web'), true);
  assert.equal(m('app=web,tier=be'), false);
});

test('errors name the term', () => {
  const r = parseLabelSelector('app=web,=x');
  assert.ok(!r.ok);
  assert.match(r.error, /pod_selector term 2 "=x"/);
  assert.ok(!parseLabelSelector('app in (a').ok);
  assert.ok(!parseLabelSelector('a b').ok);
});
