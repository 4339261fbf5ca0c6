// Pulling from KubeArmor agents: `createUpstreams(config, deps)` keeps one connection
// (connection.ts) per upstream address — the static `addresses` plus, with discovery
// on, every Ready agent pod found through the relay's pod cache (discovery.ts) — and
// hands what they stream to the relay pipeline (deps.sink, the same submit() ingest uses).
//
// Invariants: the config is validated and TLS files are read here, so a bad one fails
// before anything starts (throws, naming the field); after start() nothing throws.
// A static address also found by discovery is pulled once (the static entry wins).
// A pod that disappears (or stops being Ready, or changes IP) has its connection
// stopped and its pending events handed over within REMOVE_DRAIN_MS.
// stop() is idempotent: discovery stops, every connection stops, pending events are
// handed over until the deadline, what is left is counted dropped (reason shutdown).
import { credentials as grpcCredentials, type ChannelCredentials } from '@grpc/grpc-js';
import { pino, type Logger } from 'pino';
import type { Counters } from '../metrics/counters.js';
import { loadChannelCredentials } from '../tls/credentials.js';
import { validateUpstreamConfig, type UpstreamConfig } from './config.js';
import { createUpstreamConnection, type UpstreamConnection, type UpstreamStats, type UpstreamTarget } from './connection.js';
import { createDiscovery, type Discovery, type PodSource } from './discovery.js';
import type { EventSink } from './handoff.js';

export type { UpstreamConfig } from './config.js';
export { defaultUpstreamConfig, defaultUpstreamSection, parseAddressList, splitAddresses, upstreamConfigOf, validateUpstreamConfig, type UpstreamSection } from './config.js';
export type { UpstreamStats, UpstreamTarget } from './connection.js';
export type { PodSource } from './discovery.js';
export type { EventSink } from './handoff.js';

/** Time a removed upstream (pod gone) gets to hand over what it had received. */
export const REMOVE_DRAIN_MS = 5_000;

export type UpstreamDeps = {
  /** The pipeline input (relay Pipeline or the scale-out pipeline). */
  readonly sink: EventSink;
  readonly counters: Counters;
  /** Stamped into events that carry no ClusterName. */
  readonly clusterName: string;
  /** The relay's pod cache (relay/k8s IdentityCache); required when discovery is enabled. */
  readonly pods?: PodSource;
  readonly log?: Logger;
};

export interface Upstreams {
  /** Connects to the static addresses and starts discovery. Idempotent. */
  start(): void;
  stop(deadlineMs?: number): Promise<void>;
  /** One entry per current upstream, sorted by address. */
  stats(): UpstreamStats[];
}

function channelCredentials(c: UpstreamConfig): ChannelCredentials {
  if (!c.tls.enabled) return grpcCredentials.createInsecure();
  const t = c.tls;
  const r = loadChannelCredentials({ caFile: t.caFile, certFile: t.certFile, keyFile: t.keyFile, ...(t.serverName ? { serverName: t.serverName } : {}) }, 'upstream.tls');
  if (!r.ok) throw new Error(`invalid upstream TLS: ${r.error}`);
  return r.value;
}

export function createUpstreams(config: UpstreamConfig, deps: UpstreamDeps): Upstreams {
  const check = validateUpstreamConfig(config);
  if (!check.ok) throw new Error(`invalid upstream config:\n  ${check.errors.join('\n  ')}`);
  if (config.discovery.enabled && !deps.pods) {
    throw new Error('upstream.discovery.enabled needs Kubernetes access: set kubernetes.mode to in-cluster or kubeconfig');
  }
  const creds = channelCredentials(config);
  const log = (deps.log ?? pino({ name: 'palisade' })).child({ component: 'relay.upstream' });
  const conns = new Map<string, UpstreamConnection>();
  const removing = new Set<Promise<void>>();
  const statics: UpstreamTarget[] = config.addresses.map((address) => ({ address, nodeId: address, hostName: '', source: 'static' }));
  let discovered: UpstreamTarget[] = [];
  let started = false;
  let stopping: Promise<void> | undefined;
  let discovery: Discovery | undefined;

  const same = (a: UpstreamTarget, b: UpstreamTarget): boolean => a.nodeId === b.nodeId && a.pod === b.pod && a.hostName === b.hostName;

  const remove = (conn: UpstreamConnection, why: string): void => {
    conns.delete(conn.target.address);
    deps.counters.inc('palisade_relay_upstream_discovery_changes_total', { change: 'removed' });
    log.info({ upstream: conn.target.address, pod: conn.target.pod, why }, 'upstream removed');
    const p = conn.stop(AbortSignal.timeout(REMOVE_DRAIN_MS)).finally(() => removing.delete(p));
    removing.add(p);
  };

  const reconcile = (): void => {
    if (!started || stopping) return;
    const desired = new Map<string, UpstreamTarget>();
    for (const t of statics) desired.set(t.address, t);
    for (const t of discovered) if (!desired.has(t.address)) desired.set(t.address, t);
    for (const conn of [...conns.values()]) {
      const want = desired.get(conn.target.address);
      if (!want) remove(conn, 'no longer discovered');
      else if (!same(want, conn.target)) remove(conn, `now ${want.pod ?? want.address}`);
    }
    for (const t of desired.values()) {
      if (conns.has(t.address)) continue;
      const conn = createUpstreamConnection(t, { config, credentials: creds, sink: deps.sink, counters: deps.counters, log, clusterName: deps.clusterName });
      conns.set(t.address, conn);
      if (t.source === 'discovered') {
        deps.counters.inc('palisade_relay_upstream_discovery_changes_total', { change: 'added' });
        log.info({ upstream: t.address, pod: t.pod, nodeId: t.nodeId }, 'upstream discovered');
      }
      conn.start();
    }
  };

  return {
    start() {
      if (started) return;
      started = true;
      log.info({ addresses: config.addresses, discovery: config.discovery.enabled }, 'upstreams starting');
      reconcile();
      if (config.discovery.enabled && deps.pods) {
        discovery = createDiscovery(deps.pods, config.discovery, (targets) => {
          discovered = targets;
          reconcile();
        });
        discovery.start();
      }
    },
    stop(deadlineMs = 10_000) {
      stopping ??= (async () => {
        discovery?.stop();
        const signal = AbortSignal.timeout(deadlineMs);
        const all = [...conns.values()];
        conns.clear();
        await Promise.all([...all.map((c) => c.stop(signal)), ...removing]);
        log.info({ upstreams: all.length }, 'upstreams stopped');
      })();
      return stopping;
    },
    stats() {
      return [...conns.values()].map((c) => c.stats()).sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
    },
  };
}
