// Loads KubeArmor policy documents from files and directories (recursively, *.yaml,
// *.yml and *.json, in name order) for the agent. Never throws: unreadable paths and
// every validation problem come back as `file:line:col field.path: message` lines; a
// document with an error contributes no policy, so callers must refuse to start when
// `errors` is not empty rather than run with a partial policy set.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { formatIssue } from '../policy/errors.js';
import { loadPolicySource } from '../policy/load.js';
import type { Policy } from '../policy/types.js';

export type PolicyFiles = {
  readonly policies: readonly Policy[];
  readonly files: readonly string[];
  readonly errors: readonly string[];
  readonly warnings: readonly string[];
};

const MAX_FILES = 10_000;
const MAX_BYTES = 4 * 1024 * 1024;

function collect(target: string, out: string[], errors: string[]): void {
  let st;
  try { st = statSync(target); } catch (err) { errors.push(`${target}: cannot read: ${(err as Error).message}`); return; }
  if (!st.isDirectory()) { out.push(target); return; }
  const stack = [target];
  while (stack.length > 0 && out.length < MAX_FILES) {
    const dir = stack.pop() as string;
    let names: string[];
    try { names = readdirSync(dir).sort(); } catch (err) { errors.push(`${dir}: cannot list: ${(err as Error).message}`); continue; }
    for (const name of names) {
      const full = join(dir, name);
      try {
        if (statSync(full).isDirectory()) stack.push(full);
        else if (/\.(ya?ml|json)$/.test(name)) out.push(full);
      } catch (err) {
        errors.push(`${full}: cannot read: ${(err as Error).message}`);
      }
    }
  }
}

export function loadPolicyFiles(paths: readonly string[]): PolicyFiles {
  const files: string[] = [];
  const errors: string[] = [];
  const warnings: string[] = [];
  const policies: Policy[] = [];
  for (const p of paths) collect(p, files, errors);
  for (const f of files) {
    let text: string;
    try {
      const size = statSync(f).size;
      if (size > MAX_BYTES) { errors.push(`${f}: ${size} bytes, more than the limit of ${MAX_BYTES}`); continue; }
      text = readFileSync(f, 'utf8');
    } catch (err) {
      errors.push(`${f}: cannot read: ${(err as Error).message}`);
      continue;
    }
    const r = loadPolicySource(text, f);
    policies.push(...r.policies);
    for (const i of r.issues) (i.severity === 'error' ? errors : warnings).push(formatIssue(i));
  }
  return { policies, files, errors, warnings };
}
