// CollectorEvent -> feeder.Log, filled the way KubeArmor's system monitor fills it
// (KubeArmor/monitor/logUpdate.go): Operation Process | File | Network | Capabilities,
// Resource, Data ("syscall=SYS_OPENAT fd=-100 flags=O_RDONLY"; a capability check:
// Resource the capability as KubeArmor names it, "CAP_NET_RAW", Data the syscall that made
// the check when known and "repeats=N" when the kernel suppressed N equal checks just
// before it), Source (exec: the parent's executable;
// otherwise the process's command line), ProcessName / ParentProcessName (executables),
// host and namespace pids, Result ("Passed" or the errno text) and Type ContainerLog /
// HostLog. ClusterName is left empty: the relay stamps it from the ingest hello.
// Invariants: never throws; fork, exit and raw syscall events give no log (KubeArmor
// reports neither); strings are taken as the collector decoded them (no re-resolution).
import type { CapabilityEvent, CollectorEvent, ExecEvent, FileEvent, NetEvent, SockAddr } from '../../collector/events.js';
import type { Log } from '../../proto/gen/feeder/kubearmor.js';
import { familyText, openFlagsText, protocolText, resultText, sockTypeText, syscallName } from './linux-names.js';
import { STANDALONE_NAMESPACE, type ContainerMeta } from './container-names.js';

export type ProcessView = { readonly exe: string; readonly argv: readonly string[]; readonly ppid: number };

export type LogContext = {
  readonly hostName: string;
  /** the collector's process table (pid -> executable, argv, parent) */
  readonly processOf: (pid: number) => ProcessView | undefined;
  /**
   * Standalone hosts (no Kubernetes): container name and image by container id. When it
   * knows the container, the log gets NamespaceName container_namespace, ContainerName,
   * ContainerImage and Labels kubearmor.io/container.name=<name>, as KubeArmor's
   * non-Kubernetes mode reports them.
   */
  readonly containerOf?: (id: string) => ContainerMeta | undefined;
};

/** "2006-01-02T15:04:05.000000Z" (UTC, microseconds), KubeArmor's UpdatedTime. */
export function updatedTime(ms: number): string {
  const whole = Math.floor(ms);
  const micros = Math.min(999, Math.max(0, Math.floor((ms - whole) * 1000)));
  return new Date(whole).toISOString().replace(/Z$/, `${String(micros).padStart(3, '0')}Z`);
}

/** The command line KubeArmor shows as Source: executable plus arguments. */
function commandOf(exe: string, argv: readonly string[]): string {
  if (argv.length <= 1) return exe;
  return `${exe} ${argv.slice(1).join(' ')}`;
}

type Op = { readonly operation: 'Process' | 'File' | 'Network' | 'Capabilities'; readonly resource: string; readonly data: string };

function execOp(ev: ExecEvent): Op {
  const resource = commandOf(ev.path, ev.argv);
  return { operation: 'Process', resource, data: `syscall=${syscallName(ev.syscall < 0 ? 59 : ev.syscall)}` };
}

function fileOp(ev: FileEvent): Op {
  const sc = syscallName(ev.syscall);
  const fdPart = (): string => (ev.syscall === 2 || ev.syscall === 85 ? '' : ` fd=${ev.fd}`);
  switch (ev.op) {
    case 'open':
      return { operation: 'File', resource: ev.path, data: `syscall=${sc}${fdPart()} flags=${openFlagsText(ev.flags)}` };
    case 'unlink':
      return { operation: 'File', resource: ev.path, data: ev.syscall === 263 ? `syscall=${sc} flags=${ev.flags === 0x200 ? 'AT_REMOVEDIR' : String(ev.flags)}` : `syscall=${sc}` };
    case 'rmdir':
      return { operation: 'File', resource: ev.path, data: `syscall=${sc}` };
    case 'rename':
      return { operation: 'File', resource: ev.path, data: `syscall=${sc} newpath=${ev.path2 ?? ''}` };
    case 'chmod':
      return { operation: 'File', resource: ev.path, data: `syscall=${sc} mode=0${(ev.mode & 0o7777).toString(8)}` };
    case 'chown': {
      const ids = `userid=${ev.ownerUid === undefined ? -1 : ev.ownerUid | 0} group=${ev.ownerGid === undefined ? -1 : ev.ownerGid | 0}`;
      return { operation: 'File', resource: ev.path, data: ev.syscall === 260 ? `syscall=${sc} ${ids} mode=${ev.flags}` : `syscall=${sc} ${ids}` };
    }
  }
}

function sockaddr(ev: NetEvent, a: SockAddr | undefined): string {
  if (ev.family === 'unix') return `sa_family=AF_UNIX sun_path=${ev.unixPath ?? ''}`;
  if (!a) return `sa_family=${familyText(ev.family)}`;
  return ev.family === 'inet6'
    ? `sa_family=AF_INET6 sin6_port=${a.port} sin6_addr=${a.address}`
    : `sa_family=${familyText(ev.family)} sin_port=${a.port} sin_addr=${a.address}`;
}

function netOp(ev: NetEvent): Op {
  const sc = syscallName(ev.syscall);
  switch (ev.op) {
    case 'socket':
      return {
        operation: 'Network',
        resource: `domain=${familyText(ev.family)} type=${sockTypeText(ev.sockType)} protocol=${protocolText(ev.protocol)}`,
        data: `syscall=${sc}`,
      };
    case 'connect':
    case 'accept': {
      const fd = ev.op === 'accept' && ev.ret >= 0 ? ev.ret : ev.fd;
      // a TCP peer is shown as KubeArmor's tcp_connect/tcp_accept probes show it
      if ((ev.family === 'inet' || ev.family === 'inet6') && ev.protocol === 6 && ev.remote) {
        return { operation: 'Network', resource: `remoteip=${ev.remote.address} port=${ev.remote.port} protocol=TCP`, data: `syscall=${sc} fd=${fd}` };
      }
      return { operation: 'Network', resource: sockaddr(ev, ev.remote), data: `syscall=${sc} fd=${fd}` };
    }
    case 'bind':
      return { operation: 'Network', resource: sockaddr(ev, ev.local), data: `syscall=${sc} fd=${ev.fd}` };
    case 'listen':
      return { operation: 'Network', resource: '', data: `syscall=${sc} fd=${ev.fd}` };
  }
}

function capOp(ev: CapabilityEvent): Op {
  const parts: string[] = [];
  if (ev.syscall >= 0) parts.push(`syscall=${syscallName(ev.syscall)}`);
  if (ev.suppressed > 0) parts.push(`repeats=${ev.suppressed}`);
  return { operation: 'Capabilities', resource: ev.capName, data: parts.join(' ') };
}

/** The feeder Log for one event, or undefined for events KubeArmor does not log. */
export function toFeederLog(ev: CollectorEvent, ctx: LogContext): Log | undefined {
  let op: Op;
  switch (ev.kind) {
    case 'exec': op = execOp(ev); break;
    case 'file': op = fileOp(ev); break;
    case 'network': op = netOp(ev); break;
    case 'capability': op = capOp(ev); break;
    default: return undefined;
  }
  const self = ctx.processOf(ev.pid);
  const parent = ev.ppid > 0 ? ctx.processOf(ev.ppid) : undefined;
  const parentExe = parent?.exe ?? '';
  const exe = ev.kind === 'exec' ? ev.path : ev.exe || self?.exe || '';
  const source = ev.kind === 'exec' ? parentExe : commandOf(exe, self?.argv ?? []);
  const meta = ev.container && ctx.containerOf ? ctx.containerOf(ev.container.id) : undefined;
  // a complete literal (every field of Log) instead of Log.create(): no second copy per event
  const log: Log = {
    Timestamp: BigInt(Math.floor(ev.timestamp / 1000)),
    UpdatedTime: updatedTime(ev.timestamp),
    ClusterName: '',
    HostName: ctx.hostName,
    NamespaceName: meta ? STANDALONE_NAMESPACE : '',
    Owner: undefined,
    PodName: '',
    Labels: meta ? `kubearmor.io/container.name=${meta.name}` : '',
    ContainerID: ev.container?.id ?? '',
    ContainerName: meta?.name ?? '',
    ContainerImage: meta?.image ?? '',
    ParentProcessName: parentExe,
    ProcessName: exe,
    HostPPID: ev.ppid | 0,
    HostPID: ev.pid | 0,
    PPID: ev.nsPpid | 0,
    PID: ev.nsPid | 0,
    UID: ev.uid | 0,
    Type: ev.container ? 'ContainerLog' : 'HostLog',
    Source: source,
    Operation: op.operation,
    Resource: op.resource,
    Data: op.data,
    Result: resultText(ev.ret),
    Cwd: '',
    TTY: '',
    ExecEvent: { ExecID: '', ExecutableName: ev.comm },
  };
  return log;
}
