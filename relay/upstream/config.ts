// Options for pulling events from KubeArmor agents' feeder.LogService (relay/upstream).
//
// Invariants: defaultUpstreamConfig() pulls from nothing (no address, discovery off),
// so the relay runs as before with nothing configured; validateUpstreamConfig() returns
// every problem, each naming the field (under `prefix`) and what was expected; every
// delay, queue and retry count is finite, so no loop here is unbounded in time or memory.
import { parseHostPort } from '../config.js';

export type UpstreamDiscoveryConfig = {
  /** Find agents through the Kubernetes API (needs the relay's Kubernetes access). */
  readonly enabled: boolean;
  /** '' = every namespace, as KubeArmor's own relay lists them (agents live in `kubearmor` or `kube-system`). */
  readonly namespace: string;
  /** Equality selector "k=v[,k2=v2]"; KubeArmor's agent DaemonSet pods carry kubearmor-app=kubearmor. */
  readonly labelSelector: string;
  /** The agents' feeder.LogService port (KubeArmor: 32767). */
  readonly port: number;
  /** Pull only from pods whose Ready condition is True (a pod IP alone is not enough). */
  readonly requireReady: boolean;
  /** How often the pod cache (kept current by the identity cache's informer) is read. */
  readonly intervalMs: number;
};

export type UpstreamTlsConfig = {
  /** TLS to the agents; off: plaintext, as KubeArmor agents serve by default. */
  readonly enabled: boolean;
  /** CA the agents' certificates chain to; empty: the system roots. */
  readonly caFile: string;
  /** Client certificate (agents that require mutual TLS); empty: none. */
  readonly certFile: string;
  readonly keyFile: string;
  /** Name to verify instead of the dialled host (pod IPs rarely appear in certificates). */
  readonly serverName: string;
};

export type UpstreamConfig = {
  /** Static agents, "host:port" ("[v6]:port"); `--upstream`, repeatable. */
  readonly addresses: readonly string[];
  readonly discovery: UpstreamDiscoveryConfig;
  /** Streams pulled from each agent and their Filter (KubeArmor: alerts all|policy, logs all|system). */
  readonly alerts: boolean;
  readonly alertFilter: 'all' | 'policy';
  readonly logs: boolean;
  readonly logFilter: 'all' | 'system';
  readonly messages: boolean;
  /** Deadline of each HealthCheck (the one before streaming, and the periodic ones). */
  readonly healthCheckTimeoutMs: number;
  /** A connected agent is health-checked this often; a failure reconnects. 0 = only at connect. */
  readonly healthCheckIntervalMs: number;
  /** Reconnect delay: jittered doubling from initialMs, capped at maxMs. */
  readonly backoffInitialMs: number;
  readonly backoffMaxMs: number;
  /** Events handed to the pipeline per submit(). */
  readonly maxBatch: number;
  /** Received events waiting for the pipeline, per agent; at this many the agent's streams are paused. */
  readonly maxPendingEvents: number;
  /** A failed hand-off is retried this many times (with back-off) before the batch is dropped, counted. */
  readonly handoffRetries: number;
  /** Largest message accepted from an agent. */
  readonly maxReceiveMessageBytes: number;
  readonly tls: UpstreamTlsConfig;
};

export const KUBEARMOR_AGENT_PORT = 32767;
export const KUBEARMOR_AGENT_SELECTOR = 'kubearmor-app=kubearmor';

export function defaultUpstreamConfig(): UpstreamConfig {
  return {
    addresses: [],
    discovery: { enabled: false, namespace: '', labelSelector: KUBEARMOR_AGENT_SELECTOR, port: KUBEARMOR_AGENT_PORT, requireReady: true, intervalMs: 1_000 },
    alerts: true,
    alertFilter: 'all',
    logs: true,
    logFilter: 'all',
    messages: true,
    healthCheckTimeoutMs: 5_000,
    healthCheckIntervalMs: 10_000,
    backoffInitialMs: 500,
    backoffMaxMs: 30_000,
    maxBatch: 512,
    maxPendingEvents: 8_192,
    handoffRetries: 5,
    maxReceiveMessageBytes: 4 * 1024 * 1024,
    tls: { enabled: false, caFile: '', certFile: '', keyFile: '', serverName: '' },
  };
}

export type UpstreamConfigCheck = { ok: true; value: UpstreamConfig } | { ok: false; errors: string[] };

/** "k=v,k2=v2" → map; undefined when malformed (only equality terms, as the pod cache matches them). */
export function parseLabelSelector(s: string): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  if (s.trim() === '') return out;
  for (const term of s.split(',')) {
    const m = /^\s*([A-Za-z0-9][-A-Za-z0-9_./]*)\s*==?\s*([-A-Za-z0-9_.]*)\s*$/.exec(term);
    if (!m) return undefined;
    out[m[1] as string] = m[2] as string;
  }
  return out;
}

/** Splits repeated and comma-separated address values (`--upstream a:1 --upstream b:2,c:3`, env "a:1,b:2"). */
export function splitAddresses(values: readonly string[]): string[] {
  return values.flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== '');
}

/**
 * A list of host:port from any config source: a YAML/JSON list of strings (file), a
 * comma-separated string (env, file), or repeated flag values. For relay/config.ts's
 * coerce() of `upstream.addresses`; the message names what is wrong, not where (the
 * caller adds field and source).
 */
export function parseAddressList(raw: unknown): { ok: true; value: string[] } | { ok: false; message: string } {
  const items = typeof raw === 'string' ? [raw] : Array.isArray(raw) && raw.every((x) => typeof x === 'string') ? (raw as string[]) : undefined;
  if (!items) return { ok: false, message: `expected host:port values (a list, or comma-separated), got ${JSON.stringify(raw)}` };
  const value = splitAddresses(items);
  const bad = value.filter((a) => !parseHostPort(a));
  if (bad.length > 0) return { ok: false, message: `expected host:port (e.g. 10.0.0.5:32767), got ${bad.map((b) => JSON.stringify(b)).join(', ')}` };
  return { ok: true, value };
}

const LIMITS: ReadonlyArray<readonly [keyof UpstreamConfig, number, number]> = [
  ['healthCheckTimeoutMs', 1, 600_000],
  ['healthCheckIntervalMs', 0, 3_600_000],
  ['backoffInitialMs', 1, 600_000],
  ['backoffMaxMs', 1, 3_600_000],
  ['maxBatch', 1, 100_000],
  ['maxPendingEvents', 1, 10_000_000],
  ['handoffRetries', 0, 1_000],
  ['maxReceiveMessageBytes', 1_024, 256 * 1024 * 1024],
];

const isInt = (n: unknown, min: number, max: number): boolean => typeof n === 'number' && Number.isSafeInteger(n) && n >= min && n <= max;

export function validateUpstreamConfig(c: UpstreamConfig, prefix = 'upstream'): UpstreamConfigCheck {
  const errors: string[] = [];
  const seen = new Set<string>();
  c.addresses.forEach((a, i) => {
    if (!parseHostPort(a)) errors.push(`${prefix}.addresses[${i}]: expected host:port (e.g. 10.0.0.5:32767 or [fd00::5]:32767), got ${JSON.stringify(a)}`);
    else if (seen.has(a)) errors.push(`${prefix}.addresses[${i}]: ${a} is listed twice`);
    seen.add(a);
  });
  for (const [k, min, max] of LIMITS) {
    if (!isInt(c[k], min, max)) errors.push(`${prefix}.${k}: must be an integer between ${min} and ${max}, got ${JSON.stringify(c[k])}`);
  }
  if (isInt(c.backoffInitialMs, 1, 600_000) && isInt(c.backoffMaxMs, 1, 3_600_000) && c.backoffMaxMs < c.backoffInitialMs) {
    errors.push(`${prefix}.backoffMaxMs: must be >= backoffInitialMs (${c.backoffInitialMs}), got ${c.backoffMaxMs}`);
  }
  if (c.alertFilter !== 'all' && c.alertFilter !== 'policy') errors.push(`${prefix}.alertFilter: expected "all" or "policy", got ${JSON.stringify(c.alertFilter)}`);
  if (c.logFilter !== 'all' && c.logFilter !== 'system') errors.push(`${prefix}.logFilter: expected "all" or "system", got ${JSON.stringify(c.logFilter)}`);
  if (!c.alerts && !c.logs && !c.messages) errors.push(`${prefix}.alerts/logs/messages: at least one stream must be pulled`);
  const d = c.discovery;
  if (!isInt(d.port, 1, 65_535)) errors.push(`${prefix}.discovery.port: must be a port 1-65535, got ${JSON.stringify(d.port)}`);
  if (!isInt(d.intervalMs, 10, 3_600_000)) errors.push(`${prefix}.discovery.intervalMs: must be an integer between 10 and 3600000, got ${JSON.stringify(d.intervalMs)}`);
  const sel = parseLabelSelector(d.labelSelector);
  if (!sel) errors.push(`${prefix}.discovery.labelSelector: expected equality terms "key=value[,key=value]", got ${JSON.stringify(d.labelSelector)}`);
  else if (d.enabled && Object.keys(sel).length === 0) errors.push(`${prefix}.discovery.labelSelector: must not be empty when discovery is enabled (it would pull from every pod); KubeArmor's is ${KUBEARMOR_AGENT_SELECTOR}`);
  const t = c.tls;
  if ((t.certFile === '') !== (t.keyFile === '')) errors.push(`${prefix}.tls.certFile/${prefix}.tls.keyFile: set both the client certificate and its key, or neither`);
  if (!t.enabled && (t.caFile !== '' || t.certFile !== '' || t.serverName !== '')) errors.push(`${prefix}.tls: files or serverName given but ${prefix}.tls.enabled is false`);
  return errors.length > 0 ? { ok: false, errors } : { ok: true, value: c };
}

/**
 * The relay config's `upstream` section as flat leaves (relay/config.ts FIELDS are at
 * most two levels deep, scalars or lists): what a user sets from file, env or flags.
 * Everything else keeps its default; upstreamConfigOf() builds the full config.
 */
export type UpstreamSection = {
  readonly addresses: readonly string[];
  readonly discovery: boolean;
  readonly discoveryNamespace: string;
  readonly discoveryLabelSelector: string;
  readonly discoveryPort: number;
  readonly logs: boolean;
  readonly tls: boolean;
  readonly tlsCaFile: string;
  readonly tlsCertFile: string;
  readonly tlsKeyFile: string;
  readonly tlsServerName: string;
};

export function defaultUpstreamSection(): UpstreamSection {
  const d = defaultUpstreamConfig();
  return {
    addresses: [], discovery: false, discoveryNamespace: d.discovery.namespace, discoveryLabelSelector: d.discovery.labelSelector,
    discoveryPort: d.discovery.port, logs: d.logs, tls: false, tlsCaFile: '', tlsCertFile: '', tlsKeyFile: '', tlsServerName: '',
  };
}

export function upstreamConfigOf(s: UpstreamSection): UpstreamConfig {
  const d = defaultUpstreamConfig();
  return {
    ...d,
    addresses: splitAddresses(s.addresses),
    discovery: { ...d.discovery, enabled: s.discovery, namespace: s.discoveryNamespace, labelSelector: s.discoveryLabelSelector, port: s.discoveryPort },
    logs: s.logs,
    tls: { enabled: s.tls, caFile: s.tlsCaFile, certFile: s.tlsCertFile, keyFile: s.tlsKeyFile, serverName: s.tlsServerName },
  };
}
