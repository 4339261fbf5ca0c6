// The identity cache's public contract: what a lookup returns, what it counts, and the
// interface the relay's enrichment uses. A lookup never throws and never waits longer
// than the bound it was given (itself capped by config.maxWaitMs); an unknown result
// always says why, so an event can be sent unenriched with the reason attached.
import type { K8sMode } from './config.js';
import type { ContainerIdentity, NamespaceInfo, NodeInfo, PodSummary } from './identity.js';
import type { InformerStats } from './informer.js';
import type { WaiterStats } from './waiters.js';

export type UnknownReason =
  /** mode 'none': no Kubernetes access configured */
  | 'disabled'
  /** not a container id (after stripping containerd://, cri-o://, docker://) */
  | 'invalid-container-id'
  /** no pod has this container, also after the wait */
  | 'not-found'
  /** a short id prefix matching more than one container */
  | 'ambiguous-prefix'
  /** the bound on concurrent waiters was reached; answered at once */
  | 'too-many-waiters'
  /** the cache was closed while waiting */
  | 'closed';

export const UNKNOWN_REASONS: readonly UnknownReason[] = [
  'disabled', 'invalid-container-id', 'not-found', 'ambiguous-prefix', 'too-many-waiters', 'closed',
];

export type ResolveResult =
  | { readonly ok: true; readonly identity: ContainerIdentity; readonly waitedMs: number }
  | { readonly ok: false; readonly unknown: { readonly reason: UnknownReason; readonly message: string }; readonly waitedMs: number };

export type IdentityCacheStats = {
  readonly mode: K8sMode;
  readonly started: boolean;
  readonly synced: boolean;
  readonly containers: number;
  readonly pods: number;
  readonly namespaces: number;
  readonly nodes: number;
  /** sums over informers */
  readonly relists: number;
  readonly watchRestarts: number;
  readonly gone: number;
  readonly errors: number;
  readonly bookmarks: number;
  readonly resyncs: number;
  readonly hits: number;
  /** lookups answered from a removed container's retained identity */
  readonly removedHits: number;
  /** removed identities retained now, and dropped early because maxDeleted was reached */
  readonly removedRetained: number;
  readonly removedDropped: number;
  readonly unknown: Readonly<Record<UnknownReason, number>>;
  readonly waiters: WaiterStats;
  readonly informers: readonly InformerStats[];
};

export interface IdentityCache {
  readonly mode: K8sMode;
  /**
   * Loads credentials (throws with a clear message if they are missing: fail fast), starts
   * the informers and waits up to config.syncTimeoutMs for their first lists. Informers
   * keep retrying after that; `synced: false` means lookups may miss for a while.
   */
  start(): Promise<{ synced: boolean }>;
  /** The identity if it is in the cache now; never waits. */
  lookup(containerId: string): ResolveResult;
  /**
   * The identity of a live container known now, else undefined (never waits; misses are
   * not counted: the caller goes on to resolve(), which counts them). The enricher's
   * fast path: no promise per lookup.
   */
  peek(containerId: string): ContainerIdentity | undefined;
  /** Like lookup, but an unknown container is awaited up to waitMs (default config.defaultWaitMs). */
  resolve(containerId: string, opts?: { waitMs?: number }): Promise<ResolveResult>;
  namespace(name: string): NamespaceInfo | undefined;
  node(name: string): NodeInfo | undefined;
  /** Cached pods with every given label (and in the namespace, if given); for discovery. */
  pods(match?: { readonly namespace?: string; readonly labels?: Readonly<Record<string, string>> }): PodSummary[];
  /** true once every informer has listed once; waits at most timeoutMs */
  waitForSync(timeoutMs: number): Promise<boolean>;
  stats(): IdentityCacheStats;
  /** Stops the informers and answers every waiter with 'closed'. Idempotent. */
  close(): Promise<void>;
}
