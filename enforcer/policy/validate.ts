// Validation of one parsed document: the JSON Schema of schema.ts (ajv, all errors) plus the
// checks a schema cannot express (a section must hold at least one rule, globs must compile,
// cluster label expressions are `key=value`, host Allow rules need fromSource). Returns every
// problem at once, each mapped to its source position; caps the count per document.
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { formatPath, type PathSegment, type PolicyIssue, type Severity } from './errors.js';
import { compileGlob } from './glob.js';
import type { SourceDoc } from './parse-yaml.js';
import { API_VERSION, POLICY_KINDS } from './schema-enums.js';
import { documentSchema, PATTERN_MESSAGES } from './schema.js';
import type { PolicyKind } from './types.js';

export const MAX_ISSUES_PER_DOCUMENT = 100;

let validators: Map<PolicyKind, ValidateFunction> | undefined;

function validatorFor(kind: PolicyKind): ValidateFunction {
  if (!validators) {
    const ajv = new Ajv({ allErrors: true, verbose: true, strict: true, strictTypes: false, unicodeRegExp: true });
    validators = new Map(POLICY_KINDS.map((k) => [k, ajv.compile(documentSchema(k))]));
  }
  return validators.get(kind) as ValidateFunction;
}

function pointerToPath(pointer: string): PathSegment[] {
  if (pointer === '') return [];
  return pointer.slice(1).split('/').map((s) => {
    const seg = s.replace(/~1/g, '/').replace(/~0/g, '~');
    return /^(0|[1-9][0-9]{0,8})$/.test(seg) ? Number(seg) : seg;
  });
}

type Found = { path: PathSegment[]; message: string; onKey: boolean; severity: Severity };

function describeEnum(values: readonly unknown[]): string {
  if (values.length > 40) return `must be one of the ${values.length} known names (e.g. ${values.slice(0, 4).map(String).join(', ')})`;
  return `must be one of: ${values.map(String).join(', ')}`;
}

function fromAjv(e: ErrorObject): Found | undefined {
  const path = pointerToPath(e.instancePath);
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required': return { path: [...path, String(p.missingProperty)], message: 'is required', onKey: false, severity: 'error' };
    case 'additionalProperties': {
      const allowed = Object.keys(((e.parentSchema as { properties?: object } | undefined)?.properties) ?? {});
      return { path: [...path, String(p.additionalProperty)], message: `unknown field (allowed: ${allowed.join(', ')})`, onKey: true, severity: 'error' };
    }
    case 'enum': return { path, message: describeEnum((p.allowedValues as unknown[]) ?? []), onKey: false, severity: 'error' };
    case 'type': return { path, message: `must be ${String(p.type) === 'integer' ? 'an integer' : `of type ${String(p.type)}`}`, onKey: false, severity: 'error' };
    case 'pattern': {
      const pattern = String(p.pattern);
      return { path, message: PATTERN_MESSAGES[pattern] ?? `must match ${pattern}`, onKey: false, severity: 'error' };
    }
    case 'minimum': case 'maximum': return { path, message: 'must be an integer from 1 to 10', onKey: false, severity: 'error' };
    case 'allOf': case 'anyOf': case 'oneOf': case 'if': return undefined;
    default: return { path, message: e.message ?? e.keyword, onKey: false, severity: 'error' };
  }
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** Checks beyond the schema; only looks at values that have the right shape. */
function semanticChecks(kind: PolicyKind, spec: Record<string, unknown>, out: Found[]): void {
  const err = (path: PathSegment[], message: string, severity: Severity = 'error'): void => {
    out.push({ path: ['spec', ...path], message, onKey: false, severity });
  };
  const sections = ['process', 'file', 'network', 'capabilities', 'syscalls'];
  if (!sections.some((s) => spec[s] !== undefined)) {
    err([], `must define at least one of ${sections.join(', ')}`);
  }
  for (const section of ['process', 'file']) {
    const s = spec[section];
    if (!isObj(s)) continue;
    if (list(s.matchPaths).length + list(s.matchDirectories).length + list(s.matchPatterns).length === 0) {
      err([section], 'must contain at least one rule in matchPaths, matchDirectories or matchPatterns');
    }
    list(s.matchPatterns).forEach((rule, i) => {
      if (isObj(rule) && typeof rule.pattern === 'string') {
        const g = compileGlob(rule.pattern);
        if (!g.ok) err([section, 'matchPatterns', i, 'pattern'], g.error);
      }
    });
  }
  const sys = spec.syscalls;
  if (isObj(sys)) {
    if (list(sys.matchSyscalls).length + list(sys.matchPaths).length === 0) err(['syscalls'], 'must contain at least one rule in matchSyscalls or matchPaths');
    for (const group of ['matchSyscalls', 'matchPaths']) {
      list(sys[group]).forEach((rule, i) => {
        if (!isObj(rule)) return;
        if (group === 'matchSyscalls' && list(rule.syscall).length === 0) err(['syscalls', group, i, 'syscall'], 'must list at least one syscall');
        list(rule.fromSource).forEach((src, j) => {
          if (isObj(src) && (src.path === undefined) === (src.dir === undefined)) {
            err(['syscalls', group, i, 'fromSource', j], "must have exactly one of 'path' or 'dir'");
          }
        });
      });
    }
  }
  if (kind === 'KubeArmorClusterPolicy' && isObj(spec.selector)) {
    list(spec.selector.matchExpressions).forEach((expr, i) => {
      if (!isObj(expr) || expr.key !== 'label') return;
      list(expr.values).forEach((v, j) => {
        if (typeof v === 'string' && !/^[^=]+=/.test(v)) err(['selector', 'matchExpressions', i, 'values', j], "label values must be written 'key=value'");
      });
    });
  }
  if (kind === 'KubeArmorHostPolicy') {
    const policyAction = spec.action;
    for (const section of sections) {
      const s = spec[section];
      if (!isObj(s)) continue;
      for (const group of ['matchPaths', 'matchDirectories', 'matchPatterns', 'matchProtocols', 'matchCapabilities']) {
        list(s[group]).forEach((rule, i) => {
          if (!isObj(rule)) return;
          const action = rule.action ?? s.action ?? policyAction;
          if (action === 'Allow' && list(rule.fromSource).length === 0) {
            err([section, group, i], 'Allow in a host policy needs fromSource; this rule is ignored (KubeArmor semantics)', 'warning');
          }
        });
      }
    }
  }
}

/** Validates one document; returns its kind when it is valid. */
export function validateDocument(doc: SourceDoc, file: string): { kind: PolicyKind | undefined; issues: PolicyIssue[] } {
  const found: Found[] = [];
  const v = doc.value;
  let kind: PolicyKind | undefined;
  if (!isObj(v)) {
    found.push({ path: [], message: 'a policy document must be a mapping with apiVersion, kind, metadata and spec', onKey: false, severity: 'error' });
  } else {
    if (v.apiVersion !== API_VERSION) found.push({ path: ['apiVersion'], message: `must be ${API_VERSION}`, onKey: false, severity: 'error' });
    if (typeof v.kind === 'string' && (POLICY_KINDS as readonly string[]).includes(v.kind)) kind = v.kind as PolicyKind;
    else found.push({ path: ['kind'], message: describeEnum(POLICY_KINDS), onKey: false, severity: 'error' });
    if (kind) {
      const validate = validatorFor(kind);
      if (!validate(v)) {
        for (const e of validate.errors ?? []) {
          if (e.instancePath === '/apiVersion' || e.instancePath === '/kind') continue;
          const f = fromAjv(e);
          if (f) found.push(f);
        }
      }
      if (isObj(v.spec)) semanticChecks(kind, v.spec, found);
    }
  }
  const seen = new Set<string>();
  const issues: PolicyIssue[] = [];
  for (const f of found) {
    const path = formatPath(f.path);
    const key = `${path}\u0000${f.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const pos = doc.locate(f.path, f.onKey);
    issues.push({ severity: f.severity, file, line: pos.line, col: pos.col, path, message: f.message });
  }
  issues.sort((a, b) => a.line - b.line || a.col - b.col);
  if (issues.length > MAX_ISSUES_PER_DOCUMENT) {
    const extra = issues.length - MAX_ISSUES_PER_DOCUMENT;
    const last = issues[MAX_ISSUES_PER_DOCUMENT - 1] as PolicyIssue;
    issues.length = MAX_ISSUES_PER_DOCUMENT;
    issues.push({ ...last, path: '', message: `${extra} more problems in this document not shown` });
  }
  const hasError = issues.some((i) => i.severity === 'error');
  return { kind: hasError ? undefined : kind, issues };
}
