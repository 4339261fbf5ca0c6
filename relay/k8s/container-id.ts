// Container id normalisation, shared by the index (ids from pod status) and lookups (ids
// from the node's cgroup naming). Kubernetes reports `<runtime>://<64 hex>`
// (containerd://, cri-o://, docker://); nodes may report the bare id or a short prefix.
// Invariant: a normalised id is lowercase hex, MIN_PREFIX..FULL_ID characters long;
// anything else is rejected rather than guessed at.

export const FULL_ID = 64;
/** docker's short id length; shorter prefixes are too ambiguous to serve */
export const MIN_PREFIX = 12;

const HEX = /^[0-9a-f]+$/;

/** Strips a `scheme://` runtime prefix and lowercases; undefined if not a container id. */
export function normaliseContainerId(raw: string): string | undefined {
  let id = raw.trim();
  const sep = id.indexOf('://');
  if (sep >= 0) id = id.slice(sep + 3);
  id = id.toLowerCase();
  if (id.length < MIN_PREFIX || id.length > FULL_ID || !HEX.test(id)) return undefined;
  return id;
}

/** The runtime named by a `scheme://` prefix ('' when there is none). */
export function runtimeOf(raw: string): string {
  const sep = raw.indexOf('://');
  return sep >= 0 ? raw.slice(0, sep) : '';
}
