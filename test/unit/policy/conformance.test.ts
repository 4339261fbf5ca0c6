// Table-driven conformance suite: every scenario of test/unit/policy/cases/*.yaml.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { runScenario, type Scenario } from './case-runner.js';

const dir = new URL('./cases/', import.meta.url);
const files = readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort();

test('case files exist', () => {
  assert.ok(files.length >= 5, `only ${files.length} case files`);
});

for (const f of files) {
  const doc = parse(readFileSync(new URL(f, dir), 'utf8')) as { scenarios: Scenario[] };
  for (const s of doc.scenarios) {
    test(`${f}: ${s.name}`, () => {
      const n = runScenario(s, `${f}#${s.name}`);
      assert.ok(n > 0 || (s.issues?.length ?? 0) > 0, 'a scenario must check something');
    });
  }
}
