// `palisade trace`: live kernel events until interrupted (or --count/--duration), as an
// aligned table on a terminal or one JSON object per line with --json.
import { parseArgs } from 'node:util';
import { openCollector } from '../../collector/index.js';
import type { CollectorEvent } from '../../collector/events.js';
import { EVENT_CLASSES, type EventClass } from '../../collector/layout.js';
import { ATTACH_MODES, type AttachMode, type NamespaceFilter } from '../../collector/config.js';
import { containerMountNamespaces, parseNamespaceInode } from '../../collector/namespaces.js';

export const summary = 'print live process, file, network and capability events from the kernel';

const HELP = `usage: palisade trace [options]

Prints kernel events (needs root) until interrupted.

options:
  --json                 one JSON object per line (default on a non-terminal stdout too)
  --table                an aligned table even when stdout is not a terminal
  --class <list>         event classes: ${EVENT_CLASSES.join(',')} (default process,file,network)
  --container <id>       only this container (id or a prefix of at least 12 characters;
                         'host' for host processes); a running container is also filtered in
                         the kernel by its mount namespace
  --mntns <inode>        only tasks in this mount namespace (repeatable; a number or mnt:[N]
                         as in /proc/<pid>/ns/mnt); filtered in the kernel
  --pidns <inode>        only tasks in this pid namespace (repeatable; pid:[N]); in the kernel
  --except-ns            every task except those in the --mntns/--pidns namespaces
  --pid <pid>            only this process (host pid)
  --count <n>            stop after n events
  --duration <seconds>   stop after this long
  --ring-size <bytes>    ring buffer size, a power of two (default 8388608)
  --attach <mode>        syscall programs: auto (default: tp_btf, raw_tracepoint if refused),
                         tp_btf or raw_tracepoint
  --stats                print collector statistics to stderr at the end
  -h, --help
`;

type Row = Record<string, unknown>;

export function eventJson(ev: CollectorEvent): Row {
  const base: Row = {
    time: new Date(ev.timestamp).toISOString(), class: ev.class, kind: ev.kind,
    pid: ev.pid, tid: ev.tid, ppid: ev.ppid, nsPid: ev.nsPid, uid: ev.uid, comm: ev.comm, exe: ev.exe,
    container: ev.container?.id ?? null, runtime: ev.container?.runtime ?? null,
    cgroupId: ev.cgroupId.toString(), mntNs: ev.mntNs, result: ev.ret, syscall: ev.syscall,
  };
  switch (ev.kind) {
    case 'exec': return { ...base, filename: ev.filename, path: ev.path, argv: ev.argv };
    case 'fork': return { ...base, parentPid: ev.parentPid };
    case 'exit': return { ...base, exitCode: ev.exitCode, signal: ev.signal };
    case 'file': return { ...base, op: ev.op, path: ev.path, ...(ev.path2 ? { path2: ev.path2 } : {}), flags: ev.flags, mode: ev.mode };
    case 'network': return { ...base, op: ev.op, family: ev.family, local: ev.local ?? null, remote: ev.remote ?? null, ...(ev.unixPath ? { unixPath: ev.unixPath } : {}) };
    case 'syscall': return { ...base, args: ev.args.map(String) };
    case 'capability': return {
      ...base, cap: ev.cap, capName: ev.capName, targetUserns: ev.targetUserns, capableUserns: ev.capableUserns,
      ownUserns: ev.ownUserns, ...(ev.realCred ? { realCred: true } : {}), suppressed: ev.suppressed,
    };
  }
}

function detail(ev: CollectorEvent): string {
  const addr = (a?: { address: string; port: number }): string => a ? `${a.address.includes(':') ? `[${a.address}]` : a.address}:${a.port}` : '-';
  switch (ev.kind) {
    case 'exec': return `${ev.path} ${JSON.stringify(ev.argv.slice(1))}`;
    case 'fork': return `parent ${ev.parentPid}`;
    case 'exit': return ev.signal ? `signal ${ev.signal}` : `code ${ev.exitCode}`;
    case 'file': return ev.path2 ? `${ev.path} -> ${ev.path2}` : ev.path;
    case 'network': return ev.op === 'socket' ? `${ev.family} type ${ev.sockType}` : ev.unixPath ?? (ev.op === 'connect' || ev.op === 'accept' ? `${addr(ev.local)} -> ${addr(ev.remote)}` : addr(ev.local));
    case 'syscall': return ev.args.map((a) => '0x' + a.toString(16)).join(' ');
    case 'capability': return `${ev.capName}${ev.syscall >= 0 ? ` syscall ${ev.syscall}` : ''}${ev.ownUserns ? '' : ` userns ${ev.targetUserns}`}${ev.suppressed ? ` (+${ev.suppressed} repeats)` : ''}`;
  }
}

function tableRow(ev: CollectorEvent): string {
  const t = new Date(ev.timestamp).toISOString().slice(11, 23);
  const what = ev.kind === 'file' || ev.kind === 'network' ? ev.op : ev.kind === 'capability' ? 'cap' : ev.kind;
  const ctr = ev.container ? ev.container.id.slice(0, 12) : 'host';
  const res = ev.kind === 'exit' ? '' : String(ev.ret);
  return `${t}  ${ctr.padEnd(12)} ${String(ev.pid).padStart(7)} ${ev.comm.padEnd(15)} ${what.padEnd(7)} ${res.padStart(4)}  ${detail(ev)}`;
}

export async function run(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv, allowPositionals: false, options: {
        json: { type: 'boolean' }, table: { type: 'boolean' }, class: { type: 'string' }, container: { type: 'string' },
        pid: { type: 'string' }, count: { type: 'string' }, duration: { type: 'string' }, 'ring-size': { type: 'string' },
        stats: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
        mntns: { type: 'string', multiple: true }, pidns: { type: 'string', multiple: true },
        'except-ns': { type: 'boolean' }, attach: { type: 'string' },
      },
    }).values;
  } catch (err) {
    process.stderr.write(`palisade trace: ${(err as Error).message}\n${HELP}`);
    return 2;
  }
  if (args.help) { process.stdout.write(HELP); return 0; }
  const bad = (msg: string): number => { process.stderr.write(`palisade trace: ${msg}\n`); return 2; };
  const classes = (args.class ?? 'process,file,network').split(',').map((s) => s.trim()).filter(Boolean);
  for (const c of classes) if (!EVENT_CLASSES.includes(c as EventClass)) return bad(`--class: unknown class '${c}' (one of ${EVENT_CLASSES.join(', ')})`);
  const num = (name: string, v: string | undefined): number | undefined | null => {
    if (v === undefined) return undefined;
    const n = Number(v);
    return Number.isFinite(n) && n >= 0 ? n : null;
  };
  const pid = num('--pid', args.pid), count = num('--count', args.count), duration = num('--duration', args.duration), ring = num('--ring-size', args['ring-size']);
  if (pid === null) return bad(`--pid: '${args.pid}' is not a process id`);
  if (count === null) return bad(`--count: '${args.count}' is not a count`);
  if (duration === null) return bad(`--duration: '${args.duration}' is not a number of seconds`);
  if (ring === null) return bad(`--ring-size: '${args['ring-size']}' is not a size in bytes`);
  const want = args.container;
  if (want !== undefined && want !== 'host' && want.length < 12) return bad(`--container: '${want}' must be 'host' or at least 12 characters of a container id`);
  const json = args.json === true || (args.table !== true && !process.stdout.isTTY);
  const nsList = (kind: 'mnt' | 'pid', given: string[] | undefined): number[] | string => {
    const out: number[] = [];
    for (const text of given ?? []) {
      const ino = parseNamespaceInode(text, kind);
      if (ino === undefined) return `--${kind}ns: '${text}' is not a ${kind === 'mnt' ? 'mount' : 'pid'} namespace inode (a number, or ${kind}:[N] as in /proc/<pid>/ns/${kind})`;
      out.push(ino);
    }
    return out;
  };
  const mnt = nsList('mnt', args.mntns), pidns = nsList('pid', args.pidns);
  if (typeof mnt === 'string') return bad(mnt);
  if (typeof pidns === 'string') return bad(pidns);
  if (args['except-ns'] && mnt.length + pidns.length === 0) return bad('--except-ns: needs --mntns or --pidns');
  if (args.attach !== undefined && !ATTACH_MODES.includes(args.attach as AttachMode)) return bad(`--attach: '${args.attach}' must be ${ATTACH_MODES.join(', ')}`);
  if (want !== undefined && want !== 'host') {
    // a running container: also filter in the kernel by its mount namespace(s) (found now),
    // so that other workloads' events never cross into user space; the user-space filter
    // by container id stays. A container process that later unshares a new mount namespace
    // is not in the kernel set: its events are not shown.
    const found = containerMountNamespaces(want);
    if (found.containers.length > 1) return bad(`--container: '${want}' matches ${found.containers.length} containers (${found.containers.map((c) => c.slice(0, 12)).join(', ')}); give more characters`);
    if (found.mnt.length > 0 && !args['except-ns']) mnt.push(...found.mnt);
    else if (found.mnt.length === 0) process.stderr.write(`palisade trace: no running process of container '${want}' found: filtering in user space only\n`);
  }
  const namespaces: NamespaceFilter = mnt.length + pidns.length > 0 ? { mode: args['except-ns'] ? 'except' : 'only', mnt, pid: pidns } : { mode: 'all' };

  let collector;
  try {
    collector = await openCollector({
      classes: classes as EventClass[], ...(ring !== undefined ? { ringBytes: ring } : {}), pollMs: 50, namespaces,
      ...(args.attach !== undefined ? { attachMode: args.attach as AttachMode } : {}),
    });
  } catch (err) {
    const e = err as Error & { code?: string; log?: string };
    process.stderr.write(`palisade trace: cannot start the collector: ${e.message}${e.code === 'EPERM' ? ' (run as root)' : ''}\n`);
    return 1;
  }
  let n = 0;
  let stopping = false;
  let resolveDone: () => void = () => undefined;
  const done = new Promise<void>((r) => { resolveDone = r; });
  const stop = (): void => { if (!stopping) { stopping = true; resolveDone(); } };
  if (!json) process.stdout.write(`${'TIME'.padEnd(12)}  ${'CONTAINER'.padEnd(12)} ${'PID'.padStart(7)} ${'COMM'.padEnd(15)} ${'EVENT'.padEnd(7)} ${'RES'.padStart(4)}  DETAIL\n`);
  // Lines are gathered and written once per turn of the event loop; while stdout has more
  // than OUTPUT_BOUND bytes queued (a slow reader), lines are dropped and counted instead of
  // growing memory, and the count is reported at the end. A closed stdout (EPIPE) stops.
  const out = new TraceOutput(process.stdout, stop);
  collector.onEvent((ev) => {
    if (stopping) return;
    if (pid !== undefined && ev.pid !== pid) return;
    if (want !== undefined && (want === 'host' ? ev.container !== undefined : !ev.container?.id.startsWith(want))) return;
    out.line(json ? JSON.stringify(eventJson(ev)) : tableRow(ev));
    if (count !== undefined && ++n >= count) stop();
  });
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const timer = duration !== undefined ? setTimeout(stop, duration * 1000) : undefined;
  await done;
  if (timer) clearTimeout(timer);
  const st = await collector.close();
  await out.close();
  if (out.dropped > 0) process.stderr.write(`palisade trace: ${out.dropped} lines not printed (stdout did not keep up)\n`);
  if (args.stats || st.lost > 0) {
    process.stderr.write(`palisade trace: ${st.events.delivered} events, lost ${st.lost} (kernel ring full ${st.kernel.dropped}, user-space queue ${st.native.droppedRecords}, bad ${st.native.badRecords + st.decoder.badTotal}); filtered in the kernel ${st.kernel.filtered}; syscall programs attached as ${st.attach.mode}${st.attach.fallback ? ` (${st.attach.fallback})` : ''}\n`);
  }
  return 0;
}

/** Bytes that may wait in stdout's queue before further lines are dropped (and counted). */
const OUTPUT_BOUND = 8 << 20;

/** Batched, bounded writer of trace lines (see run()). */
class TraceOutput {
  private pending: string[] = [];
  private scheduled = false;
  dropped = 0;
  private failed = false;

  constructor(private readonly stream: NodeJS.WriteStream, onClosed: () => void) {
    stream.on('error', () => { this.failed = true; onClosed(); });
  }

  line(text: string): void {
    if (this.failed) return;
    if (this.stream.writableLength > OUTPUT_BOUND) { this.dropped++; return; }
    this.pending.push(text);
    if (!this.scheduled) { this.scheduled = true; setImmediate(() => this.flush()); }
  }

  private flush(): void {
    this.scheduled = false;
    if (this.pending.length === 0 || this.failed) return;
    const text = this.pending.join('\n') + '\n';
    this.pending = [];
    this.stream.write(text);
  }

  /** Writes what is pending; resolves once stdout has taken it (or failed). */
  close(): Promise<void> {
    this.flush();
    if (this.failed || this.stream.writableLength === 0) return Promise.resolve();
    return new Promise((resolve) => { this.stream.write('', () => resolve()); });
  }
}
