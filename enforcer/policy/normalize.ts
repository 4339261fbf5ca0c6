// Turns a validated policy document into a Policy: one Rule per match entry, with action,
// severity, tags and message inherited rule -> section -> spec -> defaults (Block, severity 1,
// no tags, empty message). Syscall rules are audit-only whatever their action (KubeArmor).
// Host-policy Allow rules without fromSource are dropped (KubeArmor ignores them).
// Precondition: the document passed validateDocument without errors.
import type { Action, LabelExpression, OpClass, Policy, PolicyKind, Rule, RuleTarget, Selector, SourceMatch } from './types.js';

type Obj = Record<string, unknown>;
type Meta = { action?: Action; severity?: number; tags?: string[]; message?: string };

const list = (v: unknown): Obj[] => (Array.isArray(v) ? (v as Obj[]) : []);
const strMap = (v: unknown): Record<string, string> => (typeof v === 'object' && v !== null ? { ...(v as Record<string, string>) } : {});

/** Collapses repeated slashes: KubeArmor accepts `//bin/sh` for `/bin/sh`. */
export function normalizePath(p: string): string {
  return p.replace(/\/{2,}/g, '/');
}

function exprs(v: unknown): LabelExpression[] {
  return list(v).map((e) => ({ key: String(e.key), operator: e.operator === 'NotIn' ? 'NotIn' : 'In', values: (e.values as string[] | undefined) ?? [] }));
}

function selectorOf(kind: PolicyKind, doc: Obj, spec: Obj): Selector {
  const meta = doc.metadata as Obj;
  if (kind === 'KubeArmorHostPolicy') {
    const ns = (spec.nodeSelector ?? {}) as Obj;
    return { kind: 'node', matchLabels: strMap(ns.matchLabels), matchExpressions: exprs(ns.matchExpressions) };
  }
  const sel = (spec.selector ?? {}) as Obj;
  if (kind === 'KubeArmorClusterPolicy') {
    const nsSel = (spec.namespaceSelector ?? {}) as Obj;
    return {
      kind: 'cluster',
      matchExpressions: list(sel.matchExpressions).map((e) => ({
        key: e.key === 'label' ? 'label' : 'namespace', operator: e.operator === 'NotIn' ? 'NotIn' : 'In', values: (e.values as string[] | undefined) ?? [],
      })),
      namespaceSelector: { matchLabels: strMap(nsSel.matchLabels), matchExpressions: exprs(nsSel.matchExpressions) },
    };
  }
  return {
    kind: 'workload',
    namespace: typeof meta.namespace === 'string' ? meta.namespace : 'default',
    matchLabels: strMap(sel.matchLabels),
    matchExpressions: exprs(sel.matchExpressions),
  };
}

function sources(v: unknown): SourceMatch[] {
  return list(v).map((s) => (typeof s.path === 'string'
    ? { path: normalizePath(s.path) }
    : { dir: normalizePath(String(s.dir)), recursive: s.recursive === true }));
}

export function normalizePolicy(doc: Obj, origin: string): Policy {
  const kind = doc.kind as PolicyKind;
  const spec = doc.spec as Obj;
  const name = String((doc.metadata as Obj).name);
  const namespace = typeof (doc.metadata as Obj).namespace === 'string' ? String((doc.metadata as Obj).namespace) : undefined;
  const rules: Rule[] = [];
  const specMeta = spec as Meta;

  const add = (cls: OpClass, section: Obj, group: string, i: number, entry: Obj, target: RuleTarget): void => {
    const s = section as Meta;
    const e = entry as Meta;
    let action: Action = e.action ?? s.action ?? specMeta.action ?? 'Block';
    if (cls === 'syscalls') action = 'Audit';
    const fromSource = sources(entry.fromSource);
    if (kind === 'KubeArmorHostPolicy' && action === 'Allow' && fromSource.length === 0) return;
    rules.push({
      class: cls,
      target,
      fromSource,
      readOnly: entry.readOnly === true,
      ownerOnly: entry.ownerOnly === true,
      action,
      severity: e.severity ?? s.severity ?? specMeta.severity ?? 1,
      tags: [...(e.tags ?? s.tags ?? specMeta.tags ?? [])],
      message: e.message ?? s.message ?? specMeta.message ?? '',
      policyName: name,
      policyKind: kind,
      where: `spec.${cls}.${group}[${i}]`,
    });
  };

  for (const cls of ['process', 'file'] as const) {
    const section = spec[cls] as Obj | undefined;
    if (!section) continue;
    list(section.matchPaths).forEach((r, i) => add(cls, section, 'matchPaths', i, r, { type: 'path', path: normalizePath(String(r.path)) }));
    list(section.matchDirectories).forEach((r, i) => add(cls, section, 'matchDirectories', i, r, { type: 'dir', dir: normalizePath(String(r.dir)), recursive: r.recursive === true }));
    list(section.matchPatterns).forEach((r, i) => add(cls, section, 'matchPatterns', i, r, { type: 'pattern', pattern: String(r.pattern) }));
  }
  const net = spec.network as Obj | undefined;
  if (net) list(net.matchProtocols).forEach((r, i) => add('network', net, 'matchProtocols', i, r, { type: 'protocol', protocol: String(r.protocol).toLowerCase() }));
  const caps = spec.capabilities as Obj | undefined;
  if (caps) list(caps.matchCapabilities).forEach((r, i) => add('capabilities', caps, 'matchCapabilities', i, r, { type: 'capability', capability: String(r.capability).toLowerCase() }));
  const sys = spec.syscalls as Obj | undefined;
  if (sys) {
    list(sys.matchSyscalls).forEach((r, i) => add('syscalls', sys, 'matchSyscalls', i, r, { type: 'syscall', syscalls: (r.syscall as string[]) ?? [], recursive: false }));
    list(sys.matchPaths).forEach((r, i) => {
      const p = normalizePath(String(r.path));
      const target: RuleTarget = p.endsWith('/')
        ? { type: 'syscall', syscalls: (r.syscall as string[] | undefined) ?? [], dir: p, recursive: r.recursive === true }
        : { type: 'syscall', syscalls: (r.syscall as string[] | undefined) ?? [], path: p, recursive: false };
      add('syscalls', sys, 'matchPaths', i, r, target);
    });
  }
  return { kind, name, namespace, selector: selectorOf(kind, doc, spec), rules, origin };
}
