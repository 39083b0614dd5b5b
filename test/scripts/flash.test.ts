import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { createFirmware } from '../../firmware/src/app';
import { firmwareBoard } from '../../firmware/src/board';
import { createIna219 } from '../../drivers/ina219';
import { espruinoI2cTransport } from '../../firmware/src/ina219-espruino';
import { LineSplitter, crc32 } from '../../protocol';
import { VirtualI2cBus } from '../../simulator/i2c-bus';
import { localEspruinoCli, parseFlashArgs, uploaderArgs, uploaderCli } from '../../scripts/flash';
import { makeTempDir, removeDir } from '../helpers/services';

const root = path.join(__dirname, '..', '..');
const PINNED = (JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { optionalDependencies: { [k: string]: string } }).optionalDependencies.espruino;

/** A project directory with package.json pinning espruino, and optionally an installed version of it. */
function fakeProject(dir: string, installed: string | null): string {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'p', optionalDependencies: { espruino: PINNED } }));
  if (installed) {
    const pkg = path.join(dir, 'node_modules', 'espruino');
    fs.mkdirSync(path.join(pkg, 'bin'), { recursive: true });
    fs.writeFileSync(path.join(pkg, 'package.json'), JSON.stringify({ name: 'espruino', version: installed, bin: { espruino: 'bin/espruino-cli.js' } }));
    fs.writeFileSync(path.join(pkg, 'bin', 'espruino-cli.js'), '');
  }
  return dir;
}

/**
 * What the Espruino CLI wrote into Storage, rebuilt from the JavaScript it typed at the
 * REPL: `require("Storage").write(".bootcde",atob("…"),offset[,size])` chunks (with the
 * CLI's echo-off 0x10 bytes between them).
 */
function storageWrites(typed: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  const text = typed.replace(/\x10/g, '');
  for (const m of text.matchAll(/require\("Storage"\)\.write\("([^"]+)",atob\("([A-Za-z0-9+/=]*)"\)(?:,(\d+))?(?:,(\d+))?\)/g)) {
    const data = Buffer.from(m[2], 'base64');
    const offset = m[3] === undefined ? 0 : Number(m[3]);
    const size = m[4] === undefined ? offset + data.length : Number(m[4]);
    let file = files.get(m[1]) ?? Buffer.alloc(0);
    if (file.length < size) file = Buffer.concat([file, Buffer.alloc(size - file.length)]);
    data.copy(file, offset);
    files.set(m[1], file);
  }
  return files;
}

describe('npm run flash', () => {
  it('validates its arguments with messages that name the problem', () => {
    assert.throws(() => parseFlashArgs([]), /--port is required/);
    assert.throws(() => parseFlashArgs(['--port']), /--port needs a value/);
    assert.throws(() => parseFlashArgs(['--port', 'tcp://ts7670']), /expected tcp:\/\/host:port/);
    assert.throws(() => parseFlashArgs(['--port', '/dev/ttyACM0', '--speed', '9']), /unknown argument --speed/);
    assert.deepEqual(parseFlashArgs(['--port', 'tcp://ts7670:7000', '--dry-run']), { port: 'tcp://ts7670:7000', board: 'PICO', dryRun: true });
  });

  it('uploads the bundle as boot code and restarts into it, over the port only (no Bluetooth)', () => {
    const args = uploaderArgs({ port: '/dev/ttyACM0', board: 'PICO', dryRun: false }, 'firmware/dist/firmware.js');
    assert.deepEqual(args, ['--no-ble', '--board', 'PICO', '-p', '/dev/ttyACM0', '--storage', '.bootcde:firmware/dist/firmware.js', '-e', 'load()']);
  });

  it('the uploader is the Espruino CLI installed with the project, at the exact version package.json pins', () => {
    assert.match(PINNED, /^\d+\.\d+\.\d+$/, 'an exact version, not a range');
    const lock = JSON.parse(fs.readFileSync(path.join(root, 'package-lock.json'), 'utf8')) as { packages: { [k: string]: { version: string; optional?: boolean } } };
    assert.equal(lock.packages['node_modules/espruino'].version, PINNED, 'the lock file installs the pinned version');
    assert.equal(lock.packages['node_modules/espruino'].optional, true, 'optional: a failed install does not fail npm ci');
    const cli = uploaderCli({});
    assert.equal(cli.describe, `espruino ${PINNED}`);
    assert.deepEqual(cli.command, [process.execPath, path.join(root, 'node_modules', 'espruino', 'bin', 'espruino-cli.js')]);
    assert.ok(!cli.command.some((c) => /npx/.test(c)), 'never fetched at flash time');
    // The binary itself answers with the pinned version.
    const v = spawnSync(cli.command[0], [...cli.command.slice(1), '--help'], { encoding: 'utf8', timeout: 30000 });
    assert.match(v.stdout, new RegExp(`Espruino Command-line Tool ${PINNED.replace(/\./g, '\\.')}`));
    assert.deepEqual(uploaderCli({ ESPRUINO_CLI: 'echo  uploader' }).command, ['echo', 'uploader'], 'ESPRUINO_CLI still overrides it');
  });

  it('a missing or wrong-version Espruino CLI is a clear error saying how to install it', () => {
    const dir = makeTempDir('flash-cli');
    try {
      assert.throws(() => localEspruinoCli(fakeProject(path.join(dir, 'none'), null)),
        new RegExp(`the Espruino CLI \\(npm package espruino@${PINNED.replace(/\./g, '\\.')}, an optional dependency\\) is not installed: install it with \`npm install\``));
      assert.throws(() => localEspruinoCli(fakeProject(path.join(dir, 'old'), '0.1.1')), new RegExp(`the installed Espruino CLI is 0\\.1\\.1, package\\.json pins ${PINNED.replace(/\./g, '\\.')}: install it with`));
      assert.equal(localEspruinoCli(fakeProject(path.join(dir, 'ok'), PINNED)).describe, `espruino ${PINNED}`);
      fs.writeFileSync(path.join(dir, 'ok', 'package.json'), JSON.stringify({ optionalDependencies: { espruino: '^0.1.0' } }));
      assert.throws(() => localEspruinoCli(path.join(dir, 'ok')), /must pin the Espruino CLI to one version/);
    } finally {
      removeDir(dir);
    }
  });

  it('--dry-run builds and prints the console request and the uploader command', () => {
    const r = spawnSync(process.execPath, ['scripts/ts-run.js', 'scripts/flash.ts', '--port', 'tcp://localhost:7000', '--dry-run'], {
      cwd: root, encoding: 'utf8', timeout: 60000,
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /built firmware\/dist\/firmware\.js: \d+ bytes/);
    assert.match(r.stdout, /would send to tcp:\/\/localhost:7000: \$C,v=1,id=1,cmd=console\*[0-9A-F]{8}/);
    assert.ok(r.stdout.includes(`would run (espruino ${PINNED}): node node_modules/espruino/bin/espruino-cli.js --no-ble --board PICO -p tcp://localhost:7000 --storage .bootcde:firmware/dist/firmware.js -e 'load()'`), r.stdout);
  });

  it('asks a running firmware over TCP for the REPL, then the pinned local Espruino CLI writes the bundle as boot code, offline', async function () {
    this.timeout(90000);
    // The real firmware cycle answers on a TCP port, as a socat/ser2net export of the MCU
    // would; the connection after it is the uploader's, recorded as an Espruino REPL would
    // receive it (nothing answers: the CLI still writes everything and load()s).
    const board = firmwareBoard('test');
    const bus = new VirtualI2cBus();
    let released = 0;
    const conn: { sock: net.Socket | null } = { sock: null };
    const fw = createFirmware({
      crc: crc32, write: (l) => conn.sock?.write(l + '\r\n'), setCharger: () => undefined, readSolarV: () => 18,
      load: () => undefined, save: () => true, schedule: () => undefined, releaseConsole: () => { released++; },
    }, board, createIna219(espruinoI2cTransport(bus), 0x40, board.battery), createIna219(espruinoI2cTransport(bus), 0x41, board.load), 0);
    let connections = 0;
    let typed = '';
    const server = net.createServer((s) => {
      s.setEncoding('latin1');
      if (connections++ === 0) {
        conn.sock = s;
        const split = new LineSplitter(512, (line) => fw.onLine(line, 0));
        s.on('data', (d: string) => split.push(d));
      } else {
        s.on('data', (d: string) => { typed += d; });
      }
      s.on('error', () => undefined);
    });
    await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
    const port = (server.address() as net.AddressInfo).port;
    try {
      const env = { ...process.env };
      delete env.ESPRUINO_CLI;
      // No npx and no network: PATH without npm's tools, and no proxy to reach a registry.
      env.PATH = '/nonexistent';
      env.npm_config_offline = 'true';
      const child = spawn(process.execPath, ['scripts/ts-run.js', 'scripts/flash.ts', '--port', `tcp://127.0.0.1:${port}`], { cwd: root, env });
      let out = '';
      child.stdout.on('data', (d) => { out += d; });
      child.stderr.on('data', (d) => { out += d; });
      const code = await new Promise<number | null>((res) => child.on('exit', res));
      assert.equal(code, 0, out);
      assert.equal(released, 1, 'the firmware received the console command');
      assert.match(out, /firmware handed the REPL back/);
      assert.ok(out.includes(`uploading with espruino ${PINNED}`), out);
      assert.match(out, new RegExp(`Espruino Command-line Tool ${PINNED.replace(/\./g, '\\.')}`), 'the pinned CLI ran');
      assert.match(out, /flashed: the firmware starts now/);
      assert.equal(connections, 2, 'the console request, then the uploader, on the same tcp:// port');
      const written = storageWrites(typed).get('.bootcde');
      assert.ok(written, `the CLI wrote .bootcde; it typed:\n${typed.slice(0, 500)}`);
      assert.ok(written.equals(fs.readFileSync(path.join(root, 'firmware', 'dist', 'firmware.js'))), 'Storage .bootcde holds exactly the built bundle');
      assert.ok(typed.replace(/\x10/g, '').includes('load()\n'), 'and the CLI restarts into it');
    } finally {
      conn.sock?.destroy();
      server.close();
    }
  });

  it('ESPRUINO_CLI replaces the uploader (a stand-in here) and gets the same arguments', async function () {
    this.timeout(60000);
    const server = net.createServer((s) => s.on('error', () => undefined));
    await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
    const port = (server.address() as net.AddressInfo).port;
    try {
      const r = await new Promise<{ code: number | null; out: string }>((res) => {
        const child = spawn(process.execPath, ['scripts/ts-run.js', 'scripts/flash.ts', '--port', `tcp://127.0.0.1:${port}`], { cwd: root, env: { ...process.env, ESPRUINO_CLI: 'echo uploader' } });
        let out = '';
        child.stdout.on('data', (d) => { out += d; });
        child.stderr.on('data', (d) => { out += d; });
        child.on('exit', (code) => res({ code, out }));
      });
      assert.equal(r.code, 0, r.out);
      assert.match(r.out, /no firmware answered \(a blank board is fine\)/);
      assert.match(r.out, new RegExp(`uploader --no-ble --board PICO -p tcp://127.0.0.1:${port} --storage \\.bootcde:firmware/dist/firmware\\.js -e load\\(\\)`));
    } finally {
      server.close();
    }
  });
});
