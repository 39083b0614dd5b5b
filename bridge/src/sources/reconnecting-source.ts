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
 * - A link with no valid frame for `idleTimeoutMs` is closed and reopened at once (it
 *   was open for the whole limit, so this cannot loop faster than the limit; no backoff
 *   wait, which would be a second wake-up per reopen). Only valid frames count (the owner
 *   reports them through frameArrived()), so a link that carries only noise is treated
 *   as silent too. A TCP peer that is gone altogether (the router lost power, no FIN) is
 *   found by the kernel's keepalive (tcp-link.ts) without waking this process; what the
 *   reopen is for is a peer that still answers TCP while nothing comes through it (an
 *   export whose serial side is wedged, a port that carries only a REPL prompt), and it
 *   cannot tell those from a quiet MCU. So when the reopened link stays silent too, each
 *   further link gets SILENCE_LIMIT_GROWTH times the limit of the one before, up to
 *   SILENCE_LIMIT_MAX_FACTOR times the configured one: a bridge whose MCU is off for the
 *   night reopens about six times an hour instead of every 10 s. The first valid frame
 *   brings the limit back to the configured one.
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
 * How the silence limit grows while reopened links stay silent: 10, 40, 160, 640 s by
 * default (reopens at about 10 s, 50 s, 3.5 min, then every 10.7 min), so a silence
 * costs two reopens in its first two minutes and about six an hour after; each is a
 * connect, two log lines and a wake-up (about 3-5 ms of CPU on a small host). The price: a
 * link that goes stale in a way TCP keepalive cannot see while the MCU is silent is
 * found up to 64 x the limit (10.7 min) after the MCU speaks again.
 */
export const SILENCE_LIMIT_GROWTH = 4;
export const SILENCE_LIMIT_MAX_FACTOR = 64;

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
  /** Links closed for silence in a row, with no valid frame since: each multiplies the next limit. */
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
      this.linkSilenceMs = this.options.idleTimeoutMs * Math.min(SILENCE_LIMIT_MAX_FACTOR, SILENCE_LIMIT_GROWTH ** this.silentCloses);
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
    this.closeLink();
    this.events!.down(`silent: no valid frame for ${this.linkSilenceMs} ms; reopening now`);
    this.attempt();
  }

  private lost(reason: string): void {
    this.closeLink();
    this.scheduleRetry(reason);
  }

  private closeLink(): void {
    const link = this.link;
    this.link = null;
    this.generation++;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.dropResume();
    if (link) link.close();
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
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.closeLink();
  }
}
