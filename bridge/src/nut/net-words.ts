/**
 * Words of a NUT network-protocol line, as NUT's own parser reads them: split on spaces
 * and tabs, "double quotes" group a word, and a backslash makes the next character
 * literal (inside quotes or not). And the reverse, for values sent back. Pure.
 */

export type WordsResult = { ok: true; words: string[] } | { ok: false; error: string };

/** Most words one request may hold: the longest command has five (SET VAR ups var value). */
const MAX_WORDS = 16;

export function splitWords(line: string): WordsResult {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === '\\') {
      if (i + 1 >= line.length) return { ok: false, error: 'a backslash ends the line' };
      cur += line[++i];
      inWord = true;
      continue;
    }
    if (quoted) {
      if (c === '"') quoted = false;
      else cur += c;
      continue;
    }
    if (c === '"') {
      quoted = true;
      inWord = true;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r') {
      if (inWord) {
        if (words.length >= MAX_WORDS) return { ok: false, error: `more than ${MAX_WORDS} words` };
        words.push(cur);
        cur = '';
        inWord = false;
      }
      continue;
    }
    const code = c.charCodeAt(0);
    if (code < 0x20 || code === 0x7f) return { ok: false, error: `control character 0x${code.toString(16).padStart(2, '0')} at column ${i + 1}` };
    cur += c;
    inWord = true;
  }
  if (quoted) return { ok: false, error: 'a quote is not closed' };
  if (inWord) {
    if (words.length >= MAX_WORDS) return { ok: false, error: `more than ${MAX_WORDS} words` };
    words.push(cur);
  }
  return { ok: true, words };
}

/** A value in double quotes, with quotes and backslashes escaped. */
export function quote(value: string): string {
  let needs = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (c === '"' || c === '\\') {
      needs = true;
      break;
    }
  }
  return needs ? '"' + value.replace(/[\\"]/g, (m) => '\\' + m) + '"' : '"' + value + '"';
}
