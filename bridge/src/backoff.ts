/**
 * Capped exponential backoff with jitter, for reconnecting to the source, the broker and
 * InfluxDB. Jitter keeps several bridges (or one bridge's sinks) restarted together from
 * hammering a recovering server in lockstep. Pure: the random source is injected.
 */
export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  /** 0 = none; 0.2 = each delay drawn from [80 %, 100 %] of its nominal value. */
  jitter?: number;
}

export class Backoff {
  private attempt = 0;

  constructor(private readonly options: BackoffOptions, private readonly random: () => number = Math.random) {
    if (!(options.initialMs > 0) || !(options.maxMs >= options.initialMs)) {
      throw new Error(`backoff needs 0 < initial (${options.initialMs}) <= max (${options.maxMs})`);
    }
  }

  /** The delay before the next attempt; each call doubles it, up to the cap. */
  next(): number {
    const nominal = Math.min(this.options.maxMs, this.options.initialMs * 2 ** Math.min(this.attempt, 40));
    this.attempt++;
    const j = this.options.jitter ?? 0.2;
    return Math.round(nominal * (1 - j * this.random()));
  }

  /** After a success: the next failure starts from the initial delay again. */
  reset(): void {
    this.attempt = 0;
  }

  get failures(): number {
    return this.attempt;
  }
}
