// `palisade policy` as a user runs it: a real process, real files, exit codes and output.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('../../../', import.meta.url).pathname;
const cli = (args: string[], input?: string) => spawnSync(process.execPath, ['--import', 'tsx', 'cli/main.ts', 'policy', ...args], { cwd: root, encoding: 'utf8', input, timeout: 60_000 });

test('validate reports every problem with file:line:col and exits 1; valid files exit 0', () => {
  const dir = mkdtempSync(join(process.env.PALISADE_TEST_TMP ?? tmpdir(), 'policy-cli-'));
  try {
    writeFileSync(join(dir, 'bad.yaml'), `apiVersion: security.kubearmor.com/v1
kind: KubeArmorPolicy
metadata:
  name: nginx
spec:
  file:
    matchDirectories:
    - dir: /etc/nginx
  action: Deny
`);
    writeFileSync(join(dir, 'good.yml'), `apiVersion: security.kubearmor.com/v1
kind: KubeArmorPolicy
metadata: { name: good }
spec:
  process: { matchPaths: [ { path: /usr/bin/apt } ] }
`);
    const r = cli(['validate', '-f', dir]);
    assert.equal(r.status, 1, r.stderr);
    const lines = r.stderr.trim().split('\n');
    assert.deepEqual(lines, [
      `${join(dir, 'bad.yaml')}:8:12 spec.file.matchDirectories[0].dir: must end with '/'`,
      `${join(dir, 'bad.yaml')}:9:11 spec.action: must be one of: Allow, Audit, Block`,
    ]);
    assert.match(r.stdout, /1 valid policy, 2 errors/);
    const ok = cli(['validate', '-f', join(dir, 'good.yml')]);
    assert.equal(ok.status, 0, ok.stderr);
    const stdin = cli(['validate', '-f', '-'], 'kind: KubeArmorPolicy\n');
    assert.equal(stdin.status, 1);
    assert.match(stdin.stderr, /^<stdin>:1:1 apiVersion: must be security\.kubearmor\.com\/v1$/m);
    const missing = cli(['validate', '-f', join(dir, 'nope.yaml')]);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /nope\.yaml: cannot read/);
    const none = cli(['validate']);
    assert.equal(none.status, 2);
    assert.match(none.stderr, /validate needs policy files: \[-f\] <file\|dir\|->/);
    // files as plain arguments too, after the -f ones
    const plain = cli(['validate', join(dir, 'good.yml'), '-f', join(dir, 'good.yml'), join(dir, 'bad.yaml')]);
    assert.equal(plain.status, 1, plain.stderr);
    assert.match(plain.stdout, /^2 valid policies, 2 errors/);
    assert.match(plain.stderr, /bad\.yaml:8:12 /);
    const plainCompile = cli(['compile', join(dir, 'good.yml'), '--json']);
    assert.equal(plainCompile.status, 0, plainCompile.stderr);
    assert.deepEqual(Object.keys((JSON.parse(plainCompile.stdout) as { process: { any: { exact: Record<string, number[]> } } }).process.any.exact), ['/usr/bin/apt']);
    const json = cli(['compile', '-f', join(dir, 'good.yml'), '--json']);
    assert.equal(json.status, 0, json.stderr);
    const tables = JSON.parse(json.stdout) as { process: { any: { exact: Record<string, number[]> } }; rules: { policyName: string }[] };
    assert.deepEqual(Object.keys(tables.process.any.exact), ['/usr/bin/apt']);
    assert.equal(tables.rules[0]?.policyName, 'good');
    const check = cli(['crds', '-o', 'deploy/crds', '--check']);
    assert.equal(check.status, 0, check.stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
