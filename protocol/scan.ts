/**
 * What the wire's characters may be, checked by hand-written scanners: no regular
 * expressions, because Espruino's RegExp lacks `?`, `{n}` and grouped quantifiers and
 * recurses once per character, and these run the same everywhere (and faster in V8).
 * Also the two text helpers every encoder and error message use.
 */
import { MAX_TEXT_LENGTH } from './spec';


function isDigit(c: number): boolean { return c >= 48 && c <= 57; }
function isLower(c: number): boolean { return c >= 97 && c <= 122; }

/** `-?digits(.digits)?` */
export function isDecimal(s: string): boolean {
  const n = s.length;
  let i = s.charCodeAt(0) === 45 ? 1 : 0;
  const intStart = i;
  while (i < n && isDigit(s.charCodeAt(i))) i++;
  if (i === intStart) return false;
  if (i === n) return true;
  if (s.charCodeAt(i) !== 46) return false;
  const fracStart = ++i;
  while (i < n && isDigit(s.charCodeAt(i))) i++;
  return i > fracStart && i === n;
}

export function isUnsigned(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) if (!isDigit(s.charCodeAt(i))) return false;
  return true;
}

/** `[A-Za-z0-9_.:/+-]+` */
export function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!(isDigit(c) || isLower(c) || (c >= 65 && c <= 90) || c === 95 || c === 46 || c === 58 || c === 47 || c === 43 || c === 45)) return false;
  }
  return true;
}

/** `[a-z][a-z0-9_]*` */
export function isKey(s: string): boolean {
  if (s.length === 0 || !isLower(s.charCodeAt(0))) return false;
  for (let i = 1; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!(isLower(c) || isDigit(c) || c === 95)) return false;
  }
  return true;
}

/** Free text may hold any printable ASCII except the three framing characters. */
export function isTextChar(c: number): boolean {
  return c >= 32 && c <= 126 && c !== 36 && c !== 42 && c !== 44;
}

export function isPrintable(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 32 || c > 126) return false;
  }
  return true;
}

export function isBlank(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c !== 32 && (c < 9 || c > 13)) return false;
  }
  return true;
}

export function isHex(s: string, from: number, count: number, upperOnly: boolean): boolean {
  if (s.length !== from + count) return false;
  for (let i = from; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!(isDigit(c) || (c >= 65 && c <= 70) || (!upperOnly && c >= 97 && c <= 102))) return false;
  }
  return true;
}

export function inList(list: string, v: string): boolean {
  // Tokens and keys cannot contain '|', so a match is always a whole entry.
  return isToken(v) && list.indexOf('|' + v + '|') >= 0;
}

export function hasOwn(o: object, k: string): boolean {
  return Object.prototype.hasOwnProperty.call(o, k);
}

/** Replace what text may not contain with '_' and cut it to MAX_TEXT_LENGTH. */
export function sanitizeText(text: string): string {
  const n = text.length < MAX_TEXT_LENGTH ? text.length : MAX_TEXT_LENGTH;
  let i = 0;
  while (i < n && isTextChar(text.charCodeAt(i))) i++;
  if (i === n) return text.length === n ? text : text.slice(0, n);
  let out = text.slice(0, i);
  for (; i < n; i++) out += isTextChar(text.charCodeAt(i)) ? text.charAt(i) : '_';
  return out;
}

/** A value quoted in an error detail: short and printable whatever it was. */
export function quoted(v: unknown): string {
  const s = typeof v === 'string' ? v : String(v);
  let out = '';
  for (let i = 0; i < s.length && i < 24; i++) out += isTextChar(s.charCodeAt(i)) ? s.charAt(i) : '?';
  return s.length > 24 ? out + '...' : out;
}
