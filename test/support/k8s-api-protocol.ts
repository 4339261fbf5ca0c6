// Kubernetes API wire details shared by the test server: the paths it serves (group,
// version, namespaced or cluster-scoped collections, single objects), Status objects for
// errors, and a kubeconfig pointing a client at a test server.
import { writeFileSync } from 'node:fs';
import { RESOURCES, isResourceName, type ResourceName } from './k8s-api-store.js';

const REASONS: Readonly<Record<number, string>> = {
  400: 'BadRequest', 401: 'Unauthorized', 403: 'Forbidden', 404: 'NotFound', 405: 'MethodNotAllowed',
  410: 'Expired', 429: 'TooManyRequests', 500: 'InternalError', 503: 'ServiceUnavailable', 504: 'Timeout',
};

export function statusObject(code: number, message: string, reason = REASONS[code] ?? 'Unknown'): Record<string, unknown> {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

export type Route = { resource: ResourceName; namespace: string | undefined; name: string | undefined };

/** Maps a request path to a resource, or undefined when it names nothing this server serves. */
export function route(pathname: string): Route | undefined {
  const parts = pathname.split('/').filter((p) => p !== '');
  let rest: string[];
  let group: string;
  if (parts[0] === 'api' && parts[1] === 'v1') { group = ''; rest = parts.slice(2); }
  else if (parts[0] === 'apis' && parts[2] === 'v1' && parts[1] !== undefined) { group = parts[1]; rest = parts.slice(3); }
  else return undefined;
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) { namespace = rest[1]; rest = rest.slice(2); }
  const [res, name, extra] = rest;
  if (res === undefined || extra !== undefined || !isResourceName(res)) return undefined;
  const info = RESOURCES[res];
  if (info.group !== group) return undefined;
  if (namespace !== undefined && !info.namespaced) return undefined;
  return { resource: res, namespace, name };
}

/**
 * Writes a kubeconfig (JSON, which is YAML) whose current context points at `server`,
 * and returns its path. The token, if given, is sent as a bearer token.
 */
export function writeKubeconfig(path: string, server: string, opts: { token?: string; namespace?: string } = {}): string {
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    // client-node refuses plain http unless TLS verification is explicitly skipped
    clusters: [{ name: 'palisade-test', cluster: { server, 'insecure-skip-tls-verify': server.startsWith('http://') } }],
    users: [{ name: 'palisade-test', user: opts.token === undefined ? {} : { token: opts.token } }],
    contexts: [{ name: 'palisade-test', context: { cluster: 'palisade-test', user: 'palisade-test', namespace: opts.namespace ?? 'default' } }],
    'current-context': 'palisade-test',
    preferences: {},
  };
  writeFileSync(path, JSON.stringify(config, null, 2), { mode: 0o600 });
  return path;
}
