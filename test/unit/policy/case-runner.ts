// Shared runner for declarative policy cases (test/unit/policy/cases/*.yaml and the YAML
// examples of docs/policy.md): compile the scenario's policies for its workload, run each
// operation, and compare every field named in `expect` (plus `issues` for validation cases). `null` in `expect` means the field is absent.
import assert from 'node:assert/strict';
import { compileTables } from '../../../enforcer/policy/compile.js';
import { formatIssue } from '../../../enforcer/policy/errors.js';
import { loadPolicySource } from '../../../enforcer/policy/load.js';
import { createMatcher } from '../../../enforcer/policy/matcher.js';
import type { GlobalPosture, Operation, Workload } from '../../../enforcer/policy/types.js';

export type Scenario = {
  name: string;
  workload?: Record<string, unknown>;
  globalPosture?: Partial<GlobalPosture>;
  policies: string;
  /** substrings expected, in order, among the formatted issues; absent means no errors allowed */
  issues?: string[];
  cases?: { op: Operation; expect: Record<string, unknown> }[];
};

export function toWorkload(w: Record<string, unknown> | undefined): Workload {
  if (w && w.host === true) return { kind: 'host', nodeLabels: (w.nodeLabels as Record<string, string>) ?? {} };
  return {
    kind: 'container',
    namespace: (w?.namespace as string) ?? 'default',
    labels: (w?.labels as Record<string, string>) ?? {},
    namespaceLabels: (w?.namespaceLabels as Record<string, string>) ?? {},
    namespaceAnnotations: (w?.namespaceAnnotations as Record<string, string>) ?? {},
  };
}

export function runScenario(s: Scenario, file: string): number {
  const loaded = loadPolicySource(s.policies, file);
  const formatted = loaded.issues.map(formatIssue);
  if (s.issues) {
    let from = 0;
    for (const want of s.issues) {
      const idx = formatted.findIndex((f, i) => i >= from && f.includes(want));
      assert.ok(idx >= 0, `${s.name}: expected an issue containing ${JSON.stringify(want)}; got:\n${formatted.join('\n')}`);
      from = idx + 1;
    }
  } else {
    const errors = loaded.issues.filter((i) => i.severity === 'error').map(formatIssue);
    assert.deepEqual(errors, [], `${s.name}: unexpected validation errors`);
  }
  const posture: GlobalPosture = { file: 'audit', network: 'audit', capabilities: 'audit', ...(s.globalPosture ?? {}) };
  const matcher = createMatcher(compileTables(loaded.policies, toWorkload(s.workload), { globalPosture: posture }));
  let n = 0;
  for (const c of s.cases ?? []) {
    const d = matcher.decide(c.op) as unknown as Record<string, unknown>;
    for (const [k, v] of Object.entries(c.expect)) {
      assert.deepEqual(d[k], v === null ? undefined : v, `${s.name}: ${JSON.stringify(c.op)} -> field ${k}: got ${JSON.stringify(d)}`);
    }
    n++;
  }
  return n;
}
