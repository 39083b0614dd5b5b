/**
 * An append-only byte buffer for what a sink sends (an InfluxDB request body, an MQTT
 * payload). Sinks build their output here record by record, so a batch in flight is one
 * Buffer outside the JS heap instead of one large string plus its encoded copy: large
 * strings go straight to V8's old generation and only a full GC frees them, which is what
 * made the bridge's memory climb at full speed.
 */
export class ByteBuilder {
  private buf: Buffer;
  private len = 0;

  constructor(initialBytes = 64 * 1024) {
    this.buf = Buffer.allocUnsafeSlow(initialBytes);
  }

  get length(): number {
    return this.len;
  }

  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const bigger = Buffer.allocUnsafeSlow(size);
    this.buf.copy(bigger, 0, 0, this.len);
    this.buf = bigger;
  }

  /** Appends a string whose characters are all below 256, one byte each (ASCII output). */
  latin1(s: string): void {
    this.room(s.length);
    this.len += this.buf.write(s, this.len, s.length, 'latin1');
  }

  /** Appends a string as UTF-8 (text that may hold any character). */
  utf8(s: string): void {
    this.room(Buffer.byteLength(s, 'utf8'));
    this.len += this.buf.write(s, this.len, 'utf8');
  }

  byte(b: number): void {
    this.room(1);
    this.buf[this.len++] = b;
  }

  bytes(src: Uint8Array, start: number, end: number): void {
    this.room(end - start);
    this.buf.set(src.subarray(start, end), this.len);
    this.len += end - start;
  }

  /** Forgets the last `n` bytes (e.g. a trailing separator). */
  drop(n: number): void {
    this.len = Math.max(0, this.len - n);
  }

  /** The bytes so far, as a view of the builder's memory (no copy). */
  result(): Buffer {
    return this.buf.subarray(0, this.len);
  }
}
