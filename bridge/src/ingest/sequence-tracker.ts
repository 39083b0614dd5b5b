/**
 * Follows (boot, seq, up) across readings to tell a healthy stream from lost readings and
 * MCU reboots. Pure: the bridge persists its state (see ingest-state.ts) so a gap that
 * spans a bridge restart is still seen.
 *
 * The protocol makes (boot, seq) a reading's identity: seq starts at 1 on every boot and
 * the boot counter lives in the MCU's flash. So:
 *   boot changed                          -> reboot (boot_changed); seq > 1 means the first
 *                                            seq - 1 readings of the new boot were missed
 *   same boot, uptime went back           -> reboot (uptime_back): the MCU reset without
 *                                            counting the boot (flash write failed), or a
 *                                            capture of this boot is being replayed
 *   same boot, seq = last + 1             -> next
 *   same boot, seq > last + 1             -> gap of seq - last - 1 readings
 *   same boot, seq <= last, uptime not back -> seq_back (repeated or reordered)
 */

export interface TrackerState {
  boot: number;
  seq: number;
  up: number;
}

export type Observation =
  | { kind: 'first' }
  | { kind: 'next' }
  | { kind: 'gap'; missing: number }
  | { kind: 'reboot'; reason: 'boot_changed' | 'uptime_back'; missing: number }
  | { kind: 'seq_back' };

// The outcomes without a figure, shared: a healthy reading allocates nothing here.
const FIRST: Observation = Object.freeze({ kind: 'first' });
const NEXT: Observation = Object.freeze({ kind: 'next' });
const SEQ_BACK: Observation = Object.freeze({ kind: 'seq_back' });

export class SequenceTracker {
  private last: TrackerState | null;

  constructor(initial: TrackerState | null = null) {
    this.last = initial ? { ...initial } : null;
  }

  observe(boot: number, seq: number, up: number): Observation {
    const last = this.last;
    if (!last) {
      this.last = { boot, seq, up };
      return FIRST;
    }
    const lastBoot = last.boot;
    const lastSeq = last.seq;
    const lastUp = last.up;
    last.boot = boot;
    last.seq = seq;
    last.up = up;
    if (boot !== lastBoot) return { kind: 'reboot', reason: 'boot_changed', missing: seq - 1 };
    if (up < lastUp) return { kind: 'reboot', reason: 'uptime_back', missing: 0 };
    if (seq === lastSeq + 1) return NEXT;
    if (seq > lastSeq + 1) return { kind: 'gap', missing: seq - lastSeq - 1 };
    return SEQ_BACK;
  }

  state(): TrackerState | null {
    return this.last ? { ...this.last } : null;
  }
}
