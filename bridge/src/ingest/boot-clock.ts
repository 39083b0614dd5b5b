/**
 * Gives each reading a timestamp that is the same every time the reading is processed.
 *
 * InfluxDB identifies a point by measurement + tags + timestamp, so a replayed reading
 * overwrites its earlier copy only if it gets exactly the same timestamp. The MCU has no
 * wall clock, only its uptime; the bridge anchors each boot to its own clock when it sees
 * that boot's first frame (anchor = now - uptime) and then stamps every frame of that boot
 * with anchor + uptime. The anchors are persisted (in the spool directory) before the
 * first frame that used them is spooled, so a bridge restart or a replay of a capture
 * keeps the original times. Millisecond precision: uptime has 3 decimals on the wire.
 *
 * A new boot is never anchored so that its frames fall at or before the newest timestamp
 * already given. At now - uptime they can: the host clock stepped back (NTP, a host
 * without an RTC), the MCU's clock ran fast during the previous boot, or a test runs a
 * simulated day in seconds. Two readings that land on the same millisecond are one point
 * to InfluxDB (the later write replaces the earlier) and to VictoriaMetrics with
 * deduplication (one is dropped), so one reading would be lost; with the new boot after
 * the old one, a device's timestamps only go forward across boots.
 */

export interface AnchorStore {
  load(): Map<number, number>;
  /** Durable when it returns (frames stamped with the anchor follow it to disk), or warns that it could not be (a full disk). */
  save(anchors: Map<number, number>): void;
}

/** Milliseconds of uptime as carried on the wire (3 decimals), as an exact integer. */
export function uptimeMs(upSeconds: number): number {
  return Math.round(upSeconds * 1000);
}

export class BootClock {
  private readonly anchors: Map<number, number>;
  /** The newest timestamp given (or, after a restart, known to be taken). */
  private newestMs = -Infinity;

  constructor(private readonly store: AnchorStore, private readonly keepBoots = 256) {
    this.anchors = store.load();
  }

  /**
   * After a restart: the newest frame already stamped was `boot` at `upSeconds` (the
   * spool's newest reading), so a boot first seen from now on is anchored after it.
   */
  resumeAfter(boot: number, upSeconds: number): void {
    const anchor = this.anchors.get(boot);
    if (anchor !== undefined) this.newestMs = Math.max(this.newestMs, anchor + uptimeMs(upSeconds));
  }

  /** Timestamp (ms since the epoch) of a frame of `boot` at `upSeconds`, anchoring the boot if new. */
  timestampMs(boot: number, upSeconds: number, nowMs: number): number {
    const up = uptimeMs(upSeconds);
    let anchor = this.anchors.get(boot);
    if (anchor === undefined) {
      anchor = Math.max(Math.round(nowMs) - up, this.newestMs + 1 - up);
      this.anchors.set(boot, anchor);
      // Oldest first in a Map's order: forget boots too old to be replayed usefully.
      while (this.anchors.size > this.keepBoots) this.anchors.delete(this.anchors.keys().next().value as number);
      this.store.save(this.anchors);
    }
    const ts = anchor + up;
    if (ts > this.newestMs) this.newestMs = ts;
    return ts;
  }

  anchorOf(boot: number): number | undefined {
    return this.anchors.get(boot);
  }
}
