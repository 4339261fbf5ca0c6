// Every YAML example of docs/policy.md parses and behaves as documented. Blocks starting with
// `# decisions` run their cases against the policy blocks since the previous decisions block
// (or the same policies again when none came in between); `# invalid` blocks must produce
// exactly the issues of the `text` block after them; `# config` blocks are posture settings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { formatIssue } from '../../../enforcer/policy/errors.js';
import { loadPolicySource } from '../../../enforcer/policy/load.js';
import { runScenario, type Scenario } from './case-runner.js';

const md = readFileSync(new URL('../../../docs/policy.md', import.meta.url), 'utf8');
const blocks = [...md.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].map((m) => ({ lang: m[1] ?? '', body: m[2] ?? '', line: md.slice(0, m.index).split('\n').length }));

test('docs/policy.md has policy, decision and validation examples', () => {
  const yaml = blocks.filter((b) => b.lang === 'yaml');
  assert.ok(yaml.filter((b) => b.body.startsWith('# decisions')).length >= 10);
  assert.ok(yaml.filter((b) => b.body.startsWith('# invalid')).length >= 1);
  assert.ok(yaml.filter((b) => !b.body.startsWith('#')).length >= 10);
});

let pending: string[] = [];
let lastPolicies: string[] = [];
blocks.forEach((b, i) => {
  if (b.lang !== 'yaml') return;
  const where = `docs/policy.md:${b.line}`;
  if (b.body.startsWith('# invalid')) {
    const next = blocks[i + 1];
    test(`${where}: invalid example reports the documented issues`, () => {
      assert.equal(next?.lang, 'text', 'an invalid example must be followed by a text block with the output');
      const got = loadPolicySource(b.body, 'policy.yaml').issues.map(formatIssue);
      assert.deepEqual(got, (next?.body ?? '').trim().split('\n'));
    });
  } else if (b.body.startsWith('# config')) {
    test(`${where}: posture configuration example`, () => {
      const cfg = parse(b.body) as Record<string, unknown>;
      for (const [k, v] of Object.entries(cfg)) {
        assert.match(k, /^default(File|Network|Capabilities)Posture$/);
        assert.ok(v === 'audit' || v === 'block');
      }
    });
  } else if (b.body.startsWith('# decisions')) {
    const policies = pending.length > 0 ? pending : lastPolicies;
    lastPolicies = policies;
    pending = [];
    test(`${where}: documented decisions`, () => {
      assert.ok(policies.length > 0, 'decisions without a policy above');
      const spec = parse(b.body) as Omit<Scenario, 'name' | 'policies'>;
      const n = runScenario({ ...spec, name: where, policies: policies.join('---\n') }, where);
      assert.ok(n > 0);
    });
  } else {
    pending.push(b.body);
    test(`${where}: policy example is valid`, () => {
      const r = loadPolicySource(b.body, where);
      assert.deepEqual(r.issues.map(formatIssue), []);
      assert.ok(r.policies.length > 0);
    });
  }
});

// Other pages under docs/ may show policies too: every KubeArmor policy block there must be valid.
const docsRoot = new URL('../../../docs/', import.meta.url).pathname;
function markdownFiles(dir: string, out: string[]): string[] {
  for (const name of readdirSync(dir).sort()) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) markdownFiles(full, out);
    else if (name.endsWith('.md') && full !== join(docsRoot, 'policy.md')) out.push(full);
  }
  return out;
}
for (const file of markdownFiles(docsRoot, [])) {
  const text = readFileSync(file, 'utf8');
  for (const m of text.matchAll(/^```ya?ml\n([\s\S]*?)^```$/gm)) {
    const body = m[1] ?? '';
    if (!body.includes('security.kubearmor.com/v1') || body.startsWith('# invalid')) continue;
    const where = `${file.slice(docsRoot.length - 5)}:${text.slice(0, m.index).split('\n').length}`;
    test(`${where}: policy example is valid`, () => {
      assert.deepEqual(loadPolicySource(body, where).issues.filter((i) => i.severity === 'error').map(formatIssue), []);
    });
  }
}
