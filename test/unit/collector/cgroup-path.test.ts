// Container resolution from cgroup v2 paths for each runtime and cgroup driver.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseCgroupPath } from '../../../collector/containers.js';

const ID = 'a'.repeat(40) + '0123456789abcdef01234567';
const POD = '0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b';

describe('parseCgroupPath', () => {
  const cases: Array<[string, string, ReturnType<typeof parseCgroupPath>]> = [
    ['podman (cgroupfs)', `/libpod_parent/libpod-${ID}`, { id: ID, runtime: 'libpod' }],
    ['podman (systemd)', `/machine.slice/libpod-${ID}.scope`, { id: ID, runtime: 'libpod' }],
    ['podman nested', `/machine.slice/libpod-${ID}.scope/container`, { id: ID, runtime: 'libpod' }],
    ['podman conmon is host', `/machine.slice/libpod-conmon-${ID}.scope`, undefined],
    ['docker (cgroupfs)', `/docker/${ID}`, { id: ID, runtime: 'docker' }],
    ['docker (systemd)', `/system.slice/docker-${ID}.scope`, { id: ID, runtime: 'docker' }],
    ['containerd CRI (systemd)', `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${POD.replace(/-/g, '_')}.slice/cri-containerd-${ID}.scope`, { id: ID, runtime: 'containerd', podUid: POD }],
    ['containerd CRI (cgroupfs)', `/kubepods/burstable/pod${POD}/${ID}`, { id: ID, runtime: 'containerd', podUid: POD }],
    ['cri-o (systemd)', `/kubepods.slice/kubepods-pod${POD.replace(/-/g, '_')}.slice/crio-${ID}.scope`, { id: ID, runtime: 'crio', podUid: POD }],
    ['cri-o conmon is host', `/kubepods.slice/kubepods-pod${POD.replace(/-/g, '_')}.slice/crio-conmon-${ID}.scope`, undefined],
    ['containerd default namespace', `/default/${ID}`, { id: ID, runtime: 'containerd' }],
    ['host: root', '/', undefined],
    ['host: a systemd service', '/system.slice/ssh.service', undefined],
    ['host: short hex is not an id', '/docker/abc123', undefined],
  ];
  for (const [name, path, want] of cases) {
    it(name, () => assert.deepEqual(parseCgroupPath(path), want));
  }
});
