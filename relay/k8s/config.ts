// Typed options of the Kubernetes identity cache, with defaults that run with nothing
// installed (mode 'none') and a validator whose messages name the field and the fix.
// Invariant: every duration is a finite integer number of milliseconds, and every bound
// (waiters, wait time, backoff) is finite, so no lookup and no retry loop is unbounded.

export type K8sMode = 'in-cluster' | 'kubeconfig' | 'none';

export const K8S_MODES: readonly K8sMode[] = ['in-cluster', 'kubeconfig', 'none'];

export type K8sIdentityConfig = {
  /** where API access comes from; 'none' = no enrichment, every lookup is unknown('disabled') */
  readonly mode: K8sMode;
  /** kubeconfig mode: file path; undefined = $KUBECONFIG, then ~/.kube/config */
  readonly kubeconfigPath: string | undefined;
  /** kubeconfig mode: context to use; undefined = the file's current-context */
  readonly context: string | undefined;
  /** re-derive the container index from the informer stores this often (0 = never) */
  readonly resyncMs: number;
  /** how long resolve() waits for an unknown container when the caller gives no waitMs */
  readonly defaultWaitMs: number;
  /** upper bound on any caller's waitMs */
  readonly maxWaitMs: number;
  /** at most this many resolve() calls wait at once; beyond it they return unknown at once */
  readonly maxWaiters: number;
  /** a watch with no bytes for this long is abandoned and resumed from its resourceVersion */
  readonly watchIdleTimeoutMs: number;
  /** cap on the client's own reconnect back-off between watches */
  readonly reconnectMaxDelayMs: number;
  /** back-off (jittered, doubling) for restarting an informer after a list or watch error */
  readonly restartBackoffInitialMs: number;
  readonly restartBackoffMaxMs: number;
  /** start() waits at most this long for the first list of every resource */
  readonly syncTimeoutMs: number;
  /** identities of removed containers stay resolvable (removed: true) this long; 0 = not at all */
  readonly deletedRetentionMs: number;
  /** at most this many removed identities are kept (oldest dropped first) */
  readonly maxDeleted: number;
};

export function defaultConfig(): K8sIdentityConfig {
  return {
    mode: 'none',
    kubeconfigPath: undefined,
    context: undefined,
    resyncMs: 300_000,
    defaultWaitMs: 250,
    maxWaitMs: 5_000,
    maxWaiters: 10_000,
    watchIdleTimeoutMs: 60_000,
    reconnectMaxDelayMs: 5_000,
    restartBackoffInitialMs: 500,
    restartBackoffMaxMs: 30_000,
    syncTimeoutMs: 10_000,
    deletedRetentionMs: 30_000,
    maxDeleted: 10_000,
  };
}

export type ConfigCheck = { ok: true; value: K8sIdentityConfig } | { ok: false; errors: string[] };

type NumericKey = {
  [K in keyof K8sIdentityConfig]: K8sIdentityConfig[K] extends number ? K : never
}[keyof K8sIdentityConfig];

const LIMITS: ReadonlyArray<readonly [NumericKey, number, number]> = [
  ['resyncMs', 0, 86_400_000],
  ['defaultWaitMs', 0, 60_000],
  ['maxWaitMs', 0, 60_000],
  ['maxWaiters', 0, 1_000_000],
  ['watchIdleTimeoutMs', 100, 3_600_000],
  ['reconnectMaxDelayMs', 0, 300_000],
  ['restartBackoffInitialMs', 1, 300_000],
  ['restartBackoffMaxMs', 1, 3_600_000],
  ['syncTimeoutMs', 0, 600_000],
  ['deletedRetentionMs', 0, 3_600_000],
  ['maxDeleted', 0, 1_000_000],
];

/** Checks a config; `prefix` names where it came from in messages (e.g. "relay.k8s"). */
export function validate(c: K8sIdentityConfig, prefix = 'k8s'): ConfigCheck {
  const errors: string[] = [];
  if (!K8S_MODES.includes(c.mode)) {
    errors.push(`${prefix}.mode: must be one of ${K8S_MODES.join(', ')} (got ${JSON.stringify(c.mode)})`);
  }
  for (const [key, min, max] of LIMITS) {
    const v = c[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      errors.push(`${prefix}.${key}: must be an integer from ${min} to ${max} (got ${JSON.stringify(v)})`);
    }
  }
  if (c.defaultWaitMs > c.maxWaitMs) {
    errors.push(`${prefix}.defaultWaitMs: must not exceed ${prefix}.maxWaitMs (${c.defaultWaitMs} > ${c.maxWaitMs})`);
  }
  if (c.restartBackoffInitialMs > c.restartBackoffMaxMs) {
    errors.push(`${prefix}.restartBackoffInitialMs: must not exceed ${prefix}.restartBackoffMaxMs`);
  }
  if (c.kubeconfigPath !== undefined && (typeof c.kubeconfigPath !== 'string' || c.kubeconfigPath === '')) {
    errors.push(`${prefix}.kubeconfigPath: must be a non-empty path or unset`);
  }
  if (c.mode !== 'kubeconfig' && (c.kubeconfigPath !== undefined || c.context !== undefined)) {
    errors.push(`${prefix}.kubeconfigPath/context: only apply with mode "kubeconfig" (mode is ${JSON.stringify(c.mode)})`);
  }
  return errors.length === 0 ? { ok: true, value: c } : { ok: false, errors };
}
