/**
 * Checks of single values that a JSON schema pattern says poorly: URLs a client can
 * connect to, HOST:PORT addresses a server can listen on. Pure. schema.ts attaches them to
 * keys through its url() and listen() helpers (as the ajv keywords below), so every
 * feature's URL and address gets the same checks, at --check and at start.
 */
import net from 'node:net';
import type { KeywordDefinition } from 'ajv';

/** A DNS name: dot-separated labels of letters, digits, '-' and '_' (not at a label's ends), optional trailing dot. */
const HOST_NAME = /^(?=.{1,253}\.?$)([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/;

/** Why `host` (a hostname, an IPv4 address, or an IPv6 address without brackets) cannot be one, or null. */
export function hostProblem(host: string): string | null {
  if (host === '') return 'no host';
  if (net.isIP(host) !== 0) return null;
  // 300.1.1.1 or 1.2.3 would pass as a "name" and then fail to resolve at every attempt.
  if (/^[\d.]+$/.test(host)) return `host ${host} is not an IPv4 address`;
  if (host.includes(':')) return `host ${host} is not an IPv6 address`;
  if (!HOST_NAME.test(host)) return `host "${host}" is not a host name (letters, digits, - and . only)`;
  return null;
}

function portProblem(text: string, min: number): string | null {
  if (!/^\d{1,5}$/.test(text)) return `port "${text}" is not a number`;
  const port = Number(text);
  return port < min || port > 65535 ? `port ${port} is outside ${min}..65535` : null;
}

/**
 * Why `value` is not a URL a client can connect to with one of `schemes` (without the
 * colon), or null. The port, when given, is 1..65535.
 */
export function urlProblem(value: string, schemes: readonly string[]): string | null {
  if (value.trim() !== value) return 'leading or trailing spaces';
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(value)?.[1].toLowerCase();
  if (scheme === undefined || !schemes.includes(scheme)) return `the scheme must be ${schemes.map((s) => `${s}://`).join(', ')}`;
  if (!value.slice(scheme.length + 1).startsWith('//')) return `expected ${scheme}://HOST[:PORT]`;
  // The authority by hand: WHATWG URL checks hosts only for http(s)/ws(s), not for mqtt://.
  const rest = value.slice(scheme.length + 3);
  const authority = rest.split(/[/?#]/, 1)[0];
  const hostPort = authority.slice(authority.lastIndexOf('@') + 1);
  let host: string;
  let port: string | null = null;
  if (hostPort.startsWith('[')) {
    const close = hostPort.indexOf(']');
    if (close < 0) return 'an IPv6 host needs its closing ]';
    host = hostPort.slice(1, close);
    if (net.isIPv6(host) === false) return `host ${host} is not an IPv6 address`;
    const after = hostPort.slice(close + 1);
    if (after !== '' && !after.startsWith(':')) return `expected ${scheme}://[IPv6]:PORT`;
    if (after !== '') port = after.slice(1);
  } else {
    const colon = hostPort.lastIndexOf(':');
    host = colon >= 0 ? hostPort.slice(0, colon) : hostPort;
    if (colon >= 0) port = hostPort.slice(colon + 1);
  }
  const h = hostProblem(host);
  if (h) return h;
  if (port !== null) {
    const p = portProblem(port, 1);
    if (p) return p;
  }
  try {
    new URL(value);
  } catch {
    return 'not a valid URL';
  }
  return null;
}

/** HOST:PORT (IPv6 in brackets) split, or why it cannot be listened on. Port 0 = any free port. */
export function parseListenAddress(value: string): { host: string; port: number } | { problem: string } {
  const colon = value.lastIndexOf(':');
  if (colon < 0) return { problem: 'expected HOST:PORT' };
  let host = value.slice(0, colon);
  const portText = value.slice(colon + 1);
  if (host.startsWith('[') && host.endsWith(']')) {
    host = host.slice(1, -1);
    if (!net.isIPv6(host)) return { problem: `[${host}] is not an IPv6 address` };
  } else if (host.includes(':')) {
    return { problem: 'an IPv6 address needs brackets: [::1]:PORT' };
  }
  const h = hostProblem(host);
  if (h) return { problem: h };
  const p = portProblem(portText, 0);
  if (p) return { problem: p };
  return { host, port: Number(portText) };
}

export function listenProblem(value: string): string | null {
  const r = parseListenAddress(value);
  return 'problem' in r ? r.problem : null;
}

/**
 * The schema's own keywords, for ajv: `url` and `listen` (checked here), `onHost` and
 * `onHostWhen` (checked by host-checks.ts, against the host).
 */
export interface UrlRule { schemes: string[]; emptyOff: boolean }
export interface ListenRule { emptyOff: boolean }
export type HostRule = 'readable-file' | 'writable-dir' | 'writable-file';

type Reported = ((data: unknown) => boolean) & { errors?: Array<{ keyword: string; message: string; params: object }> };

function keyword<R>(name: string, problem: (value: string, rule: R) => string | null): KeywordDefinition {
  return {
    keyword: name,
    type: 'string',
    errors: true,
    compile(rule: R, parentSchema: { [key: string]: unknown }) {
      const expected = typeof parentSchema.description === 'string' ? `; expected ${parentSchema.description}` : '';
      const check: Reported = (data: unknown) => {
        const p = problem(data as string, rule);
        check.errors = p === null ? [] : [{ keyword: name, message: p + expected, params: {} }];
        return p === null;
      };
      return check;
    },
  };
}

export const CONFIG_KEYWORDS: readonly KeywordDefinition[] = [
  keyword<UrlRule>('url', (v, r) => (v === '' && r.emptyOff ? null : urlProblem(v, r.schemes))),
  keyword<ListenRule>('listen', (v, r) => (v === '' && r.emptyOff ? null : listenProblem(v))),
  // Annotations only: whether the path exists is a fact of the host, not of the file.
  { keyword: 'onHost', schemaType: 'string' },
  { keyword: 'onHostWhen', schemaType: 'string' },
];
