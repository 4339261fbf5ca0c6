// Entry point from text to policies: parse (positions kept), validate every document, and
// normalize the valid ones. All issues of all documents are returned together; a document
// with an error yields no policy, the others still do. Never throws on any input.
import type { PolicyIssue } from './errors.js';
import { normalizePolicy } from './normalize.js';
import { parseYamlSource } from './parse-yaml.js';
import type { Policy } from './types.js';
import { validateDocument } from './validate.js';

export type LoadResult = { readonly policies: readonly Policy[]; readonly issues: readonly PolicyIssue[] };

export function loadPolicySource(src: string, file: string): LoadResult {
  const parsed = parseYamlSource(src, file);
  const issues: PolicyIssue[] = [...parsed.issues];
  const policies: Policy[] = [];
  for (const doc of parsed.docs) {
    const { kind, issues: docIssues } = validateDocument(doc, file);
    issues.push(...docIssues);
    if (kind) {
      const pos = doc.locate([]);
      policies.push(normalizePolicy(doc.value as Record<string, unknown>, `${file}:${pos.line}:${pos.col}`));
    }
  }
  issues.sort((a, b) => a.line - b.line || a.col - b.col);
  return { policies, issues };
}

export function hasErrors(issues: readonly PolicyIssue[]): boolean {
  return issues.some((i) => i.severity === 'error');
}
