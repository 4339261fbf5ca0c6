// Discovery of KubeArmor agents through the Kubernetes API, as KubeArmor's relay
// does it (pods labelled kubearmor-app=kubearmor, dialled at <podIP>:32767), read
// from the relay's pod cache (relay/k8s identity cache: informers, so no API call
// here; `pods()` is a map read).
//
// Invariants: a pod becomes a target only with a pod IP and (requireReady) a True
// Ready condition; one target per address (two pods with one IP, e.g. hostNetwork,
// give one target: the first by namespace/name); the result is sorted by address so
// that equal pod sets give equal target lists.
import type { PodSummary } from '../k8s/index.js';
import type { UpstreamDiscoveryConfig } from './config.js';
import { parseLabelSelector } from './config.js';
import type { UpstreamTarget } from './connection.js';

/** What discovery needs of the identity cache (relay/k8s IdentityCache satisfies it). */
export interface PodSource {
  pods(match?: { readonly namespace?: string; readonly labels?: Readonly<Record<string, string>> }): PodSummary[];
}

const byCodePoint = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export const addressOf = (ip: string, port: number): string => (ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`);

export function discoveredTargets(pods: readonly PodSummary[], d: UpstreamDiscoveryConfig): UpstreamTarget[] {
  const byAddress = new Map<string, UpstreamTarget>();
  const sorted = [...pods].sort((a, b) => byCodePoint(`${a.namespace}/${a.name}`, `${b.namespace}/${b.name}`));
  for (const p of sorted) {
    if (p.podIp === undefined || p.podIp === '') continue;
    if (d.requireReady && !p.ready) continue;
    const address = addressOf(p.podIp, d.port);
    if (byAddress.has(address)) continue;
    byAddress.set(address, { address, nodeId: p.nodeName || address, hostName: p.nodeName, source: 'discovered', pod: `${p.namespace}/${p.name}` });
  }
  return [...byAddress.values()].sort((a, b) => byCodePoint(a.address, b.address));
}

export interface Discovery {
  /** Reads the cache now and every intervalMs, calling onChange with the full target list when it changed. */
  start(): void;
  stop(): void;
}

export function createDiscovery(source: PodSource, d: UpstreamDiscoveryConfig, onChange: (targets: UpstreamTarget[]) => void): Discovery {
  const labels = parseLabelSelector(d.labelSelector) ?? {};
  const match = d.namespace === '' ? { labels } : { namespace: d.namespace, labels };
  let last = '';
  let timer: NodeJS.Timeout | undefined;
  const poll = (): void => {
    const targets = discoveredTargets(source.pods(match), d);
    const key = JSON.stringify(targets);
    if (key === last) return;
    last = key;
    onChange(targets);
  };
  return {
    start() {
      if (timer) return;
      poll();
      timer = setInterval(poll, d.intervalMs);
      timer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
}
