// Label and field selectors for the Kubernetes API test server: the equality-based subset
// (`a=b`, `a==b`, `a!=b`, comma = AND; labels also `key` and `!key`). Anything else
// (set-based `in (...)`, unknown fields) is refused as a parse error, so a client never
// silently gets unfiltered data from the test server.
import type { KObject } from './k8s-api-store.js';

type Term = { readonly key: string; readonly op: '=' | '!=' | 'exists' | '!exists'; readonly value: string };
export type Selector = { readonly terms: readonly Term[] };

export type SelectorParse = { ok: true; selector: Selector } | { ok: false; error: string };

const SUPPORTED_FIELDS = new Set(['metadata.name', 'metadata.namespace', 'spec.nodeName', 'status.phase']);

export function parseSelector(text: string | null, kind: 'label' | 'field'): SelectorParse {
  const terms: Term[] = [];
  if (text === null || text.trim() === '') return { ok: true, selector: { terms } };
  for (const raw of text.split(',')) {
    const part = raw.trim();
    let m: RegExpMatchArray | null;
    if ((m = /^([A-Za-z0-9_./-]+)\s*(==|=|!=)\s*([A-Za-z0-9_.-]*)$/.exec(part)) !== null) {
      terms.push({ key: m[1] ?? '', op: m[2] === '!=' ? '!=' : '=', value: m[3] ?? '' });
    } else if (kind === 'label' && (m = /^(!?)([A-Za-z0-9_./-]+)$/.exec(part)) !== null) {
      terms.push({ key: m[2] ?? '', op: m[1] === '!' ? '!exists' : 'exists', value: '' });
    } else {
      return { ok: false, error: `unsupported ${kind} selector term "${part}" (test server supports equality only)` };
    }
  }
  if (kind === 'field') {
    const bad = terms.find((t) => !SUPPORTED_FIELDS.has(t.key));
    if (bad !== undefined) return { ok: false, error: `field selector "${bad.key}" is not supported` };
  }
  return { ok: true, selector: { terms } };
}

export function matches(obj: KObject, labels: Selector, fields: Selector): boolean {
  const l = obj.metadata.labels ?? {};
  for (const t of labels.terms) {
    const has = Object.prototype.hasOwnProperty.call(l, t.key);
    if (t.op === 'exists' && !has) return false;
    if (t.op === '!exists' && has) return false;
    if (t.op === '=' && l[t.key] !== t.value) return false;
    if (t.op === '!=' && l[t.key] === t.value) return false;
  }
  for (const t of fields.terms) {
    const v = fieldValue(obj, t.key);
    if (t.op === '=' && v !== t.value) return false;
    if (t.op === '!=' && v === t.value) return false;
  }
  return true;
}

function fieldValue(obj: KObject, key: string): string {
  switch (key) {
    case 'metadata.name': return obj.metadata.name;
    case 'metadata.namespace': return obj.metadata.namespace ?? '';
    case 'spec.nodeName': return stringAt(obj.spec, 'nodeName');
    case 'status.phase': return stringAt(obj.status, 'phase');
    default: return '';
  }
}

function stringAt(v: unknown, key: string): string {
  if (typeof v !== 'object' || v === null) return '';
  const x = (v as Record<string, unknown>)[key];
  return typeof x === 'string' ? x : '';
}
