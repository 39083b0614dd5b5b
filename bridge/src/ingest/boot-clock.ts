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

  constructor(private readonly store: AnchorStore, private readonly keepBoots = 256) {
    this.anchors = store.load();
  }

  /** Timestamp (ms since the epoch) of a frame of `boot` at `upSeconds`, anchoring the boot if new. */
  timestampMs(boot: number, upSeconds: number, nowMs: number): number {
    const up = uptimeMs(upSeconds);
    let anchor = this.anchors.get(boot);
    if (anchor === undefined) {
      anchor = Math.round(nowMs) - up;
      this.anchors.set(boot, anchor);
      // Oldest first in a Map's order: forget boots too old to be replayed usefully.
      while (this.anchors.size > this.keepBoots) this.anchors.delete(this.anchors.keys().next().value as number);
      this.store.save(this.anchors);
    }
    return anchor + up;
  }

  anchorOf(boot: number): number | undefined {
    return this.anchors.get(boot);
  }
}
