/**
 * Bounded waiting: poll a condition until it holds or the deadline passes, then fail with
 * a message that says what was awaited and (optionally) what was seen last.
 */
export interface WaitOptions {
  timeoutMs: number;
  intervalMs?: number;
  /** What is being waited for, e.g. "mosquitto to accept connections". */
  what: string;
  /** Called on timeout to add context (last value seen, logs). */
  detail?: () => string | Promise<string>;
}

export async function waitFor(check: () => boolean | Promise<boolean>, o: WaitOptions): Promise<void> {
  const deadline = Date.now() + o.timeoutMs;
  const interval = o.intervalMs ?? 50;
  let lastError: unknown;
  for (;;) {
    try {
      if (await check()) return;
      lastError = undefined;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() >= deadline) {
      let msg = `timed out after ${o.timeoutMs} ms waiting for ${o.what}`;
      if (lastError) msg += `; last check threw: ${(lastError as Error).message}`;
      if (o.detail) msg += `\n${await o.detail()}`;
      throw new Error(msg);
    }
    await sleep(interval);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
