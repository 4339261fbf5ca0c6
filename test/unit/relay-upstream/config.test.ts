import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  defaultUpstreamConfig, defaultUpstreamSection, parseAddressList, parseLabelSelector, splitAddresses, upstreamConfigOf, validateUpstreamConfig, type UpstreamConfig,
} from '../../../relay/upstream/config.js';

const errorsOf = (over: Partial<UpstreamConfig>): string[] => {
  const r = validateUpstreamConfig({ ...defaultUpstreamConfig(), ...over });
  return r.ok ? [] : r.errors;
};

describe('relay/upstream config', () => {
  it('defaults pull from nothing, use KubeArmor\'s agent label and port, and are valid', () => {
    const d = defaultUpstreamConfig();
    assert.deepEqual(d.addresses, []);
    assert.equal(d.discovery.enabled, false);
    assert.equal(d.discovery.labelSelector, 'kubearmor-app=kubearmor');
    assert.equal(d.discovery.port, 32767);
    assert.deepEqual(validateUpstreamConfig(d), { ok: true, value: d });
  });

  it('names the bad address by index and refuses duplicates', () => {
    assert.deepEqual(errorsOf({ addresses: ['10.0.0.1:32767', 'nohost', '[fd00::1]:32767', '10.0.0.1:32767'] }), [
      'upstream.addresses[1]: expected host:port (e.g. 10.0.0.5:32767 or [fd00::5]:32767), got "nohost"',
      'upstream.addresses[3]: 10.0.0.1:32767 is listed twice',
    ]);
  });

  it('checks ranges, filters, streams, back-off order and TLS consistency', () => {
    const errs = errorsOf({
      maxBatch: 0, backoffInitialMs: 1000, backoffMaxMs: 10, alertFilter: 'system' as 'all', logs: true,
      tls: { enabled: false, caFile: '/ca.pem', certFile: '/c.pem', keyFile: '', serverName: '' },
    });
    assert.deepEqual(errs, [
      'upstream.maxBatch: must be an integer between 1 and 100000, got 0',
      'upstream.backoffMaxMs: must be >= backoffInitialMs (1000), got 10',
      'upstream.alertFilter: expected "all" or "policy", got "system"',
      'upstream.tls.certFile/upstream.tls.keyFile: set both the client certificate and its key, or neither',
      'upstream.tls: files or serverName given but upstream.tls.enabled is false',
    ]);
    assert.deepEqual(errorsOf({ alerts: false, logs: false, messages: false }), ['upstream.alerts/logs/messages: at least one stream must be pulled']);
  });

  it('refuses discovery with an empty or malformed selector, or a bad port', () => {
    const d = defaultUpstreamConfig().discovery;
    assert.deepEqual(errorsOf({ discovery: { ...d, enabled: true, labelSelector: '' } }), [
      'upstream.discovery.labelSelector: must not be empty when discovery is enabled (it would pull from every pod); KubeArmor\'s is kubearmor-app=kubearmor',
    ]);
    assert.deepEqual(errorsOf({ discovery: { ...d, labelSelector: 'app in (a,b)', port: 0 } }), [
      'upstream.discovery.port: must be a port 1-65535, got 0',
      'upstream.discovery.labelSelector: expected equality terms "key=value[,key=value]", got "app in (a,b)"',
    ]);
  });

  it('parses equality selectors and repeated/comma-separated address lists', () => {
    assert.deepEqual(parseLabelSelector('kubearmor-app=kubearmor, tier==agent'), { 'kubearmor-app': 'kubearmor', tier: 'agent' });
    assert.deepEqual(parseLabelSelector('app.kubernetes.io/name=kubearmor'), { 'app.kubernetes.io/name': 'kubearmor' });
    assert.equal(parseLabelSelector('!app'), undefined);
    assert.deepEqual(splitAddresses(['a:1', 'b:2, c:3', ' ', '']), ['a:1', 'b:2', 'c:3']);
  });
});

describe('relay/upstream config section (flat leaves of the relay config)', () => {
  it('maps the section onto the full config, other options at their defaults', () => {
    const d = defaultUpstreamSection();
    assert.deepEqual(upstreamConfigOf(d), defaultUpstreamConfig());
    const c = upstreamConfigOf({ ...d, addresses: ['10.0.0.1:32767,10.0.0.2:32767'], discovery: true, discoveryNamespace: 'kubearmor', discoveryPort: 1234, logs: false, tls: true, tlsCaFile: '/ca' });
    assert.deepEqual(c.addresses, ['10.0.0.1:32767', '10.0.0.2:32767']);
    assert.deepEqual(c.discovery, { ...defaultUpstreamConfig().discovery, enabled: true, namespace: 'kubearmor', port: 1234 });
    assert.equal(c.logs, false);
    assert.deepEqual(c.tls, { enabled: true, caFile: '/ca', certFile: '', keyFile: '', serverName: '' });
    assert.equal(c.healthCheckIntervalMs, defaultUpstreamConfig().healthCheckIntervalMs);
  });
});

describe('relay/upstream address lists from any source', () => {
  it('accepts a list, a comma-separated string, and repeated values; names the bad ones', () => {
    assert.deepEqual(parseAddressList(['10.0.0.1:32767', '10.0.0.2:32767,[fd00::1]:32767']), { ok: true, value: ['10.0.0.1:32767', '10.0.0.2:32767', '[fd00::1]:32767'] });
    assert.deepEqual(parseAddressList('a.example:1, b.example:2'), { ok: true, value: ['a.example:1', 'b.example:2'] });
    assert.deepEqual(parseAddressList(''), { ok: true, value: [] });
    assert.deepEqual(parseAddressList(['x', 'y:1', 'z:99999']), { ok: false, message: 'expected host:port (e.g. 10.0.0.5:32767), got "x", "z:99999"' });
    assert.deepEqual(parseAddressList(32767), { ok: false, message: 'expected host:port values (a list, or comma-separated), got 32767' });
  });
});
