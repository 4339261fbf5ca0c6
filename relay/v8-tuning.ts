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
import { setFlagsFromString } from 'node:v8';

/** Applies the relay's V8 settings (harmless if called again); returns the flags it set. */
export function applyRelayV8Tuning(env: NodeJS.ProcessEnv = process.env): string[] {
  if (env['PALISADE_V8_PRETENURING'] === 'on') return [];
  const flags = ['--no-allocation-site-pretenuring'];
  for (const f of flags) setFlagsFromString(f);
  return flags;
}
