/**
 * The optional per-value topics (mqtt.per_value_topics): each quantity of the newest
 * reading as plain text on its own retained topic, for subscribers that cannot read JSON.
 * Only values that changed since they were last published are sent again: being retained,
 * the broker already holds the others. Pure.
 */
import type { ReadingFrame } from '../../../../protocol';
import { readingValues } from './state-payload';

export class PerValueTopics {
  /** Topic path -> payload as last handed to the broker on this connection. */
  private readonly published = new Map<string, string>();

  /** [path, payload] of every value of `r` that differs from what was last published; remembered as published. */
  changed(r: ReadingFrame): Array<[string, string]> {
    const out: Array<[string, string]> = [];
    for (const [path, value] of readingValues(r)) {
      if (this.published.get(path) === value) continue;
      this.published.set(path, value);
      out.push([path, value]);
    }
    return out;
  }

  /**
   * A new connection: the broker may have lost its retained messages (restarted without
   * persistence), so the next reading publishes every value again.
   */
  forget(): void {
    this.published.clear();
  }
}
