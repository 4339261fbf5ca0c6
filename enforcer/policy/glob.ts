// matchPatterns globs (AppArmor style, as KubeArmor documents them): `*` any run of characters
// except '/', `**` any run including '/', `?` one character except '/', `[abc]`, `[a-z]`, `[^x]`
// or `[!x]` one character of a class, `{a,b}` alternatives (expanded at compile time).
// Invariant: matching is a Thompson-style state-set simulation, O(path length x pattern
// length) with no backtracking, so no pattern can make a decision slow. Compiled globs are
// plain data (token arrays) that native code can run with the same algorithm.

export type GlobToken =
  | { readonly t: 'lit'; readonly c: number }
  | { readonly t: 'one' }
  | { readonly t: 'star' }
  | { readonly t: 'globstar' }
  | { readonly t: 'class'; readonly neg: boolean; readonly ranges: readonly (readonly [number, number])[] };

export type CompiledGlob = {
  readonly source: string;
  readonly alternatives: readonly (readonly GlobToken[])[];
  /** literal text every match starts with (common prefix of the alternatives): a cheap pre-filter */
  readonly prefix: string;
};

export const GLOB_LIMITS = { maxLength: 1024, maxAlternatives: 256 } as const;

export type GlobResult = { ok: true; glob: CompiledGlob } | { ok: false; error: string };

/** Expands `{a,b}` groups; returns an error for unbalanced braces or too many alternatives. */
function expandBraces(src: string): string[] | string {
  let open = -1;
  let depth = 0;
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (c === '\\') { i++; continue; }
    if (c === '[') {
      const close = src.indexOf(']', i + 2);
      if (close < 0) return "unclosed '['";
      i = close;
      continue;
    }
    if (c === '{') { if (depth === 0) open = i; depth++; }
    if (c === '}') {
      depth--;
      if (depth < 0) return "unmatched '}'";
      if (depth === 0) {
        const inner = src.slice(open + 1, i);
        const parts: string[] = [];
        let d = 0;
        let last = 0;
        for (let j = 0; j < inner.length; j++) {
          const ch = inner[j];
          if (ch === '\\') { j++; continue; }
          if (ch === '{') d++;
          else if (ch === '}') d--;
          else if (ch === ',' && d === 0) { parts.push(inner.slice(last, j)); last = j + 1; }
        }
        parts.push(inner.slice(last));
        const out: string[] = [];
        const rest = src.slice(i + 1);
        for (const part of parts) {
          const sub = expandBraces(src.slice(0, open) + part + rest);
          if (typeof sub === 'string') return sub;
          out.push(...sub);
          if (out.length > GLOB_LIMITS.maxAlternatives) return `more than ${GLOB_LIMITS.maxAlternatives} alternatives`;
        }
        return out;
      }
    }
  }
  if (depth !== 0) return "unclosed '{'";
  return [src];
}

function tokenize(src: string): GlobToken[] | string {
  const out: GlobToken[] = [];
  for (let i = 0; i < src.length; i++) {
    const c = src[i] as string;
    if (c === '\\') {
      if (i + 1 >= src.length) return "trailing '\\'";
      out.push({ t: 'lit', c: src.charCodeAt(++i) });
    } else if (c === '*') {
      if (src[i + 1] === '*') {
        while (src[i + 1] === '*') i++;
        if (out[out.length - 1]?.t !== 'globstar') out.push({ t: 'globstar' });
      } else if (out[out.length - 1]?.t !== 'star' && out[out.length - 1]?.t !== 'globstar') {
        out.push({ t: 'star' });
      }
    } else if (c === '?') {
      out.push({ t: 'one' });
    } else if (c === '[') {
      let j = i + 1;
      let neg = false;
      if (src[j] === '^' || src[j] === '!') { neg = true; j++; }
      const ranges: [number, number][] = [];
      let first = true;
      while (j < src.length && (src[j] !== ']' || first)) {
        first = false;
        let lo = src.charCodeAt(j);
        if (src[j] === '\\' && j + 1 < src.length) lo = src.charCodeAt(++j);
        if (src[j + 1] === '-' && j + 2 < src.length && src[j + 2] !== ']') {
          const hi = src.charCodeAt(j + 2);
          if (hi < lo) return `bad range '${src.slice(j, j + 3)}' in '[...]'`;
          ranges.push([lo, hi]);
          j += 3;
        } else {
          ranges.push([lo, lo]);
          j++;
        }
      }
      if (j >= src.length) return "unclosed '['";
      out.push({ t: 'class', neg, ranges });
      i = j;
    } else {
      out.push({ t: 'lit', c: src.charCodeAt(i) });
    }
  }
  return out;
}

export function compileGlob(source: string): GlobResult {
  if (source.length === 0) return { ok: false, error: 'must not be empty' };
  if (source.length > GLOB_LIMITS.maxLength) return { ok: false, error: `longer than ${GLOB_LIMITS.maxLength} characters` };
  const expanded = expandBraces(source);
  if (typeof expanded === 'string') return { ok: false, error: `invalid pattern: ${expanded}` };
  const alternatives: GlobToken[][] = [];
  for (const alt of expanded) {
    const tokens = tokenize(alt);
    if (typeof tokens === 'string') return { ok: false, error: `invalid pattern: ${tokens}` };
    alternatives.push(tokens);
  }
  const literal = (tokens: readonly GlobToken[]): string => {
    let out = '';
    for (const t of tokens) { if (t.t !== 'lit') break; out += String.fromCharCode(t.c); }
    return out;
  };
  let prefix = literal(alternatives[0] ?? []);
  for (const alt of alternatives) {
    const l = literal(alt);
    let i = 0;
    while (i < prefix.length && i < l.length && prefix[i] === l[i]) i++;
    prefix = prefix.slice(0, i);
  }
  return { ok: true, glob: { source, alternatives, prefix } };
}

function tokenMatches(tok: GlobToken, c: number): boolean {
  switch (tok.t) {
    case 'lit': return tok.c === c;
    case 'one': return c !== 47;
    case 'class': {
      let inside = false;
      for (const [lo, hi] of tok.ranges) if (c >= lo && c <= hi) { inside = true; break; }
      return inside !== tok.neg && c !== 47;
    }
    default: return false;
  }
}

// State sets reused across calls (matching is synchronous); grown to the longest pattern seen.
let bufA = new Uint8Array(64);
let bufB = new Uint8Array(64);

function matchTokens(tokens: readonly GlobToken[], s: string): boolean {
  const m = tokens.length;
  if (bufA.length < m + 1) { bufA = new Uint8Array(2 * (m + 1)); bufB = new Uint8Array(2 * (m + 1)); }
  let cur = bufA;
  let next = bufB;
  cur.fill(0, 0, m + 1);
  const close = (set: Uint8Array): void => {
    for (let i = 0; i < m; i++) if (set[i] === 1) { const t = tokens[i]?.t; if (t === 'star' || t === 'globstar') set[i + 1] = 1; }
  };
  cur[0] = 1;
  close(cur);
  for (let k = 0; k < s.length; k++) {
    const c = s.charCodeAt(k);
    next.fill(0, 0, m + 1);
    let any = false;
    for (let i = 0; i < m; i++) {
      if (cur[i] !== 1) continue;
      const tok = tokens[i] as GlobToken;
      if (tok.t === 'globstar' || (tok.t === 'star' && c !== 47)) { next[i] = 1; any = true; }
      if (tokenMatches(tok, c)) { next[i + 1] = 1; any = true; }
    }
    if (!any) return false;
    close(next);
    const tmp = cur; cur = next; next = tmp;
  }
  return cur[m] === 1;
}

/**
 * Globs whose backtracking is bounded (at most one `**`, at most one wildcard per segment) also get
 * an anchored RegExp, which V8 runs much faster than the state-set loop; the others, and any glob
 * the RegExp would not express exactly, use the state sets. Derived lazily, kept off the tables.
 */
const regexCache = new WeakMap<CompiledGlob, RegExp | null>();

function escapeChar(c: number): string {
  const ch = String.fromCharCode(c);
  return /[\\^$.*+?()[\]{}|/-]/.test(ch) ? `\\${ch}` : ch;
}

function classToRegex(t: Extract<GlobToken, { t: 'class' }>): string {
  const body = t.ranges.map(([lo, hi]) => (lo === hi ? escapeChar(lo) : `${escapeChar(lo)}-${escapeChar(hi)}`)).join('');
  return t.neg ? `[^${body}/]` : `(?!/)[${body}]`;
}

export function globRegex(glob: CompiledGlob): RegExp | null {
  let re = regexCache.get(glob);
  if (re !== undefined) return re;
  re = null;
  const alts: string[] = [];
  let safe = true;
  for (const tokens of glob.alternatives) {
    let globstars = 0;
    let starsInSegment = 0;
    let out = '';
    for (const t of tokens) {
      switch (t.t) {
        case 'lit':
          if (t.c === 47) starsInSegment = 0;
          out += escapeChar(t.c);
          break;
        case 'one': out += '[^/]'; break;
        case 'star': starsInSegment++; out += '[^/]*'; break;
        case 'globstar': starsInSegment++; globstars++; out += '[\\s\\S]*'; break;
        case 'class': out += classToRegex(t); break;
      }
      if (starsInSegment > 1) safe = false;
    }
    if (globstars > 1) safe = false;
    alts.push(out);
  }
  if (safe && alts.length <= 16) {
    try { re = new RegExp(`^(?:${alts.join('|')})$`); } catch { re = null; /* fall back to state sets */ }
  }
  regexCache.set(glob, re);
  return re;
}

export function globMatches(glob: CompiledGlob, s: string): boolean {
  if (!s.startsWith(glob.prefix)) return false;
  const re = globRegex(glob);
  if (re !== null) return re.test(s);
  return globMatchesStates(glob, s);
}

/** The state-set algorithm, exported for the equivalence test. */
export function globMatchesStates(glob: CompiledGlob, s: string): boolean {
  for (const alt of glob.alternatives) if (matchTokens(alt, s)) return true;
  return false;
}
