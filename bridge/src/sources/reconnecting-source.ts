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
import type { Source, SourceEvents } from './source';
import { SourceUnavailableError } from './source';

export interface Link {
  write(text: string): Promise<void>;
  close(): void;
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

export interface ReconnectOptions extends BackoffOptions {
  /** 0 = never; else reopen after this long without a valid frame. */
  idleTimeoutMs: number;
  proven?: ProvenRule;
  /** A monotonic clock in ms (default performance.now: a wall-clock step must not hide or fake silence). */
  now?: () => number;
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

  constructor(readonly description: string, private readonly connector: Connector, private readonly options: ReconnectOptions) {
    this.backoff = new Backoff(options);
    this.proven = options.proven ?? DEFAULT_PROVEN;
    this.now = options.now ?? (() => performance.now());
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

  /** One timer per link, due when the link has been silent for its limit. */
  private armIdle(gen: number, inMs: number): void {
    if (this.options.idleTimeoutMs <= 0) return;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      if (gen !== this.generation || !this.link) return;
      const left = this.lastFrameAt + this.linkSilenceMs - this.now();
      // Timers may fire a millisecond early; less than that left is silence.
      if (left >= 1) return this.armIdle(gen, Math.ceil(left));
      this.silentCloses = Math.min(this.silentCloses + 1, 30);
      this.lost(`silent: no valid frame for ${this.linkSilenceMs} ms`);
    }, inMs);
  }

  private lost(reason: string): void {
    const link = this.link;
    this.link = null;
    this.generation++;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    if (link) link.close();
    this.scheduleRetry(reason);
  }

  private scheduleRetry(reason: string): void {
    const delay = this.backoff.next();
    this.events!.down(`${reason}; retrying in ${delay} ms`);
    this.retryTimer = setTimeout(() => this.attempt(), delay);
  }

  write(text: string): Promise<void> {
    if (!this.link) return Promise.reject(new SourceUnavailableError(`${this.description} is not connected`));
    return this.link.write(text);
  }

  isUp(): boolean {
    return this.link !== null;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.generation++;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.idleTimer) clearTimeout(this.idleTimer);
    const link = this.link;
    this.link = null;
    if (link) link.close();
  }
}
