/**
 * Reading systemd unit files the way systemd does, for the deployment tests: sections,
 * repeated keys (kept in order), `\` line continuations, comments, and the command line
 * of an Exec*= setting with its specifiers expanded.
 */
import fs from 'node:fs';

export interface UnitSetting { section: string; key: string; value: string; line: number }

export class UnitFile {
  readonly settings: UnitSetting[] = [];

  constructor(readonly text: string, readonly name = 'unit') {
    let section = '';
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      let line = lines[i].trim();
      const first = i + 1;
      if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
      // A trailing backslash joins the next line (comment lines inside are skipped, as systemd does).
      while (line.endsWith('\\') && i + 1 < lines.length) {
        const next = lines[++i].trim();
        if (next.startsWith('#') || next.startsWith(';')) continue;
        line = line.slice(0, -1) + ' ' + next;
      }
      const sec = /^\[([^\]]+)\]$/.exec(line);
      if (sec) {
        section = sec[1];
        continue;
      }
      const eq = line.indexOf('=');
      if (eq <= 0 || section === '') throw new Error(`${name}:${first}: not a setting: ${line}`);
      this.settings.push({ section, key: line.slice(0, eq).trim(), value: line.slice(eq + 1).trim(), line: first });
    }
  }

  static read(file: string): UnitFile {
    return new UnitFile(fs.readFileSync(file, 'utf8'), file);
  }

  /** Every value given to section.key, in order (an empty assignment resets the list, as in systemd). */
  all(section: string, key: string): string[] {
    const out: string[] = [];
    for (const s of this.settings) {
      if (s.section !== section || s.key !== key) continue;
      if (s.value === '') out.length = 0;
      else out.push(s.value);
    }
    return out;
  }

  /** The last value of section.key (the one systemd uses for single-valued settings). */
  get(section: string, key: string): string | undefined {
    const found = this.settings.filter((s) => s.section === section && s.key === key);
    return found.length > 0 ? found[found.length - 1].value : undefined;
  }

  /** Space-separated list settings (RestrictAddressFamilies=, SupplementaryGroups=, ...) as one list. */
  words(section: string, key: string): string[] {
    return this.all(section, key).flatMap((v) => v.split(/\s+/)).filter(Boolean);
  }
}

/**
 * An Exec*= value as argv. Handles the unit's plain words and double quotes; the
 * special prefixes (-, @, :, +, !) are refused because the units here use none.
 */
export function execArgv(value: string): string[] {
  if (/^[-@:+!]/.test(value)) throw new Error(`Exec prefix not handled: ${value}`);
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(value)) !== null) out.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2]);
  return out;
}

/** Expands the specifiers given (e.g. {S: '/var/lib'}); any other %x is an error, so a new one cannot slip by untested. */
export function expandSpecifiers(arg: string, values: { [letter: string]: string }): string {
  return arg.replace(/%(.)/g, (_all, letter: string) => {
    if (letter === '%') return '%';
    if (!(letter in values)) throw new Error(`specifier %${letter} in "${arg}" is not expanded by the test`);
    return values[letter];
  });
}

/** An EnvironmentFile= as systemd reads it: KEY=value lines, # and ; comments, optional quotes. */
export function parseEnvironmentFile(text: string): { [name: string]: string } {
  const env: { [name: string]: string } = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!m) throw new Error(`not an environment assignment: ${line}`);
    const v = m[2];
    env[m[1]] = /^(["']).*\1$/.test(v) ? v.slice(1, -1) : v;
  }
  return env;
}
