// Kubernetes label selectors (equality- and set-based), as `kubectl -l` accepts them:
//   a=b  a==b  a!=b  a in (x,y)  a notin (x,y)  a  !a     combined with ','
// parseLabelSelector never throws: it returns what is wrong and where.
export type Requirement =
  | { readonly op: 'eq' | 'neq'; readonly key: string; readonly value: string }
  | { readonly op: 'in' | 'notin'; readonly key: string; readonly values: ReadonlySet<string> }
  | { readonly op: 'exists' | 'absent'; readonly key: string };

export type Selector = readonly Requirement[];
export type SelectorResult = { ok: true; value: Selector } | { ok: false; error: string };

const KEY = /^([a-z0-9A-Z]([-a-z0-9A-Z_.]*[a-z0-9A-Z])?\/)?[a-z0-9A-Z]([-a-z0-9A-Z_.]*[a-z0-9A-Z])?$/;
const VALUE = /^([a-z0-9A-Z]([-a-z0-9A-Z_.]*[a-z0-9A-Z])?)?$/;

function splitTop(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

export function parseLabelSelector(input: string): SelectorResult {
  const reqs: Requirement[] = [];
  if (input.trim() === '') return { ok: true, value: reqs };
  for (const [i, raw] of splitTop(input).entries()) {
    const part = raw.trim();
    const where = `pod_selector term ${i + 1} ${JSON.stringify(part)}`;
    let m: RegExpExecArray | null;
    if ((m = /^(\S+?)\s+(in|notin)\s*\(([^()]*)\)$/.exec(part))) {
      const values = (m[3] as string).split(',').map((v) => v.trim());
      if (!KEY.test(m[1] as string) || values.some((v) => !VALUE.test(v))) return { ok: false, error: `${where}: invalid key or value` };
      reqs.push({ op: m[2] as 'in' | 'notin', key: m[1] as string, values: new Set(values) });
    } else if ((m = /^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(part))) {
      if (!KEY.test(m[1] as string) || !VALUE.test(m[3] as string)) return { ok: false, error: `${where}: invalid key or value` };
      reqs.push({ op: m[2] === '!=' ? 'neq' : 'eq', key: m[1] as string, value: m[3] as string });
    } else if ((m = /^!\s*(\S+)$/.exec(part)) && KEY.test(m[1] as string)) {
      reqs.push({ op: 'absent', key: m[1] as string });
    } else if (KEY.test(part)) {
      reqs.push({ op: 'exists', key: part });
    } else {
      return { ok: false, error: `${where}: expected key=value, key!=value, key in (...), key notin (...), key or !key` };
    }
  }
  return { ok: true, value: reqs };
}

export function matchesSelector(sel: Selector, labels: ReadonlyMap<string, string>): boolean {
  for (const r of sel) {
    const v = labels.get(r.key);
    switch (r.op) {
      case 'eq': if (v !== r.value) return false; break;
      case 'neq': if (v === r.value) return false; break;
      case 'in': if (v === undefined || !r.values.has(v)) return false; break;
      case 'notin': if (v !== undefined && r.values.has(v)) return false; break;
      case 'exists': if (v === undefined) return false; break;
      case 'absent': if (v !== undefined) return false; break;
    }
  }
  return true;
}
