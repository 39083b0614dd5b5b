import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { createFirmware } from '../../firmware/src/app';
import { firmwareBoard } from '../../firmware/src/board';
import { createIna219 } from '../../drivers/ina219';
import { espruinoI2cTransport } from '../../firmware/src/ina219-espruino';
import { LineSplitter, crc32 } from '../../protocol';
import { VirtualI2cBus } from '../../simulator/i2c-bus';
import { parseFlashArgs, uploaderCommand } from '../../scripts/flash';

const root = path.join(__dirname, '..', '..');

describe('npm run flash', () => {
  it('validates its arguments with messages that name the problem', () => {
    assert.throws(() => parseFlashArgs([]), /--port is required/);
    assert.throws(() => parseFlashArgs(['--port']), /--port needs a value/);
    assert.throws(() => parseFlashArgs(['--port', 'tcp://ts7670']), /expected tcp:\/\/host:port/);
    assert.throws(() => parseFlashArgs(['--port', '/dev/ttyACM0', '--speed', '9']), /unknown argument --speed/);
    assert.deepEqual(parseFlashArgs(['--port', 'tcp://ts7670:7000', '--dry-run']), { port: 'tcp://ts7670:7000', board: 'PICO', dryRun: true });
  });

  it('uploads the bundle as boot code and restarts into it', () => {
    const cmd = uploaderCommand({ port: '/dev/ttyACM0', board: 'PICO', dryRun: false }, 'firmware/dist/firmware.js');
    assert.deepEqual(cmd.slice(-8), ['--board', 'PICO', '-p', '/dev/ttyACM0', '--storage', '.bootcde:firmware/dist/firmware.js', '-e', 'load()']);
  });

  it('--dry-run builds and prints the console request and the uploader command', () => {
    const r = spawnSync(process.execPath, ['scripts/ts-run.js', 'scripts/flash.ts', '--port', 'tcp://localhost:7000', '--dry-run'], {
      cwd: root, encoding: 'utf8', timeout: 60000,
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /built firmware\/dist\/firmware\.js: \d+ bytes/);
    assert.match(r.stdout, /would send to tcp:\/\/localhost:7000: \$C,v=1,id=1,cmd=console\*[0-9A-F]{8}/);
    assert.match(r.stdout, /would run: npx --yes espruino --board PICO -p tcp:\/\/localhost:7000 --storage \.bootcde:firmware\/dist\/firmware\.js -e 'load\(\)'/);
  });

  it('asks a running firmware over TCP for the REPL, then runs the uploader', async function () {
    this.timeout(60000);
    // The real firmware cycle answers on a TCP port, as a socat/ser2net export of the MCU would.
    const board = firmwareBoard('test');
    const bus = new VirtualI2cBus();
    let released = 0;
    const conn: { sock: net.Socket | null } = { sock: null };
    const fw = createFirmware({
      crc: crc32, write: (l) => conn.sock?.write(l + '\r\n'), setCharger: () => undefined, readSolarV: () => 18,
      load: () => undefined, save: () => true, schedule: () => undefined, releaseConsole: () => { released++; },
    }, board, createIna219(espruinoI2cTransport(bus), 0x40, board.battery), createIna219(espruinoI2cTransport(bus), 0x41, board.load), 0);
    const server = net.createServer((s) => {
      conn.sock = s;
      s.setEncoding('latin1');
      const split = new LineSplitter(512, (line) => fw.onLine(line, 0));
      s.on('data', (d: string) => split.push(d));
    });
    await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
    const port = (server.address() as net.AddressInfo).port;
    try {
      const child = spawn(process.execPath, ['scripts/ts-run.js', 'scripts/flash.ts', '--port', `tcp://127.0.0.1:${port}`], {
        cwd: root, env: { ...process.env, ESPRUINO_CLI: 'echo uploader' },
      });
      let out = '';
      child.stdout.on('data', (d) => { out += d; });
      child.stderr.on('data', (d) => { out += d; });
      const code = await new Promise<number | null>((res) => child.on('exit', res));
      assert.equal(code, 0, out);
      assert.equal(released, 1, 'the firmware received the console command');
      assert.match(out, /firmware handed the REPL back/);
      assert.match(out, new RegExp(`uploader --board PICO -p tcp://127.0.0.1:${port} --storage \\.bootcde:firmware/dist/firmware\\.js -e load\\(\\)`));
    } finally {
      conn.sock?.destroy();
      server.close();
    }
  });
});
