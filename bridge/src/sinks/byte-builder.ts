/**
 * An append-only byte buffer for what a sink sends (an InfluxDB request body, an MQTT
 * payload), built record by record and reused from batch to batch (BuilderPool).
 *
 * Why reuse: a batch in flight lives longer than a young-generation cycle, so whatever
 * holds it is promoted and freed only by a full GC. A large string counts towards the
 * old generation and brings that GC soon; a Buffer's memory is outside the heap and V8
 * lets up to 64 MB of dead ones pile up before it collects. Reused Buffers are neither.
 */
export class ByteBuilder {
  private buf: Buffer;
  private len = 0;

  constructor(initialBytes = 64 * 1024) {
    this.buf = Buffer.allocUnsafeSlow(initialBytes);
  }

  /** Empties it, keeping its memory. */
  reset(): void {
    this.len = 0;
  }

  /** Bytes of memory it holds. */
  get capacity(): number {
    return this.buf.length;
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

/**
 * Builders waiting for reuse. Only a builder whose bytes nobody still reads may come back
 * (e.g. a request body once the server answered it).
 */
export class BuilderPool {
  private readonly free: ByteBuilder[] = [];

  /** `keep`: how many idle builders to hold; `maxBytes`: larger ones are let go. */
  constructor(private readonly keep: number, private readonly initialBytes: number, private readonly maxBytes = 16 * 1024 * 1024) {}

  take(): ByteBuilder {
    const b = this.free.pop();
    if (b) return b;
    return new ByteBuilder(this.initialBytes);
  }

  release(b: ByteBuilder): void {
    if (this.free.length >= this.keep || b.capacity > this.maxBytes) return;
    b.reset();
    this.free.push(b);
  }
}
