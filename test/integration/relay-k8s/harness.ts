// Starts a Kubernetes API test server and an identity cache pointed at it through a real
// kubeconfig file (mode 'kubeconfig'), with bounds small enough that recovery paths run
// quickly; close() tears both down and removes the files.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { createIdentityCache, defaultConfig, type IdentityCache, type K8sIdentityConfig } from '../../../relay/k8s/index.js';
import { pollUntil } from '../../support/k8s-poll.js';
import { startK8sApiServer, writeKubeconfig, type K8sApiServer, type K8sApiServerOptions } from '../../support/k8s-api-server.js';

export type Harness = {
  readonly api: K8sApiServer;
  readonly cache: IdentityCache;
  readonly config: K8sIdentityConfig;
  readonly kubeconfigPath: string;
  close(): Promise<void>;
};

export function testDir(): string {
  const root = process.env.PALISADE_TEST_TMP ?? '/tmp/palisade-test';
  mkdirSync(root, { recursive: true });
  return mkdtempSync(join(root, 'relay-k8s-'));
}

export async function startHarness(opts: {
  server?: K8sApiServerOptions;
  config?: Partial<K8sIdentityConfig>;
  seed?: (api: K8sApiServer) => void;
  start?: boolean;
} = {}): Promise<Harness> {
  const token = 'palisade-test-token';
  const api = await startK8sApiServer({ token, ...opts.server });
  opts.seed?.(api);
  const dir = testDir();
  const kubeconfigPath = writeKubeconfig(join(dir, 'kubeconfig'), api.url, { token });
  const config: K8sIdentityConfig = {
    ...defaultConfig(),
    mode: 'kubeconfig',
    kubeconfigPath,
    restartBackoffInitialMs: 20,
    restartBackoffMaxMs: 200,
    reconnectMaxDelayMs: 50,
    watchIdleTimeoutMs: 30_000,
    syncTimeoutMs: 10_000,
    resyncMs: 0,
    // removed containers vanish at once unless a test asks for retention
    deletedRetentionMs: 0,
    ...opts.config,
  };
  const cache = createIdentityCache(config, { logger: pino({ level: 'silent' }) });
  if (opts.start !== false) {
    const { synced } = await cache.start();
    if (!synced) throw new Error('identity cache did not sync against the test API server');
  }
  return {
    api, cache, config, kubeconfigPath,
    close: async () => {
      await cache.close();
      // no watch may outlive the cache: a leak shows up here as a failure, not as a hang
      await pollUntil('watch connections to close after cache.close()', () => api.activeWatches() === 0, { timeoutMs: 5_000 });
      await api.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
