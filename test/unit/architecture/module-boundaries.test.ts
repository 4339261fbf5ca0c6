// Module boundaries of DESIGN.md, checked on the source: proto <- collector <- enforcer;
// proto <- relay; cli may use all. A relative import that climbs into a forbidden
// top-level module fails the test with the file and the import.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, dirname, sep } from 'node:path';

const root = resolve(dirname(new URL(import.meta.url).pathname), '../../..');

const ALLOWED: Readonly<Record<string, readonly string[]>> = {
  proto: ['proto'],
  collector: ['proto', 'collector'],
  enforcer: ['proto', 'collector', 'enforcer'],
  relay: ['proto', 'relay'],
};

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'build' || name.startsWith('.')) continue;
    const full = join(dir, name);
    if (statSync(full).isDirectory()) sourceFiles(full, out);
    else if (/\.(ts|mts|js|mjs)$/.test(name)) out.push(full);
  }
  return out;
}

const IMPORT_RE = /(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

export function violations(): string[] {
  const found: string[] = [];
  for (const [module, allowed] of Object.entries(ALLOWED)) {
    let files: string[];
    try { files = sourceFiles(join(root, module)); } catch { continue; /* module not present yet */ }
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(IMPORT_RE)) {
        const spec = m[1] ?? m[2] ?? '';
        if (!spec.startsWith('.')) continue;
        const target = relative(root, resolve(dirname(file), spec)).split(sep)[0] ?? '';
        if (target in ALLOWED || target === 'cli') {
          if (!allowed.includes(target)) found.push(`${relative(root, file)}: imports '${spec}' (${module} must not depend on ${target})`);
        }
      }
    }
  }
  return found;
}

test('modules depend downward only', () => {
  assert.deepEqual(violations(), []);
});

test('the checker catches an upward import', () => {
  const text = "import { x } from '../../enforcer/policy/index.js';";
  const m = [...text.matchAll(IMPORT_RE)][0];
  assert.equal(m?.[1], '../../enforcer/policy/index.js');
  const target = relative(root, resolve(join(root, 'relay/ingest'), m?.[1] ?? '')).split(sep)[0];
  assert.equal(target, 'enforcer');
  assert.ok(!(ALLOWED.relay ?? []).includes(target ?? ''));
});
