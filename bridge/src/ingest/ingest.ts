/**
 * From lines to the spool: decode (CRC, version, every field), track sequence and boots,
 * stamp, append. Readings and events are spooled; replies go straight to whoever sent the
 * command (they answer a request in flight and mean nothing after a restart). A bad line
 * is counted by reason, logged at most once per reason per interval, and dropped.
 */
import { Frame, ReplyFrame, decodeLine } from '../../../protocol';
import type { BridgeMetrics } from '../metrics/bridge-metrics';
import type { CounterCell, GaugeCell } from '../metrics/registry';
import type { Logger } from '../log/logger';
import { RateLimitedLog } from '../log/rate-limited-log';
import { SpooledFrame, encodeSpooledFrame } from '../spool/spooled-frame';
import type { BootClock } from './boot-clock';
import { fastReading } from '../../../protocol/fast-reading';
import type { SequenceTracker } from './sequence-tracker';
import type { SpoolLoss } from './spool-loss';
import { printableExcerpt } from '../log/excerpt';

export interface SpoolWriter {
  /** False when the record could not be kept (the spool's disk is full): it is lost. */
  append(payload: string): boolean;
  flush(): void;
}

export interface IngestDeps {
  spool: SpoolWriter;
  clock: BootClock;
  tracker: SequenceTracker;
  metrics: BridgeMetrics;
  log: Logger;
  onReply: (reply: ReplyFrame) => void;
  /**
   * Each reading and event, in order, once it is in the spool's buffer (on disk at the
   * end of its chunk); also one the spool could not keep (disk full, see `loss`): it
   * still happened, so live views stay current although no sink will get it.
   */
  onSpooled?: (rec: SpooledFrame) => void;
  /** Hears each frame the spool could not keep. */
  loss?: SpoolLoss;
  now?: () => number;
  /** Minimum time between two log lines of the same kind of problem. */
  logIntervalMs?: number;
}

export class Ingest {
  private readonly limited: RateLimitedLog;
  private readonly now: () => number;
  private lineNo = 0;
  // The metrics every frame updates, held rather than looked up by label each time.
  private readonly readingsIn: CounterCell;
  private readonly eventsIn: CounterCell;
  private readonly repliesIn: CounterCell;
  private readonly lastFrameTime: GaugeCell;
  private readonly clockOffset: GaugeCell;

  constructor(private readonly deps: IngestDeps) {
    this.now = deps.now ?? Date.now;
    this.limited = new RateLimitedLog(deps.log, deps.logIntervalMs ?? 10000, this.now);
    const m = deps.metrics;
    this.readingsIn = m.framesIn.cell({ type: 'R' });
    this.eventsIn = m.framesIn.cell({ type: 'E' });
    this.repliesIn = m.framesIn.cell({ type: 'A' });
    this.lastFrameTime = m.lastFrameTime.cell();
    this.clockOffset = m.mcuClockOffset.cell();
  }

  line(line: string): void {
    this.lineNo++;
    const m = this.deps.metrics;
    // Readings as the firmware writes them take the fast path; everything else, and every
    // bad line (for its reason), the protocol's own decoder.
    let f: Frame | null = fastReading(line);
    if (f === null) {
      const d = decodeLine(line);
      if (!d.ok) {
        // Console prompts and blank lines are normal on an Espruino port; not worth a warning.
        m.linesRejected.inc({ reason: d.reason });
        if (d.reason !== 'noise' && d.reason !== 'empty') {
          this.limited.warn(`bad_line:${d.reason}`, `rejected line: ${d.detail}`, { reason: d.reason, line_no: this.lineNo, line: printableExcerpt(line, 80) });
        }
        return;
      }
      f = d.frame;
    }
    if (f.type === 'C') {
      // Only the host sends commands: this is our own command echoed by a terminal-mode
      // port (or a loop in the wiring). Counted as rejected, never spooled.
      m.linesRejected.inc({ reason: 'echoed_command' });
      this.limited.warn('echoed_command', 'a command frame came back from the source (echo on the port?)', { line_no: this.lineNo });
      return;
    }
    const now = this.now();
    (f.type === 'R' ? this.readingsIn : f.type === 'E' ? this.eventsIn : this.repliesIn).inc();
    this.lastFrameTime.set(now / 1000);
    if (f.type === 'A') {
      this.deps.onReply(f);
      return;
    }
    const ts = this.deps.clock.timestampMs(f.boot, f.up, now);
    if (f.type === 'R') {
      this.clockOffset.set((now - ts) / 1000);
      const o = this.deps.tracker.observe(f.boot, f.seq, f.up);
      if (o.kind === 'gap') {
        m.sequenceGaps.inc();
        m.framesMissing.inc({}, o.missing);
        this.limited.warn('gap', `sequence gap: ${o.missing} reading(s) missing before seq ${f.seq}`, { boot: f.boot, seq: f.seq, missing: o.missing });
      } else if (o.kind === 'reboot') {
        m.mcuReboots.inc({ reason: o.reason });
        if (o.missing > 0) m.framesMissing.inc({}, o.missing);
        this.limited.emit('info', 'reboot', o.reason === 'boot_changed' ? `MCU rebooted: boot ${f.boot}` : `MCU uptime went back within boot ${f.boot} (reset without a boot count, or a replay)`, { boot: f.boot, seq: f.seq, up: f.up, reason: o.reason });
      } else if (o.kind === 'seq_back') {
        m.sequenceBack.inc();
        this.limited.warn('seq_back', `sequence went back to ${f.seq} within boot ${f.boot}`, { boot: f.boot, seq: f.seq });
      }
    }
    if (!this.deps.spool.append(encodeSpooledFrame(ts, f))) this.deps.loss?.lost(ts, f);
    this.deps.onSpooled?.({ ts, frame: f });
  }

  /** The line splitter threw away a line longer than the protocol allows. */
  overlong(): void {
    this.deps.metrics.linesRejected.inc({ reason: 'too_long' });
    this.limited.warn('bad_line:too_long', 'rejected line: longer than 512 characters');
  }

  /** After each chunk from the source: one write for all the frames it held. */
  endOfChunk(): void {
    this.deps.spool.flush();
  }
}
