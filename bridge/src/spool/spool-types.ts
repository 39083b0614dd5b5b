/** The spool's options, read batches and figures (spool.ts). */

/** A place in the spool: byte offset in the logical stream, and records before it. */
export interface SpoolPosition {
  offset: number;
  index: number;
}

export interface SpoolOptions {
  dir: string;
  /** Bound on the bytes of all segments; the oldest segment goes when it is exceeded. */
  maxBytes: number;
  /** A segment is closed and a new one started when it would grow past this. */
  segmentBytes: number;
  /** Written data is synced (fdatasync) within this: a power cut loses at most this much. */
  fsyncIntervalMs: number;
  /** Every sink that drains the spool. */
  sinks: readonly string[];
  /** The clock that dates segments, for keepHistory (default Date.now). */
  now?: () => number;
  /**
   * Hears every warning, from the first moment of open() on (a torn tail cut while
   * opening included); without it warnings are emitted as 'warning' events.
   */
  onWarning?: (message: string) => void;
  /** Bytes of records held in memory while the disk cannot be written (default 4 MiB); past it they are lost, counted. */
  holdBytes?: number;
}

export interface SpoolBatch {
  payloads: string[];
  /** Where the next read continues; ack() this once the payloads are confirmed. */
  next: SpoolPosition;
  /** Records that were dropped (byte bound) between the position asked for and the batch. */
  skippedDropped: number;
}

export interface SpoolStats {
  bytes: number;
  segments: number;
  appendedRecords: number;
  droppedRecords: number;
  tornRecords: number;
  corruptBytes: number;
  fsyncs: number;
  /** Records that could not be stored (disk full and the memory hold full, or held at close). */
  lostRecords: number;
  /** Times the cursor file was found with no good slot, so every sink started again from the oldest record (0 or 1 per open). */
  cursorsLost: number;
  /** Reads of a segment file (one pread each: a sink behind, a replay, a range read). */
  fileReads: number;
  /** Reads served from the records just written, kept in memory (a sink caught up). */
  memoryReads: number;
  /** While writes fail: why, since when (ms since the epoch), records held in memory for a retry. */
  writeFailing: { reason: string; error: string; sinceMs: number; heldRecords: number; lostRecords: number } | null;
  sinks: { [sink: string]: { pendingRecords: number; pendingBytes: number; droppedRecords: number; acked: SpoolPosition } };
}
