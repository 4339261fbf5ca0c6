// `palisade probe`: what this kernel allows, tried for real (BPF program types loaded and
// attached, ring buffer, tracepoints, fanotify permission events) plus file checks.
import { existsSync, readFileSync } from 'node:fs';
import { release } from 'node:os';
import { parseArgs } from 'node:util';
import { bpfObjectPath, loadNative } from '../../collector/native/index.js';

export const summary = 'report what this kernel allows (BTF, BPF program types, ring buffer, fanotify)';

const HELP = `usage: palisade probe [--json]

Loads one do-nothing BPF program of each type (raw tracepoint, tracepoint, BTF tracepoint, kprobe, fentry,
LSM, cgroup socket) and reports whether it loads and attaches; checks BTF, the ring buffer,
tracefs, kprobe support, the active LSMs and fanotify permission events, and says how the
collector's syscall programs would attach (tp_btf, or the raw_tracepoint fallback). Needs root.
`;

function readOr(path: string, fallback: string): string {
  try { return readFileSync(path, 'utf8').trim(); } catch { return fallback; }
}

export type ProbeReport = {
  kernel: string;
  btf: boolean;
  tracefs: boolean;
  syscallTracepoints: boolean;
  kprobeEvents: boolean;
  lsms: string[];
  bpfLsmActive: boolean;
  programs: Record<string, { load: string; attach: string }>;
  fanotify: { init: string; permissionMark: string };
  /** how the collector's syscall programs would attach here: tp_btf when that program type
   * loads and attaches, else its raw_tracepoint build (collector attachMode 'auto') */
  collectorAttach: 'tp_btf' | 'raw_tracepoint' | 'none';
  error?: string;
};

export function probeKernel(): ProbeReport {
  const tracefs = ['/sys/kernel/tracing', '/sys/kernel/debug/tracing'].find((d) => existsSync(`${d}/events`));
  const lsms = readOr('/sys/kernel/security/lsm', '').split(',').filter(Boolean);
  const report: ProbeReport = {
    kernel: release(),
    btf: existsSync('/sys/kernel/btf/vmlinux'),
    tracefs: tracefs !== undefined,
    syscallTracepoints: tracefs !== undefined && existsSync(`${tracefs}/events/syscalls/sys_enter_openat`),
    kprobeEvents: (tracefs !== undefined && existsSync(`${tracefs}/kprobe_events`)) || existsSync('/sys/bus/event_source/devices/kprobe'),
    lsms,
    bpfLsmActive: lsms.includes('bpf'),
    programs: {},
    fanotify: { init: 'not probed', permissionMark: 'not probed' },
    collectorAttach: 'none',
  };
  try {
    const native = loadNative();
    const r = native.probe(bpfObjectPath('probe.bpf.o'));
    report.programs = { ...r.programs };
    report.fanotify = { ...r.fanotify };
    const works = (k: string): boolean => r.programs[k]?.load === 'ok' && r.programs[k]?.attach === 'ok';
    report.collectorAttach = works('tp_btf') ? 'tp_btf' : works('raw_tracepoint') ? 'raw_tracepoint' : 'none';
  } catch (err) {
    report.error = (err as Error).message;
  }
  return report;
}

export async function run(argv: string[]): Promise<number> {
  let values;
  try {
    values = parseArgs({ args: argv, options: { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } }).values;
  } catch (err) {
    process.stderr.write(`palisade probe: ${(err as Error).message}\n${HELP}`);
    return 2;
  }
  if (values.help) { process.stdout.write(HELP); return 0; }
  const r = probeKernel();
  if (values.json) {
    process.stdout.write(JSON.stringify(r, null, 2) + '\n');
    return r.error ? 1 : 0;
  }
  const yes = (b: boolean): string => (b ? 'yes' : 'no');
  const lines = [
    `kernel              ${r.kernel}`,
    `BTF                 ${yes(r.btf)}`,
    `tracefs             ${yes(r.tracefs)} (syscall tracepoints: ${yes(r.syscallTracepoints)})`,
    `kprobes configured  ${yes(r.kprobeEvents)}`,
    `active LSMs         ${r.lsms.join(',') || 'unknown'} (BPF LSM active: ${yes(r.bpfLsmActive)})`,
    'BPF programs        load / attach',
    ...Object.entries(r.programs).map(([k, v]) => `  ${k.padEnd(18)}${v.load} / ${v.attach}`),
    `fanotify            init ${r.fanotify.init}, permission mark ${r.fanotify.permissionMark}`,
    `collector syscalls  ${r.collectorAttach === 'none' ? 'cannot attach' : `attach as ${r.collectorAttach}`}`,
  ];
  if (r.error) lines.push(`error               ${r.error}`);
  process.stdout.write(lines.join('\n') + '\n');
  return r.error ? 1 : 0;
}
