// `palisade trace --class capability`: a raw socket's CAP_NET_RAW check as a JSON line
// (cap, capName, result, userns, syscall) and as a table row; the class name is checked.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { buildProg, keyValues } from './harness.js';

const CLI = ['--import', 'tsx', 'cli/main.ts'];

/** runs `palisade trace <args>`, triggers capcheck until a line for one of its pids matches
 * (bounded: 100 tries, 200 ms apart), then stops trace with SIGINT */
async function traceUntil(args: string[], match: (line: string, pids: Set<number>) => boolean): Promise<{ line?: string; code: number | null; stderr: string }> {
  const prog = buildProg('capcheck');
  const child = spawn(process.execPath, [...CLI, 'trace', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  const pids = new Set<number>();
  let found: string | undefined;
  const seen = new Promise<void>((resolve) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (!found && match(line, pids)) { found = line; resolve(); }
    });
  });
  for (let i = 0; i < 100 && !found; i++) {
    const r = spawnSync(prog, ['raw'], { encoding: 'utf8' });
    pids.add(Number(keyValues(r.stdout).pid));
    await Promise.race([seen, new Promise((r2) => setTimeout(r2, 200))]);
  }
  child.kill('SIGINT');
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  return { ...(found !== undefined ? { line: found } : {}), code, stderr };
}

describe('palisade trace --class capability', () => {
  it('prints a capability check as JSON', async () => {
    const r = await traceUntil(['--json', '--class', 'capability'], (line, pids) => {
      const ev = JSON.parse(line) as { pid: number; cap: number };
      return pids.has(ev.pid) && ev.cap === 13;
    });
    assert.ok(r.line, `trace printed capcheck's CAP_NET_RAW check; stderr: ${r.stderr}`);
    const ev = JSON.parse(r.line) as Record<string, unknown>;
    assert.equal(ev.class, 'capability');
    assert.equal(ev.kind, 'capability');
    assert.equal(ev.capName, 'CAP_NET_RAW');
    assert.equal(ev.result, 0);
    assert.equal(ev.comm, 'capcheck');
    assert.equal(ev.ownUserns, true);
    assert.equal(typeof ev.targetUserns, 'number');
    assert.equal(typeof ev.suppressed, 'number');
    assert.equal(r.code, 0, r.stderr);
  });

  it('prints a capability check as a table row', async () => {
    const r = await traceUntil(['--table', '--class', 'capability'], (line, pids) => {
      const cols = line.trim().split(/\s+/);
      return pids.has(Number(cols[2])) && line.includes('CAP_NET_RAW');
    });
    assert.ok(r.line, `trace printed the row; stderr: ${r.stderr}`);
    assert.match(r.line, /capcheck\s+cap\s+0\s+CAP_NET_RAW/);
    assert.equal(r.code, 0, r.stderr);
  });

  it('names the class list when a class is unknown', () => {
    const r = spawnSync(process.execPath, [...CLI, 'trace', '--class', 'capabilities'], { encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--class: unknown class 'capabilities' \(one of process, file, network, syscall, capability\)/);
  });
});
