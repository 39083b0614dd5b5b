/**
 * A live source (TCP, serial) that opens its link, and when the link fails or closes,
 * opens it again after a capped exponential backoff, forever, until stopped. A link that
 * stays silent longer than the idle timeout is closed and reopened: a half-open TCP
 * connection to a ser2net that was power-cycled would otherwise look "up" for hours.
 */
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

export interface ReconnectOptions extends BackoffOptions {
  /** 0 = never; else reopen after this long without a byte. */
  idleTimeoutMs: number;
}

export class ReconnectingSource implements Source {
  private link: Link | null = null;
  private events: SourceEvents | null = null;
  private stopped = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private readonly backoff: Backoff;
  /** Bumped per attempt, so events from a link we already gave up on are ignored. */
  private generation = 0;

  constructor(readonly description: string, private readonly connector: Connector, private readonly options: ReconnectOptions) {
    this.backoff = new Backoff(options);
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
        this.armIdle(gen);
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
      this.backoff.reset();
      this.armIdle(gen);
      ev.up();
    }, (err: Error) => {
      if (gen !== this.generation || this.stopped) return;
      this.scheduleRetry(err.message);
    });
  }

  private armIdle(gen: number): void {
    if (this.options.idleTimeoutMs <= 0) return;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      if (gen === this.generation && this.link) this.lost(`no data for ${this.options.idleTimeoutMs} ms`);
    }, this.options.idleTimeoutMs);
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
