/**
 * The MCU's side of protocol v1, small enough for the 12 KB firmware budget: it builds
 * R/E/A frame bodies and parses C frames; a reading's values are written by
 * reading-writer.ts, from the protocol's field table. The full codec (protocol/) validates every
 * frame type for the bridge; tests hold the two together (everything encoded here is
 * decoded there, and both accept and reject the same command lines).
 *
 * Numbers are formatted by integer rounding, not toFixed: Espruino's toFixed truncates
 * where V8 rounds (14.4999999 → "14.49" vs "14.50"), and a frame must read the same on
 * the board and in the simulator.
 */
import type { CrcFn } from '../../protocol/spec';
import { COMMANDS, FORCE_ARGS, LIMITS, MAX_LINE_LENGTH, MODES, SET_ARGS, limitText } from '../../protocol/spec';
import { hexUpper } from '../../protocol/crc32';

/** `$body*CRC`, without the line terminator. */
export function frameLine(body: string, crc: CrcFn): string {
  return '$' + body + '*' + hexUpper(crc(body), 8);
}

/** Fixed decimals with round-half-up on the magnitude; '-' when absent or outside lo..hi. */
export function formatFixed(x: number | null, decimals: number, lo: number, hi: number): string {
  if (x === null || x !== x || x === Infinity || x === -Infinity) return '-';
  const scale = Math.pow(10, decimals);
  const n = Math.round((x < 0 ? -x : x) * scale);
  const negative = x < 0 && n > 0;
  const v = (negative ? -n : n) / scale;
  if (v < lo || v > hi) return '-';
  const whole = Math.floor(n / scale);
  let frac = String(n - whole * scale);
  while (frac.length < decimals) frac = '0' + frac;
  return (negative ? '-' : '') + whole + (decimals > 0 ? '.' + frac : '');
}

/** Free text as the protocol allows it: printable ASCII without `$ * ,`, at most 120 chars. */
export function safeText(s: string): string {
  let out = '';
  for (let i = 0; i < s.length && i < 120; i++) {
    const c = s.charCodeAt(i);
    out += c < 32 || c > 126 || c === 36 || c === 42 || c === 44 ? '_' : s.charAt(i);
  }
  return out;
}

/** A command as the MCU acts on it: numbers parsed, names as on the wire. */
export interface McuCommand {
  id: number;
  cmd: string;
  args: { [key: string]: number | string };
}

/** Why a command line was refused; `id` is 0 when the line was too damaged to answer. */
export interface McuCommandError {
  id: number;
  err: string;
  msg: string;
}

function isDecimal(s: string): boolean {
  let i = s.charAt(0) === '-' ? 1 : 0;
  let digits = 0;
  let dot = false;
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) digits++;
    else if (c === 46 && !dot && digits > 0 && i < s.length - 1) dot = true;
    else return false;
  }
  return digits > 0;
}

function refuse(id: number, err: string, msg: string): McuCommandError {
  return { id: id, err: err, msg: msg };
}

/**
 * Parses one line from the host. A line that is not an intact C frame with a valid id
 * is refused with id 0, which the caller answers with silence: the host's request times
 * out rather than being matched to a guess. The rules are validateCommand's (protocol/commands.ts),
 * reproduced compactly (a differential test keeps the two in agreement).
 */
export function parseCommand(input: string, crc: CrcFn): McuCommand | McuCommandError {
  // One trailing CR is the terminator's (a "\r\r\n" line keeps one after splitting).
  const line = input.charCodeAt(input.length - 1) === 13 ? input.slice(0, input.length - 1) : input;
  const start = line.lastIndexOf('$');
  const star = line.length - 9;
  const body = line.slice(start + 1, star);
  if (line.length > MAX_LINE_LENGTH || start < 0 || star <= start || line.charAt(star) !== '*' ||
    hexUpper(crc(body), 8) !== line.slice(star + 1)) return refuse(0, 'bad_crc', '');
  // Damage that the full decoder calls malformed gets no reply here either: a control
  // or non-ASCII character, a '*' inside a value, a key that is not [a-z][a-z0-9_]*.
  // (Only the simplest regular expressions: Espruino's have no ? or groups.)
  if (/[^ -)+-~]/.test(body)) return refuse(0, 'malformed', '');
  const parts = body.split(',');
  // Keys are stored with their '=' so that no key can meet an inherited property
  // ("constructor") of the plain object.
  const raw: { [keyEq: string]: string } = {};
  for (let i = 2; i < parts.length; i++) {
    const eq = parts[i].indexOf('=') + 1;
    const k = parts[i].slice(0, eq);
    if (eq === parts[i].length || k === 'v=' || raw[k] !== undefined || !/^[a-z][a-z0-9_]*=$/.test(k)) {
      return refuse(0, 'malformed', '');
    }
    raw[k] = parts[i].slice(eq);
  }
  const idText = raw['id='] || '';
  let id = 0;
  for (let i = 0; i < idText.length; i++) {
    const c = idText.charCodeAt(i);
    id = c >= 48 && c <= 57 ? id * 10 + c - 48 : NaN;
  }
  if (parts[0] !== 'C' || parts[1] !== 'v=1' || !(id >= 1 && id <= 4294967295)) return refuse(0, 'malformed', '');
  const cmd = raw['cmd='];
  if (COMMANDS.indexOf('|' + cmd + '|') < 0) return refuse(id, 'bad_value', 'cmd');
  const takes = cmd === 'set' ? SET_ARGS : cmd === 'force' ? FORCE_ARGS : '|';
  const args: { [key: string]: number | string } = {};
  let count = 0;
  for (const keyEq in raw) {
    const k = keyEq.slice(0, keyEq.length - 1);
    if (k === 'id' || k === 'cmd') continue;
    const v = raw[keyEq];
    count++;
    if (takes.indexOf('|' + k + '|') < 0) return refuse(id, 'bad_value', cmd + ' takes no ' + safeText(k));
    if (k === 'mode') {
      if (MODES.indexOf('|' + v + '|') < 0) return refuse(id, 'bad_value', 'mode');
      args[k] = v;
    } else {
      const x = isDecimal(v) ? parseFloat(v) : NaN;
      if (!(x >= LIMITS[k][0] && x <= LIMITS[k][1])) {
        return refuse(id, x === x ? 'out_of_range' : 'bad_value', limitText(k));
      }
      args[k] = x;
    }
  }
  const a = args;
  if (cmd === 'set' && count === 0) return refuse(id, 'missing_field', 'set what');
  if ((a['bon'] as number) >= (a['boff'] as number) || (a['sdn'] as number) >= (a['sup'] as number)) {
    return refuse(id, 'bad_value', 'on>=off');
  }
  if (cmd === 'force' && (a['mode'] === undefined || (a['mode'] === 'auto') !== (a['for'] === undefined))) {
    return refuse(id, a['mode'] === undefined ? 'missing_field' : 'bad_value', 'on|off+for, or auto');
  }
  return { id: id, cmd: cmd, args: args };
}
