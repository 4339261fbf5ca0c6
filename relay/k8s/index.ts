// Kubernetes identity for the relay's enrichment: `createIdentityCache(config)` returns an
// IdentityCache (see api.ts for the contract, README.md for options and failure behaviour).
// The config is validated here, so a bad one fails before anything starts.
import { pino, type Logger } from 'pino';
import type { IdentityCache } from './api.js';
import { validate, type K8sIdentityConfig } from './config.js';
import { createInformerIdentityCache } from './identity-cache.js';

export type { IdentityCache, IdentityCacheStats, ResolveResult, UnknownReason } from './api.js';
export type { K8sIdentityConfig, K8sMode } from './config.js';
export { defaultConfig, validate } from './config.js';
export type { ContainerIdentity, NamespaceInfo, NodeInfo, PodOwner, PodSummary } from './identity.js';

export function createIdentityCache(config: K8sIdentityConfig, deps: { logger?: Logger } = {}): IdentityCache {
  const check = validate(config);
  if (!check.ok) throw new Error(`invalid Kubernetes identity config:\n  ${check.errors.join('\n  ')}`);
  return createInformerIdentityCache(check.value, deps.logger ?? pino({ name: 'palisade' }));
}
