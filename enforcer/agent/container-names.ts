// Names of containers run without Kubernetes, for KubeArmor's non-Kubernetes container
// policies (selector `kubearmor.io/container.name: <name>`, namespace
// `container_namespace`) and for Log/Alert ContainerName and ContainerImage.
// Source: podman's container store (containers/storage `containers.json`: id, names,
// metadata.image-name), re-read when its mtime changes; a lookup that misses stats the
// file at most once per `recheckMs`. Never throws: an unreadable or malformed file means
// "no names" (counted in stats().readErrors). Docker/containerd names are not read yet.
import { readFileSync, statSync } from 'node:fs';

export const PODMAN_CONTAINERS_JSON = '/var/lib/containers/storage/overlay-containers/containers.json';
export const STANDALONE_NAMESPACE = 'container_namespace';

export type ContainerMeta = { readonly name: string; readonly image: string };

export interface ContainerDirectory {
  lookup(id: string): ContainerMeta | undefined;
  stats(): { readonly known: number; readonly reloads: number; readonly readErrors: number };
}

export function parseContainersJson(text: string): Map<string, ContainerMeta> {
  const out = new Map<string, ContainerMeta>();
  const doc: unknown = JSON.parse(text);
  if (!Array.isArray(doc)) return out;
  for (const c of doc as unknown[]) {
    if (typeof c !== 'object' || c === null) continue;
    const r = c as { id?: unknown; names?: unknown; metadata?: unknown };
    if (typeof r.id !== 'string' || !Array.isArray(r.names) || typeof r.names[0] !== 'string') continue;
    let image = '';
    if (typeof r.metadata === 'string') {
      try {
        const m = JSON.parse(r.metadata) as { 'image-name'?: unknown };
        if (typeof m['image-name'] === 'string') image = m['image-name'];
      } catch {
        image = ''; // metadata is free-form; a container without it keeps its name
      }
    }
    out.set(r.id, { name: r.names[0], image });
  }
  return out;
}

export function createContainerDirectory(options: { path?: string; recheckMs?: number; now?: () => number } = {}): ContainerDirectory {
  const path = options.path ?? PODMAN_CONTAINERS_JSON;
  const recheckMs = options.recheckMs ?? 250;
  const now = options.now ?? Date.now;
  let known = new Map<string, ContainerMeta>();
  let mtimeMs = -1;
  let checkedAt = -Infinity;
  let reloads = 0, readErrors = 0;

  const refresh = (): void => {
    checkedAt = now();
    let m: number;
    try { m = statSync(path).mtimeMs; } catch { return; } // no podman store on this host
    if (m === mtimeMs) return;
    try {
      known = parseContainersJson(readFileSync(path, 'utf8'));
      mtimeMs = m;
      reloads++;
    } catch {
      readErrors++; // written concurrently or malformed: retried at the next miss
    }
  };

  return {
    lookup(id) {
      const hit = known.get(id);
      if (hit !== undefined) return hit;
      if (now() - checkedAt < recheckMs) return undefined;
      refresh();
      return known.get(id);
    },
    stats: () => ({ known: known.size, reloads, readErrors }),
  };
}
