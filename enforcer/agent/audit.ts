// Policy matching for the observing agent: each event is turned into a policy-engine
// Operation, decided by the TS matcher over tables compiled per workload, and a
// decision with an alert (Audit, Block, DefaultPosture) becomes a feeder Alert built on
// the event's Log.
//
// Capability checks (collector class 'capability') are matched against
// capabilities.matchCapabilities whatever their result (a refused check is still an attempt
// to use the capability; Result says which). The kernel's check carries no CAP_OPT_NOAUDIT
// option, so probing checks (CAP_SYS_ADMIN of the overcommit heuristic on mmap/brk) match
// a sys_admin rule like real uses: see collector/README.md.
//
// Honesty invariant: no enforcement backend exists yet, so nothing is ever blocked by
// Palisade. An alert keeps the policy's Action (Block means "the policy says block"),
// Result is what the kernel really returned, and Enforcer is "eBPF Monitor". Callers
// announce that enforcement is inactive (see agent.ts).
//
// Workloads: host processes are the host workload (node labels kubernetes.io/hostname,
// kubernetes.io/os, kubernetes.io/arch). A container is workload {namespace: the log's
// NamespaceName or 'container_namespace', labels {'kubearmor.io/container.name': the
// log's ContainerName}} (KubeArmor's non-Kubernetes container mode), or labels
// {'kubearmor.io/container.id': id} while its name is unknown, unless the caller supplies
// workloadOf(). One compiled matcher per workload key, cached (bounded; the oldest is
// dropped and recompiled on demand). standalonePolicies() moves KubeArmorPolicy
// documents without metadata.namespace to 'container_namespace', so KubeArmor's
// container policy examples apply on a host without Kubernetes.
import { hostname } from 'node:os';
import type { CollectorEvent } from '../../collector/events.js';
import { Alert, type Log } from '../../proto/gen/feeder/kubearmor.js';
import { compileTables } from '../policy/compile.js';
import { createMatcher, type Matcher } from '../policy/matcher.js';
import { workloadKey } from '../policy/select.js';
import type { Decision, GlobalPosture, Operation, Policy, Workload } from '../policy/types.js';
import { openWrites, policyProtocol } from './linux-names.js';
import { STANDALONE_NAMESPACE } from './container-names.js';

/** Policies for a host without Kubernetes: KubeArmorPolicy without a namespace selects container_namespace. */
export function standalonePolicies(policies: readonly Policy[]): Policy[] {
  return policies.map((p) => (p.kind === 'KubeArmorPolicy' && p.namespace === undefined && p.selector.kind === 'workload'
    ? { ...p, selector: { ...p.selector, namespace: STANDALONE_NAMESPACE } }
    : p));
}

export const MONITOR_ENFORCER = 'eBPF Monitor';

export type AuditorOptions = {
  readonly policies: readonly Policy[];
  readonly nodeLabels?: Readonly<Record<string, string>>;
  readonly globalPosture?: GlobalPosture;
  readonly workloadOf?: (ev: CollectorEvent, log: Log) => Workload;
  /** compiled matchers kept (default 1024) */
  readonly maxWorkloads?: number;
};

export type AuditStats = { readonly decisions: number; readonly alerts: number; readonly workloads: number; readonly compiles: number };

export interface Auditor {
  /** The alert for this event, or undefined when no rule (or posture) asks for one. */
  audit(ev: CollectorEvent, log: Log): Alert | undefined;
  /** The operation the matcher sees for this event (undefined: not subject to policies). */
  operationOf(ev: CollectorEvent, log: Log): Operation | undefined;
  readonly policyCount: number;
  stats(): AuditStats;
}

export function defaultNodeLabels(): Record<string, string> {
  const arch = process.arch === 'x64' ? 'amd64' : process.arch;
  return { 'kubernetes.io/hostname': hostname(), 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': arch };
}

export function operationOf(ev: CollectorEvent, log: Log): Operation | undefined {
  switch (ev.kind) {
    case 'exec':
      // fromSource of a process rule names the executable that runs the new program
      return { class: 'process', path: ev.path, ...(log.ParentProcessName !== '' ? { source: log.ParentProcessName } : {}) };
    case 'file': {
      const source = log.ProcessName !== '' ? { source: log.ProcessName } : {};
      const write = ev.op === 'open' ? openWrites(ev.flags) : true;
      return { class: 'file', path: ev.path, write, ...source };
    }
    case 'network': {
      if (ev.op !== 'socket') return undefined; // matchProtocols applies at socket creation, as in KubeArmor
      const protocol = policyProtocol(ev.family, ev.sockType, ev.protocol);
      if (protocol === undefined) return undefined;
      return { class: 'network', protocol, ...(log.ProcessName !== '' ? { source: log.ProcessName } : {}) };
    }
    case 'capability':
      // the matcher takes 'CAP_NET_RAW' as well as 'net_raw'
      return { class: 'capabilities', capability: ev.capName, ...(log.ProcessName !== '' ? { source: log.ProcessName } : {}) };
    default:
      return undefined;
  }
}

function alertOf(log: Log, d: Decision): Alert {
  return Alert.create({
    Timestamp: log.Timestamp,
    UpdatedTime: log.UpdatedTime,
    ClusterName: log.ClusterName,
    HostName: log.HostName,
    NamespaceName: log.NamespaceName,
    PodName: log.PodName,
    Labels: log.Labels,
    ContainerID: log.ContainerID,
    ContainerName: log.ContainerName,
    ContainerImage: log.ContainerImage,
    HostPPID: log.HostPPID,
    HostPID: log.HostPID,
    PPID: log.PPID,
    PID: log.PID,
    UID: log.UID,
    ParentProcessName: log.ParentProcessName,
    ProcessName: log.ProcessName,
    PolicyName: d.policyName ?? '',
    Severity: d.severity !== undefined ? String(d.severity) : '',
    Tags: d.tags.join(','),
    ATags: [...d.tags],
    Message: d.message ?? '',
    Type: d.type ?? 'MatchedPolicy',
    Source: log.Source,
    Operation: log.Operation,
    Resource: log.Resource,
    Data: log.Data,
    Enforcer: MONITOR_ENFORCER,
    Action: d.action,
    Result: log.Result,
    ...(log.ExecEvent ? { ExecEvent: log.ExecEvent } : {}),
  });
}

export function createAuditor(opts: AuditorOptions): Auditor {
  const nodeLabels = opts.nodeLabels ?? defaultNodeLabels();
  const host: Workload = { kind: 'host', nodeLabels };
  const workloadOf = opts.workloadOf ?? ((ev: CollectorEvent, log: Log): Workload => (ev.container
    ? {
      kind: 'container',
      namespace: log.NamespaceName || STANDALONE_NAMESPACE,
      labels: log.ContainerName ? { 'kubearmor.io/container.name': log.ContainerName } : { 'kubearmor.io/container.id': ev.container.id },
    }
    : host));
  const max = opts.maxWorkloads ?? 1024;
  const matchers = new Map<string, Matcher>();
  let decisions = 0, alerts = 0, compiles = 0;
  const compileOpts = opts.globalPosture ? { globalPosture: opts.globalPosture } : {};

  const matcherFor = (w: Workload): Matcher => {
    const key = workloadKey(w);
    let m = matchers.get(key);
    if (m === undefined) {
      m = createMatcher(compileTables(opts.policies, w, compileOpts));
      compiles++;
      matchers.set(key, m);
      while (matchers.size > max) {
        const oldest = matchers.keys().next().value;
        if (oldest === undefined) break;
        matchers.delete(oldest);
      }
    }
    return m;
  };
  const hostMatcher = opts.policies.length > 0 ? matcherFor(host) : undefined;

  return {
    policyCount: opts.policies.length,
    operationOf,
    audit(ev, log) {
      if (opts.policies.length === 0) return undefined;
      const op = operationOf(ev, log);
      if (op === undefined) return undefined;
      const w = ev.container || opts.workloadOf ? workloadOf(ev, log) : host;
      const m = w === host && hostMatcher ? hostMatcher : matcherFor(w);
      decisions++;
      const d = m.decide(op);
      if (!d.matched || d.action === 'Allow') return undefined;
      alerts++;
      return alertOf(log, d);
    },
    stats: () => ({ decisions, alerts, workloads: matchers.size, compiles }),
  };
}
