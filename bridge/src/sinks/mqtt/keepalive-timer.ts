/**
 * The clock behind mqtt.js's keepalive, waking an idle bridge twice per keepalive (the
 * PINGREQ and its answer) instead of four times.
 *
 * mqtt.js's KeepaliveManager asks for an interval of half the keepalive and counts its
 * ticks: the first does nothing, the second sends PINGREQ, the third (no PINGRESP came)
 * declares the broker dead; each PINGRESP clears the interval and starts a new one. With
 * setInterval that is an empty tick half-way, and the cleared interval's next tick still
 * wakes the process (Node re-arms its timer lazily: a cleared timer's due time stays
 * armed), so four wake-ups per keepalive on an idle link, each about a millisecond of CPU
 * on a small host. This clock:
 *  - delivers the first two ticks together, at the full keepalive (the ping goes when it
 *    always did);
 *  - after the ping, ticks again only one keepalive later, when the next ping is due:
 *    without an answer by then the broker is declared dead, 2 x keepalive after the last
 *    answer instead of mqtt.js's 1.5 x (the spool holds the readings meanwhile);
 *  - when the answer restarts the count (mqtt.js clears and sets the timer at once), it
 *    keeps the pending timer, which is already due at the next ping, so nothing stale is
 *    left armed.
 * One clock per client (mqtt.js keeps one keepalive timer at a time).
 * Measured: bridge/README.md, "Performance and memory".
 */
import { performance } from 'node:perf_hooks';
import type { Timer } from 'mqtt';

interface Ticking {
  id: number;
  tick: () => void;
  periodMs: number;
  /** The two ticks that send the ping were delivered; the next one is the verdict. */
  pinged: boolean;
}

export function keepaliveTimer(): Timer {
  let current: Ticking | null = null;
  let handle: NodeJS.Timeout | undefined;
  let handleDueMs = 0;
  let nextId = 1;

  const arm = (inMs: number): void => {
    handle = setTimeout(fire, inMs);
    handleDueMs = performance.now() + inMs;
  };

  function fire(): void {
    handle = undefined;
    const t = current;
    if (!t) return;
    // Armed before the ticks: a tick may clear this clock (a client that gives up).
    arm(2 * t.periodMs);
    if (t.pinged) {
      t.tick();
      return;
    }
    t.pinged = true;
    t.tick();
    if (current === t) t.tick();
  }

  const set = (tick: () => void, periodMs: number): number => {
    const id = nextId++;
    current = { id, tick, periodMs, pinged: false };
    const dueMs = performance.now() + 2 * periodMs;
    // A timer armed at the last ping is due one keepalive after it: the next ping may go
    // then, a little before a full keepalive after the answer (never later).
    const keep = handle !== undefined && handleDueMs <= dueMs && handleDueMs >= dueMs - periodMs;
    if (!keep) {
      if (handle) clearTimeout(handle);
      arm(2 * periodMs);
    }
    return id;
  };

  const clear = (id: number): void => {
    if (current?.id !== id) return;
    current = null;
    // mqtt.js clears and sets again in one go when a PINGRESP comes: the timer is dropped
    // only if nothing took it over by the end of this job.
    queueMicrotask(() => {
      if (current || !handle) return;
      clearTimeout(handle);
      handle = undefined;
    });
  };

  return { set: set as Timer['set'], clear: clear as Timer['clear'] };
}
