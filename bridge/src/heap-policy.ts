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
import { PerformanceObserver, constants, performance } from 'node:perf_hooks';
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
 * unmapped on its own). Instead the bundle's loader (scripts/bridge.ts, loaderSource)
 * avoids the one large block freed at start that raised them for the process's life.
 * bridge/README.md, "Performance and memory".
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

/**
 * Tells a busy spell (the young generation collected several times in a few seconds: a
 * burst, 50 readings a second, a sink catching up) from the trickle of one reading a second
 * (one young collection every 20 s or so), and says when a spell has ended. Pure: the
 * caller brings the collections and the clock.
 *
 * Why: in a busy spell V8 promotes what the batches in flight hold and grows the old
 * generation, and it runs a full collection only once that grew by 8 MB or so (its
 * minimum step; --heap-growing-percent only counts above it); afterwards those pages stay
 * resident while the trickle goes on. One full collection once the spell is over gives them
 * back (bridge/README.md, "Performance and memory").
 */
export class BusySpell {
  /** When the last few young collections outside a spell happened (at most minorsToBeBusy). */
  private readonly times: number[] = [];
  private busy = false;
  private sinceCheck = 0;

  /**
   * `minorsToBeBusy` young collections within `windowMs` start a spell (50 readings a second
   * makes about two a second; one a second, one in 20 s); a check interval with fewer than
   * `minorsWhenQuiet` ends it.
   */
  constructor(private readonly windowMs = 10_000, private readonly minorsToBeBusy = 8, private readonly minorsWhenQuiet = 2) {}

  /** A young collection at `nowMs`. True when it starts a spell (the caller then checks every interval). */
  minor(nowMs: number): boolean {
    this.sinceCheck++;
    if (this.busy) return false;
    this.times.push(nowMs);
    if (this.times.length > this.minorsToBeBusy) this.times.shift();
    if (this.times.length < this.minorsToBeBusy || nowMs - this.times[0] > this.windowMs) return false;
    this.busy = true;
    this.sinceCheck = 0;
    this.times.length = 0;
    return true;
  }

  /** A check interval of a spell has passed: 'busy' while it goes on, then 'ended' once (collect now); 'quiet' outside one. */
  check(): 'busy' | 'ended' | 'quiet' {
    if (!this.busy) return 'quiet';
    const n = this.sinceCheck;
    this.sinceCheck = 0;
    if (n >= this.minorsWhenQuiet) return 'busy';
    this.busy = false;
    return 'ended';
  }
}

/** How often a busy spell is looked at, and so how soon after it ends the full collection comes. */
export const BUSY_SPELL_CHECK_MS = 10_000;

/**
 * One full collection after each busy spell (BusySpell above), for the service (needs gc(),
 * --expose-gc); does nothing without it. Wakes nothing while the bridge is not busy: it
 * hears of collections from a PerformanceObserver, and its timer runs only during a spell.
 * Returns the stop.
 */
export function collectAfterBusySpells(
  onCollected?: (ms: number) => void,
  options: { gc?: () => void; checkMs?: number; spell?: BusySpell } = {},
): () => void {
  const gc = options.gc ?? (globalThis as { gc?: () => void }).gc;
  if (typeof gc !== 'function') return () => undefined;
  const checkMs = options.checkMs ?? BUSY_SPELL_CHECK_MS;
  const spell = options.spell ?? new BusySpell();
  let timer: NodeJS.Timeout | null = null;
  const check = (): void => {
    timer = null;
    const state = spell.check();
    if (state === 'busy') timer = setTimeout(check, checkMs).unref();
    else if (state === 'ended') {
      const t0 = performance.now();
      gc();
      onCollected?.(performance.now() - t0);
    }
  };
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = (e as unknown as { detail?: { kind?: number } }).detail?.kind;
      if (kind === constants.NODE_PERFORMANCE_GC_MINOR && spell.minor(performance.now()) && timer === null) {
        timer = setTimeout(check, checkMs).unref();
      }
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  return () => {
    observer.disconnect();
    if (timer) clearTimeout(timer);
  };
}

let applied = false;

export function applyHeapPolicy(): void {
  if (applied) return;
  applied = true;
  for (const f of V8_FLAGS) v8.setFlagsFromString(f);
}

applyHeapPolicy();
