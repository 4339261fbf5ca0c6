// Adapts the identity cache to the enricher's IdentityLookup (relay/enrich/identity.ts):
// KubeArmor's ContainerImage (image@digest) becomes `image`; the unknown reason (a small
// closed set, see api.ts) is passed through as the counter label.
// Invariants: resolve() never rejects, as the IdentityLookup contract requires; one
// PodIdentity per cached ContainerIdentity object (the cache memoises identities per
// container until the pod or an owner changes), so the enricher's per-event work on a
// known container is a map read and field copies.
import type { IdentityLookup, IdentityResult, PodIdentity } from '../enrich/identity.js';
import type { IdentityCache } from './api.js';
import type { ContainerIdentity } from './identity.js';

export function identityLookupOf(cache: IdentityCache): IdentityLookup {
  const converted = new WeakMap<ContainerIdentity, PodIdentity>();
  const podIdentityOf = (i: ContainerIdentity): PodIdentity => {
    let p = converted.get(i);
    if (p === undefined) {
      p = {
        namespace: i.namespace,
        podName: i.pod,
        labels: i.labelMap,
        labelString: i.labels,
        containerName: i.containerName,
        image: i.containerImage,
        owner: i.owner,
      };
      converted.set(i, p);
    }
    return p;
  };
  return {
    peek: (containerId) => {
      const i = cache.peek(containerId);
      return i === undefined ? undefined : podIdentityOf(i);
    },
    resolve: async (containerId, opts): Promise<IdentityResult> => {
      const r = await cache.resolve(containerId, { waitMs: opts.waitMs });
      if (!r.ok) return { known: false, reason: r.unknown.reason };
      return { known: true, identity: podIdentityOf(r.identity) };
    },
  };
}
