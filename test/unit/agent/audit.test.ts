import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createAuditor, MONITOR_ENFORCER } from '../../../enforcer/agent/audit.js';
import { toFeederLog } from '../../../enforcer/agent/feeder-log.js';
import { loadPolicySource } from '../../../enforcer/policy/load.js';
import type { Policy } from '../../../enforcer/policy/types.js';
import type { CollectorEvent } from '../../../collector/events.js';
import { ctx, execEvent, netEvent, openEvent } from './events.js';

function policies(yaml: string): Policy[] {
  const r = loadPolicySource(yaml, 'test.yaml');
  assert.deepEqual(r.issues.filter((i) => i.severity === 'error'), []);
  return [...r.policies];
}

const HOST = { 'kubernetes.io/hostname': 'node-a', 'kubernetes.io/os': 'linux' };

const AUDIT_NGINX = `
apiVersion: security.kubearmor.com/v1
kind: KubeArmorHostPolicy
metadata:
  name: audit-etc-nginx-access
spec:
  nodeSelector:
    matchLabels:
      kubernetes.io/os: linux
  severity: 3
  tags: [PCI, config]
  message: nginx config read
  file:
    matchDirectories:
    - dir: /etc/nginx/
      recursive: true
  action: Audit
---
apiVersion: security.kubearmor.com/v1
kind: KubeArmorHostPolicy
metadata:
  name: block-apt
spec:
  nodeSelector:
    matchLabels:
      kubernetes.io/hostname: node-a
  process:
    matchPaths:
    - path: /usr/bin/apt
  action: Block
---
apiVersion: security.kubearmor.com/v1
kind: KubeArmorHostPolicy
metadata:
  name: other-node
spec:
  nodeSelector:
    matchLabels:
      kubernetes.io/hostname: node-b
  file:
    matchPaths:
    - path: /etc/hosts
  action: Block
`;

const alertFor = (a: ReturnType<typeof createAuditor>, ev: CollectorEvent) => {
  const log = toFeederLog(ev, ctx);
  assert.ok(log);
  return a.audit(ev, log);
};

test('an audited file open becomes a MatchedHostPolicy alert with the log fields', () => {
  const a = createAuditor({ policies: policies(AUDIT_NGINX), nodeLabels: HOST });
  const alert = alertFor(a, openEvent('/etc/nginx/conf.d/default.conf'));
  assert.ok(alert);
  assert.equal(alert.PolicyName, 'audit-etc-nginx-access');
  assert.equal(alert.Type, 'MatchedHostPolicy');
  assert.equal(alert.Severity, '3');
  assert.equal(alert.Tags, 'PCI,config');
  assert.deepEqual(alert.ATags, ['PCI', 'config']);
  assert.equal(alert.Message, 'nginx config read');
  assert.equal(alert.Action, 'Audit');
  assert.equal(alert.Enforcer, MONITOR_ENFORCER);
  assert.equal(alert.Result, 'Passed');
  assert.equal(alert.Operation, 'File');
  assert.equal(alert.Resource, '/etc/nginx/conf.d/default.conf');
  assert.equal(alert.Data, 'syscall=SYS_OPENAT fd=-100 flags=O_RDONLY');
  assert.equal(alert.ProcessName, '/usr/bin/cat');
  assert.equal(alert.HostPID, 4242);
  // outside the directory: no alert
  assert.equal(alertFor(a, openEvent('/etc/passwd')), undefined);
  // a policy for another node does not apply
  assert.equal(alertFor(a, openEvent('/etc/hosts')), undefined);
});

test('a Block rule is reported with Action Block but the Result that really happened', () => {
  const a = createAuditor({ policies: policies(AUDIT_NGINX), nodeLabels: HOST });
  const ok = alertFor(a, execEvent('/usr/bin/apt', ['apt', 'update']));
  assert.ok(ok);
  assert.equal(ok.PolicyName, 'block-apt');
  assert.equal(ok.Action, 'Block');
  assert.equal(ok.Result, 'Passed'); // nothing blocked it: no enforcement backend
  assert.equal(ok.Operation, 'Process');
  assert.equal(ok.Resource, '/usr/bin/apt update');
  assert.equal(ok.Source, '/bin/dash');
  const failed = alertFor(a, execEvent('/usr/bin/apt', ['apt'], { ret: -13 }));
  assert.equal(failed?.Result, 'Permission denied');
});

test('containers are not host workloads; least-permissive posture (fromSource); network at socket creation', () => {
  const p = policies(`
apiVersion: security.kubearmor.com/v1
kind: KubeArmorHostPolicy
metadata:
  name: only-tcp
spec:
  nodeSelector:
    matchLabels:
      kubernetes.io/os: linux
  network:
    matchProtocols:
    - protocol: tcp
      fromSource:
      - path: /usr/bin/curl
  action: Allow
`);
  const a = createAuditor({ policies: p, nodeLabels: HOST });
  assert.equal(alertFor(a, netEvent({ op: 'socket', syscall: 41, sockType: 1, protocol: 0 })), undefined);
  const udp = alertFor(a, netEvent({ op: 'socket', syscall: 41, sockType: 2, protocol: 0 }));
  assert.equal(udp?.Type, 'DefaultPosture');
  assert.equal(udp?.PolicyName, 'DefaultPosture');
  assert.equal(udp?.Action, 'Audit');
  assert.equal(udp?.Operation, 'Network');
  // connect is visibility only, never matched against protocols
  assert.equal(alertFor(a, netEvent({ op: 'connect', sockType: 2, protocol: 17, remote: { address: '10.0.0.1', port: 53 } })), undefined);
  // a container event: host policies do not select it
  assert.equal(alertFor(a, netEvent({ op: 'socket', syscall: 41, sockType: 2, protocol: 0, container: { id: 'c0ffee', runtime: 'libpod' } })), undefined);
  assert.equal(a.stats().alerts, 1);
});

test('readOnly: a write open violates it, a read passes', () => {
  const a = createAuditor({
    nodeLabels: HOST,
    policies: policies(`
apiVersion: security.kubearmor.com/v1
kind: KubeArmorHostPolicy
metadata:
  name: ro-etc
spec:
  nodeSelector:
    matchLabels:
      kubernetes.io/os: linux
  file:
    matchDirectories:
    - dir: /srv/data/
      readOnly: true
  action: Block
`),
  });
  assert.equal(alertFor(a, openEvent('/srv/data/x')), undefined);
  const w = alertFor(a, openEvent('/srv/data/x', { flags: 0o1 }));
  assert.equal(w?.PolicyName, 'ro-etc');
  assert.equal(w?.Action, 'Block');
});
