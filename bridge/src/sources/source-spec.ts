/**
 * The `source` setting, parsed. Pure, so config validation can reject a bad one with a
 * message before anything is opened.
 *
 *   tcp://HOST:PORT            ser2net / socat on the box that holds the MCU's port
 *   serial:/dev/ttyACM0        a local serial device (also accepted: a bare /dev/... path)
 *   file:PATH                  replay a captured log, then finish
 *   -                          replay stdin, then finish
 *   i2c:/dev/i2c-N[?period=S]  host-direct: the INA219s on this host's I²C bus, polled
 *                              every S seconds (default 1); monitor only
 */
import { LIMITS } from '../../../protocol';

export type SourceSpec =
  | { kind: 'tcp'; host: string; port: number }
  | { kind: 'serial'; path: string }
  | { kind: 'replay'; path: string }
  | { kind: 'i2c'; path: string; bus: number; periodS: number };

export type SourceSpecResult = { ok: true; spec: SourceSpec } | { ok: false; error: string };

const EXPECTED = 'expected tcp://HOST:PORT, serial:/dev/DEVICE (or a /dev/ path), file:PATH or - (stdin)';

export function parseSourceSpec(text: string): SourceSpecResult {
  const s = text.trim();
  if (s === '-' || s === 'stdin:' || s === 'stdin') return { ok: true, spec: { kind: 'replay', path: '-' } };
  if (s.startsWith('tcp://')) {
    const rest = s.slice(6).replace(/\/$/, '');
    const colon = rest.lastIndexOf(':');
    if (colon <= 0) return { ok: false, error: `${JSON.stringify(text)} has no port: ${EXPECTED}` };
    let host = rest.slice(0, colon);
    if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
    const portText = rest.slice(colon + 1);
    const port = Number(portText);
    if (!/^\d+$/.test(portText) || port < 1 || port > 65535) return { ok: false, error: `${JSON.stringify(text)}: port ${JSON.stringify(portText)} is not 1..65535` };
    if (host.length === 0 || /[\s/]/.test(host)) return { ok: false, error: `${JSON.stringify(text)}: bad host ${JSON.stringify(host)}` };
    return { ok: true, spec: { kind: 'tcp', host, port } };
  }
  if (s.startsWith('serial:')) {
    const p = s.slice(7).replace(/^\/\/(?=\/)/, '');
    if (!p.startsWith('/')) return { ok: false, error: `${JSON.stringify(text)}: serial device must be an absolute path, ${EXPECTED}` };
    return { ok: true, spec: { kind: 'serial', path: p } };
  }
  if (s.startsWith('i2c:')) return parseI2cSpec(text, s.slice(4));
  if (s.startsWith('/dev/')) return { ok: true, spec: { kind: 'serial', path: s } };
  if (s.startsWith('file:')) {
    const p = s.slice(5).replace(/^\/\/(?=\/)/, '');
    if (p.length === 0) return { ok: false, error: `${JSON.stringify(text)}: no file name, ${EXPECTED}` };
    return { ok: true, spec: { kind: 'replay', path: p } };
  }
  return { ok: false, error: `${JSON.stringify(text)} is not a source: ${EXPECTED}` };
}

/** The host-direct poll period's bounds: those of the MCU's `period` setting. */
const PERIOD_LIMITS = LIMITS.period;

function parseI2cSpec(text: string, rest: string): SourceSpecResult {
  const [device, query] = rest.split('?', 2) as [string, string | undefined];
  const match = /^\/dev\/i2c-(\d{1,3})$/.exec(device);
  if (!match) return { ok: false, error: `${JSON.stringify(text)}: expected i2c:/dev/i2c-N (N = the I2C bus number)` };
  let periodS = 1;
  if (query !== undefined) {
    const p = /^period=(\d+(?:\.\d+)?)$/.exec(query);
    periodS = p ? Number(p[1]) : NaN;
    if (!(periodS >= PERIOD_LIMITS[0] && periodS <= PERIOD_LIMITS[1])) {
      return { ok: false, error: `${JSON.stringify(text)}: expected ?period=S with S in ${PERIOD_LIMITS[0]}..${PERIOD_LIMITS[1]} seconds` };
    }
  }
  return { ok: true, spec: { kind: 'i2c', path: device, bus: Number(match[1]), periodS } };
}

export function describeSpec(spec: SourceSpec, baud: number): string {
  if (spec.kind === 'i2c') return `i2c:${spec.path}${spec.periodS !== 1 ? `?period=${spec.periodS}` : ''} (host-direct, monitor only)`;
  if (spec.kind === 'tcp') return `tcp://${spec.host.includes(':') ? `[${spec.host}]` : spec.host}:${spec.port}`;
  if (spec.kind === 'serial') return `serial:${spec.path}@${baud}`;
  return spec.path === '-' ? 'stdin' : `file:${spec.path}`;
}
