// An IdentityLookup for tests until relay/k8s is wired in: containers "ctr-<node>"
// belong to pod "<node>-pod" in namespace "ns-<n % 3>"; anything else is unknown.
import type { IdentityLookup, IdentityResult } from '../../../relay/enrich/identity.js';

export function fakeIdentity(gate?: Promise<void>, onCall?: (cid: string) => void): IdentityLookup {
  return {
    async resolve(cid): Promise<IdentityResult> {
      onCall?.(cid);
      if (gate) await gate;
      const m = /^ctr-node-(\d+)$/.exec(cid);
      if (!m) return { known: false, reason: 'not_found' };
      const n = Number(m[1]);
      return {
        known: true,
        identity: {
          namespace: `ns-${n % 3}`, podName: `node-${n}-pod`, labels: { app: `app${n % 2}`, node: String(n) },
          containerName: 'main', image: 'busybox:1', owner: { ref: 'Deployment', name: `dep-${n}`, namespace: `ns-${n % 3}` },
        },
      };
    },
  };
}
