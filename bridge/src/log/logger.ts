/**
 * Structured logs with levels, one line per entry, to a writable (stderr by default):
 * `text` for people (`2026-01-02T03:04:05.678Z WARN  source: lost tcp://… err="…"`) or
 * `json` for log shippers (`{"time":…,"level":"warn","component":"source","msg":…}`).
 */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFormat = 'text' | 'json';
export type LogFields = { [key: string]: string | number | boolean | null | undefined };

const RANK: { [l in LogLevel]: number } = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** The same output, entries tagged with a component name. */
  child(component: string): Logger;
}

export interface LogOutput {
  write(line: string): unknown;
}

function textValue(v: string | number | boolean | null): string {
  if (typeof v !== 'string') return String(v);
  return /^[A-Za-z0-9_.:/@+-]+$/.test(v) ? v : JSON.stringify(v);
}

export function createLogger(level: LogLevel, format: LogFormat, out: LogOutput = process.stderr, now: () => Date = () => new Date(), component = ''): Logger {
  const min = RANK[level];
  const emit = (l: LogLevel, msg: string, fields?: LogFields): void => {
    if (RANK[l] < min) return;
    const time = now().toISOString();
    if (format === 'json') {
      const entry: { [k: string]: unknown } = { time, level: l };
      if (component) entry.component = component;
      entry.msg = msg;
      if (fields) for (const k in fields) if (fields[k] !== undefined) entry[k] = fields[k];
      out.write(JSON.stringify(entry) + '\n');
      return;
    }
    let line = `${time} ${l.toUpperCase().padEnd(5)} ${component ? component + ': ' : ''}${msg}`;
    if (fields) for (const k in fields) { const v = fields[k]; if (v !== undefined) line += ` ${k}=${textValue(v)}`; }
    out.write(line + '\n');
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (c) => createLogger(level, format, out, now, component ? component + '.' + c : c),
  };
}

/** A logger that drops everything (library use, benchmarks). */
export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => silentLogger,
};
