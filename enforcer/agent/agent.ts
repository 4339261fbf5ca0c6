// createNodeAgent(): the per-node agent as it runs today — it observes and audits, it
// does not enforce. Data path: collector (BPF, excludeSelf) -> feeder Log (feeder-log.ts)
// -> policy match (audit.ts) -> outbox (seq, bounded, drop_oldest) -> ingest client ->
// relay.
//
// Start-up, in order, failing fast: open the collector (root and BPF needed; this is
// where a host without them fails), subscribe, start the ingest stream, queue the
// startup notice (which states that enforcement is not active), start the 1 s notice
// timer (outbox drops, collector losses). stop(deadline) runs the reverse: timer off,
// collector closed (its queued batches still reach the outbox), final notices, flush the
// outbox to the relay until everything is acked or the deadline passes, close the
// stream. What was still unacked is returned in the final stats (unsentAtStop) and
// logged. Idempotent. Per-event work never logs and never throws.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { pino, type Logger } from 'pino';
import { openCollector, type Collector, type CollectorStats } from '../../collector/index.js';
import type { CollectorConfig } from '../../collector/config.js';
import type { CollectorEvent } from '../../collector/events.js';
import type { EventClass } from '../../collector/layout.js';
import { Message } from '../../proto/gen/feeder/kubearmor.js';
import type { GlobalPosture, Policy } from '../policy/types.js';
import { createAuditor, standalonePolicies, type AuditStats } from './audit.js';
import { createContainerDirectory } from './container-names.js';
import { toFeederLog, updatedTime, type LogContext } from './feeder-log.js';
import { createIngestClient, defaultIngestClientConfig, type IngestClientConfig, type IngestClientStats } from './ingest-client.js';
import { createOutbox, defaultOutboxConfig, type OutboxConfig, type OutboxStats } from './outbox.js';
import { createSeqStore } from './seq-store.js';

export const ENFORCEMENT_NOTICE = 'enforcement is NOT active: no enforcement backend exists yet (BPF-LSM, fanotify and cgroup-socket backends are not implemented); '
  + 'this agent only observes, so an alert with Action Block reports what the policy asks for, and its Result is what really happened';

export type NodeAgentConfig = {
  /** host:port of the relay's palisade.v1 Ingest */
  readonly relayAddress: string;
  readonly policies: readonly Policy[];
  /**
   * No Kubernetes on this host (default true): container names from podman's store,
   * KubeArmorPolicy without a namespace applies to containers (container_namespace).
   */
  readonly standalone?: boolean;
  /** send a feeder Log for every observed operation (visibility), not only alerts (default true) */
  readonly logs?: boolean;
  readonly classes?: readonly EventClass[];
  readonly nodeId?: string;
  readonly nodeName?: string;
  readonly bootId?: string;
  /** where sequence reservations persist across agent restarts (default /var/lib/palisade/agent; null: not persisted) */
  readonly stateDir?: string | null;
  readonly clusterName?: string;
  readonly nodeLabels?: Readonly<Record<string, string>>;
  readonly globalPosture?: GlobalPosture;
  readonly collector?: Partial<CollectorConfig>;
  readonly outbox?: Partial<Omit<OutboxConfig, 'nodeId' | 'bootId'>>;
  readonly ingest?: Partial<Omit<IngestClientConfig, 'address'>>;
  /** how often drop and loss notices are considered, ms (default 1000) */
  readonly noticeIntervalMs?: number;
  readonly log?: Logger;
};

export type NodeAgentStats = {
  readonly events: number;
  readonly logs: number;
  readonly alerts: number;
  readonly collector: { readonly delivered: number; readonly lost: number };
  readonly audit: AuditStats;
  readonly outbox: OutboxStats;
  readonly ingest: IngestClientStats;
  /** entries still unacked when stop() returned (lost: there is no disk spool yet) */
  readonly unsentAtStop: number;
};

export interface NodeAgent {
  start(): Promise<void>;
  stop(deadlineMs?: number): Promise<NodeAgentStats>;
  stats(): NodeAgentStats;
  readonly nodeId: string;
  readonly bootId: string;
}

export function readBootId(path = '/proc/sys/kernel/random/boot_id'): string {
  return readFileSync(path, 'utf8').trim();
}

/** /etc/machine-id when present (stable across reboots), else the host name. */
export function defaultNodeId(): string {
  try {
    const id = readFileSync('/etc/machine-id', 'utf8').trim();
    if (/^[0-9a-f]{32}$/.test(id)) return id;
  } catch {
    // no machine-id (minimal containers): fall back to the host name below
  }
  return hostname();
}

export function createNodeAgent(config: NodeAgentConfig): NodeAgent {
  const log = config.log ?? pino({ level: 'info' }).child({ component: 'enforcer.agent' });
  const nodeId = config.nodeId ?? defaultNodeId();
  const bootId = config.bootId ?? readBootId();
  const nodeName = config.nodeName ?? hostname();
  const logsOn = config.logs ?? true;
  // capability checks are frequent: observed only when a policy has capability rules
  const wantsCaps = config.policies.some((p) => p.rules.some((r) => r.class === 'capabilities'));
  const classes = config.classes ?? ['process', 'file', 'network', ...(wantsCaps ? ['capability' as const] : [])];
  const stateDir = config.stateDir === undefined ? '/var/lib/palisade/agent' : config.stateDir;
  const seqs = stateDir === null ? undefined : createSeqStore({ dir: stateDir, nodeId, bootId });
  const outbox = createOutbox({ ...defaultOutboxConfig(nodeId, bootId), ...config.outbox }, seqs ? { seqs } : {});
  const ingest = createIngestClient({
    ...defaultIngestClientConfig(config.relayAddress, nodeName),
    clusterName: config.clusterName ?? '',
    capabilities: ['audit-only', ...classes],
    ...config.ingest,
  }, outbox, log.child({ component: 'enforcer.ingest' }));
  const standalone = config.standalone ?? true;
  const containers = standalone ? createContainerDirectory() : undefined;
  const auditor = createAuditor({
    policies: standalone ? standalonePolicies(config.policies) : config.policies,
    ...(config.nodeLabels ? { nodeLabels: config.nodeLabels } : {}),
    ...(config.globalPosture ? { globalPosture: config.globalPosture } : {}),
  });
  let collector: Collector | undefined;
  let finalCollector: CollectorStats | undefined;
  let timer: NodeJS.Timeout | undefined;
  let events = 0, logs = 0, alerts = 0, lostReported = 0, unsentAtStop = 0;
  let stopping: Promise<NodeAgentStats> | undefined;

  const message = (level: 'Info' | 'Warn', type: string, text: string): void => {
    const now = Date.now();
    outbox.push({
      $case: 'message',
      value: Message.create({ Timestamp: BigInt(Math.floor(now / 1000)), UpdatedTime: updatedTime(now), HostName: nodeName, Type: type, Level: level, Message: text }),
    });
    ingest.kick();
  };

  const notices = (): void => {
    const cs = finalCollector ?? collector?.stats();
    if (cs && cs.lost > lostReported) {
      const n = cs.lost - lostReported;
      lostReported = cs.lost;
      message('Warn', 'Dropped', `palisade agent: the collector lost ${n} kernel events (ring buffer full ${cs.kernel.dropped}, user-space queue ${cs.native.droppedRecords}, `
        + `bad records ${cs.native.badRecords}, iterator ${cs.events.iteratorDropped}; totals since start)`);
    }
    if (outbox.reportDrops(Date.now(), nodeName)) ingest.kick();
  };

  const onEvent = (ev: CollectorEvent, ctx: LogContext): void => {
    events++;
    const l = toFeederLog(ev, ctx);
    if (!l) return;
    const a = auditor.audit(ev, l);
    if (a) { outbox.push({ $case: 'alert', value: a }); alerts++; }
    if (logsOn) { outbox.push({ $case: 'log', value: l }); logs++; }
    if (a || logsOn) ingest.kick();
  };

  const stats = (): NodeAgentStats => {
    const cs = finalCollector ?? collector?.stats();
    return {
      events, logs, alerts,
      collector: { delivered: cs?.events.delivered ?? 0, lost: cs?.lost ?? 0 },
      audit: auditor.stats(), outbox: outbox.stats(), ingest: ingest.stats(), unsentAtStop,
    };
  };

  return {
    nodeId,
    bootId,
    stats,
    async start() {
      if (collector) return;
      const c = await openCollector({ ...config.collector, classes: [...classes], excludeSelf: true });
      collector = c;
      const ctx: LogContext = {
        hostName: nodeName, processOf: (pid) => c.processes.get(pid), ...(containers ? { containerOf: (id: string) => containers.lookup(id) } : {}),
      };
      const wanted = logsOn || config.policies.length > 0;
      if (wanted) c.onEvent((ev) => onEvent(ev, ctx));
      ingest.start();
      message('Info', 'AgentStarted', `palisade agent started on ${nodeName}: observing ${classes.join(', ')} with ${config.policies.length} policies`
        + `${logsOn ? ', logs on' : ', logs off'}; Enforcer "eBPF Monitor"; ${ENFORCEMENT_NOTICE}`);
      log.warn({ policies: config.policies.length }, ENFORCEMENT_NOTICE);
      if (seqs && !seqs.persistent) log.warn({ error: seqs.error }, 'sequence numbers are not persisted; after a restart of this agent seqs may repeat');
      timer = setInterval(notices, config.noticeIntervalMs ?? 1000);
      timer.unref();
    },
    stop(deadlineMs = 5000) {
      stopping ??= (async () => {
        const deadline = Date.now() + deadlineMs;
        if (timer) clearInterval(timer);
        if (!collector) { // never started (or start failed): nothing to flush
          ingest.stop();
          unsentAtStop = outbox.pending;
          seqs?.settle(outbox.stats().lastSeq);
          return stats();
        }
        if (collector) finalCollector = await collector.close();
        notices();
        message('Info', 'AgentStopped', `palisade agent stopping on ${nodeName}: ${events} events, ${alerts} alerts, ${logs} logs`);
        const done = await ingest.flush(Math.max(0, deadline - Date.now()));
        unsentAtStop = outbox.pending;
        seqs?.settle(outbox.stats().lastSeq);
        if (!done) log.warn({ unacked: unsentAtStop, relay: config.relayAddress }, 'stopping with events the relay has not acked; they are lost (no disk spool yet)');
        ingest.stop();
        return stats();
      })();
      return stopping;
    },
  };
}
