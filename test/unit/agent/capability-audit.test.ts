// Capability events in the agent: the KubeArmor Log (Operation Capabilities, Resource the
// capability as KubeArmor names it) and capabilities.matchCapabilities audit alerts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createAuditor, MONITOR_ENFORCER } from '../../../enforcer/agent/audit.js';
import { toFeederLog } from '../../../enforcer/agent/feeder-log.js';
import { loadPolicySource } from '../../../enforcer/policy/load.js';
import type { Policy } from '../../../enforcer/policy/types.js';
import type { CapabilityEvent } from '../../../collector/events.js';
import { capabilityName, capabilityNumber } from '../../../collector/capabilities.js';
import { ctx, T0 } from './events.js';

function policies(yaml: string): Policy[] {
  const r = loadPolicySource(yaml, 'test.yaml');
  assert.deepEqual(r.issues.filter((i) => i.severity === 'error'), []);
  return [...r.policies];
}

const HOST = { 'kubernetes.io/hostname': 'node-a', 'kubernetes.io/os': 'linux' };

function capEvent(cap: number, over: Partial<CapabilityEvent> = {}): CapabilityEvent {
  return {
    class: 'capability', kind: 'capability', bootNs: 1000n, timestamp: T0, pid: 4242, tid: 4242, ppid: 4200,
    nsPid: 4242, nsTid: 4242, nsPpid: 4200, uid: 0, gid: 0, cgroupId: 77n, mntNs: 1, pidNs: 1, startNs: 5n,
    comm: 'cat', ret: 0, syscall: 41, truncated: false, exe: '/usr/bin/cat', container: undefined,
    cap, capName: capabilityName(cap), targetUserns: 4026531837, capableUserns: 4026531837, ownUserns: true,
    realCred: false, suppressed: 0, ...over,
  };
}

const AUDIT_RAW = `
apiVersion: security.kubearmor.com/v1
kind: KubeArmorHostPolicy
metadata:
  name: audit-net-raw
spec:
  nodeSelector:
    matchLabels:
      kubernetes.io/os: linux
  severity: 5
  tags: [MITRE, T1040]
  message: raw socket capability used
  capabilities:
    matchCapabilities:
    - capability: net_raw
  action: Audit
`;

test('capability names: numbers to CAP_* and back', () => {
  assert.equal(capabilityName(13), 'CAP_NET_RAW');
  assert.equal(capabilityName(21), 'CAP_SYS_ADMIN');
  assert.equal(capabilityName(40), 'CAP_CHECKPOINT_RESTORE');
  assert.equal(capabilityName(63), 'CAP_63');
  assert.equal(capabilityNumber('net_raw'), 13);
  assert.equal(capabilityNumber('CAP_NET_RAW'), 13);
  assert.equal(capabilityNumber('cap_sys_admin'), 21);
  assert.equal(capabilityNumber('nope'), undefined);
});

test('a capability check becomes a KubeArmor Capabilities log', () => {
  const log = toFeederLog(capEvent(13), ctx);
  assert.ok(log);
  assert.equal(log.Operation, 'Capabilities');
  assert.equal(log.Resource, 'CAP_NET_RAW');
  assert.equal(log.Data, 'syscall=SYS_SOCKET');
  assert.equal(log.Result, 'Passed');
  assert.equal(log.Type, 'HostLog');
  assert.equal(log.ProcessName, '/usr/bin/cat');
  assert.equal(log.Source, '/usr/bin/cat /etc/nginx/conf.d/default.conf');
  assert.equal(log.HostPID, 4242);
  const refused = toFeederLog(capEvent(13, { ret: -1, uid: 65534, syscall: -1, suppressed: 7 }), ctx);
  assert.equal(refused?.Result, 'Operation not permitted');
  assert.equal(refused?.Data, 'repeats=7', 'no syscall when unknown; suppressed repeats named');
  assert.equal(refused?.UID, 65534);
});

test('matchCapabilities (Audit) alerts on the capability, with the log fields, and on nothing else', () => {
  const a = createAuditor({ policies: policies(AUDIT_RAW), nodeLabels: HOST });
  const ev = capEvent(13);
  const log = toFeederLog(ev, ctx);
  assert.ok(log);
  assert.deepEqual(a.operationOf(ev, log), { class: 'capabilities', capability: 'CAP_NET_RAW', source: '/usr/bin/cat' });
  const alert = a.audit(ev, log);
  assert.ok(alert);
  assert.equal(alert.PolicyName, 'audit-net-raw');
  assert.equal(alert.Type, 'MatchedHostPolicy');
  assert.equal(alert.Severity, '5');
  assert.equal(alert.Tags, 'MITRE,T1040');
  assert.equal(alert.Message, 'raw socket capability used');
  assert.equal(alert.Action, 'Audit');
  assert.equal(alert.Enforcer, MONITOR_ENFORCER);
  assert.equal(alert.Operation, 'Capabilities');
  assert.equal(alert.Resource, 'CAP_NET_RAW');
  assert.equal(alert.Data, 'syscall=SYS_SOCKET');
  assert.equal(alert.Result, 'Passed');
  assert.equal(alert.HostPID, 4242);
  assert.equal(alert.ProcessName, '/usr/bin/cat');
  // a refused check is still matched; its Result says what happened
  const refused = capEvent(13, { ret: -1 });
  assert.equal(a.audit(refused, toFeederLog(refused, ctx) ?? log)?.Result, 'Operation not permitted');
  // another capability: no alert
  const admin = capEvent(21);
  assert.equal(a.audit(admin, toFeederLog(admin, ctx) ?? log), undefined);
});

test('matchCapabilities with fromSource applies to that executable only', () => {
  const a = createAuditor({
    nodeLabels: HOST,
    policies: policies(`
apiVersion: security.kubearmor.com/v1
kind: KubeArmorHostPolicy
metadata:
  name: ping-raw
spec:
  nodeSelector:
    matchLabels:
      kubernetes.io/os: linux
  capabilities:
    matchCapabilities:
    - capability: net_raw
      fromSource:
      - path: /usr/bin/ping
  action: Block
`),
  });
  const fromCat = capEvent(13);
  assert.equal(a.audit(fromCat, toFeederLog(fromCat, ctx) ?? assert.fail()), undefined);
  const fromPing = capEvent(13, { exe: '/usr/bin/ping', pid: 77, ppid: 4242 });
  const alert = a.audit(fromPing, toFeederLog(fromPing, ctx) ?? assert.fail());
  assert.equal(alert?.PolicyName, 'ping-raw');
  assert.equal(alert?.Action, 'Block', 'the policy\'s action; nothing was blocked');
  assert.equal(alert?.Result, 'Passed');
});
