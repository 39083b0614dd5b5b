/**
 * V8 heap policy for a small, steady service (see README, "Performance and memory").
 *
 * Imported first by the bridge's entry (scripts/bridge.ts) so it takes effect before any
 * module is loaded: the young generation otherwise grows to 8 MB per semi-space while
 * mqtt.js, ajv and the config load, and V8 never shrinks it back on a busy process. Also
 * applied by Bridge.start() for bridges embedded in another process (tests).
 *
 *  --semi-space-growth-factor=1  the young generation stays at its initial size (1 MB
 *      per semi-space on 64-bit). The bridge's per-frame garbage dies within a frame, so
 *      a small nursery costs little; what outlives it is the data of batches in flight.
 *  --heap-growing-percent=20     a full GC once the old generation has grown 20 % past
 *      what was live, instead of V8's default of up to 4x.
 * Both take effect at run time, so the service unit, `npm run bridge` and the benchmark
 * run with them alike without extra node flags.
 */
import v8 from 'node:v8';

export const V8_FLAGS: readonly string[] = ['--semi-space-growth-factor=1', '--heap-growing-percent=20'];

/**
 * Node flags for the service (bridge/systemd/solar-bridge.service puts them on node's
 * command line; they cannot be set once the heap exists). --single-threaded runs V8's
 * garbage collection and optimising compiler on the main thread: their helper threads
 * and the malloc arenas those threads get cost about 5 MB resident, and at this heap size
 * the work they would take off the main thread is small. The old-space cap keeps V8 from
 * letting garbage pile up: the live JavaScript heap is 7-8 MB idle, and a 100,000-reading
 * burst still runs under a 12 MB cap, since batches in flight are Buffers, which live
 * outside it.
 * Figures in bridge/README.md ("Performance and memory"), from npm run bench.
 */
export const SERVICE_NODE_FLAGS: readonly string[] = ['--max-old-space-size=24', '--single-threaded'];

let applied = false;

export function applyHeapPolicy(): void {
  if (applied) return;
  applied = true;
  for (const f of V8_FLAGS) v8.setFlagsFromString(f);
}

applyHeapPolicy();
