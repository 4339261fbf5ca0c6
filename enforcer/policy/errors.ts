// Policy diagnostics. Every problem found in a policy source is one PolicyIssue carrying the
// file, 1-based line and column, the field path (`spec.file.matchDirectories[0].dir`) and a
// message saying what is wrong; formatIssue renders `file:line:col field.path: message`.
// Issues are values, never exceptions: the parser and validator never throw on input.

export type Severity = 'error' | 'warning';

export type PolicyIssue = {
  readonly severity: Severity;
  readonly file: string;
  readonly line: number;
  readonly col: number;
  /** Field path inside the document, '' for the document itself. */
  readonly path: string;
  readonly message: string;
};

export function formatIssue(issue: PolicyIssue): string {
  const where = `${issue.file}:${issue.line}:${issue.col}`;
  const prefix = issue.severity === 'warning' ? 'warning: ' : '';
  return issue.path === '' ? `${where} ${prefix}${issue.message}` : `${where} ${issue.path}: ${prefix}${issue.message}`;
}

export type PathSegment = string | number;

/** `['spec', 'file', 'matchDirectories', 0, 'dir']` -> `spec.file.matchDirectories[0].dir`. */
export function formatPath(segments: readonly PathSegment[]): string {
  let out = '';
  for (const seg of segments) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}
