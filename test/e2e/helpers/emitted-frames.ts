/**
 * What the firmware put on its serial port, frame by frame, as the ground truth a fault
 * run is checked against: every reading by (boot, seq), every event, in order.
 */
import type { MqttClient } from 'mqtt';
import { LineSplitter, MAX_LINE_LENGTH, decodeLine } from '../../../protocol';

export function readingKey(boot: number, seq: number): string {
  return `${boot}:${seq}`;
}

export class EmittedFrames {
  readonly readings: string[] = [];
  /** Each reading's uptime (s), by key: with the bridge's boot anchor, where it was stored. */
  readonly upOf = new Map<string, number>();
  readonly events: Array<{ boot: number; kind: string; up: number }> = [];
  /** Lines on the port that were not frames (console noise, a line cut by a reset). */
  otherLines = 0;
  private readonly splitter = new LineSplitter(MAX_LINE_LENGTH, (line) => this.line(line), () => { this.otherLines++; });

  /** Bytes as the firmware wrote them to its host port. */
  push(data: string): void {
    this.splitter.push(data);
  }

  private line(line: string): void {
    const r = decodeLine(line);
    if (!r.ok) {
      this.otherLines++;
      return;
    }
    const f = r.frame;
    if (f.type === 'R') {
      const k = readingKey(f.boot, f.seq);
      this.readings.push(k);
      this.upOf.set(k, f.up);
    } else if (f.type === 'E') this.events.push({ boot: f.boot, kind: f.kind, up: f.up });
  }
}

export interface MissingRun {
  first: string;
  last: string;
  count: number;
}

/** Runs of consecutive emitted readings among `missing`, in emission order. */
export function missingRuns(emitted: EmittedFrames, missing: readonly string[]): MissingRun[] {
  const lost = new Set(missing);
  const runs: MissingRun[] = [];
  let cur: MissingRun | null = null;
  for (const k of emitted.readings) {
    if (!lost.has(k)) {
      cur = null;
    } else if (cur) {
      cur.last = k;
      cur.count++;
    } else {
      cur = { first: k, last: k, count: 1 };
      runs.push(cur);
    }
  }
  return runs;
}

/** "2:5564..2:17995 (12432), ..." for a failure message. */
export function describeRuns(runs: readonly MissingRun[], max = 8): string {
  return runs.slice(0, max).map((r) => `${r.first}..${r.last} (${r.count})`).join(', ') + (runs.length > max ? ', ...' : '');
}

/**
 * Readings as an MQTT subscriber of the bridge's `readings` topic receives them: copies
 * per (boot, seq), live, so a test can wait for the set to be complete.
 */
export class ReadingsOnMqtt {
  readonly copies = new Map<string, number>();
  messages = 0;

  constructor(client: MqttClient, private readonly topic: string) {
    client.on('message', (t, payload) => {
      if (t !== this.topic) return;
      this.messages++;
      for (const r of JSON.parse(payload.toString()) as Array<{ frame: { boot: number; seq: number } }>) {
        const k = readingKey(r.frame.boot, r.frame.seq);
        this.copies.set(k, (this.copies.get(k) ?? 0) + 1);
      }
    });
  }

  has(key: string): boolean {
    return this.copies.has(key);
  }

  /** Deliveries beyond the first of each reading (redelivery after a reconnect). */
  redelivered(): number {
    let n = 0;
    for (const c of this.copies.values()) n += c - 1;
    return n;
  }
}
