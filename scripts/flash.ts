/**
 * npm run flash -- --port /dev/ttyACM0 | tcp://host:port [--board PICO] [--dry-run]
 *
 * Builds the firmware, asks a running firmware to give the REPL back (`console`
 * command; a blank board just ignores the line), then uploads the bundle with the
 * `espruino` CLI as boot code (.bootcde in Storage) and restarts it with load(), so it
 * runs at every power-up and after every watchdog reset.
 * The uploader is the `espruino` package pinned (exact version) in package.json's
 * optionalDependencies and installed with the project, so every flash uses the same
 * version and needs no network. ESPRUINO_CLI overrides it (a command line, split on spaces).
 */
import fs from 'node:fs';
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

const REPO_ROOT = path.join(__dirname, '..');

/** How to run the uploader: `command` is argv[0..], `shown` the same for a person to read. */
export interface UploaderCli {
  command: string[];
  shown: string[];
  /** "espruino 0.1.67", or "ESPRUINO_CLI" when overridden. */
  describe: string;
}

/**
 * The Espruino CLI installed with the project (node_modules/espruino), checked against
 * the exact version package.json pins. Throws, saying how to install it, when it is
 * missing (an optional dependency whose install failed or was skipped) or another
 * version is installed.
 */
export function localEspruinoCli(root: string = REPO_ROOT): UploaderCli {
  const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { optionalDependencies?: { [name: string]: string } };
  const pinned = manifest.optionalDependencies?.espruino;
  if (!pinned || !/^\d+\.\d+\.\d+$/.test(pinned)) throw new Error(`package.json must pin the Espruino CLI to one version in optionalDependencies (e.g. "espruino": "0.1.67"), found ${JSON.stringify(pinned)}`);
  const install = `install it with \`npm install\` (or \`npm ci\`) in ${root}; if it is still missing, \`npm install --no-save --foreground-scripts espruino@${pinned}\` shows why its install fails`;
  let pkgFile: string;
  try {
    // From the project's root only: a global or parent-directory espruino is not the pinned one.
    pkgFile = require.resolve('espruino/package.json', { paths: [root] });
  } catch {
    throw new Error(`the Espruino CLI (npm package espruino@${pinned}, an optional dependency) is not installed: ${install}`);
  }
  const pkg = JSON.parse(fs.readFileSync(pkgFile, 'utf8')) as { version: string; bin?: string | { [name: string]: string } };
  if (pkg.version !== pinned) throw new Error(`the installed Espruino CLI is ${pkg.version}, package.json pins ${pinned}: ${install}`);
  const binRel = typeof pkg.bin === 'string' ? pkg.bin : pkg.bin?.espruino;
  if (!binRel) throw new Error(`${pkgFile} names no espruino command: ${install}`);
  const bin = path.join(path.dirname(pkgFile), binRel);
  if (!fs.existsSync(bin)) throw new Error(`the Espruino CLI's ${bin} is missing: ${install}`);
  return { command: [process.execPath, bin], shown: ['node', path.relative(process.cwd(), bin) || bin], describe: `espruino ${pkg.version}` };
}

/** The uploader: ESPRUINO_CLI when set (split on spaces), else the pinned local CLI. */
export function uploaderCli(env: NodeJS.ProcessEnv = process.env, root: string = REPO_ROOT): UploaderCli {
  if (env.ESPRUINO_CLI) {
    const cmd = env.ESPRUINO_CLI.split(' ').filter(Boolean);
    return { command: cmd, shown: cmd, describe: 'ESPRUINO_CLI' };
  }
  return localEspruinoCli(root);
}

/**
 * The uploader's arguments: Storage .bootcde ← the bundle, then load() to start it.
 * --no-ble: the port is a device or tcp://, never Bluetooth; with BLE on, the CLI's
 * Bluetooth modules probe D-Bus and, where there is no system bus (containers, minimal
 * hosts), crash it before it even connects.
 */
export function uploaderArgs(o: Options, bundle: string): string[] {
  return ['--no-ble', '--board', o.board, '-p', o.port, '--storage', `.bootcde:${bundle}`, '-e', 'load()'];
}

function shellWords(words: string[]): string {
  return words.map((c) => (/\s|[()]/.test(c) ? `'${c}'` : c)).join(' ');
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
  // First: a missing uploader is found before the build, and before the board is touched
  // (a firmware that handed its REPL back to no uploader stays silent until reset).
  const cli = uploaderCli();
  const built = await buildFirmware();
  const bundle = path.relative(process.cwd(), built.path);
  console.log(`built ${bundle}: ${built.bytes} bytes`);
  const args = uploaderArgs(o, bundle);
  if (o.dryRun) {
    console.log(`would send to ${o.port}: ${encodeCommand({ id: CONSOLE_REQUEST_ID, cmd: 'console' }, crc32)}`);
    console.log(`would run (${cli.describe}): ${shellWords([...cli.shown, ...args])}`);
    return;
  }
  const released = await releaseConsole(o.port, 3000);
  console.log(released ? 'firmware handed the REPL back' : 'no firmware answered (a blank board is fine)');
  console.log(`uploading with ${cli.describe}`);
  const r = spawnSync(cli.command[0], [...cli.command.slice(1), ...args], { stdio: 'inherit' });
  if (r.error) throw new Error(`could not run ${cli.shown[0]}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${shellWords([...cli.shown, ...args])} exited with ${r.status}`);
  console.log('flashed: the firmware starts now and at every boot; expect an E frame kind=boot on the port');
}

if (process.argv[1] === __filename) {
  main().catch((e: Error) => { console.error(`flash: ${e.message}`); process.exit(1); });
}
