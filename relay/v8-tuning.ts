// V8 settings `palisade relay` applies at start-up, before the relay's code runs hot
// (cli/commands/relay.ts; bench/relay runs the relay through the same command).
// `palisade up` (relay and agent in one process) does not apply them: not measured there.
//
// Allocation-site pretenuring off. V8 watches, per object or array literal site, how
// many of its objects survive a young-generation GC; past ~85 % it allocates that
// site's objects straight in the old generation from then on. In the relay, a batch's
// objects (decoded alerts, spool records, acks) live from arrival until the spool's
// group write is durable and the hub has taken them: tens of ms, but hundreds while
// the relay catches up after a start or a burst. Sites decided in such a moment stay
// pretenured, and the short-lived objects they make then fill the old generation:
// measured at 20k events/s with the spool on (bench/relay --only 20k, --trace-gc,
// 2026-11-30), the old generation grew 1.8-2.3 MB/s with pretenuring (20 sites tenured;
// in some runs a mark-compact every 0.3-2 s of the measured window, each with a 20-60 ms
// event-loop stall around it that set the end-to-end p99) and 0.74-0.77 MB/s without (a
// mark-compact every ~15 s). Interleaved pairs, p99 with / without: 212 / 44, 96 / 103,
// 78 / 42, 312 / 49 ms.
// PALISADE_V8_PRETENURING=on keeps V8's default (for comparison).
//
// Old-generation growth factor fixed at 2 (--heap-growing-percent=100). After each
// mark-compact V8 sets the next old-generation limit from the live size times a factor
// it derives from GC and mutator speed. In the relay at 20k events/s that factor came out
// near its minimum in about half of the runs: ~48 MB live, limit ~71 MB, 23-28 MB of
// slack, which V8 treats as too little next to the young generation, so it started the
// next incremental marking at once after every mark-compact: a mark-compact every
// ~200 ms (7-15 in an 8 s window, GC 16-25 ms/s, end-to-end p99 15-24 ms, 29-52 ms with
// a one-core CPU hog beside it), and none in the other runs (p99 7-12 ms). Measured
// with --trace-gc --trace-incremental-marking (bench/relay --spool on --only 20k,
// 2026-12-01): with the factor fixed at 2 the limit is ~90-110 MB and three runs out of
// three had no mark-compact in the window (5 in the whole run, all at start-up), GC
// 7.0-7.6 ms/s, p99 7.3-9.2 ms; 1.5 still restarted marking at times (limit 87 MB);
// --max-semi-space-size=8 instead (smaller young generation) kept 3 mark-compacts per
// window. RSS: 229-232 MiB at 20k (223 before); at overload 280 MiB (290 before, same hour).
// The cost: the old generation may grow to about twice its live size (plus the young
// generation) before a mark-compact, where V8's own factor allows 1.1-4x; a relay whose
// informer caches hold much (tens of thousands of pods) uses that much more memory.
// PALISADE_V8_HEAP_GROWING=default keeps V8's dynamic factor.
import { setFlagsFromString } from 'node:v8';

/** Applies the relay's V8 settings (harmless if called again); returns the flags it set. */
export function applyRelayV8Tuning(env: NodeJS.ProcessEnv = process.env): string[] {
  const flags: string[] = [];
  if (env['PALISADE_V8_PRETENURING'] !== 'on') flags.push('--no-allocation-site-pretenuring');
  if (env['PALISADE_V8_HEAP_GROWING'] !== 'default') flags.push('--heap-growing-percent=100');
  for (const f of flags) setFlagsFromString(f);
  return flags;
}
