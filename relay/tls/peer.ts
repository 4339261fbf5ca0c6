// The authenticated identity of a gRPC caller, from the client certificate that
// the TLS handshake verified. grpc-js exposes it as call.getAuthContext()
// .sslPeerCertificate, and only when the socket is `authorized` (the chain was
// verified against the server's caFile), so a subject returned here is never
// self-asserted. Plaintext, TLS without client certificates, or an unverified
// certificate → undefined.
import type { PeerCertificate } from 'node:tls';

export type PeerIdentity = {
  /** Subject commonName (the client name given to `palisade certs --client`). */
  readonly commonName: string;
  /** Subject organizations (O); may be empty. */
  readonly organizations: readonly string[];
  /** SHA-256 fingerprint of the client certificate, "AB:CD:..." (for logs). */
  readonly fingerprint256: string;
};

/** The part of a grpc-js server call this module needs (every server call type has it). */
export type AuthContextSource = {
  getAuthContext(): { readonly transportSecurityType?: string; readonly sslPeerCertificate?: PeerCertificate } | null;
};

const values = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

export function peerIdentity(call: AuthContextSource): PeerIdentity | undefined {
  let ctx: ReturnType<AuthContextSource['getAuthContext']>;
  try {
    ctx = call.getAuthContext();
  } catch {
    return undefined; // a call whose stream is already gone has no peer
  }
  const cert = ctx?.sslPeerCertificate;
  if (!cert || !cert.subject) return undefined;
  const subject = cert.subject as unknown as Record<string, string | string[] | undefined>;
  const cn = values(subject['CN'])[0] ?? '';
  if (cn === '') return undefined;
  return { commonName: cn, organizations: values(subject['O']), fingerprint256: cert.fingerprint256 ?? '' };
}
