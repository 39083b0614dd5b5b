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
 * command line; they cannot be set once the heap exists). Figures in bridge/README.md
 * ("Performance and memory"), from npm run bench.
 *  --max-old-space-size=24  keeps V8 from letting garbage pile up: the live JavaScript
 *      heap is 7-9 MB, and a 100,000-reading burst still runs under a 12 MB cap, since
 *      batches in flight are Buffers, which live outside it.
 *  --single-threaded  V8's garbage collection and compilers on the main thread: their
 *      helper threads and the malloc arenas those threads get cost about 5 MB resident,
 *      and at this heap size the work they would take off the main thread is small.
 *  --expose-gc  for collectStartupGarbage() below, once, after start-up.
 */
export const SERVICE_NODE_FLAGS: readonly string[] = ['--max-old-space-size=24', '--single-threaded', '--expose-gc'];

/**
 * Environment for the service's node (the systemd unit's Environment= lines; the benches
 * pass the same and test/deploy/systemd.test.ts holds the unit to it). Empty on purpose,
 * measured: pinning glibc's MALLOC_MMAP_THRESHOLD_ and MALLOC_TRIM_THRESHOLD_ at 128 KiB
 * (glibc otherwise raises both each time a large block is freed, and big Buffers then
 * stay resident in the main heap) saved about 4 MB resident at 50 readings/s, but in
 * npm run bench -- bridge it took the service's burst from 1.18x plain node's rate to
 * 0.84x and its steady stream from 0.74x to 0.45x (every large Buffer mapped and
 * unmapped on its own). bridge/README.md, "Performance and memory".
 */
export const SERVICE_ENV: Readonly<Record<string, string>> = {};

/**
 * Once start-up is over, one full collection: reading and checking the configuration and
 * starting the features leave a few MB of dead objects spread over old-space pages, and
 * V8 keeps those pages resident until its memory reducer happens to run (on a process
 * that reads a frame every second, often not for many minutes). By then the sinks have
 * connected and announced themselves. Needs gc() (--expose-gc, in SERVICE_NODE_FLAGS);
 * a bridge without it (inside a test process) is left alone.
 */
export const STARTUP_GC_DELAY_MS = 5000;

export function collectStartupGarbage(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (typeof gc === 'function') gc();
}

let applied = false;

export function applyHeapPolicy(): void {
  if (applied) return;
  applied = true;
  for (const f of V8_FLAGS) v8.setFlagsFromString(f);
}

applyHeapPolicy();
