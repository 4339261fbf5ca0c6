// `palisade up`: Palisade on this host with embedded defaults — the relay in-process
// (feeder.LogService + palisade.v1 Watch + health on KubeArmor's 0.0.0.0:32767, ingest on
// an ephemeral loopback port) and the node agent (collector -> logs/alerts -> outbox ->
// ingest). Observes and audits; there is no enforcement backend yet, and it says so.
//
// Order: arguments and policies (exit 2 on bad input) -> root and BPF preflight (exit 1
// naming what is missing) -> relay start (a busy port fails here) -> agent start (BPF
// load fails here; the relay is stopped again) -> "serving". SIGINT/SIGTERM: agent stop
// (collector closed, outbox flushed to the relay) then relay stop (clients get what is
// queued), within --shutdown-timeout; a second signal or the deadline exits 1 at once.
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { bpfObjectPath, loadNative } from '../../collector/native/index.js';
import { createNodeAgent, ENFORCEMENT_NOTICE, type NodeAgent, type NodeAgentStats } from '../../enforcer/agent/agent.js';
import { loadPolicyFiles } from '../../enforcer/agent/policy-files.js';
import { formatProblem, loadRelayConfig, parseHostPort, type RelayConfig } from '../../relay/config.js';
import { createRelay, type Relay, type RelayAddresses } from '../../relay/relay.js';

export const summary = 'run Palisade on this host: relay + node agent with embedded defaults (root)';

const HELP = `usage: palisade up [options]

Runs the relay and the node agent in this process with embedded defaults. Needs root
(eBPF). Stop with Ctrl-C (SIGINT) or SIGTERM.

options:
  --policy <file|dir>        KubeArmor policy file or directory (*.yaml, *.yml, *.json;
                             repeatable); without it only logs are produced
  --log-stream <host:port>   feeder.LogService / palisade.v1.Watch / health listen address
                             (default 0.0.0.0:32767, KubeArmor's port; env PALISADE_RELAY_LOG_STREAM_LISTEN)
  --no-logs                  send alerts and notices only, no per-operation logs
  --json                     print the start-up report and stats as JSON lines
  --state-dir <dir>          where the agent keeps sequence reservations across restarts
                             (default /var/lib/palisade/agent); given, the embedded relay's
                             ingest spool goes to <dir>/relay-spool (default
                             /var/lib/palisade/relay-spool; PALISADE_RELAY_SPOOL_ENABLED=false: none)
  --stats-interval <s>       seconds between stats lines on stderr (default 10; 0: off)
  --shutdown-timeout <s>     deadline for a clean shutdown (default 10)
  -h, --help

Relay settings can also come from PALISADE_RELAY_* environment variables
(see 'palisade relay --help'). Ingest listens on 127.0.0.1:<ephemeral> unless
PALISADE_RELAY_INGEST_LISTEN is set. PALISADE_LOG_LEVEL (default warn) sets the level
of the JSON log lines on stderr.

Not there yet: enforcement backends (BPF-LSM, fanotify, cgroup socket) — nothing is
blocked; an outbox disk spool; Kafka/OpenTelemetry sinks in 'up'.
`;

const NOT_YET = [
  'enforcement backends (BPF-LSM, fanotify permission events, cgroup socket programs): NOT ACTIVE, nothing is blocked',
  'outbox disk spool: events unacked at shutdown are lost (counted)',
  'Kubernetes identity, Kafka and OpenTelemetry sinks are not started by up',
];

type Args = {
  policies: string[]; logStream: string | undefined; logs: boolean; json: boolean; statsSec: number; shutdownSec: number; stateDir: string; stateDirGiven: boolean;
};

function parse(argv: string[]): Args | { help: true } | { error: string } {
  let v;
  try {
    v = parseArgs({
      args: argv, allowPositionals: false, options: {
        policy: { type: 'string', multiple: true }, 'log-stream': { type: 'string' }, 'no-logs': { type: 'boolean' },
        json: { type: 'boolean' }, 'state-dir': { type: 'string' }, 'stats-interval': { type: 'string' }, 'shutdown-timeout': { type: 'string' }, help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (err) {
    return { error: (err as Error).message };
  }
  if (v.help) return { help: true };
  const seconds = (name: string, raw: string | undefined, def: number, min: number): number | string => {
    if (raw === undefined) return def;
    const n = Number(raw);
    return Number.isFinite(n) && n >= min && n <= 86_400 ? n : `--${name}: '${raw}' is not a number of seconds (${min}..86400)`;
  };
  const statsSec = seconds('stats-interval', v['stats-interval'], 10, 0);
  if (typeof statsSec === 'string') return { error: statsSec };
  const shutdownSec = seconds('shutdown-timeout', v['shutdown-timeout'], 10, 0.1);
  if (typeof shutdownSec === 'string') return { error: shutdownSec };
  const logStream = v['log-stream'];
  if (logStream !== undefined && !parseHostPort(logStream)) return { error: `--log-stream: '${logStream}' is not host:port (e.g. 0.0.0.0:32767 or [::1]:32767)` };
  const stateDir = v['state-dir'] ?? '/var/lib/palisade/agent';
  if (stateDir === '') return { error: "--state-dir: '' is not a directory" };
  return { policies: v.policy ?? [], logStream, logs: v['no-logs'] !== true, json: v.json === true, statsSec, shutdownSec, stateDir, stateDirGiven: v['state-dir'] !== undefined };
}

/** What is missing for the collector, or undefined when root, BTF, the BPF object and the addon are there. */
export function preflight(): string | undefined {
  const missing: string[] = [];
  if (typeof process.getuid === 'function' && process.getuid() !== 0) missing.push('root privileges (it loads eBPF programs): run it as root, e.g. sudo make up');
  if (!existsSync('/sys/kernel/btf/vmlinux')) missing.push('kernel BTF at /sys/kernel/btf/vmlinux (a kernel built with CONFIG_DEBUG_INFO_BTF=y)');
  try { bpfObjectPath('palisade.bpf.o'); } catch (err) { missing.push((err as Error).message.replace(/^palisade: /, '')); }
  try { loadNative(); } catch (err) { missing.push((err as Error).message.replace(/^palisade: /, '')); }
  return missing.length > 0 ? missing.join('\n  ') : undefined;
}

function statsLine(a: NodeAgentStats, relay: Relay): Record<string, number | string | boolean> {
  return {
    events: a.events, lost: a.collector.lost, logs: a.logs, alerts: a.alerts,
    outboxPending: a.outbox.pending, outboxDropped: a.outbox.dropped.overflow + a.outbox.dropped.rejected, ackedSeq: String(a.outbox.ackedSeq),
    relayConnected: a.ingest.connected,
    relayIngested: relay.counters.get('palisade_relay_ingest_events_total'), relayPublished: relay.counters.get('palisade_relay_published_events_total'),
    watchClients: relay.activeWatchStreams,
  };
}

/** Safety net after shutdown: exit even if a library keeps a handle open (unref'd: never delays a normal exit). */
function exitSoon(code: number): void {
  setTimeout(() => {
    process.stderr.write('palisade up: a handle kept the process alive after shutdown; exiting\n');
    process.exit(code);
  }, 2000).unref();
}

export async function run(argv: string[]): Promise<number> {
  const a = parse(argv);
  if ('help' in a) { process.stdout.write(HELP); return 0; }
  if ('error' in a) { process.stderr.write(`palisade up: ${a.error}\n${HELP}`); return 2; }
  const out = (text: string, obj: Record<string, unknown>): void => {
    process.stdout.write(a.json ? JSON.stringify(obj) + '\n' : text);
  };

  const loaded = loadPolicyFiles(a.policies);
  for (const w of loaded.warnings) process.stderr.write(`palisade up: ${w}\n`);
  if (loaded.errors.length > 0) {
    process.stderr.write(`palisade up: invalid policies, not starting:\n${loaded.errors.map((e) => `  ${e}`).join('\n')}\n`);
    return 2;
  }
  const relayFlags: Record<string, string> = a.logStream !== undefined ? { 'log-stream-listen': a.logStream } : {};
  // the embedded relay's spool lives under an explicit --state-dir (unless the environment names one)
  if (a.stateDirGiven && process.env.PALISADE_RELAY_SPOOL_DIR === undefined) relayFlags['spool-dir'] = join(a.stateDir, 'relay-spool');
  const relayCfg = loadRelayConfig({ env: process.env, flags: relayFlags });
  if (!relayCfg.ok) {
    process.stderr.write(`palisade up: relay configuration:\n${relayCfg.problems.map((p) => `  ${formatProblem(p)}`).join('\n')}\n`);
    return 2;
  }
  const missing = preflight();
  if (missing) {
    process.stderr.write(`palisade up: cannot observe this host; missing:\n  ${missing}\n`);
    return 1;
  }

  // warnings and errors only by default: up prints its own report and stats lines
  const log = pino({ level: process.env.PALISADE_LOG_LEVEL ?? 'warn' }, pino.destination(2));
  const config: RelayConfig = {
    ...relayCfg.value,
    ingest: { ...relayCfg.value.ingest, listen: process.env.PALISADE_RELAY_INGEST_LISTEN ?? '127.0.0.1:0' },
  };
  const relay = createRelay(config, { log: log.child({ component: 'relay' }) });
  let addrs: RelayAddresses;
  try {
    addrs = await relay.start();
  } catch (err) {
    process.stderr.write(`palisade up: cannot start the relay: ${(err as Error).message}\n`);
    await relay.stop(1000).catch((e: unknown) => process.stderr.write(`palisade up: relay stop: ${String(e)}\n`));
    exitSoon(1);
    return 1;
  }
  const agent: NodeAgent = createNodeAgent({
    relayAddress: `127.0.0.1:${addrs.ingestPort}`,
    policies: loaded.policies,
    logs: a.logs,
    clusterName: config.clusterName,
    stateDir: a.stateDir,
    log: log.child({ component: 'enforcer.agent' }),
  });
  try {
    await agent.start();
  } catch (err) {
    const e = err as Error & { code?: string };
    const hint = e.code === 'EPERM' || /EPERM|Operation not permitted/.test(e.message) ? ' (the kernel refused BPF: root with CAP_BPF/CAP_SYS_ADMIN is needed)' : '';
    process.stderr.write(`palisade up: cannot start the node agent: ${e.message}${hint}\n`);
    await agent.stop(1000);
    await relay.stop(2000);
    exitSoon(1);
    return 1;
  }

  const policyText = loaded.policies.length === 0 ? 'no policies (logs only)' : `${loaded.policies.length} policies from ${loaded.files.length} files`;
  out([
    `palisade up: running on ${hostname()} (node ${agent.nodeId}, boot ${agent.bootId})`,
    `  log stream (feeder.LogService, palisade.v1.Watch, grpc.health.v1): ${addrs.logStream}`,
    `  ingest (palisade.v1.Ingest, loopback): ${addrs.ingest}`,
    `  node agent: observing process, file, network; ${policyText}; logs ${a.logs ? 'on' : 'off'}; Enforcer "eBPF Monitor"`,
    ...NOT_YET.map((s) => `  not there yet: ${s}`),
    `palisade up: serving on ${addrs.logStream}; karmor logs --gRPC ${addrs.logStream.replace(/^0\.0\.0\.0:/, '127.0.0.1:')} ; Ctrl-C stops`,
    '',
  ].join('\n'), {
    event: 'serving', host: hostname(), nodeId: agent.nodeId, bootId: agent.bootId, logStream: addrs.logStream, logStreamPort: addrs.logStreamPort,
    ingest: addrs.ingest, policies: loaded.policies.map((p) => p.name), logs: a.logs, enforcement: 'none', notice: ENFORCEMENT_NOTICE, notThereYet: NOT_YET,
  });

  const started = Date.now();
  const statsTimer = a.statsSec > 0 ? setInterval(() => {
    const s = statsLine(agent.stats(), relay);
    const up = Math.round((Date.now() - started) / 1000);
    process.stderr.write(a.json ? JSON.stringify({ event: 'stats', uptimeSec: up, ...s }) + '\n'
      : `palisade up: ${up}s: ${Object.entries(s).map(([k, v]) => `${k}=${v}`).join(' ')}\n`);
  }, a.statsSec * 1000) : undefined;

  const signal = await new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  if (statsTimer) clearInterval(statsTimer);
  const deadlineMs = a.shutdownSec * 1000;
  const force = (why: string): void => {
    process.stderr.write(`palisade up: ${why}; exiting without a clean shutdown\n`);
    process.exit(1);
  };
  const hard = setTimeout(() => force(`shutdown took longer than ${a.shutdownSec} s`), deadlineMs + 1000);
  hard.unref();
  // make(1) may pass the terminal's signal on once more: a repeat within 1 s is the same request
  const t0 = Date.now();
  const again = (): void => { if (Date.now() - t0 >= 1000) force('second signal'); };
  process.on('SIGINT', again);
  process.on('SIGTERM', again);
  process.stderr.write(`palisade up: ${signal}: stopping (agent, then relay; deadline ${a.shutdownSec} s)\n`);
  const final = await agent.stop(Math.round(deadlineMs * 0.6));
  await relay.stop(Math.max(100, deadlineMs - (Date.now() - t0)));
  clearTimeout(hard);
  process.removeListener('SIGINT', again);
  process.removeListener('SIGTERM', again);
  const s = statsLine(final, relay);
  out(`palisade up: stopped after ${Math.round((Date.now() - started) / 1000)} s: ${Object.entries(s).map(([k, v]) => `${k}=${v}`).join(' ')}`
    + `${final.unsentAtStop > 0 ? `; ${final.unsentAtStop} events were never acked and are lost` : ''}\n`,
  { event: 'stopped', ...s, unsentAtStop: final.unsentAtStop });
  exitSoon(0);
  return 0;
}
