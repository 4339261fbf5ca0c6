import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toFeederLog, updatedTime } from '../../../enforcer/agent/feeder-log.js';
import { openFlagsText, resultText } from '../../../enforcer/agent/linux-names.js';
import { ctx, execEvent, forkEvent, netEvent, openEvent, T0 } from './events.js';

test('file open: KubeArmor fields (blog example shape)', () => {
  const log = toFeederLog(openEvent('/etc/nginx/conf.d/default.conf'), ctx);
  assert.ok(log);
  assert.equal(log.Operation, 'File');
  assert.equal(log.Resource, '/etc/nginx/conf.d/default.conf');
  assert.equal(log.Data, 'syscall=SYS_OPENAT fd=-100 flags=O_RDONLY');
  assert.equal(log.Result, 'Passed');
  assert.equal(log.Type, 'HostLog');
  assert.equal(log.ProcessName, '/usr/bin/cat');
  assert.equal(log.ParentProcessName, '/bin/dash');
  assert.equal(log.Source, '/usr/bin/cat /etc/nginx/conf.d/default.conf');
  assert.equal(log.HostPID, 4242);
  assert.equal(log.HostPPID, 4200);
  assert.equal(log.PID, 4242);
  assert.equal(log.UID, 1000);
  assert.equal(log.HostName, 'node-a');
  assert.equal(log.ClusterName, '');
  assert.equal(log.Timestamp, BigInt(Math.floor(T0 / 1000)));
  assert.equal(log.UpdatedTime, '2026-11-29T12:00:00.123456Z');
  assert.equal(log.ExecEvent?.ExecutableName, 'cat');
});

test('failed open: errno text as Result; container events are ContainerLog with ns pids', () => {
  const log = toFeederLog(openEvent('/nope', {
    ret: -2, flags: 0o2101101, pid: 9000, nsPid: 7, nsPpid: 1, container: { id: 'abcdef0123456789', runtime: 'libpod' },
  }), ctx);
  assert.ok(log);
  assert.equal(log.Result, 'No such file or directory');
  assert.equal(log.Data, 'syscall=SYS_OPENAT fd=-100 flags=O_WRONLY|O_CREAT|O_TRUNC|O_LARGEFILE|O_CLOEXEC');
  assert.equal(log.Type, 'ContainerLog');
  assert.equal(log.ContainerID, 'abcdef0123456789');
  assert.equal(log.HostPID, 9000);
  assert.equal(log.PID, 7);
  assert.equal(log.PPID, 1);
  assert.equal(toFeederLog(openEvent('/x', { ret: -13 }), ctx)?.Result, 'Permission denied');
  assert.equal(toFeederLog(openEvent('/x', { ret: -1 }), ctx)?.Result, 'Operation not permitted');
  assert.equal(toFeederLog(openEvent('/x', { syscall: 2 }), ctx)?.Data, 'syscall=SYS_OPEN flags=O_RDONLY');
});

test('exec: Resource is path and args, Source and ParentProcessName the parent executable', () => {
  const log = toFeederLog(execEvent('/usr/bin/apt', ['apt', 'update'], { pid: 4300, ppid: 4200 }), ctx);
  assert.ok(log);
  assert.equal(log.Operation, 'Process');
  assert.equal(log.Resource, '/usr/bin/apt update');
  assert.equal(log.Data, 'syscall=SYS_EXECVE');
  assert.equal(log.ProcessName, '/usr/bin/apt');
  assert.equal(log.ParentProcessName, '/bin/dash');
  assert.equal(log.Source, '/bin/dash');
  assert.equal(log.Result, 'Passed');
  const t = toFeederLog(execEvent('/bin/true', ['/bin/true'], { syscall: 322 }), ctx);
  assert.equal(t?.Resource, '/bin/true');
  assert.equal(t?.Data, 'syscall=SYS_EXECVEAT');
  assert.equal(toFeederLog(execEvent('/x/y', ['y'], { ret: -2 }), ctx)?.Result, 'No such file or directory');
});

test('network: TCP peer as remoteip/port/protocol, other sockets in sockaddr form', () => {
  const c = toFeederLog(netEvent({ remote: { address: '127.0.0.1', port: 80 }, local: { address: '127.0.0.1', port: 40000 } }), ctx);
  assert.equal(c?.Operation, 'Network');
  assert.equal(c?.Resource, 'remoteip=127.0.0.1 port=80 protocol=TCP');
  assert.equal(c?.Data, 'syscall=SYS_CONNECT fd=5');
  const s = toFeederLog(netEvent({ op: 'socket', syscall: 41, protocol: 0, sockType: 1 }), ctx);
  assert.equal(s?.Resource, 'domain=AF_INET type=SOCK_STREAM protocol=0');
  assert.equal(s?.Data, 'syscall=SYS_SOCKET');
  const u = toFeederLog(netEvent({ op: 'connect', family: 'unix', protocol: 0, unixPath: '/run/x.sock' }), ctx);
  assert.equal(u?.Resource, 'sa_family=AF_UNIX sun_path=/run/x.sock');
  const b = toFeederLog(netEvent({ op: 'bind', syscall: 49, protocol: 17, sockType: 2, local: { address: '0.0.0.0', port: 53 } }), ctx);
  assert.equal(b?.Resource, 'sa_family=AF_INET sin_port=53 sin_addr=0.0.0.0');
  assert.equal(b?.Data, 'syscall=SYS_BIND fd=5');
  const ret = toFeederLog(netEvent({ ret: -111, remote: { address: '10.0.0.1', port: 81 } }), ctx);
  assert.equal(ret?.Result, 'Connection refused');
});

test('fork and exit give no log; names and texts', () => {
  assert.equal(toFeederLog(forkEvent(), ctx), undefined);
  assert.equal(openFlagsText(0o2), 'O_RDWR');
  assert.equal(openFlagsText(0o4010000), 'O_RDONLY|O_SYNC');
  assert.equal(resultText(-9999), 'Unknown (-9999)');
  assert.equal(updatedTime(0), '1970-01-01T00:00:00.000000Z');
});
