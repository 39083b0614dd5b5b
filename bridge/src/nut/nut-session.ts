/**
 * One client connection's side of NUT's network protocol (docs/net-protocol.txt of
 * networkupstools/nut, version 1.3): parses a request line, answers it. Reads (GET, LIST)
 * need no login, as with upsd; LOGIN, PRIMARY/MASTER and FSD need USERNAME and PASSWORD
 * of a configured user allowed on that UPS; FSD also needs the primary role and a LOGIN
 * to that UPS. Nothing a client sends reaches the MCU: there are no writable variables
 * and no instant commands. Pure: the caller passes the time with every line.
 */
import { timingSafeEqual } from 'node:crypto';
import { quote, splitWords } from './net-words';
import type { NutUser } from './nut-config';
import type { UpsBank } from './ups-bank';
import { describeVar, typeOf } from './variables';

export const PROTOCOL_VERSION = '1.3';

export interface Answer {
  /** Text to send, each line ending in \n. */
  text: string;
  /** The request's first word (upper case) or a placeholder, for the requests metric. */
  command: string;
  /** The error word when the answer is an error. */
  error?: string;
  /** Close the connection after sending. */
  close?: boolean;
  /** Something worth a log line (never holds a password). */
  note?: string;
}

export interface SessionContext {
  bank: UpsBank;
  users: ReadonlyMap<string, NutUser>;
  serverVersion: string;
}

const KNOWN = new Set(['VER', 'NETVER', 'PROTVER', 'HELP', 'STARTTLS', 'GET', 'LIST', 'USERNAME', 'PASSWORD', 'LOGIN', 'LOGOUT', 'PRIMARY', 'MASTER', 'FSD', 'SET', 'INSTCMD']);

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  // Compare in constant time for equal lengths; the length itself is not worth hiding.
  return x.length === y.length && timingSafeEqual(x, y);
}

export class NutSession {
  private username: string | null = null;
  private password: string | null = null;
  private loginUps: string | null = null;

  constructor(private readonly ctx: SessionContext, readonly id: number, readonly address: string) {}

  /** The session ends: it no longer counts as logged in anywhere. */
  close(): void {
    this.ctx.bank.logout(this.id);
  }

  handle(line: string, nowMs: number): Answer {
    const parsed = splitWords(line);
    if (!parsed.ok) return this.err('(unparsable)', 'INVALID-ARGUMENT', `unparsable request: ${parsed.error}`);
    const w = parsed.words;
    if (w.length === 0) return this.err('(empty)', 'UNKNOWN-COMMAND', 'empty request');
    const cmd = w[0].toUpperCase();
    const args = w.slice(1);
    if (!KNOWN.has(cmd)) return this.err('(unknown)', 'UNKNOWN-COMMAND', `unknown command ${excerpt(w[0])}`);
    switch (cmd) {
      case 'VER': return ok(cmd, `solar-cluster bridge ${this.ctx.serverVersion} (NUT network protocol ${PROTOCOL_VERSION})\n`);
      case 'NETVER':
      case 'PROTVER': return ok(cmd, `${PROTOCOL_VERSION}\n`);
      case 'HELP': return ok(cmd, 'Commands: HELP VER NETVER PROTVER GET LIST USERNAME PASSWORD LOGIN LOGOUT PRIMARY MASTER FSD STARTTLS\n');
      case 'STARTTLS': return this.err(cmd, 'FEATURE-NOT-CONFIGURED');
      case 'GET': return this.get(args, nowMs);
      case 'LIST': return this.list(args, nowMs);
      case 'USERNAME': return this.setUsername(args);
      case 'PASSWORD': return this.setPassword(args);
      case 'LOGOUT':
        if (args.length !== 0) return this.err(cmd, 'INVALID-ARGUMENT');
        return { command: cmd, text: 'OK Goodbye\n', close: true };
      default: return this.authenticated(cmd, args, nowMs);
    }
  }

  private err(command: string, word: string, note?: string): Answer {
    return { command, text: `ERR ${word}\n`, error: word, note };
  }

  private get(a: string[], nowMs: number): Answer {
    const bank = this.ctx.bank;
    const sub = (a[0] ?? '').toUpperCase();
    if (sub === 'TRACKING') return ok('GET', 'OFF\n');
    if (a.length < 2) return this.err('GET', 'INVALID-ARGUMENT');
    const ups = a[1];
    if (sub === 'UPSDESC') {
      if (a.length !== 2) return this.err('GET', 'INVALID-ARGUMENT');
      if (!bank.has(ups)) return this.err('GET', 'UNKNOWN-UPS');
      return ok('GET', `UPSDESC ${ups} ${quote(bank.description(ups) || 'Unavailable')}\n`);
    }
    if (sub === 'NUMLOGINS') {
      if (a.length !== 2) return this.err('GET', 'INVALID-ARGUMENT');
      const v = bank.view(ups, nowMs);
      if (v.kind !== 'ok') return this.unavailable('GET', v.kind);
      return ok('GET', `NUMLOGINS ${ups} ${bank.numLogins(ups)}\n`);
    }
    if (a.length !== 3 || !['VAR', 'TYPE', 'DESC', 'CMDDESC'].includes(sub)) return this.err('GET', 'INVALID-ARGUMENT');
    const name = a[2];
    if (sub === 'VAR' && name.toLowerCase().startsWith('server.')) {
      if (name.toLowerCase() === 'server.version') return ok('GET', `VAR ${ups} ${name} ${quote(this.ctx.serverVersion)}\n`);
      if (name.toLowerCase() === 'server.info') return ok('GET', `VAR ${ups} ${name} ${quote(`solar-cluster bridge ${this.ctx.serverVersion}`)}\n`);
      return this.err('GET', 'VAR-NOT-SUPPORTED');
    }
    const v = bank.view(ups, nowMs);
    if (v.kind !== 'ok') return this.unavailable('GET', v.kind);
    if (sub === 'CMDDESC') return this.err('GET', 'CMD-NOT-SUPPORTED');
    if (sub === 'DESC') return ok('GET', `DESC ${ups} ${name} ${quote(describeVar(name) ?? 'Description unavailable')}\n`);
    const value = v.vars.get(name);
    if (value === undefined) return this.err('GET', 'VAR-NOT-SUPPORTED');
    if (sub === 'TYPE') return ok('GET', `TYPE ${ups} ${name} ${typeOf(name, value)}\n`);
    return ok('GET', `VAR ${ups} ${name} ${quote(value)}\n`);
  }

  private unavailable(command: string, kind: 'stale' | 'unknown'): Answer {
    return kind === 'unknown' ? this.err(command, 'UNKNOWN-UPS') : this.err(command, 'DATA-STALE');
  }

  private list(a: string[], nowMs: number): Answer {
    const bank = this.ctx.bank;
    const sub = (a[0] ?? '').toUpperCase();
    if (sub === 'UPS') {
      if (a.length !== 1) return this.err('LIST', 'INVALID-ARGUMENT');
      let text = 'BEGIN LIST UPS\n';
      for (const n of bank.names()) text += `UPS ${n} ${quote(bank.description(n) || 'Unavailable')}\n`;
      return ok('LIST', text + 'END LIST UPS\n');
    }
    const perUps = ['VAR', 'RW', 'CMD', 'CLIENT'].includes(sub);
    const perVar = ['ENUM', 'RANGE'].includes(sub);
    if (!(perUps && a.length === 2) && !(perVar && a.length === 3)) return this.err('LIST', 'INVALID-ARGUMENT');
    const ups = a[1];
    const v = bank.view(ups, nowMs);
    if (v.kind !== 'ok') return this.unavailable('LIST', v.kind);
    const head = `${sub} ${ups}${perVar ? ' ' + a[2] : ''}`;
    let body = '';
    if (sub === 'VAR') for (const [k, val] of v.vars) body += `VAR ${ups} ${k} ${quote(val)}\n`;
    else if (sub === 'CLIENT') for (const addr of bank.clients(ups)) body += `CLIENT ${ups} ${addr}\n`;
    // RW and CMD are empty: nothing here can be set or commanded. ENUM and RANGE exist
    // only for writable variables, so a known variable has none.
    else if (perVar && !v.vars.has(a[2])) return this.err('LIST', 'VAR-NOT-SUPPORTED');
    return ok('LIST', `BEGIN LIST ${head}\n${body}END LIST ${head}\n`);
  }

  private setUsername(a: string[]): Answer {
    if (a.length !== 1) return this.err('USERNAME', 'INVALID-ARGUMENT');
    if (this.username !== null) return this.err('USERNAME', 'ALREADY-SET-USERNAME');
    this.username = a[0];
    return ok('USERNAME', 'OK\n');
  }

  private setPassword(a: string[]): Answer {
    if (a.length !== 1) return this.err('PASSWORD', 'INVALID-ARGUMENT');
    if (this.password !== null) return this.err('PASSWORD', 'ALREADY-SET-PASSWORD');
    this.password = a[0];
    return ok('PASSWORD', 'OK\n');
  }

  /** The configured user these credentials prove, allowed on ups; or the error word. */
  private user(ups: string): NutUser | string {
    const u = this.ctx.users.get(this.username!);
    if (!u || !sameSecret(u.password, this.password!)) return 'ACCESS-DENIED';
    if (u.ups !== null && !u.ups.has(ups)) return 'ACCESS-DENIED';
    return u;
  }

  private authenticated(cmd: string, a: string[], nowMs: number): Answer {
    if (this.username === null) return this.err(cmd, 'USERNAME-REQUIRED');
    if (this.password === null) return this.err(cmd, 'PASSWORD-REQUIRED');
    const bank = this.ctx.bank;
    if (cmd === 'SET') {
      if ((a[0] ?? '').toUpperCase() === 'VAR' && a.length === 4) return this.err(cmd, bank.has(a[1]) ? 'READONLY' : 'UNKNOWN-UPS');
      return this.err(cmd, 'INVALID-ARGUMENT');
    }
    if (cmd === 'INSTCMD') {
      if (a.length < 2 || a.length > 3) return this.err(cmd, 'INVALID-ARGUMENT');
      return this.err(cmd, bank.has(a[0]) ? 'CMD-NOT-SUPPORTED' : 'UNKNOWN-UPS');
    }
    if (a.length !== 1) return this.err(cmd, 'INVALID-ARGUMENT');
    const ups = a[0];
    if (!bank.has(ups)) return this.err(cmd, 'UNKNOWN-UPS');
    const u = this.user(ups);
    const who = `user ${excerpt(this.username)} from ${this.address}`;
    if (typeof u === 'string') return this.err(cmd, u, `${cmd} ${ups} refused for ${who}: unknown user, wrong password or not allowed on ${ups}`);
    if (cmd === 'LOGIN') {
      if (this.loginUps !== null) return this.err(cmd, 'ALREADY-LOGGED-IN');
      this.loginUps = ups;
      bank.login(ups, this.id, this.address);
      return { command: cmd, text: 'OK\n', note: `${who} logged in to ${ups} (${u.role})` };
    }
    if (u.role !== 'primary') return this.err(cmd, 'ACCESS-DENIED', `${cmd} ${ups} refused for ${who}: role is secondary`);
    if (cmd === 'PRIMARY') return ok(cmd, 'OK PRIMARY-GRANTED\n');
    if (cmd === 'MASTER') return ok(cmd, 'OK MASTER-GRANTED\n');
    // FSD: only a primary that is monitoring this very UPS may force its shutdown.
    if (this.loginUps !== ups) return this.err(cmd, 'ACCESS-DENIED', `FSD ${ups} refused for ${who}: not logged in to ${ups}`);
    bank.setFsd(ups, nowMs);
    return { command: cmd, text: 'OK FSD-SET\n', note: `FSD set on ${ups} by ${who}` };
  }
}

function ok(command: string, text: string): Answer {
  return { command, text };
}

/** A client-supplied word, bounded and printable, for a log line. */
export function excerpt(s: string): string {
  let out = '';
  for (let i = 0; i < s.length && i < 40; i++) {
    const c = s.charCodeAt(i);
    out += c >= 32 && c <= 126 ? s[i] : '?';
  }
  return s.length > 40 ? out + '...' : out;
}
