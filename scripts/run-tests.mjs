#!/usr/bin/env node
// Runs the test suite with node's own test runner over TypeScript sources (tsx).
// Usage: node scripts/run-tests.mjs [path-substring ...]
// With no argument every *.test.ts under test/ runs; with arguments only files whose
// path contains one of them. Exits non-zero when a test fails or when no test file matched.
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const filters = process.argv.slice(2);

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
    const full = join(dir, name);
    if (statSync(full).isDirectory()) walk(full, out);
    else if (name.endsWith('.test.ts')) out.push(relative(root, full));
  }
  return out;
}

const files = walk(join(root, 'test'), []).sort()
  .filter((f) => filters.length === 0 || filters.some((needle) => f.includes(needle)));
if (files.length === 0) {
  console.error(`run-tests: no test file matched ${filters.join(', ') || '(all)'}`);
  process.exit(1);
}
const concurrency = process.env.PALISADE_TEST_CONCURRENCY ?? '1';
const result = spawnSync(process.execPath, [
  '--import', 'tsx', '--test', '--test-force-exit', `--test-concurrency=${concurrency}`,
  '--test-reporter=spec', ...files,
], { cwd: root, stdio: 'inherit' });
process.exit(result.status ?? 1);
