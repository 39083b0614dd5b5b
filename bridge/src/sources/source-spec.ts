/**
 * The `source` setting, parsed. Pure, so config validation can reject a bad one with a
 * message before anything is opened.
 *
 *   tcp://HOST:PORT            ser2net / socat on the box that holds the MCU's port
 *   serial:/dev/ttyACM0        a local serial device (also accepted: a bare /dev/... path)
 *   file:PATH                  replay a captured log, then finish
 *   -                          replay stdin, then finish
 */
export type SourceSpec =
  | { kind: 'tcp'; host: string; port: number }
  | { kind: 'serial'; path: string }
  | { kind: 'replay'; path: string };

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
  if (s.startsWith('/dev/')) return { ok: true, spec: { kind: 'serial', path: s } };
  if (s.startsWith('file:')) {
    const p = s.slice(5).replace(/^\/\/(?=\/)/, '');
    if (p.length === 0) return { ok: false, error: `${JSON.stringify(text)}: no file name, ${EXPECTED}` };
    return { ok: true, spec: { kind: 'replay', path: p } };
  }
  return { ok: false, error: `${JSON.stringify(text)} is not a source: ${EXPECTED}` };
}

export function describeSpec(spec: SourceSpec, baud: number): string {
  if (spec.kind === 'tcp') return `tcp://${spec.host.includes(':') ? `[${spec.host}]` : spec.host}:${spec.port}`;
  if (spec.kind === 'serial') return `serial:${spec.path}@${baud}`;
  return spec.path === '-' ? 'stdin' : `file:${spec.path}`;
}
