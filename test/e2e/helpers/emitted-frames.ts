/**
 * What the firmware put on its serial port, frame by frame, as the ground truth a fault
 * run is checked against: every reading by (boot, seq), every event, in order.
 */
import { LineSplitter, MAX_LINE_LENGTH, decodeLine } from '../../../firmware/src/protocol';

export function readingKey(boot: number, seq: number): string {
  return `${boot}:${seq}`;
}

export class EmittedFrames {
  readonly readings: string[] = [];
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
    if (f.type === 'R') this.readings.push(readingKey(f.boot, f.seq));
    else if (f.type === 'E') this.events.push({ boot: f.boot, kind: f.kind, up: f.up });
  }
}
