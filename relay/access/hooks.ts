// Adapts an Access to the log-stream servers' admission hooks
// (relay/serve/log-service.ts and watch-service.ts take `admit(call)` and
// `namespacesOf(call)`). authorize() runs once per call (cached in a WeakMap keyed
// by the call object), so a refusal is counted once however many hooks ask.
//
// Fail closed: namespacesOf() of a caller that is not authorised returns an empty
// set (it sees nothing), and admit() returns its UNAUTHENTICATED/PERMISSION_DENIED
// status, so a server that asks only one of the two still leaks nothing.
import type { status as Status } from '@grpc/grpc-js';
import type { Access, Authorization, CallLike } from './access.js';

export type Refusal = { code: Status; details: string };

export type AccessHooks<C extends CallLike> = {
  /** Authorises the call, then runs `next` (the server's own admission, e.g. its client limit). */
  admit(call: C): Refusal | undefined;
  /** undefined: every namespace; otherwise the namespaces this call may see. */
  namespacesOf(call: C): ReadonlySet<string> | undefined;
  /** The cached decision (identity and scope), e.g. for logging. */
  authorization(call: C): Authorization;
};

const NOTHING: ReadonlySet<string> = new Set<string>();

export function createAccessHooks<C extends CallLike>(access: Access, next: (call: C) => Refusal | undefined = () => undefined): AccessHooks<C> {
  const seen = new WeakMap<object, Authorization>();
  const authorization = (call: C): Authorization => {
    let a = seen.get(call);
    if (!a) {
      a = access.authorize(call);
      seen.set(call, a);
    }
    return a;
  };
  return {
    authorization,
    admit(call) {
      const a = authorization(call);
      if (!a.ok) return { code: a.error.code, details: a.error.details };
      return next(call);
    },
    namespacesOf(call) {
      const a = authorization(call);
      if (!a.ok) return NOTHING;
      return a.scope.all ? undefined : a.scope.namespaces;
    },
  };
}
