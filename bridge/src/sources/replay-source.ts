/**
 * Replays a captured log (a file, or stdin with `-`): every line goes through the same
 * decoding and spool as live data, and because timestamps come from the boot anchors a
 * replay of frames already ingested writes the same InfluxDB points again instead of
 * duplicates. It ends at the end of its input; it cannot send commands.
 */
import fs from 'node:fs';
import type { Readable } from 'node:stream';
import type { Source, SourceEvents } from './source';
import { SourceUnavailableError } from './source';

export class ReplaySource implements Source {
  readonly description: string;
  private stream: Readable | null = null;
  private up = false;

  constructor(private readonly file: string, private readonly stdin: Readable = process.stdin) {
    this.description = file === '-' ? 'stdin' : `file:${file}`;
  }

  start(events: SourceEvents): void {
    const stream = this.file === '-' ? this.stdin : fs.createReadStream(this.file, { highWaterMark: 64 * 1024 });
    this.stream = stream;
    let opened = false;
    const open = (): void => {
      if (opened) return;
      opened = true;
      this.up = true;
      events.up();
    };
    if (this.file === '-') open();
    else stream.on('open', open);
    stream.on('data', (chunk: Buffer | string) => {
      open();
      events.data(typeof chunk === 'string' ? chunk : chunk.toString('latin1'));
    });
    stream.on('error', (err: Error) => {
      this.up = false;
      events.down(`replay of ${this.description} failed: ${err.message}`);
      events.end();
    });
    stream.on('end', () => {
      this.up = false;
      events.down('end of replay input');
      events.end();
    });
  }

  write(): Promise<void> {
    return Promise.reject(new SourceUnavailableError(`${this.description} is a replay; commands need a live MCU`));
  }

  isUp(): boolean {
    return this.up;
  }

  async stop(): Promise<void> {
    this.up = false;
    if (this.stream && this.stream !== this.stdin) this.stream.destroy();
    else if (this.stream) this.stream.pause();
  }
}
