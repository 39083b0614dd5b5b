/**
 * The serial-port export the TS-7670 runs, taken from the documentation itself: the
 * command in the `<!-- NAME -->` code block of a Markdown file, started with the device
 * and port replaced, so the test runs exactly what a reader would copy.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ManagedProcess, canConnect, waitFor } from '../../helpers/services';

/** The first fenced code block after `<!-- marker -->` in a Markdown file. */
export function docBlock(markdownFile: string, marker: string): string {
  const text = fs.readFileSync(markdownFile, 'utf8');
  const at = text.indexOf(`<!-- ${marker} -->`);
  if (at < 0) throw new Error(`${markdownFile}: no <!-- ${marker} --> block`);
  const m = /```[a-z]*\n([\s\S]*?)```/.exec(text.slice(at));
  if (!m) throw new Error(`${markdownFile}: no code block after <!-- ${marker} -->`);
  return m[1];
}

/** A shell command line of plain words (the doc's commands use no quotes) as argv. */
export function commandArgv(line: string): string[] {
  if (/["'`$\\]/.test(line)) throw new Error(`command has shell syntax the test does not interpret: ${line}`);
  return line.trim().split(/\s+/);
}

export interface ExportSubstitutions { device: string; port: number; docDevice: string; docPort: number }

/**
 * The doc's socat argv for this test: the doc's device and port swapped for the pty and a
 * free port, and the listener bound to loopback (the doc's listens on every interface).
 */
export function exportArgv(docCommand: string, s: ExportSubstitutions): string[] {
  const argv = commandArgv(docCommand);
  const out = argv.map((a) => a.split(s.docDevice).join(s.device).replace(new RegExp(`^TCP-LISTEN:${s.docPort}(?=,|$)`), `TCP-LISTEN:${s.port}`));
  const listen = out.findIndex((a) => a.startsWith('TCP-LISTEN:'));
  if (listen < 0 || out[listen] === argv[listen]) throw new Error(`no TCP-LISTEN:${s.docPort} in: ${docCommand}`);
  if (!out.some((a, i) => a !== argv[i] && a.includes(s.device))) throw new Error(`no ${s.docDevice} in: ${docCommand}`);
  out[listen] += ',bind=127.0.0.1';
  return out;
}

/** socat running the export; stop/kill/restart as a systemd unit with Restart=always would see it. */
export class SocatExport {
  private proc: ManagedProcess | null = null;
  starts = 0;
  constructor(readonly argv: string[], readonly port: number, readonly logDir: string) {}

  async start(): Promise<void> {
    const [cmd, ...args] = this.argv;
    this.starts++;
    const proc = new ManagedProcess(cmd, args, { logFile: path.join(this.logDir, `socat-export-${this.starts}.log`) });
    this.proc = proc;
    await waitFor(async () => {
      if (!proc.running) throw new Error(`socat exited: ${proc.output()}`);
      // A probe connection would be taken as the one client (no fork) and end socat, so
      // wait for the listening socket in /proc instead of connecting.
      return listening(this.port);
    }, { timeoutMs: 10000, what: `socat listening on ${this.port}`, detail: () => proc.output() });
  }

  get running(): boolean {
    return this.proc?.running ?? false;
  }

  output(): string {
    return this.proc?.output() ?? '';
  }

  async kill(): Promise<void> {
    await this.proc?.kill();
  }

  async stop(): Promise<void> {
    await this.proc?.stop(3000);
  }

  async waitExit(): Promise<void> {
    await this.proc?.waitExit();
  }
}

/** True when a TCP socket listens on 127.0.0.1:port (from /proc/net/tcp, without connecting to it). */
export function listening(port: number): boolean {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  for (const f of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!fs.existsSync(f)) continue;
    for (const line of fs.readFileSync(f, 'utf8').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      // local_address is cols[1] (ADDR:PORT), st is cols[3]; 0A = LISTEN.
      if (cols.length > 3 && cols[1].endsWith(`:${hex}`) && cols[3] === '0A') return true;
    }
  }
  return false;
}

export { canConnect };
