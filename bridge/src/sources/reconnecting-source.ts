/**
 * A live source (TCP, serial, host-direct I²C) that opens its link, and when the link
 * fails or closes, opens it again after a capped exponential backoff, forever, until
 * stopped.
 *
 * Two rules make a bad link cheap and visible instead of busy and hidden:
 * - The backoff starts over only once a link has PROVEN itself: it delivered at least
 *   `proven.frames` valid frames and stayed open at least `proven.ms`. Opening is not
 *   proof: a server that accepts and closes at once (a wedged ser2net, a port taken by
 *   another program) would otherwise be retried at the initial delay forever.
 * - A link with no valid frame for `silenceMs` is closed and reopened: a half-open TCP
 *   connection to a router that lost power looks "up" for hours, and keepalive takes
 *   minutes to notice. Only valid frames count (the owner reports them through
 *   frameArrived()), so a link that carries only noise is treated as silent too.
 *   Reopening answers a stale connection, not a quiet MCU: when the reopened link stays
 *   silent too, each further link gets twice the silence limit of the one before (up to
 *   SILENCE_LIMIT_MAX_FACTOR times the configured one), so a bridge whose MCU is off for
 *   the night reopens a few times an hour instead of every 10 to 40 s. The first valid
 *   frame brings the limit back to the configured one.
 */
import { performance } from 'node:perf_hooks';
import { Backoff, BackoffOptions } from '../backoff';
import { ReadPacer, ReadPacing } from './read-pacer';
import type { Source, SourceEvents } from './source';
import { SourceUnavailableError } from './source';

export interface Link {
  write(text: string): Promise<void>;
  close(): void;
  /** Stop reading until resume(): bytes wait in the kernel's buffer (a link that cannot is never paced). */
  pause?(): void;
  resume?(): void;
}

export interface LinkEvents {
  data(chunk: string): void;
  closed(reason: string): void;
}

/** Opens one link; rejects (with a message saying why) if it cannot. */
export type Connector = (events: LinkEvents) => Promise<Link>;

/** When a link counts as working, so that the next failure starts from the initial delay. */
export interface ProvenRule {
  frames: number;
  ms: number;
}

/** The MCU sends a reading every second by default: 5 of them over 10 s is a link that works. */
export const DEFAULT_PROVEN: ProvenRule = { frames: 5, ms: 10000 };

/**
 * How far the silence limit grows while links stay silent: 8 x 10 s by default. A link
 * that went stale during a long silence is then found within 80 s of the MCU speaking
 * again (TCP keepalive finds a peer that is gone altogether sooner).
 */
export const SILENCE_LIMIT_MAX_FACTOR = 8;

/** What a clean stop gives a paused link to hand over what waited in the kernel (a loopback or LAN read takes well under this). */
const STOP_READ_MS = 50;

export interface ReconnectOptions extends BackoffOptions {
  /** 0 = never; else reopen after this long without a valid frame. */
  idleTimeoutMs: number;
  proven?: ProvenRule;
  /** A monotonic clock in ms (default performance.now: a wall-clock step must not hide or fake silence). */
  now?: () => number;
  /** Pauses between reads of a trickle (read-pacer.ts); absent or maxPauseMs 0: read every byte at once. */
  pacing?: ReadPacing;
  /** After a write (a command), read at once for this long: its reply must not wait for a pause. */
  promptAfterWriteMs?: number;
}

export class ReconnectingSource implements Source {
  private link: Link | null = null;
  private events: SourceEvents | null = null;
  private stopped = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private readonly backoff: Backoff;
  private readonly proven: ProvenRule;
  private readonly now: () => number;
  /** Bumped per attempt, so events from a link we already gave up on are ignored. */
  private generation = 0;
  private openedAt = 0;
  private framesOnLink = 0;
  private linkProven = false;
  /** When the current link last carried a valid frame (or opened). */
  private lastFrameAt = 0;
  /** Links closed for silence in a row, with no valid frame since: each doubles the next limit. */
  private silentCloses = 0;
  /** The current link's silence limit. */
  private linkSilenceMs = 0;
  private readonly pacer: ReadPacer | null;
  /** Set while the current link is paused: resumes it. */
  private resumeTimer: NodeJS.Timeout | undefined;

  constructor(readonly description: string, private readonly connector: Connector, private readonly options: ReconnectOptions) {
    this.backoff = new Backoff(options);
    this.proven = options.proven ?? DEFAULT_PROVEN;
    this.now = options.now ?? (() => performance.now());
    this.pacer = options.pacing && options.pacing.maxPauseMs > 0 ? new ReadPacer(options.pacing) : null;
  }

  get silenceLimitMs(): number {
    return this.options.idleTimeoutMs;
  }

  start(events: SourceEvents): void {
    this.events = events;
    this.attempt();
  }

  private attempt(): void {
    if (this.stopped) return;
    const gen = ++this.generation;
    const ev = this.events!;
    this.connector({
      data: (chunk) => {
        if (gen !== this.generation) return;
        ev.data(chunk);
        if (this.pacer && gen === this.generation) this.paceAfter(chunk.length);
      },
      closed: (reason) => {
        if (gen !== this.generation || this.stopped) return;
        this.lost(reason);
      },
    }).then((link) => {
      if (gen !== this.generation || this.stopped) {
        link.close();
        return;
      }
      this.link = link;
      this.openedAt = this.now();
      this.pacer?.opened(this.openedAt);
      this.lastFrameAt = this.openedAt;
      this.framesOnLink = 0;
      this.linkProven = false;
      this.linkSilenceMs = this.options.idleTimeoutMs * Math.min(SILENCE_LIMIT_MAX_FACTOR, 2 ** this.silentCloses);
      this.armIdle(gen, this.linkSilenceMs);
      ev.up(this.silentCloses > 0);
    }, (err: Error) => {
      if (gen !== this.generation || this.stopped) return;
      this.scheduleRetry(err.message);
    });
  }

  /** A valid frame came in over the current link (the decoder says so; this class sees only bytes). */
  frameArrived(): void {
    if (!this.link) return;
    this.framesOnLink++;
    // The timer is not moved per frame: it finds the newer deadline when it fires.
    this.lastFrameAt = this.now();
    if (this.silentCloses > 0) {
      this.silentCloses = 0;
      this.linkSilenceMs = this.options.idleTimeoutMs;
    }
    if (!this.linkProven && this.framesOnLink >= this.proven.frames && this.now() - this.openedAt >= this.proven.ms) {
      this.linkProven = true;
      this.backoff.reset();
    }
  }

  /** After a read: pause the link if the pacer says so, with one timer to resume it. */
  private paceAfter(bytes: number): void {
    const link = this.link;
    if (!link?.pause || this.resumeTimer) return;
    const pauseMs = this.pacer!.afterRead(bytes, this.now());
    if (pauseMs <= 0) return;
    link.pause();
    // No silence timer while paused: the resume, due well within the silence limit
    // (make-source.ts), sets it again. One timer per pause, not two: the silence timer,
    // re-armed each time it found a newer frame, was a wake-up of its own every few pauses.
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    const gen = this.generation;
    this.resumeTimer = setTimeout(() => this.resumeNow(gen), pauseMs);
  }

  private resumeNow(gen = this.generation): void {
    if (!this.resumeTimer) return;
    clearTimeout(this.resumeTimer);
    this.resumeTimer = undefined;
    if (gen !== this.generation || !this.link) return;
    this.link.resume?.();
    // Not judged here: what waited in the kernel is read after this timer, in this turn.
    if (!this.idleTimer) this.armIdle(gen, Math.max(1, Math.ceil(this.lastFrameAt + this.linkSilenceMs - this.now())));
  }

  /**
   * Counted: while any caller holds it, every byte is read as it comes (a live page is
   * open). Reading resumes at once.
   */
  readPromptly(on: boolean): void {
    if (!this.pacer) return;
    this.pacer.hold(on);
    if (on) this.resumeNow();
  }

  /** One timer per link, due when the link has been silent for its limit. */
  private armIdle(gen: number, inMs: number): void {
    if (this.options.idleTimeoutMs <= 0) return;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined;
      this.checkSilence(gen);
    }, inMs);
  }

  /** Closes the link if it has been silent for its limit, else arms the timer for when it would be. */
  private checkSilence(gen: number): void {
    if (gen !== this.generation || !this.link || this.options.idleTimeoutMs <= 0) return;
    const left = this.lastFrameAt + this.linkSilenceMs - this.now();
    // Timers may fire a millisecond early; less than that left is silence.
    if (left >= 1) return this.armIdle(gen, Math.ceil(left));
    this.silentCloses = Math.min(this.silentCloses + 1, 30);
    this.lost(`silent: no valid frame for ${this.linkSilenceMs} ms`);
  }

  private lost(reason: string): void {
    const link = this.link;
    this.link = null;
    this.generation++;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.dropResume();
    if (link) link.close();
    this.scheduleRetry(reason);
  }

  private scheduleRetry(reason: string): void {
    const delay = this.backoff.next();
    this.events!.down(`${reason}; retrying in ${delay} ms`);
    this.retryTimer = setTimeout(() => this.attempt(), delay);
  }

  /** A closed link needs no resume; the next link starts reading. */
  private dropResume(): void {
    if (this.resumeTimer) clearTimeout(this.resumeTimer);
    this.resumeTimer = undefined;
  }

  write(text: string): Promise<void> {
    if (!this.link) return Promise.reject(new SourceUnavailableError(`${this.description} is not connected`));
    if (this.pacer) {
      this.pacer.holdUntil(this.now() + (this.options.promptAfterWriteMs ?? 0));
      this.resumeNow();
    }
    return this.link.write(text);
  }

  isUp(): boolean {
    return this.link !== null;
  }

  async stop(): Promise<void> {
    if (this.resumeTimer && this.link) {
      // A paused link holds readings in the kernel's buffer: a clean stop reads them
      // first (into the spool), as it would have had it not paused.
      this.pacer!.hold(true);
      this.resumeNow();
      await new Promise((r) => setTimeout(r, STOP_READ_MS));
    }
    this.stopped = true;
    this.generation++;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.dropResume();
    const link = this.link;
    this.link = null;
    if (link) link.close();
  }
}
