// The relay's configuration: one typed definition with defaults, read from a file
// (YAML or JSON), the environment (PALISADE_RELAY_*) and command-line flags, in that
// order of precedence (flags win). Every leaf is declared once in FIELDS below; its
// env name and flag name are derived from its path (ingest.maxMessageBytes →
// PALISADE_RELAY_INGEST_MAX_MESSAGE_BYTES, --ingest-max-message-bytes).
//
// Invariants: defaultConfig() runs with nothing else installed (no Redis, no
// Kubernetes, no TLS, no spool directory: in memory — spool.dir '' is off, see
// relay/spool/config.ts); loadRelayConfig() — what `palisade relay` and `palisade up`
// run on — gives an enabled spool without a dir the state directory (defaultSpoolDir()),
// so the commands spool by default; it never throws for bad input, it returns every
// problem found, each naming the field, the source (file path, env variable or flag)
// and what was expected.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { defaultUpstreamSection, parseAddressList, type UpstreamSection } from './upstream/config.js';
import { defaultSpoolConfig, defaultSpoolDir, spoolOn, type SpoolConfig } from './spool/config.js';

export type KubernetesMode = 'none' | 'kubeconfig' | 'in-cluster';

export type RelayConfig = {
  readonly clusterName: string;
  readonly logLevel: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'silent';
  readonly ingest: {
    /** palisade.v1 Ingest. Loopback by default: without mTLS anyone who reaches it can inject alerts. */
    readonly listen: string;
    /** Largest gRPC message a connection may send; larger → RESOURCE_EXHAUSTED. */
    readonly maxMessageBytes: number;
    /** Token-bucket limit per stream, in events per second (burst = one second's worth). */
    readonly maxEventsPerSec: number;
    /** Concurrent ingest streams; more → RESOURCE_EXHAUSTED. */
    readonly maxStreams: number;
    /** How far past the acked seq of its (node, boot) a batch may reach (and the longest batch range). */
    readonly dedupWindow: number;
    /** A stream that sends no hello within this time is cut off with DEADLINE_EXCEEDED. */
    readonly helloTimeoutMs: number;
  };
  readonly logStream: {
    /** feeder.LogService + palisade.v1 Watch + grpc.health.v1; KubeArmor's default port. */
    readonly listen: string;
    /** Events buffered per client; overflow drops the oldest and tells the client. */
    readonly clientQueueSize: number;
    /** Concurrent watch streams across all clients; more → RESOURCE_EXHAUSTED. */
    readonly maxClients: number;
    /** Enriched events kept in memory for cursor resume (palisade.v1 Watch). */
    readonly replayBuffer: number;
    /** Bytes the shared ring may hold (encoded events + per-entry overhead); the oldest go first. 0: no byte bound. Without Redis only. */
    readonly replayBufferBytes: number;
    /** A stream that HTTP/2 flow control keeps blocked (the client reads nothing) this long is reset (RESOURCE_EXHAUSTED). */
    readonly stallTimeoutMs: number;
    /** Write batches of messages straight to the HTTP/2 stream (relay/serve/h2-out.ts); false: grpc-js per-message writes. */
    readonly directWrites: boolean;
    /** Least ms between two deliveries to waiting clients (publishes closer together go out in one write per client); 0: after every publish. */
    readonly flushIntervalMs: number;
  };
  readonly tls: {
    readonly certFile: string;
    readonly keyFile: string;
    /** CA bundle for client certificates; set together with requireClientCert for mTLS. */
    readonly caFile: string;
    readonly requireClientCert: boolean;
  };
  readonly redis: {
    /** Empty: in-memory only. */
    readonly url: string;
    readonly streamKey: string;
    readonly streamMaxLen: number;
  };
  readonly kubernetes: {
    readonly mode: KubernetesMode;
    readonly kubeconfig: string;
    /** How long an event whose container is not yet known waits for identity. */
    readonly identityWaitMs: number;
  };
  readonly throttle: {
    readonly enabled: boolean;
    /** KubeArmor's maxAlertPerSec, applied per (container, policy, action). */
    readonly maxAlertsPerSec: number;
    /** KubeArmor's throttleSec: how long a key stays throttled once over the limit. */
    readonly throttleSec: number;
    /** Identical operations within this window collapse into one alert with a count; 0 disables. */
    readonly collapseWindowMs: number;
  };
  /** Pull from KubeArmor agents' feeder.LogService (relay/upstream/README.md). */
  readonly upstream: UpstreamSection;
  readonly access: {
    /** Tenancy file (relay/access/README.md); empty: off, every caller sees every namespace. */
    readonly file: string;
  };
  /** The ingest write-ahead log (relay/spool/README.md); not used with Redis scale-out. */
  readonly spool: SpoolConfig;
  readonly shutdownDeadlineMs: number;
};

export function defaultConfig(): RelayConfig {
  return {
    clusterName: 'default',
    logLevel: 'info',
    ingest: {
      listen: '127.0.0.1:32768',
      maxMessageBytes: 4 * 1024 * 1024,
      maxEventsPerSec: 50_000,
      maxStreams: 2_000,
      dedupWindow: 65_536,
      helloTimeoutMs: 10_000,
    },
    logStream: { listen: '0.0.0.0:32767', clientQueueSize: 10_000, maxClients: 2_000, replayBuffer: 50_000, replayBufferBytes: 64 * 1024 * 1024, stallTimeoutMs: 30_000, directWrites: true, flushIntervalMs: 4 },
    tls: { certFile: '', keyFile: '', caFile: '', requireClientCert: false },
    redis: { url: '', streamKey: 'palisade:events', streamMaxLen: 1_000_000 },
    kubernetes: { mode: 'none', kubeconfig: '', identityWaitMs: 2_000 },
    throttle: { enabled: true, maxAlertsPerSec: 10, throttleSec: 30, collapseWindowMs: 1_000 },
    upstream: defaultUpstreamSection(),
    access: { file: '' },
    spool: defaultSpoolConfig(),
    shutdownDeadlineMs: 10_000,
  };
}

type Kind =
  | { readonly t: 'string' }
  | { readonly t: 'int'; readonly min: number; readonly max: number }
  | { readonly t: 'bool' }
  | { readonly t: 'enum'; readonly values: readonly string[] }
  | { readonly t: 'hostport' }
  | { readonly t: 'url'; readonly protocols: readonly string[] }
  | { readonly t: 'hostportList' };

type Field = { readonly path: readonly [string] | readonly [string, string]; readonly kind: Kind; readonly help: string };

const int = (min: number, max: number): Kind => ({ t: 'int', min, max });

/** Every configurable leaf, once. The order is the order of --help. */
export const FIELDS: readonly Field[] = [
  { path: ['clusterName'], kind: { t: 'string' }, help: 'ClusterName stamped on alerts that lack one' },
  { path: ['logLevel'], kind: { t: 'enum', values: ['trace', 'debug', 'info', 'warn', 'error', 'silent'] }, help: 'relay log level' },
  { path: ['ingest', 'listen'], kind: { t: 'hostport' }, help: 'palisade.v1 Ingest listen address' },
  { path: ['ingest', 'maxMessageBytes'], kind: int(1024, 256 * 1024 * 1024), help: 'largest ingest message' },
  { path: ['ingest', 'maxEventsPerSec'], kind: int(1, 10_000_000), help: 'events/s per ingest stream' },
  { path: ['ingest', 'maxStreams'], kind: int(1, 1_000_000), help: 'concurrent ingest streams' },
  { path: ['ingest', 'dedupWindow'], kind: int(16, 16_777_216), help: 'how far past its acked seq a batch may reach' },
  { path: ['ingest', 'helloTimeoutMs'], kind: int(1, 3_600_000), help: 'time allowed before the hello' },
  { path: ['logStream', 'listen'], kind: { t: 'hostport' }, help: 'feeder.LogService / Watch listen address' },
  { path: ['logStream', 'clientQueueSize'], kind: int(1, 10_000_000), help: 'events buffered per client' },
  { path: ['logStream', 'maxClients'], kind: int(1, 1_000_000), help: 'concurrent watch streams' },
  { path: ['logStream', 'replayBuffer'], kind: int(0, 100_000_000), help: 'events kept for cursor resume' },
  { path: ['logStream', 'replayBufferBytes'], kind: int(0, 2 ** 40), help: 'bytes the shared event ring may hold (oldest dropped first; 0: no byte bound; without Redis)' },
  { path: ['logStream', 'stallTimeoutMs'], kind: int(1, 86_400_000), help: 'a stream blocked by flow control this long is cut off' },
  { path: ['logStream', 'directWrites'], kind: { t: 'bool' }, help: 'batched writes to the HTTP/2 stream (false: one grpc-js write per message)' },
  { path: ['logStream', 'flushIntervalMs'], kind: int(0, 1000), help: 'least ms between two deliveries to waiting clients: events published closer together go out in one write per client (0: after every publish)' },
  { path: ['tls', 'certFile'], kind: { t: 'string' }, help: 'server certificate (PEM); empty: plaintext' },
  { path: ['tls', 'keyFile'], kind: { t: 'string' }, help: 'server key (PEM)' },
  { path: ['tls', 'caFile'], kind: { t: 'string' }, help: 'CA for client certificates (PEM)' },
  { path: ['tls', 'requireClientCert'], kind: { t: 'bool' }, help: 'mutual TLS' },
  { path: ['redis', 'url'], kind: { t: 'url', protocols: ['redis:', 'rediss:'] }, help: 'Redis for scale-out; empty: in-memory' },
  { path: ['redis', 'streamKey'], kind: { t: 'string' }, help: 'Redis Stream of enriched events' },
  { path: ['redis', 'streamMaxLen'], kind: int(1000, 1_000_000_000), help: 'approximate Redis Stream length cap' },
  { path: ['kubernetes', 'mode'], kind: { t: 'enum', values: ['none', 'kubeconfig', 'in-cluster'] }, help: 'Kubernetes API access' },
  { path: ['kubernetes', 'kubeconfig'], kind: { t: 'string' }, help: 'kubeconfig path (mode kubeconfig); empty: $KUBECONFIG or ~/.kube/config' },
  { path: ['kubernetes', 'identityWaitMs'], kind: int(0, 600_000), help: 'wait for an unknown container identity' },
  { path: ['throttle', 'enabled'], kind: { t: 'bool' }, help: 'alert throttling' },
  { path: ['throttle', 'maxAlertsPerSec'], kind: int(1, 10_000_000), help: 'alerts/s per (container, policy, action)' },
  { path: ['throttle', 'throttleSec'], kind: int(1, 86_400), help: 'throttle interval once over the limit' },
  { path: ['throttle', 'collapseWindowMs'], kind: int(0, 3_600_000), help: 'collapse identical operations within' },
  { path: ['upstream', 'addresses'], kind: { t: 'hostportList' }, help: 'KubeArmor agents to pull from (--upstream, repeatable or comma-separated)' },
  { path: ['upstream', 'discovery'], kind: { t: 'bool' }, help: 'discover KubeArmor agent pods through the Kubernetes API' },
  { path: ['upstream', 'discoveryNamespace'], kind: { t: 'string' }, help: 'namespace of the agent pods (empty: all)' },
  { path: ['upstream', 'discoveryLabelSelector'], kind: { t: 'string' }, help: 'label selector of the agent pods' },
  { path: ['upstream', 'discoveryPort'], kind: int(1, 65535), help: 'agent feeder port' },
  { path: ['upstream', 'logs'], kind: { t: 'bool' }, help: 'also pull logs (WatchLogs), not only alerts' },
  { path: ['upstream', 'tls'], kind: { t: 'bool' }, help: 'TLS to the agents' },
  { path: ['upstream', 'tlsCaFile'], kind: { t: 'string' }, help: 'CA of the agents' },
  { path: ['upstream', 'tlsCertFile'], kind: { t: 'string' }, help: 'client certificate for the agents' },
  { path: ['upstream', 'tlsKeyFile'], kind: { t: 'string' }, help: 'client key for the agents' },
  { path: ['upstream', 'tlsServerName'], kind: { t: 'string' }, help: 'expected name in the agents\' certificates' },
  { path: ['access', 'file'], kind: { t: 'string' }, help: 'tenancy file (client identity -> namespaces); empty: off' },
  { path: ['spool', 'enabled'], kind: { t: 'bool' }, help: 'ack ingest batches only once written to the spool (false: after the in-memory hand-off)' },
  { path: ['spool', 'dir'], kind: { t: 'string' }, help: 'spool directory; empty: /var/lib/palisade/relay-spool as root, else $XDG_STATE_HOME/palisade/relay-spool (--spool-enabled false: no spool, acks after the in-memory hand-off)' },
  { path: ['spool', 'maxBytes'], kind: int(64 * 1024, 2 ** 50), help: 'bound of the spool; a batch that does not fit is refused (retryable)' },
  { path: ['spool', 'segmentBytes'], kind: int(4096, 2 ** 40), help: 'size at which a new segment file is started' },
  { path: ['spool', 'fsync'], kind: { t: 'bool' }, help: 'ack a batch once its record is synced to disk (fdatasync); false: once written (survives a relay crash, not a machine crash)' },
  { path: ['spool', 'maxAgeSec'], kind: int(0, 10 * 365 * 86_400), help: 'delete segments older than this once the hub no longer holds their events (0: byte bound only)' },
  { path: ['shutdownDeadlineMs'], kind: int(1, 600_000), help: 'deadline for a clean shutdown' },
];

const snake = (s: string): string => s.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
const kebab = (s: string): string => s.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
export const envName = (f: Field): string => 'PALISADE_RELAY_' + f.path.map(snake).join('_');
export const flagName = (f: Field): string => f.path.map(kebab).join('-');
const dotted = (f: Field): string => f.path.join('.');

export type ConfigProblem = { readonly field: string; readonly source: string; readonly message: string };
export type ConfigResult = { ok: true; value: RelayConfig } | { ok: false; problems: readonly ConfigProblem[] };

export function formatProblem(p: ConfigProblem): string {
  return `${p.source}: ${p.field}: ${p.message}`;
}

type Leaf = string | number | boolean | readonly string[];
type Coerced = { ok: true; value: Leaf } | { ok: false; message: string };

/** Turns a raw value (file: any JSON type; env and flags: strings) into a checked leaf. */
function coerce(kind: Kind, raw: unknown): Coerced {
  switch (kind.t) {
    case 'string':
      return typeof raw === 'string' ? { ok: true, value: raw } : { ok: false, message: `expected a string, got ${JSON.stringify(raw)}` };
    case 'int': {
      const n = typeof raw === 'number' ? raw : typeof raw === 'string' && /^-?\d+$/.test(raw.trim()) ? Number(raw.trim()) : NaN;
      if (!Number.isSafeInteger(n)) return { ok: false, message: `expected an integer, got ${JSON.stringify(raw)}` };
      if (n < kind.min || n > kind.max) return { ok: false, message: `must be between ${kind.min} and ${kind.max}, got ${n}` };
      return { ok: true, value: n };
    }
    case 'bool':
      if (typeof raw === 'boolean') return { ok: true, value: raw };
      if (raw === 'true' || raw === '1') return { ok: true, value: true };
      if (raw === 'false' || raw === '0') return { ok: true, value: false };
      return { ok: false, message: `expected true or false, got ${JSON.stringify(raw)}` };
    case 'enum':
      return typeof raw === 'string' && kind.values.includes(raw)
        ? { ok: true, value: raw }
        : { ok: false, message: `expected one of ${kind.values.join(', ')}, got ${JSON.stringify(raw)}` };
    case 'hostport': {
      if (typeof raw !== 'string') return { ok: false, message: `expected host:port, got ${JSON.stringify(raw)}` };
      const parsed = parseHostPort(raw);
      return parsed ? { ok: true, value: raw } : { ok: false, message: `expected host:port with a port 0-65535 (e.g. 0.0.0.0:32767), got ${JSON.stringify(raw)}` };
    }
    case 'hostportList': {
      const r = parseAddressList(raw);
      return r.ok ? { ok: true, value: r.value } : { ok: false, message: r.message };
    }
    case 'url': {
      if (typeof raw !== 'string') return { ok: false, message: `expected a URL, got ${JSON.stringify(raw)}` };
      if (raw === '') return { ok: true, value: raw };
      try {
        const u = new URL(raw);
        if (!kind.protocols.includes(u.protocol)) return { ok: false, message: `expected a ${kind.protocols.join(' or ')} URL, got ${JSON.stringify(raw)}` };
        return { ok: true, value: raw };
      } catch {
        return { ok: false, message: `expected a URL such as redis://127.0.0.1:6379, got ${JSON.stringify(raw)}` };
      }
    }
  }
}

/** "host:port" or "[v6]:port" → parts; undefined when malformed. */
export function parseHostPort(s: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(s);
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port > 65535) return undefined;
  return { host: m[1] ?? m[2] ?? '', port };
}

type Mutable = Record<string, Record<string, Leaf> | Leaf>;
const isSection = (v: Record<string, Leaf> | Leaf | undefined): v is Record<string, Leaf> => typeof v === 'object' && v !== null && !Array.isArray(v);

function setLeaf(target: Mutable, path: Field['path'], value: Leaf): void {
  if (path.length === 1) {
    target[path[0]] = value;
    return;
  }
  const section = target[path[0]];
  if (isSection(section)) section[path[1]] = value;
}

function readFileSource(file: string, problems: ConfigProblem[]): Record<string, unknown> | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    problems.push({ field: '(file)', source: file, message: `cannot read: ${(err as Error).message}` });
    return undefined;
  }
  try {
    const doc: unknown = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
    if (doc === null || doc === undefined) return {};
    if (typeof doc !== 'object' || Array.isArray(doc)) {
      problems.push({ field: '(file)', source: file, message: 'expected a mapping at the top level' });
      return undefined;
    }
    return doc as Record<string, unknown>;
  } catch (err) {
    problems.push({ field: '(file)', source: file, message: `not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${(err as Error).message}` });
    return undefined;
  }
}

/** Reports keys in the file that no field declares (a typo must not silently fall back to a default). */
function unknownKeys(doc: Record<string, unknown>, file: string, problems: ConfigProblem[]): void {
  const known = new Set(FIELDS.map(dotted));
  const sections = new Set(FIELDS.filter((f) => f.path.length === 2).map((f) => f.path[0]));
  for (const [k, v] of Object.entries(doc)) {
    if (sections.has(k)) {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) {
        problems.push({ field: k, source: file, message: 'expected a mapping' });
        continue;
      }
      for (const k2 of Object.keys(v)) if (!known.has(`${k}.${k2}`)) problems.push({ field: `${k}.${k2}`, source: file, message: 'unknown field' });
    } else if (!known.has(k)) {
      problems.push({ field: k, source: file, message: 'unknown field' });
    }
  }
}

export type ConfigSources = {
  /** YAML (or JSON when it ends in .json). */
  readonly file?: string;
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Flag values by flag name without dashes (e.g. 'log-stream-listen'). */
  readonly flags?: Readonly<Record<string, string | boolean | readonly string[] | undefined>>;
};

/** Defaults < file < environment < flags; then cross-field checks. */
export function loadRelayConfig(sources: ConfigSources): ConfigResult {
  const problems: ConfigProblem[] = [];
  const cfg = structuredClone(defaultConfig()) as unknown as Mutable;
  const doc = sources.file === undefined ? undefined : readFileSource(sources.file, problems);
  if (doc && sources.file !== undefined) unknownKeys(doc, sources.file, problems);
  for (const f of FIELDS) {
    const candidates: Array<{ source: string; raw: unknown }> = [];
    if (doc && sources.file !== undefined) {
      const section = f.path.length === 2 ? doc[f.path[0]] : doc;
      const key = f.path[f.path.length - 1] as string;
      if (typeof section === 'object' && section !== null && key in section) {
        candidates.push({ source: sources.file, raw: (section as Record<string, unknown>)[key] });
      }
    }
    const env = sources.env?.[envName(f)];
    if (env !== undefined) candidates.push({ source: `env ${envName(f)}`, raw: env });
    const flag = sources.flags?.[flagName(f)];
    if (flag !== undefined) candidates.push({ source: `flag --${flagName(f)}`, raw: flag });
    for (const c of candidates) {
      const r = coerce(f.kind, c.raw);
      if (r.ok) setLeaf(cfg, f.path, r.value);
      else problems.push({ field: dotted(f), source: c.source, message: r.message });
    }
  }
  let value = cfg as unknown as RelayConfig;
  // `palisade relay` and `palisade up` spool by default: an enabled spool without a
  // directory gets the state directory (createRelay(defaultConfig()) stays in memory)
  if (value.spool.enabled && value.spool.dir === '') value = { ...value, spool: { ...value.spool, dir: defaultSpoolDir(sources.env ?? process.env) } };
  problems.push(...crossFieldProblems(value));
  return problems.length > 0 ? { ok: false, problems } : { ok: true, value };
}

function crossFieldProblems(c: RelayConfig): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  const merged = 'merged configuration';
  if ((c.tls.certFile === '') !== (c.tls.keyFile === '')) {
    out.push({ field: 'tls.certFile/tls.keyFile', source: merged, message: 'set both the certificate and the key, or neither' });
  }
  if (c.tls.requireClientCert && (c.tls.caFile === '' || c.tls.certFile === '')) {
    out.push({ field: 'tls.requireClientCert', source: merged, message: 'mutual TLS needs tls.caFile, tls.certFile and tls.keyFile' });
  }
  if (c.kubernetes.mode !== 'kubeconfig' && c.kubernetes.kubeconfig !== '') {
    out.push({ field: 'kubernetes.kubeconfig', source: merged, message: `only used with kubernetes.mode kubeconfig (mode is ${c.kubernetes.mode})` });
  }
  if (c.upstream.discovery && c.kubernetes.mode === 'none') {
    out.push({ field: 'upstream.discovery', source: merged, message: 'needs kubernetes.mode in-cluster or kubeconfig' });
  }
  if (c.logStream.replayBuffer < c.logStream.clientQueueSize) {
    out.push({ field: 'logStream.replayBuffer', source: merged, message: `must be at least logStream.clientQueueSize (${c.logStream.clientQueueSize}): client queues are windows of the shared ring` });
  }
  if (spoolOn(c.spool) && c.spool.maxBytes < 2 * c.spool.segmentBytes) {
    out.push({ field: 'spool.maxBytes', source: merged, message: `must be at least twice spool.segmentBytes (${c.spool.segmentBytes}): the segment being written is never deleted` });
  }
  if (spoolOn(c.spool) && c.spool.maxBytes < 2 * c.ingest.maxMessageBytes) {
    out.push({ field: 'spool.maxBytes', source: merged, message: `must be at least twice ingest.maxMessageBytes (${c.ingest.maxMessageBytes}), or the largest batch could never be spooled` });
  }
  if (c.ingest.listen === c.logStream.listen && parseHostPort(c.ingest.listen)?.port !== 0) {
    out.push({ field: 'ingest.listen', source: merged, message: `must differ from logStream.listen (${c.logStream.listen})` });
  }
  return out;
}

/** Help text for `palisade relay --help`: every flag with its env name and default. */
export function configHelp(): string {
  const defaults = defaultConfig() as unknown as Mutable;
  return FIELDS.map((f) => {
    const section = f.path.length === 2 ? defaults[f.path[0]] : undefined;
    const d = f.path.length === 1 ? defaults[f.path[0]] : isSection(section) ? section[f.path[1]] : undefined;
    return `  --${flagName(f).padEnd(30)} ${f.help} (default ${JSON.stringify(d)}; env ${envName(f)})`;
  }).join('\n');
}
