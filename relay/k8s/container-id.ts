// Container id normalisation, shared by the index (ids from pod status) and lookups (ids
// from the node's cgroup naming). Kubernetes reports `<runtime>://<64 hex>`
// (containerd://, cri-o://, docker://); nodes may report the bare id or a short prefix.
// Invariant: a normalised id is lowercase hex, MIN_PREFIX..FULL_ID characters long;
// anything else is rejected rather than guessed at.

export const FULL_ID = 64;
/** docker's short id length; shorter prefixes are too ambiguous to serve */
export const MIN_PREFIX = 12;

/** true when every character is 0-9 or a-f (no allocation: this runs per event) */
function isLowerHex(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
  }
  return true;
}

/** Strips a `scheme://` runtime prefix and lowercases; undefined if not a container id. */
export function normaliseContainerId(raw: string): string | undefined {
  // fast path: what the collector sends, a bare lowercase 64-hex id
  if (raw.length === FULL_ID && isLowerHex(raw)) return raw;
  let id = raw.trim();
  const sep = id.indexOf('://');
  if (sep >= 0) id = id.slice(sep + 3);
  id = id.toLowerCase();
  if (id.length < MIN_PREFIX || id.length > FULL_ID || !isLowerHex(id)) return undefined;
  return id;
}

/** The runtime named by a `scheme://` prefix ('' when there is none). */
export function runtimeOf(raw: string): string {
  const sep = raw.indexOf('://');
  return sep >= 0 ? raw.slice(0, sep) : '';
}
