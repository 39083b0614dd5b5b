/**
 * npm run flash -- --port /dev/ttyACM0 | tcp://host:port [--board PICO] [--dry-run]
 *
 * Builds the firmware, asks a running firmware to give the REPL back (`console`
 * command; a blank board just ignores the line), then uploads the bundle with the
 * `espruino` CLI as boot code (.bootcde in Storage) and restarts it with load(), so it
 * runs at every power-up and after every watchdog reset.
 * ESPRUINO_CLI overrides the uploader command (default: npx --yes espruino).
 */
import net from 'node:net';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { buildFirmware } from './build-firmware';
import { crc32, decodeLine, encodeCommand, LineSplitter, MAX_LINE_LENGTH } from '../protocol';

interface Options { port: string; board: string; dryRun: boolean }

function usage(): string {
  return 'usage: npm run flash -- --port /dev/ttyACM0|tcp://host:port [--board PICO] [--dry-run]';
}

export function parseFlashArgs(argv: string[]): Options {
  const o: Options = { port: '', board: 'PICO', dryRun: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--dry-run') o.dryRun = true;
    else if (a === '--port' || a === '--board') {
      const v = argv[++i];
      if (!v || v.startsWith('--')) throw new Error(`${a} needs a value. ${usage()}`);
      if (a === '--port') o.port = v; else o.board = v;
    } else if (a === '--help' || a === '-h') throw new Error(usage());
    else throw new Error(`unknown argument ${a}. ${usage()}`);
  }
  if (!o.port) throw new Error(`--port is required. ${usage()}`);
  if (o.port.startsWith('tcp://') && !/^tcp:\/\/[^:/]+:\d+$/.test(o.port)) {
    throw new Error(`--port ${o.port}: expected tcp://host:port`);
  }
  return o;
}

/** The uploader's command line: Storage .bootcde ← the bundle, then load() to start it. */
export function uploaderCommand(o: Options, bundle: string): string[] {
  const cli = (process.env.ESPRUINO_CLI || 'npx --yes espruino').split(' ').filter(Boolean);
  return [...cli, '--board', o.board, '-p', o.port, '--storage', `.bootcde:${bundle}`, '-e', 'load()'];
}

export const CONSOLE_REQUEST_ID = 1;

/** Sends `console` and waits (bounded) for the firmware's reply; resolves false when none came. */
async function releaseConsole(port: string, timeoutMs: number): Promise<boolean> {
  const request = encodeCommand({ id: CONSOLE_REQUEST_ID, cmd: 'console' }, crc32) + '\r\n';
  let write: (s: string) => void = () => undefined;
  let close: () => void = () => undefined;
  const replied = new Promise<boolean>((resolve, reject) => {
    const split = new LineSplitter(MAX_LINE_LENGTH, (line) => {
      const d = decodeLine(line);
      if (d.ok && d.frame.type === 'A' && d.frame.id === CONSOLE_REQUEST_ID) resolve(d.frame.ok === 1);
    });
    const timer = setTimeout(() => resolve(false), timeoutMs);
    const done = (): void => clearTimeout(timer);
    if (port.startsWith('tcp://')) {
      const [host, p] = port.slice(6).split(':');
      const sock = net.connect(Number(p), host, () => write(request));
      sock.setEncoding('latin1');
      sock.on('data', (d: string) => split.push(d));
      sock.on('error', (e) => { done(); reject(new Error(`${port}: ${e.message}`)); });
      write = (s) => sock.write(s, 'latin1');
      close = () => { done(); sock.destroy(); };
    } else {
      // serialport is a dependency of the bridge; loaded here only for a device path.
      const { SerialPort } = require('serialport') as typeof import('serialport');
      const sp = new SerialPort({ path: port, baudRate: 115200 }, (err) => {
        if (err) { done(); reject(new Error(`${port}: ${err.message}`)); } else write(request);
      });
      sp.on('data', (d: Buffer) => split.push(d.toString('latin1')));
      write = (s) => { sp.write(Buffer.from(s, 'latin1')); };
      close = () => { done(); if (sp.isOpen) sp.close(); };
    }
  });
  try {
    return await replied;
  } finally {
    close();
  }
}

async function main(): Promise<void> {
  const o = parseFlashArgs(process.argv.slice(2));
  const built = await buildFirmware();
  const bundle = path.relative(process.cwd(), built.path);
  console.log(`built ${bundle}: ${built.bytes} bytes`);
  const cmd = uploaderCommand(o, bundle);
  if (o.dryRun) {
    console.log(`would send to ${o.port}: ${encodeCommand({ id: CONSOLE_REQUEST_ID, cmd: 'console' }, crc32)}`);
    console.log(`would run: ${cmd.map((c) => (/\s|[()]/.test(c) ? `'${c}'` : c)).join(' ')}`);
    return;
  }
  const released = await releaseConsole(o.port, 3000);
  console.log(released ? 'firmware handed the REPL back' : 'no firmware answered (a blank board is fine)');
  const r = spawnSync(cmd[0], cmd.slice(1), { stdio: 'inherit' });
  if (r.error) throw new Error(`could not run ${cmd[0]}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${cmd.join(' ')} exited with ${r.status}`);
  console.log('flashed: the firmware starts now and at every boot; expect an E frame kind=boot on the port');
}

if (process.argv[1] === __filename) {
  main().catch((e: Error) => { console.error(`flash: ${e.message}`); process.exit(1); });
}
