// What one authorised caller may see. A scope is either every namespace (access
// off, or a tenant with "*") or a fixed set; events with no namespace (host
// events, node messages, container events sent without Kubernetes identity) are
// visible only to "every namespace" scopes, because nothing says whose they are.
//
// The predicate is applied where events leave the relay for a client — live
// streams, cursor replays (local ring or Redis Stream) — so a cursor can never
// reach an event outside the scope: a cursor is a position, not a permission.
import type { RelayEvent } from '../event.js';

export type Scope =
  | { readonly all: true; readonly tenants: readonly string[] }
  | { readonly all: false; readonly tenants: readonly string[]; readonly namespaces: ReadonlySet<string> };

export const OPEN_SCOPE: Scope = { all: true, tenants: [] };

export function namespaceOf(ev: RelayEvent): string {
  return ev.body.$case === 'message' ? '' : ev.body.value.NamespaceName;
}

export function allows(scope: Scope, ev: RelayEvent): boolean {
  if (scope.all) return true;
  const ns = namespaceOf(ev);
  return ns !== '' && scope.namespaces.has(ns);
}

/** A hub-compatible filter ((e: { ev }) => boolean) for the scope; combine with the request's own filter by AND. */
export function scopeFilter(scope: Scope): (e: { readonly ev: RelayEvent }) => boolean {
  if (scope.all) return () => true;
  const set = scope.namespaces;
  return (e) => {
    const ns = namespaceOf(e.ev);
    return ns !== '' && set.has(ns);
  };
}
