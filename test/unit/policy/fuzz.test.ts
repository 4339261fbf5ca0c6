// Fuzz: >= 100,000 generated and mutated policy documents (fuzz-chunk.ts) through parse ->
// validate -> compile -> decide, split over worker threads. No input may throw, hang (hard
// timeout) or produce a malformed issue. PALISADE_FUZZ_COUNT (default 100000),
// PALISADE_FUZZ_SEED and PALISADE_FUZZ_WORKERS (default 2) make runs configurable and reproducible.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import type { FuzzResult } from './fuzz-chunk.js';

const COUNT = Number(process.env.PALISADE_FUZZ_COUNT ?? 100_000);
const SEED = Number(process.env.PALISADE_FUZZ_SEED ?? 20261129);
const WORKERS = Math.max(1, Number(process.env.PALISADE_FUZZ_WORKERS ?? 2));

function runWorker(seed: number, count: number): Promise<FuzzResult> {
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL('./fuzz-boot.mjs', import.meta.url), {
      workerData: { entry: new URL('./fuzz-chunk.ts', import.meta.url).href, seed, count },
    });
    w.once('message', (m: FuzzResult) => { resolve(m); void w.terminate(); });
    w.once('error', reject);
    w.once('exit', (code) => { if (code !== 0) reject(new Error(`fuzz worker exited with ${code}`)); });
  });
}

test(`fuzz: ${COUNT} generated and mutated documents never crash and only yield well-formed issues`, { timeout: 600_000 }, async () => {
  const per = Math.ceil(COUNT / WORKERS);
  const results = await Promise.all(Array.from({ length: WORKERS }, (_, i) => runWorker(SEED + i * 7919, Math.min(per, COUNT - i * per))));
  for (const r of results) assert.equal(r.failure, undefined, r.failure);
  const total = results.reduce((a, r) => a + r.count, 0);
  const valid = results.reduce((a, r) => a + r.valid, 0);
  const invalid = results.reduce((a, r) => a + r.invalid, 0);
  assert.equal(total, COUNT);
  // the generator must exercise both outcomes, or the fuzz proves little
  assert.ok(valid > COUNT / 20, `only ${valid} of ${COUNT} inputs produced a policy`);
  assert.ok(invalid > COUNT / 10, `only ${invalid} of ${COUNT} inputs were rejected`);
  const slow = results.reduce((a, r) => (r.slowestMs > a.slowestMs ? r : a));
  process.stdout.write(`# fuzz: ${total} inputs in ${WORKERS} workers, ${valid} with policies, ${invalid} with errors; slowest ${slow.slowestMs.toFixed(1)} ms: ${JSON.stringify(slow.slowestInput)}\n`);
});
