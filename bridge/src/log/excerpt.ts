/**
 * A printable, bounded excerpt of untrusted text for a log line: control and non-ASCII
 * characters become \xNN, so a hostile payload cannot forge log lines or flood them.
 */
export function printableExcerpt(text: string, maxChars: number): string {
  let s = '';
  for (let i = 0; i < text.length && i < maxChars; i++) {
    const c = text.charCodeAt(i);
    s += c >= 32 && c <= 126 ? text[i] : '\\x' + c.toString(16).padStart(2, '0');
  }
  return text.length > maxChars ? s + '...' : s;
}
