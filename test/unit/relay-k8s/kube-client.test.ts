// Credential loading fails fast with messages naming what is missing and where.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultConfig } from '../../../relay/k8s/config.js';
import { loadKubeConfig } from '../../../relay/k8s/kube-client.js';
import { writeKubeconfig } from '../../support/k8s-api-server.js';

function tmp(): string {
  const root = process.env.PALISADE_TEST_TMP ?? '/tmp/palisade-test';
  mkdirSync(root, { recursive: true });
  return mkdtempSync(join(root, 'relay-k8s-unit-'));
}

describe('relay/k8s credential loading', () => {
  it('in-cluster outside a pod names the missing environment', () => {
    const r = loadKubeConfig({ ...defaultConfig(), mode: 'in-cluster' }, {});
    assert.equal(r.ok, false);
    assert.match(!r.ok ? r.error : '', /KUBERNETES_SERVICE_HOST\/KUBERNETES_SERVICE_PORT are not set/);
  });

  it('kubeconfig: a file is loaded; $KUBECONFIG is the fallback; unknown context and garbage are named', () => {
    const dir = tmp();
    try {
      const path = writeKubeconfig(join(dir, 'kc'), 'http://127.0.0.1:1', { token: 'x' });
      const ok = loadKubeConfig({ ...defaultConfig(), mode: 'kubeconfig', kubeconfigPath: path });
      assert.equal(ok.ok && ok.kubeConfig.getCurrentCluster()?.server, 'http://127.0.0.1:1');
      const viaEnv = loadKubeConfig({ ...defaultConfig(), mode: 'kubeconfig' }, { KUBECONFIG: `${path}:/other` });
      assert.equal(viaEnv.ok && viaEnv.source, path);
      const ctx = loadKubeConfig({ ...defaultConfig(), mode: 'kubeconfig', kubeconfigPath: path, context: 'prod' });
      assert.match(!ctx.ok ? ctx.error : '', /k8s\.context: context "prod" is not in .*\(has: palisade-test\)/);
      const bad = join(dir, 'bad');
      writeFileSync(bad, ': : not yaml [');
      const garbage = loadKubeConfig({ ...defaultConfig(), mode: 'kubeconfig', kubeconfigPath: bad });
      assert.match(!garbage.ok ? garbage.error : '', new RegExp(`^${bad}: `));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
