// Hand-built collector events for the agent's unit tests (the shapes collector/decode.ts yields).
import type { EventBase, ExecEvent, FileEvent, NetEvent, ForkEvent } from '../../../collector/events.js';
import type { ProcessView } from '../../../enforcer/agent/feeder-log.js';

export const T0 = Date.UTC(2026, 10, 29, 12, 0, 0) + 0.123456 * 1000; // 12:00:00.123456

function base(over: Partial<EventBase> = {}): Omit<EventBase, 'class'> {
  return {
    bootNs: 1000n, timestamp: T0, pid: 4242, tid: 4242, ppid: 4200, nsPid: 4242, nsTid: 4242, nsPpid: 4200,
    uid: 1000, gid: 1000, cgroupId: 77n, mntNs: 1, pidNs: 1, startNs: 5n, comm: 'cat', ret: 3, syscall: 257,
    truncated: false, exe: '/usr/bin/cat', container: undefined, ...over,
  };
}

export function openEvent(path: string, over: Partial<FileEvent> = {}): FileEvent {
  return { ...base(), class: 'file', kind: 'file', op: 'open', path, fd: -100, flags: 0, mode: 0, ...over };
}

export function execEvent(path: string, argv: string[], over: Partial<ExecEvent> = {}): ExecEvent {
  return {
    ...base({ comm: 'true', ret: 0, syscall: 59, exe: path }), class: 'process', kind: 'exec',
    filename: path, path, argv, exeInode: 12, ...over,
  };
}

export function netEvent(over: Partial<NetEvent>): NetEvent {
  return {
    ...base({ comm: 'curl', syscall: 42, ret: 0, exe: '/usr/bin/curl' }), class: 'network', kind: 'network',
    op: 'connect', family: 'inet', sockType: 1, protocol: 6, fd: 5, arg: 0, ...over,
  };
}

export function forkEvent(): ForkEvent {
  return { ...base({ syscall: -1, ret: 0 }), class: 'process', kind: 'fork', parentPid: 4200, parentTid: 4200 };
}

export const PROCS: Readonly<Record<number, ProcessView>> = {
  4242: { exe: '/usr/bin/cat', argv: ['cat', '/etc/nginx/conf.d/default.conf'], ppid: 4200 },
  4200: { exe: '/bin/dash', argv: ['sh'], ppid: 1 },
};

export const ctx = { hostName: 'node-a', processOf: (pid: number): ProcessView | undefined => PROCS[pid] };
