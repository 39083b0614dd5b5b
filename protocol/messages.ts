/**
 * Events (E frames: boot, error, warnings…) and replies (A frames, the answer to a
 * command), encoded and decoded.
 */
import { A_KEYS, BITS, E_KEYS, KINDS } from './spec';
import type { CrcFn, EventKind } from './spec';
import type { DecodeResult, EventFrame, EventInfo, Reply, ReplyFrame } from './frames';
import { UINT32_MAX, UPTIME } from './frames';
import type { FieldReader } from './field-reader';
import { hasOwn, isDecimal, isKey, isToken, quoted } from './scan';
import {
  cannotEncode, frameLine, listWord, msgField, requiredFixedText, shortestDecimal, tokenText, unsignedText,
} from './encode';

export function encodeEvent(e: EventInfo, crc?: CrcFn): string {
  let s = 'E,v=1,boot=' + unsignedText(e.boot, 0, 'boot') + ',up=' + requiredFixedText(e.up, UPTIME, 'up') + ',kind=' + listWord(e.kind, KINDS, 'kind');
  if (e.fw !== undefined) s += ',fw=' + tokenText(e.fw, 'fw');
  return frameLine(s + msgField(e.msg), crc);
}

export function encodeReply(r: Reply, crc?: CrcFn): string {
  let s = 'A,v=1,id=' + unsignedText(r.id, 0, 'id');
  if (r.ok === 1) {
    if (r.err !== undefined) cannotEncode('err', 'only a failed reply (ok=0) carries err');
    s += ',ok=1';
  } else if (r.ok === 0) {
    if (r.err === undefined) cannotEncode('err', 'a failed reply (ok=0) needs err');
    s += ',ok=0,err=' + tokenText(r.err, 'err');
  } else {
    cannotEncode('ok', quoted(r.ok) + ' is not 0 or 1');
  }
  s += msgField(r.msg);
  const data = r.data;
  if (data) {
    for (const k in data) {
      if (!hasOwn(data, k)) continue;
      const v = data[k];
      if (v === undefined) continue;
      if (!isKey(k) || A_KEYS.indexOf('|' + k + '|') >= 0 || k === 'v') cannotEncode('data', quoted(k) + ' is not a free key');
      let w: string;
      if (v === null) w = '-';
      else if (typeof v === 'number') w = shortestDecimal(v);
      else {
        // A string that reads as a number or '-' would come back as one.
        if (typeof v !== 'string' || !isToken(v) || v === '-' || isDecimal(v)) cannotEncode(k, quoted(v) + ' is not a non-numeric token');
        w = v as string;
      }
      s += ',' + k + '=' + w;
    }
  }
  return frameLine(s, crc);
}

export function decodeEvent(c: FieldReader, keys: string[]): DecodeResult {
  const e: EventFrame = {
    type: 'E',
    boot: c.unsigned('boot', 0, UINT32_MAX),
    up: c.decimal('up', UPTIME.lo, UPTIME.hi),
    kind: c.oneOf('kind', KINDS) as EventKind,
  };
  if (c.has('fw')) e.fw = c.token('fw');
  if (c.has('msg')) e.msg = c.values['msg'] as string;
  const extra = c.unknownFields(keys, E_KEYS);
  if (extra) e.extra = extra;
  return c.err || { ok: true, frame: e };
}

export function decodeReply(c: FieldReader, keys: string[]): DecodeResult {
  const r: ReplyFrame = {
    type: 'A',
    id: c.unsigned('id', 0, UINT32_MAX),
    ok: c.oneOf('ok', BITS) === '1' ? 1 : 0,
  };
  if (c.has('err')) {
    if (r.ok === 1) c.fail('bad_value', 'field err: only a failed reply (ok=0) carries err');
    else r.err = c.token('err');
  } else if (!c.err && r.ok === 0) {
    c.fail('missing_field', 'field err missing (required when ok=0)');
  }
  if (c.has('msg')) r.msg = c.values['msg'] as string;
  const data = c.unknownFields(keys, A_KEYS);
  if (data) r.data = data;
  return c.err || { ok: true, frame: r };
}
