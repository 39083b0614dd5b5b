/**
 * The clock behind mqtt.js's keepalive, without its empty half-way tick.
 *
 * mqtt.js's KeepaliveManager asks for an interval of half the keepalive and counts the
 * ticks: the first does nothing, the second sends PINGREQ, the third (no PINGRESP came)
 * declares the broker dead; a PINGRESP starts the count over. With a plain setInterval
 * that is three wake-ups per keepalive on an idle bridge (the empty tick, the ping, the
 * answer), and a wake-up of an idle Node process costs about a millisecond of CPU here.
 * This timer delivers the first two ticks together at the full keepalive, then one per
 * half-interval as before: the ping goes at the same moment, a dead broker is declared at
 * the same 1.5 x keepalive, and the empty tick is gone (two wake-ups per keepalive).
 * Measured: bridge/README.md, "Performance and memory".
 */
import type { Timer } from 'mqtt';

type Tick = () => void;

/** An interval that fires first after two periods with two ticks, then once a period. */
export function keepaliveTimer(): Timer {
  const running = new Map<number, NodeJS.Timeout>();
  let nextId = 1;
  const set = (tick: Tick, periodMs: number): number => {
    const id = nextId++;
    running.set(id, setTimeout(() => {
      tick();
      // The first tick may have ended it (a destroyed client clears its timer).
      if (!running.has(id)) return;
      running.set(id, setInterval(tick, periodMs));
      tick();
    }, 2 * periodMs));
    return id;
  };
  const clear = (id: number): void => {
    const t = running.get(id);
    if (t === undefined) return;
    running.delete(id);
    clearTimeout(t);
  };
  return { set: set as Timer['set'], clear: clear as Timer['clear'] };
}
