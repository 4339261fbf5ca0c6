// The committed proto/gen/ is exactly what proto/generate.sh produces from the
// .proto files: regenerate into a temp dir and compare the file lists and bytes.
// Fails (does not skip) when protoc or ts-proto is missing: setup installs both.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const root = new URL('../../../', import.meta.url).pathname;
const committed = join(root, 'proto', 'gen');

function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const full = join(d, name);
      if (statSync(full).isDirectory()) walk(full);
      else out.push(relative(dir, full));
    }
  };
  walk(dir);
  return out.sort();
}

test('proto/gen matches a fresh generation byte for byte', () => {
  const work = mkdtempSync(join(tmpdir(), 'palisade-proto-drift-'));
  try {
    const fresh = join(work, 'gen');
    const run = spawnSync('bash', [join(root, 'proto', 'generate.sh'), fresh], { encoding: 'utf8', timeout: 120_000 });
    assert.equal(run.status, 0, `proto/generate.sh failed: ${run.stderr}`);
    const expected = listFiles(fresh);
    assert.ok(expected.length >= 5, `generation produced ${expected.length} files`);
    assert.deepEqual(listFiles(committed), expected, 'proto/gen file list differs; run `make gen-proto` and commit proto/gen');
    for (const file of expected) {
      const same = readFileSync(join(committed, file)).equals(readFileSync(join(fresh, file)));
      assert.ok(same, `proto/gen/${file} is stale; run \`make gen-proto\` and commit proto/gen`);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
