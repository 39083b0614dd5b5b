/**
 * The log and the counter of command answers. Each refusal is logged with which command,
 * from where and why; each result with its command, origin and outcome. Rate-limited per
 * (origin, command, outcome, error): a flood of 5,000 commands costs a line per kind per
 * interval, and at the end of each interval one line stands for the ones held back (the
 * latest of them, with the count). The counter still sees every answer.
 *
 * Kinds are built only from bounded sets (origins are chosen in code, commands and
 * errors are the protocol's tokens, anything else folds into `other`), so a hostile
 * stream of made-up names cannot grow the rate limiter's table.
 */
import { COMMANDS } from '../../../protocol/spec';
import type { Logger } from '../log/logger';
import { RateLimitedLog } from '../log/rate-limited-log';
import type { Counter } from '../metrics/registry';
import type { CommandReport } from './command-router';
import { printableExcerpt } from '../log/excerpt';

export const COMMAND_LOG_INTERVAL_MS = 10000;

/** Error tokens a kind may carry as they are: the bridge's, the protocol's reject reasons, the MCU's. */
const KNOWN_ERRORS = '|invalid|forbidden|unavailable|busy|timeout|malformed|missing_field|duplicate_field|bad_value|out_of_range|storage|internal|failed|';

function bounded(value: string | undefined, known: string): string {
  return value !== undefined && value.indexOf('|') < 0 && known.indexOf('|' + value + '|') >= 0 ? value : 'other';
}

export class CommandLog {
  private readonly limited: RateLimitedLog;

  constructor(log: Logger, private readonly counter: Counter, intervalMs = COMMAND_LOG_INTERVAL_MS, now: () => number = Date.now) {
    this.limited = new RateLimitedLog(log, intervalMs, now, { summarize: true });
  }

  record(r: CommandReport): void {
    this.counter.inc({ result: r.outcome });
    const reply = r.reply;
    const cmd = reply.cmd ?? '(none)';
    const origin = r.origin.length <= 32 ? r.origin : r.origin.slice(0, 32);
    const kind = `command:${origin}:${bounded(reply.cmd, COMMANDS)}:${r.outcome}:${bounded(reply.error, KNOWN_ERRORS)}`;
    const fields = {
      cmd, from: origin, result: r.outcome, error: reply.error, reason: reply.detail,
      request_id: reply.request_id === undefined ? undefined : String(reply.request_id).slice(0, 64),
      payload: r.payload !== undefined && reply.cmd === undefined ? printableExcerpt(r.payload, 60) : undefined,
    };
    if (r.outcome === 'invalid' || r.outcome === 'forbidden') {
      this.limited.warn(kind, `refused command ${cmd} from ${origin}: ${reply.error}: ${reply.detail ?? ''}`, fields);
    } else if (r.outcome === 'ok') {
      this.limited.emit('info', kind, `command ${cmd} from ${origin}: ok`, fields);
    } else {
      this.limited.warn(kind, `command ${cmd} from ${origin}: ${r.outcome}: ${reply.error ?? ''} ${reply.detail ?? ''}`.trimEnd(), fields);
    }
  }

  /** Logs the summaries still held (at shutdown). */
  close(): void {
    this.limited.close();
  }
}
