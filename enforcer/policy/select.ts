// Which policies apply to a workload, and the default posture it runs under.
// KubeArmorPolicy: same namespace, matchLabels all equal, matchExpressions all true.
// KubeArmorClusterPolicy: containers of every namespace, filtered by `namespace`/`label`
// expressions (In: namespace listed / all listed `k=v` labels present; NotIn: the negation) and
// by namespaceSelector on the namespace's labels. KubeArmorHostPolicy: hosts by nodeSelector.
// An empty selector selects every workload in its scope.
import type { GlobalPosture, LabelExpression, Policy, Posture, Workload } from './types.js';

export const DEFAULT_GLOBAL_POSTURE: GlobalPosture = { file: 'audit', network: 'audit', capabilities: 'audit' };

function labelsMatch(
  labels: Readonly<Record<string, string>>,
  matchLabels: Readonly<Record<string, string>>,
  exprs: readonly LabelExpression[],
): boolean {
  for (const [k, v] of Object.entries(matchLabels)) if (labels[k] !== v) return false;
  for (const e of exprs) {
    const has = Object.hasOwn(labels, e.key);
    const inValues = has && e.values.includes(labels[e.key] as string);
    if (e.operator === 'In' ? !inValues : inValues) return false;
  }
  return true;
}

export function policySelects(p: Policy, w: Workload): boolean {
  const s = p.selector;
  if (w.kind === 'host') return s.kind === 'node' && labelsMatch(w.nodeLabels, s.matchLabels, s.matchExpressions);
  if (s.kind === 'workload') return s.namespace === w.namespace && labelsMatch(w.labels, s.matchLabels, s.matchExpressions);
  if (s.kind === 'cluster') {
    for (const e of s.matchExpressions) {
      let hit: boolean;
      if (e.key === 'namespace') hit = e.values.includes(w.namespace);
      else {
        hit = e.values.every((kv) => {
          const eq = kv.indexOf('=');
          return eq > 0 && w.labels[kv.slice(0, eq)] === kv.slice(eq + 1);
        });
      }
      if (e.operator === 'In' ? !hit : hit) return false;
    }
    return labelsMatch(w.namespaceLabels ?? {}, s.namespaceSelector.matchLabels, s.namespaceSelector.matchExpressions);
  }
  return false;
}

const POSTURE_ANNOTATIONS = {
  file: 'kubearmor-file-posture',
  network: 'kubearmor-network-posture',
  capabilities: 'kubearmor-capabilities-posture',
} as const;

/** Namespace annotations override the global posture; values other than audit/block fall back to global. */
export function resolvePosture(w: Workload, global: GlobalPosture): GlobalPosture {
  if (w.kind === 'host') return global;
  const ann = w.namespaceAnnotations ?? {};
  const pick = (cls: keyof typeof POSTURE_ANNOTATIONS): Posture => {
    const v = ann[POSTURE_ANNOTATIONS[cls]];
    return v === 'audit' || v === 'block' ? v : global[cls];
  };
  return { file: pick('file'), network: pick('network'), capabilities: pick('capabilities') };
}

export function workloadKey(w: Workload): string {
  if (w.kind === 'host') return `host{${Object.entries(w.nodeLabels).map(([k, v]) => `${k}=${v}`).sort().join(',')}}`;
  return `${w.namespace}/{${Object.entries(w.labels).map(([k, v]) => `${k}=${v}`).sort().join(',')}}`;
}
