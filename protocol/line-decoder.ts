/**
 * One line in, one frame or one reason out: framing (console noise before the last '$',
 * `*` and the CRC at the end), version and type, then the fields split and handed to
 * the frame's decoder. Never throws: every problem is a { ok: false, reason, detail }.
 */
import { MAX_LINE_LENGTH } from './spec';
import type { CrcFn, FrameType } from './spec';
import type { CommandFrame, DecodeResult } from './frames';
import { UINT32_MAX } from './frames';
import { crc32, hexUpper } from './crc32';
import { FieldReader, WireMap, reject } from './field-reader';
import { hasOwn, isBlank, isHex, isKey, isPrintable, quoted } from './scan';
import { checkCommand } from './commands';
import { decodeEvent, decodeReply } from './messages';
import type { ReadingCodec } from './reading-codec';

/** Decodes one line (a trailing "\n", "\r\n" or "\r" is ignored); pass E.CRC32 as `crc` on the MCU. */
export type LineDecoder = (line: string, crc?: CrcFn) => DecodeResult;

function decodeCommand(c: FieldReader, keys: string[]): DecodeResult {
  const id = c.unsigned('id', 1, UINT32_MAX);
  if (c.err) return c.err;
  const args: WireMap = {};
  for (let i = 0; i < keys.length; i++) if (keys[i] !== 'id') args[keys[i]] = c.values[keys[i]];
  const check = checkCommand(args);
  if (!check.ok) return reject(check.reason, check.detail, 'C', id);
  const frame = check.command as CommandFrame;
  frame.type = 'C';
  frame.id = id;
  return { ok: true, frame: frame };
}

function decode(input: string, crc: CrcFn, reading: ReadingCodec): DecodeResult {
  let line = input;
  let end = line.length;
  if (end > 0 && line.charCodeAt(end - 1) === 10) end--;
  if (end > 0 && line.charCodeAt(end - 1) === 13) end--;
  // Checked before anything scans the line, so a huge string costs nothing.
  if (end > MAX_LINE_LENGTH) return reject('too_long', 'line of ' + end + ' chars exceeds ' + MAX_LINE_LENGTH);
  if (end !== line.length) line = line.slice(0, end);
  if (isBlank(line)) return reject('empty', 'empty line');

  // Console prompts, echo and half-lines end up before the last '$'.
  const start = line.lastIndexOf('$');
  if (start < 0) return reject('noise', 'no $ on the line');
  const star = line.length - 9;
  if (star <= start || line.charCodeAt(star) !== 42 || !isHex(line, star + 1, 8, false)) {
    return reject('truncated', 'frame does not end in * and 8 hex digits');
  }
  if (!isHex(line, star + 1, 8, true)) return reject('bad_crc', 'CRC must be 8 uppercase hex digits');
  const body = line.slice(start + 1, star);
  const sent = line.slice(star + 1);
  const got = hexUpper(crc(body), 8);
  if (got !== sent) return reject('bad_crc', 'CRC is ' + sent + ' but the frame gives ' + got);
  // After the CRC, so damage in transit is counted as bad_crc rather than malformed.
  if (!isPrintable(body)) return reject('malformed', 'control or non-ASCII character in the frame');

  const parts = body.split(',');
  if (parts.length < 2 || parts[1].slice(0, 2) !== 'v=') return reject('missing_field', 'v must be the first field after the type');
  const version = parts[1].slice(2);
  if (version !== '1') return reject('bad_version', 'version ' + quoted(version) + ', this decoder reads v1');
  const type = parts[0];
  if (type !== 'R' && type !== 'E' && type !== 'C' && type !== 'A') return reject('unknown_type', 'type ' + quoted(type));
  const t = type as FrameType;

  const values: WireMap = {};
  const keys: string[] = [];
  for (let i = 2; i < parts.length; i++) {
    const p = parts[i];
    const eq = p.indexOf('=');
    if (eq < 0) return reject('malformed', 'field #' + (i + 1) + ' (' + quoted(p) + ') has no =', t);
    const k = p.slice(0, eq);
    const v = p.slice(eq + 1);
    if (!isKey(k)) return reject('malformed', 'field #' + (i + 1) + ': bad key ' + quoted(k), t);
    if (v.length === 0) return reject('malformed', 'field ' + k + ': empty value', t);
    if (v.indexOf('*') >= 0) return reject('malformed', 'field ' + k + ': * inside a value', t);
    if (k === 'v' || hasOwn(values, k)) return reject('duplicate_field', 'field ' + k + ' appears twice', t);
    values[k] = v;
    keys.push(k);
  }
  const c = new FieldReader(values, t);
  if (t === 'R') return reading.decode(c, keys);
  if (t === 'E') return decodeEvent(c, keys);
  if (t === 'C') return decodeCommand(c, keys);
  return decodeReply(c, keys);
}

/** The line decoder for readings of `reading`'s table. */
export function lineDecoder(reading: ReadingCodec): LineDecoder {
  return (line: string, crc?: CrcFn): DecodeResult => {
    if (typeof line !== 'string') return reject('malformed', 'not a string');
    try {
      return decode(line, crc || crc32, reading);
    } catch (e) {
      // Every input is validated above; this only shields the caller's read loop from a
      // throwing crc function or a case nobody foresaw.
      return reject('malformed', 'decoder error');
    }
  };
}
