// Multi-document YAML parsing that keeps source positions, with hard limits so that no input
// can crash or hang the engine: the source size, the number of documents, alias expansion
// (billion laughs), and nesting depth are bounded; a stack overflow inside the YAML library is
// caught and reported as an issue. Never throws; every problem is a PolicyIssue with a position.
// While the YAML library parses, `process.env` is a plain snapshot of the only two variables the
// library reads (see withPlainEnv); it is restored before parseYamlSource returns or throws.
import { LineCounter, isMap, isPair, isScalar, isSeq, parseAllDocuments, type Document, type Node } from 'yaml';
import { formatPath, type PathSegment, type PolicyIssue } from './errors.js';

export const PARSE_LIMITS = {
  /** bytes (UTF-16 code units) per source */
  maxSourceLength: 4 * 1024 * 1024,
  maxDocuments: 10_000,
  maxAliasCount: 100,
  maxDepth: 32,
} as const;

export type SourceDoc = {
  readonly index: number;
  readonly value: unknown;
  /** Position of a field path in the source, falling back to the nearest existing ancestor. */
  locate(path: readonly PathSegment[], onKey?: boolean): { line: number; col: number };
};

export type ParsedSource = { readonly docs: readonly SourceDoc[]; readonly issues: readonly PolicyIssue[] };

function firstLine(message: string): string {
  const line = message.split('\n')[0] ?? message;
  return line.replace(/ at line \d+, column \d+:?$/, '');
}

/** Rough upper bound of nesting: flow brackets plus block indentation, without parsing. */
function nestingTooDeep(src: string, limit: number): boolean {
  let depth = 0;
  let lineStart = true;
  let indent = 0;
  let dashes = 0;
  for (let i = 0; i < src.length; i++) {
    const c = src.charCodeAt(i);
    if (c === 10) { lineStart = true; indent = 0; dashes = 0; continue; }
    if (lineStart) {
      if (c === 32) { indent++; if (indent > limit * 8) return true; continue; }
      const next = src.charCodeAt(i + 1);
      if ((c === 45 /* - */ || c === 63 /* ? */) && (next === 32 || next === 10)) { dashes++; if (dashes > limit) return true; continue; }
      lineStart = false;
    }
    if (c === 91 || c === 123) { depth++; if (depth > limit) return true; } else if (c === 93 || c === 125) depth = Math.max(0, depth - 1);
  }
  return false;
}

function valueTooDeep(value: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  let visited = 0;
  while (stack.length > 0) {
    const [v, d] = stack.pop() as [unknown, number];
    if (++visited > 5_000_000) return true;
    if (v === null || typeof v !== 'object') continue;
    if (d > limit) return true;
    for (const child of Object.values(v as Record<string, unknown>)) stack.push([child, d + 1]);
  }
  return false;
}

function makeLocator(doc: Document, lc: LineCounter): SourceDoc['locate'] {
  return (path, onKey = false) => {
    let node: unknown = doc.contents;
    let best: Node | null = isNodeWithRange(node) ? node : null;
    for (let i = 0; i < path.length; i++) {
      const seg = path[i];
      let next: unknown;
      let keyNode: unknown;
      if (isMap(node)) {
        for (const item of node.items) {
          if (isPair(item) && isScalar(item.key) && String(item.key.value) === String(seg)) { next = item.value; keyNode = item.key; break; }
        }
      } else if (isSeq(node) && typeof seg === 'number') {
        next = node.items[seg];
      }
      if (onKey && i === path.length - 1 && isNodeWithRange(keyNode)) { best = keyNode; break; }
      if (!isNodeWithRange(next)) {
        if (isNodeWithRange(keyNode)) best = keyNode;
        break;
      }
      best = next;
      node = next;
    }
    const offset = best?.range?.[0] ?? 0;
    return lc.linePos(offset);
  };
}

/** Field path of the deepest value whose source range holds `offset` (for YAML syntax errors). */
function pathAt(doc: Document, offset: number): PathSegment[] {
  const out: PathSegment[] = [];
  const span = (n: unknown): [number, number] | undefined => {
    const r = isNodeWithRange(n) ? n.range : undefined;
    return r ? [r[0], r[2]] : undefined;
  };
  let node: unknown = doc.contents;
  for (let guard = 0; guard < PARSE_LIMITS.maxDepth * 2; guard++) {
    let next: unknown;
    if (isMap(node)) {
      for (const item of node.items) {
        if (!isPair(item)) continue;
        const v = span(item.value);
        if (v === undefined || offset < v[0] || offset > v[1]) continue;
        out.push(isScalar(item.key) ? String(item.key.value) : '?');
        next = item.value;
        break;
      }
    } else if (isSeq(node)) {
      for (let i = 0; i < node.items.length && next === undefined; i++) {
        const r = span(node.items[i]);
        if (r !== undefined && offset >= r[0] && offset <= r[1]) { out.push(i); next = node.items[i]; }
      }
    }
    if (next === undefined) break;
    node = next;
  }
  return out;
}

function isNodeWithRange(n: unknown): n is Node {
  return typeof n === 'object' && n !== null && Array.isArray((n as { range?: unknown }).range);
}

/**
 * The yaml library reads `process.env.LOG_TOKENS` for every lexical token and
 * `process.env.LOG_STREAM` for every document. `process.env` is a C++ interceptor (each read is
 * a getenv under a lock), which measured about half of the parse time of a small policy. During
 * the synchronous parse the library sees a plain object holding the same two values; no other
 * JavaScript runs meanwhile, and the real object is put back in `finally`.
 */
function withPlainEnv<T>(fn: () => T): T {
  const env = process.env;
  const snapshot: NodeJS.ProcessEnv = Object.create(null) as NodeJS.ProcessEnv;
  for (const k of ['LOG_TOKENS', 'LOG_STREAM']) { const v = env[k]; if (v !== undefined) snapshot[k] = v; }
  process.env = snapshot;
  try {
    return fn();
  } finally {
    process.env = env;
  }
}

export function parseYamlSource(src: string, file: string): ParsedSource {
  const issues: PolicyIssue[] = [];
  const at = (line: number, col: number, message: string): PolicyIssue => ({ severity: 'error', file, line, col, path: '', message });
  if (src.length > PARSE_LIMITS.maxSourceLength) {
    return { docs: [], issues: [at(1, 1, `source is ${src.length} characters, more than the limit of ${PARSE_LIMITS.maxSourceLength}`)] };
  }
  if (nestingTooDeep(src, PARSE_LIMITS.maxDepth)) {
    return { docs: [], issues: [at(1, 1, `nesting deeper than ${PARSE_LIMITS.maxDepth} levels`)] };
  }
  const lc = new LineCounter();
  let parsed: Document.Parsed[];
  try {
    const all = withPlainEnv(() => parseAllDocuments(src, { lineCounter: lc, prettyErrors: false, uniqueKeys: true, logLevel: 'error', strict: true, version: '1.2' }));
    parsed = Array.isArray(all) ? all : [];
  } catch (err) {
    return { docs: [], issues: [at(1, 1, `cannot parse YAML: ${err instanceof Error ? firstLine(err.message) : String(err)}`)] };
  }
  if (parsed.length > PARSE_LIMITS.maxDocuments) {
    return { docs: [], issues: [at(1, 1, `${parsed.length} documents, more than the limit of ${PARSE_LIMITS.maxDocuments}`)] };
  }
  const docs: SourceDoc[] = [];
  parsed.forEach((doc, index) => {
    const locate = makeLocator(doc, lc);
    const start = lc.linePos(doc.range?.[0] ?? 0);
    if (doc.errors.length > 0) {
      for (const e of doc.errors) {
        const p = lc.linePos(e.pos[0]);
        issues.push({ ...at(p.line, p.col, `YAML: ${firstLine(e.message)}`), path: formatPath(pathAt(doc, e.pos[0])) });
      }
      return;
    }
    if (doc.contents === null) return; // empty document (e.g. trailing '---'): nothing to check
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: PARSE_LIMITS.maxAliasCount });
    } catch (err) {
      issues.push(at(start.line, start.col, `YAML: ${err instanceof Error ? firstLine(err.message) : String(err)}`));
      return;
    }
    if (value === null || value === undefined) return; // empty or null document: skipped, as kubectl does
    if (valueTooDeep(value, PARSE_LIMITS.maxDepth)) {
      issues.push(at(start.line, start.col, `document nesting deeper than ${PARSE_LIMITS.maxDepth} levels`));
      return;
    }
    docs.push({ index, value, locate });
  });
  return { docs, issues };
}
