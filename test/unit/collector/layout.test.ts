// The TS record offsets (collector/layout.ts) equal the C header's (offsetof through the addon).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadNative } from '../../../collector/native/index.js';
import { ABI_VERSION, CAP, EXEC, EXIT, FILE, FORK, HDR, NET, RECORD_MAX, SYSCALL } from '../../../collector/layout.js';

describe('record layout', () => {
  it('matches bpf/include/palisade_event.h', () => {
    const c = loadNative().layout();
    assert.deepEqual({
      abi: ABI_VERSION, hdr: HDR.size, 'hdr.ts_ns': HDR.tsNs, 'hdr.cgroup_id': HDR.cgroupId, 'hdr.start_ns': HDR.startNs,
      'hdr.pid': HDR.pid, 'hdr.ns_pid': HDR.nsPid, 'hdr.uid': HDR.uid, 'hdr.mnt_ns': HDR.mntNs, 'hdr.ret': HDR.ret,
      'hdr.syscall': HDR.syscall, 'hdr.comm': HDR.comm, exec: EXEC.size, 'exec.exe_ino': EXEC.exeIno, fork: FORK.size,
      exit: EXIT.size, file: FILE.size, 'file.fd': FILE.fd, 'file.uid': FILE.uid, net: NET.size, 'net.fd': NET.fd,
      'net.lport': NET.lport, 'net.laddr': NET.laddr, 'net.raddr': NET.raddr, syscall: SYSCALL.size, cap: CAP.size, 'cap.target_userns': CAP.targetUserns, 'cap.suppressed': CAP.suppressed, recordMax: RECORD_MAX,
    }, { ...c });
  });
});
