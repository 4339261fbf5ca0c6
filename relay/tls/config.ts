// TLS options of a gRPC listener or client: PEM file paths. The field names are the
// relay's `tls` section (RelayConfig['tls']), so that section can be passed as is.
//
// Invariants: an empty certFile means plaintext; requireClientCert (mutual TLS)
// needs caFile; validate() returns every problem, naming the field.
export type TlsFiles = {
  /** Server (or client) certificate chain, PEM; empty: plaintext. */
  readonly certFile: string;
  /** Private key of certFile, PEM (PKCS#1, PKCS#8 or SEC1). */
  readonly keyFile: string;
  /** CA bundle: on a server, the CAs client certificates must chain to; on a client, the CAs the server must chain to. */
  readonly caFile: string;
  /** Server only: refuse a TLS handshake without a client certificate signed by caFile. */
  readonly requireClientCert: boolean;
};

export function defaultTlsFiles(): TlsFiles {
  return { certFile: '', keyFile: '', caFile: '', requireClientCert: false };
}

export function validateTlsFiles(t: TlsFiles, prefix = 'tls'): string[] {
  const out: string[] = [];
  if ((t.certFile === '') !== (t.keyFile === '')) out.push(`${prefix}.certFile/${prefix}.keyFile: set both the certificate and the key, or neither`);
  if (t.requireClientCert && t.caFile === '') out.push(`${prefix}.requireClientCert: mutual TLS needs ${prefix}.caFile (the CA that signs client certificates)`);
  if (t.requireClientCert && t.certFile === '') out.push(`${prefix}.requireClientCert: mutual TLS needs ${prefix}.certFile and ${prefix}.keyFile`);
  return out;
}
