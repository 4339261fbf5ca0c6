// What the relay needs from Kubernetes: container id -> pod identity, with a bounded
// wait for containers the informers have not seen yet. relay/k8s implements it with
// informers; tests use a fake. `resolve` never rejects: failures are an unknown
// result with a reason (the reason becomes a counter label, so keep it low-cardinality).
export type PodOwner = { readonly ref: string; readonly name: string; readonly namespace: string };

export type PodIdentity = {
  readonly namespace: string;
  readonly podName: string;
  readonly labels: Readonly<Record<string, string>>;
  /** `formatLabels(labels)` computed once by the lookup, so enrichment does not rebuild it per event. */
  readonly labelString?: string;
  readonly containerName: string;
  readonly image: string;
  readonly owner?: PodOwner;
};

export type IdentityResult = { readonly known: true; readonly identity: PodIdentity } | { readonly known: false; readonly reason: string };

export interface IdentityLookup {
  resolve(containerId: string, opts: { readonly waitMs: number }): Promise<IdentityResult>;
  /** Optional fast path: the identity if known right now, else undefined (then resolve() is asked). Never waits, never throws. */
  peek?(containerId: string): PodIdentity | undefined;
}

/** "k1=v1,k2=v2" with keys sorted: KubeArmor's Labels string. */
export function formatLabels(labels: Readonly<Record<string, string>>): string {
  return Object.keys(labels).sort().map((k) => `${k}=${labels[k]}`).join(',');
}

/** Parses KubeArmor's Labels string back into a map (for label selectors). */
export function parseLabels(s: string): Map<string, string> {
  const out = new Map<string, string>();
  if (s === '') return out;
  for (const part of s.split(',')) {
    const i = part.indexOf('=');
    if (i < 0) out.set(part.trim(), '');
    else out.set(part.slice(0, i).trim(), part.slice(i + 1).trim());
  }
  return out;
}
