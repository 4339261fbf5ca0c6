// Capability checks from the real kernel through the agent's Log and audit path: a policy
// with capabilities.matchCapabilities (Audit, fromSource the test program) produces an alert
// for the program's CAP_NET_RAW check, with the Result the kernel gave (root: Passed; uid
// 65534 without capabilities: Operation not permitted), and none for another program.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { realpathSync } from 'node:fs';
import type { CapabilityEvent, CollectorEvent } from '../../../collector/events.js';
import { createAuditor } from '../../../enforcer/agent/audit.js';
import { toFeederLog, type LogContext } from '../../../enforcer/agent/feeder-log.js';
import { loadPolicySource } from '../../../enforcer/policy/load.js';
import { buildProg, enterTestCgroup, keyValues, record, type Recorder, type TestCgroup } from '../collector/harness.js';

const isCap = (ev: CollectorEvent): ev is CapabilityEvent => ev.kind === 'capability';

describe('agent: capability checks audited against matchCapabilities (real kernel)', () => {
  let rec: Recorder;
  let prog: string;
  let cg: TestCgroup;

  before(async () => {
    prog = realpathSync(buildProg('capcheck'));
    cg = enterTestCgroup('cap-audit');
    rec = await record({ classes: ['process', 'capability'], cgroups: { mode: 'only', ids: [cg.id] } });
  });
  after(async () => {
    await rec?.close();
    cg?.leave();
  });

  it('alerts with the policy, the capability and the kernel\'s result', async () => {
    const r = loadPolicySource(`
apiVersion: security.kubearmor.com/v1
kind: KubeArmorHostPolicy
metadata:
  name: audit-raw-sockets
spec:
  nodeSelector:
    matchLabels:
      kubernetes.io/os: linux
  severity: 4
  capabilities:
    matchCapabilities:
    - capability: net_raw
      fromSource:
      - path: ${prog}
  action: Audit
`, 'cap.yaml');
    assert.deepEqual(r.issues.filter((i) => i.severity === 'error'), []);
    const auditor = createAuditor({ policies: [...r.policies], nodeLabels: { 'kubernetes.io/os': 'linux' } });
    const ctx: LogContext = { hostName: 'node-a', processOf: (pid) => rec.collector.processes.get(pid) };
    const runs = [
      { out: spawnSync(prog, ['raw'], { encoding: 'utf8' }), result: 'Passed' },
      { out: spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', prog, 'raw'], { encoding: 'utf8' }), result: 'Operation not permitted' },
    ];
    for (const { out, result } of runs) {
      assert.equal(out.status, 0, out.stderr);
      const pid = Number(keyValues(out.stdout).pid);
      const ev = await rec.waitFor(`CAP_NET_RAW check of ${pid}`, (e): e is CapabilityEvent => isCap(e) && e.pid === pid && e.cap === 13);
      const log = toFeederLog(ev, ctx);
      assert.ok(log);
      assert.equal(log.Operation, 'Capabilities');
      assert.equal(log.Resource, 'CAP_NET_RAW');
      assert.equal(log.ProcessName, prog, 'the executable, from the process table');
      const alert = auditor.audit(ev, log);
      assert.ok(alert, `an alert for ${pid}`);
      assert.equal(alert.PolicyName, 'audit-raw-sockets');
      assert.equal(alert.Severity, '4');
      assert.equal(alert.Action, 'Audit');
      assert.equal(alert.Operation, 'Capabilities');
      assert.equal(alert.Resource, 'CAP_NET_RAW');
      assert.equal(alert.Result, result);
      assert.equal(alert.HostPID, pid);
    }
    // setpriv's own checks (CAP_SETUID...) and other capabilities do not match the rule
    const others = rec.events.filter((e): e is CapabilityEvent => isCap(e) && e.cap !== 13);
    assert.ok(others.length > 0, 'other capability checks were seen');
    for (const ev of others) {
      const log = toFeederLog(ev, ctx);
      assert.ok(log);
      assert.equal(auditor.audit(ev, log), undefined, `${ev.capName} of ${ev.comm} matched no rule`);
    }
  });
});
