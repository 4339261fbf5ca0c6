// Adapts the identity cache to the enricher's IdentityLookup (relay/enrich/identity.ts):
// KubeArmor's ContainerImage (image@digest) becomes `image`; the unknown reason (a small
// closed set, see api.ts) is passed through as the counter label.
// Invariant: resolve() never rejects, as the IdentityLookup contract requires.
import type { IdentityLookup, IdentityResult } from '../enrich/identity.js';
import type { IdentityCache } from './api.js';

export function identityLookupOf(cache: IdentityCache): IdentityLookup {
  return {
    resolve: async (containerId, opts): Promise<IdentityResult> => {
      const r = await cache.resolve(containerId, { waitMs: opts.waitMs });
      if (!r.ok) return { known: false, reason: r.unknown.reason };
      const i = r.identity;
      return {
        known: true,
        identity: {
          namespace: i.namespace,
          podName: i.pod,
          labels: i.labelMap,
          labelString: i.labels,
          containerName: i.containerName,
          image: i.containerImage,
          owner: i.owner,
        },
      };
    },
  };
}
