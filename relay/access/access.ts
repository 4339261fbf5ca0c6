// Tenancy checks for log-stream calls (feeder.LogService, palisade.v1 Watch).
//
// authorize(call) decides who the caller is and what it may see:
//   access off                               → ok, every namespace
//   malformed or unknown bearer token         → UNAUTHENTICATED (even with a good certificate:
//                                               a bad credential is never ignored)
//   no verified client certificate and no token → UNAUTHENTICATED
//   known identity mapped to no tenant       → PERMISSION_DENIED
//   otherwise                                → ok, the union of the namespaces of every
//                                               tenant the identity matches (CN, O, token)
// narrow(scope, requested) applies a request's namespace filter: asking for a
// namespace outside the scope → PERMISSION_DENIED naming it; an empty request
// means "everything in scope".
// Every refusal increments palisade_relay_access_denied_total{reason}. Tokens are
// compared as SHA-256 digests with timingSafeEqual.
import { timingSafeEqual } from 'node:crypto';
import { status as Status, type Metadata } from '@grpc/grpc-js';
import type { Counters } from '../metrics/counters.js';
import { peerIdentity, type AuthContextSource } from '../tls/peer.js';
import { sha256Hex, type AccessConfig, type Tenant } from './config.js';
import { OPEN_SCOPE, type Scope } from './scope.js';

export type AccessError = { readonly code: Status.UNAUTHENTICATED | Status.PERMISSION_DENIED; readonly details: string };

export type Authorization = { ok: true; scope: Scope; identity: string } | { ok: false; error: AccessError };

export type CallLike = AuthContextSource & { readonly metadata: Metadata };

export interface Access {
  readonly enabled: boolean;
  authorize(call: CallLike): Authorization;
  narrow(scope: Scope, requested: readonly string[]): { ok: true; scope: Scope } | { ok: false; error: AccessError };
}

type Match = { tenants: Tenant[]; who: string[] };

function bearer(md: Metadata): { kind: 'none' } | { kind: 'bad'; why: string } | { kind: 'token'; digest: Buffer } {
  const vals = md.get('authorization');
  if (vals.length === 0) return { kind: 'none' };
  if (vals.length > 1) return { kind: 'bad', why: 'more than one authorization header' };
  const v = vals[0];
  const s = typeof v === 'string' ? v : (v as Buffer).toString('utf8');
  const m = /^Bearer\s+(\S+)\s*$/i.exec(s);
  if (!m) return { kind: 'bad', why: 'authorization header is not "Bearer <token>"' };
  return { kind: 'token', digest: Buffer.from(sha256Hex(m[1] as string), 'hex') };
}

export function createAccess(config: AccessConfig, counters?: Counters): Access {
  const tokens = config.tenants.flatMap((t) => t.tokenSha256.map((h) => ({ tenant: t, digest: Buffer.from(h, 'hex') })));
  const deny = (code: AccessError['code'], reason: string, details: string): Authorization => {
    counters?.inc('palisade_relay_access_denied_total', { reason });
    return { ok: false, error: { code, details } };
  };

  function scopeOf(ts: readonly Tenant[]): Scope {
    const names = ts.map((t) => t.name);
    if (ts.some((t) => t.namespaces.includes('*'))) return { all: true, tenants: names };
    return { all: false, tenants: names, namespaces: new Set(ts.flatMap((t) => t.namespaces)) };
  }

  return {
    enabled: config.enabled,
    authorize(call) {
      if (!config.enabled) return { ok: true, scope: OPEN_SCOPE, identity: '' };
      const m: Match = { tenants: [], who: [] };
      const b = bearer(call.metadata);
      if (b.kind === 'bad') return deny(Status.UNAUTHENTICATED, 'bad_token', b.why);
      if (b.kind === 'token') {
        const hit = tokens.filter((t) => timingSafeEqual(t.digest, b.digest));
        if (hit.length === 0) return deny(Status.UNAUTHENTICATED, 'unknown_token', 'bearer token not recognised');
        for (const h of hit) if (!m.tenants.includes(h.tenant)) m.tenants.push(h.tenant);
        m.who.push(`token(${hit.map((h) => h.tenant.name).join(',')})`);
      }
      const peer = peerIdentity(call);
      if (peer) {
        m.who.push(`CN=${peer.commonName}${peer.organizations.length > 0 ? `,O=${peer.organizations.join('+')}` : ''}`);
        for (const t of config.tenants) {
          if (m.tenants.includes(t)) continue;
          if (t.commonNames.includes(peer.commonName) || t.organizations.some((o) => peer.organizations.includes(o))) m.tenants.push(t);
        }
      }
      if (m.who.length === 0) return deny(Status.UNAUTHENTICATED, 'no_identity', 'access control is on: present a client certificate (mutual TLS) or "authorization: Bearer <token>" metadata');
      if (m.tenants.length === 0) return deny(Status.PERMISSION_DENIED, 'no_tenant', `${m.who.join(' ')} is not mapped to any namespace`);
      return { ok: true, scope: scopeOf(m.tenants), identity: m.who.join(' ') };
    },
    narrow(scope, requested) {
      if (requested.length === 0) return { ok: true, scope };
      if (scope.all) return { ok: true, scope: { all: false, tenants: scope.tenants, namespaces: new Set(requested) } };
      const outside = requested.filter((n) => !scope.namespaces.has(n));
      if (outside.length > 0) {
        counters?.inc('palisade_relay_access_denied_total', { reason: 'namespace' });
        return { ok: false, error: { code: Status.PERMISSION_DENIED, details: `namespace${outside.length > 1 ? 's' : ''} ${outside.join(', ')} not allowed for this client (allowed: ${[...scope.namespaces].sort().join(', ')})` } };
      }
      return { ok: true, scope: { all: false, tenants: scope.tenants, namespaces: new Set(requested) } };
    },
  };
}
