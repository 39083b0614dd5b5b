/**
 * Energy counters that never go backwards. The MCU keeps cumulative Ah/Wh counters and
 * saves them to flash every 15 minutes; after a watchdog reset or a power cut it starts
 * again from the last save, so its counters step back by whatever it counted since.
 * Home Assistant reads any decrease of a total_increasing sensor as a new meter and
 * counts it twice. Here each counter is published as offset + the MCU's value, and the
 * offset absorbs every step back; the time the MCU was not counting (its reboot) is
 * bridged from the last power reading and reported as such.
 */

/** The MCU's counter keys, in the order the state's arrays use. */
export const COUNTER_KEYS = ['bahi', 'baho', 'bwhi', 'bwho', 'lahi', 'laho', 'lwhi', 'lwho'] as const;
export type CounterKey = typeof COUNTER_KEYS[number];

export type CounterReading = { [K in CounterKey]: number | null };

export interface CounterState {
  /** The MCU's last value of each counter (NaN until seen), and the boot it came from. */
  raw: number[];
  boot: number;
  /** Published = offset + raw. */
  offset: number[];
  /** Of the offsets, how much was estimated across reboots rather than counted. */
  bridged: number[];
  /** Reboots (counter restarts) bridged. */
  restarts: number;
  /** Steps back within one boot (a host's reset-energy command): absorbed as well. */
  inBootDrops: number;
}

export function newCounterState(): CounterState {
  const n = COUNTER_KEYS.length;
  return { raw: new Array<number>(n).fill(NaN), boot: -1, offset: new Array<number>(n).fill(0), bridged: new Array<number>(n).fill(0), restarts: 0, inBootDrops: 0 };
}

/**
 * Takes one reading's counters. `gapEstimate[i]` is what the bridge estimates flowed
 * through counter i between the previous reading and this one (the caller integrates
 * the last power readings); it is added only across a reboot, where the MCU counted
 * nothing.
 */
export function updateCounters(s: CounterState, boot: number, r: CounterReading, gapEstimate: number[]): void {
  const newBoot = boot !== s.boot;
  if (newBoot && s.boot !== -1) s.restarts++;
  take(s, 0, r.bahi, newBoot, gapEstimate);
  take(s, 1, r.baho, newBoot, gapEstimate);
  take(s, 2, r.bwhi, newBoot, gapEstimate);
  take(s, 3, r.bwho, newBoot, gapEstimate);
  take(s, 4, r.lahi, newBoot, gapEstimate);
  take(s, 5, r.laho, newBoot, gapEstimate);
  take(s, 6, r.lwhi, newBoot, gapEstimate);
  take(s, 7, r.lwho, newBoot, gapEstimate);
  s.boot = boot;
}

/** One counter, index i in COUNTER_KEYS order (spelt out above: a fixed property read is much faster than a keyed one). */
function take(s: CounterState, i: number, v: number | null, newBoot: boolean, gapEstimate: number[]): void {
  if (v === null || !(v >= 0)) return;
  const last = s.raw[i];
  if (last !== last) {
    s.raw[i] = v;
    return;
  }
  if (newBoot && v <= last) {
    // The MCU restarted from its last save: carry the published value on from where it
    // was, plus what flowed while nobody counted (also when nothing was counted since the
    // save: a discharging bank's charge-in counter comes back unchanged, yet the charger
    // may have run through the reboot). If a rebooted MCU's saved value is ahead of ours
    // (the bridge missed readings), its own count covers the gap and nothing is added.
    const est = gapEstimate[i] > 0 ? gapEstimate[i] : 0;
    s.offset[i] += last - v + est;
    s.bridged[i] += est;
  } else if (!newBoot && v < last) {
    // Told to reset within one boot (a host's reset-energy command): absorbed as well.
    s.offset[i] += last - v;
    s.inBootDrops++;
  }
  s.raw[i] = v;
}

/** Published value of counter i (NaN until the MCU has sent one). */
export function publishedCounter(s: CounterState, i: number): number {
  return s.offset[i] + s.raw[i];
}
