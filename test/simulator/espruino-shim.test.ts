import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EspruinoMcu, EspruinoMcuOptions, ShimApiError } from '../../simulator/espruino-shim';
import { FlashStorage } from '../../simulator/flash-storage';
import { VirtualI2cBus } from '../../simulator/i2c-bus';
import { Ina219Model } from '../../simulator/ina219-model';
import { remoteChargerOn } from '../../simulator/installation';
import { crc32 } from '../../protocol';

/** An MCU running `code` with a bus (INA219 at 0x40), A5 reading 0.25, and a log of what it writes. */
function board(code: string, options: Partial<EspruinoMcuOptions> = {}) {
  const clock = { now: 0 };
  const bus = new VirtualI2cBus();
  const chip = new Ina219Model({ shuntOhms: 0.1, clock: () => clock.now });
  bus.attach(0x40, chip);
  const output: string[] = [];
  let pinChanges = 0;
  const mcu = new EspruinoMcu({
    code,
    clock,
    wiring: {
      i2c1: { bus, scl: 'B8', sda: 'B9' },
      analogRead: (pin) => {
        if (pin === 'A5') return 0.25;
        throw new Error(`nothing wired to ${pin}`);
      },
      pinsChanged: () => { pinChanges++; },
    },
    onOutput: (device, data) => output.push(device === 'USB' ? data : `[${device}]${data}`),
    ...options,
  });
  mcu.powerOn();
  const runUntil = (t: number): void => {
    for (;;) {
      const next = mcu.nextEventTime();
      if (next > t) break;
      if (next > clock.now) clock.now = next;
      mcu.dispatch();
    }
    clock.now = t;
  };
  return { mcu, clock, bus, chip, output, runUntil, text: () => output.join(''), pinChanges: () => pinChanges };
}

describe('Espruino shim: timers on virtual time', () => {
  it('runs intervals at exact virtual times without drift, timeouts once, ties in the order they were set', () => {
    const b = board(`
      var log = [];
      setInterval(function () { USB.write('i' + getTime() + ' '); }, 1000);
      setTimeout(function (a, b) { USB.write('t' + getTime() + a + b + ' '); }, 2500, 'x', 'y');
      setTimeout(function () { USB.write('A '); }, 3000);
      setTimeout(function () { USB.write('B '); }, 3000);
    `);
    b.runUntil(4.5);
    assert.equal(b.text(), 'i1 i2 t2.5xy i3 A B i4 ');
  });

  it('clearInterval(id) stops one, clearInterval() stops all, clearInterval(undefined) throws as on Espruino', () => {
    const b = board(`
      var a = setInterval(function () { USB.write('a'); }, 1000);
      setInterval(function () { USB.write('b'); }, 1000);
      setTimeout(function () { clearInterval(a); }, 1500);
      setTimeout(function () {
        clearInterval();
        try { clearInterval(undefined); } catch (e) { USB.write('[' + e.message + ']'); }
      }, 3500);
      setTimeout(function () { USB.write('never: clearInterval() clears timeouts too'); }, 5000);
    `);
    b.runUntil(6);
    assert.equal(b.text(), 'ab' + 'b' + 'b' + '[clearInterval(undefined) not allowed. Use clearInterval() instead]');
  });

  it('returns to the idle loop: nothing is pending when every timer is gone', () => {
    const b = board(`setTimeout(function () {}, 10);`);
    b.runUntil(1);
    assert.equal(b.mcu.nextEventTime(), Infinity);
  });
});

describe('Espruino shim: boot, onInit, watchdog', () => {
  it('runs the boot code, then E.on("init") handlers, then onInit(), at every boot', () => {
    const b = board(`
      USB.write('code ');
      E.on('init', function () { USB.write('init '); });
      function onInit() { USB.write('onInit '); }
    `);
    b.runUntil(0);
    assert.equal(b.text(), 'code init onInit ');
  });

  it('a global set through global[...] (as the bundle sets onInit) is found by the shim', () => {
    const b = board(`(function () { global['onInit'] = function () { USB.write('started'); }; })();`);
    b.runUntil(0);
    assert.equal(b.text(), 'started');
  });

  it('resets when the watchdog is not kicked: bundle re-runs, Storage kept, pins float, then boots again', () => {
    const code = `
      var s = require('Storage');
      var n = (parseInt(s.read('boots') || '0', 10) || 0) + 1;
      s.write('boots', String(n));
      USB.write('boot ' + n + ' at ' + getTime().toFixed(2) + ';');
      pinMode('A8', 'output');
      digitalWrite('A8', 1);
      E.enableWatchdog(2, false);
      setInterval(function () { if (getTime() < 3) E.kickWatchdog(); }, 1000);
    `;
    const b = board(code);
    b.runUntil(3.99);
    assert.equal(b.mcu.pinDrive('A8'), 'high');
    assert.equal(b.mcu.resets.length, 0);
    b.runUntil(4.01);
    assert.deepEqual(b.mcu.resets.map((r) => r.t), [4], 'last kick at t=2 + 2 s');
    assert.equal(b.mcu.running, false, 'still booting');
    assert.equal(b.mcu.pinDrive('A8'), 'float', 'a reset MCU leaves the REMOTE pin floating');
    assert.equal(remoteChargerOn(b.mcu.pinDrive('A8')), true, 'so the default-ON driver turns the charger ON');
    b.runUntil(4.1);
    assert.equal(b.mcu.bootCount, 2);
    assert.equal(b.mcu.storage.read('boots'), '2', 'flash survived the reset');
    assert.equal(b.mcu.pinDrive('A8'), 'high', 'the new boot drives it again');
    assert.match(b.text(), /^boot 1 at 0\.00;boot 2 at 4\.05;$/);
    b.runUntil(9);
    // getTime() is the RTC, which runs on through a reset: the later boots never kick.
    assert.deepEqual(b.mcu.resets.map((r) => Math.round(r.t * 100) / 100), [4, 6.05, 8.1]);
    assert.equal(b.mcu.storage.read('boots'), '4');
  });

  it('an automatic watchdog only fires when the MCU hangs; pins keep their level during the hang', () => {
    const b = board(`E.enableWatchdog(1); digitalWrite('A8', 1); setInterval(function () {}, 100);`);
    b.runUntil(30);
    assert.equal(b.mcu.resets.length, 0);
    b.mcu.hang(10);
    b.runUntil(30.99);
    assert.equal(b.mcu.pinDrive('A8'), 'high', 'a hung MCU keeps its last pin level');
    b.runUntil(31.01);
    assert.deepEqual(b.mcu.resets, [{ t: 31, what: 'watchdog' }]);
    assert.equal(b.mcu.pinDrive('A8'), 'float');
  });

  it('without a watchdog a hang just delays the timers', () => {
    const b = board(`setInterval(function () { USB.write('.' + getTime()); }, 1000);`);
    b.runUntil(1.5);
    b.mcu.hang(2);
    b.runUntil(4.5);
    assert.equal(b.text(), '.1.3.5.3.5.4', 'the runs due at 2 and 3 happen when the hang ends, then it is back on schedule');
  });
});

describe('Espruino shim: fails loudly on what it does not implement', () => {
  const cases: Array<[string, RegExp]> = [
    ['LED1.set();', /Espruino API LED1 is not implemented by the simulator shim/],
    ['new Map();', /Espruino API Map is not implemented.*Node\.js or ES2015\+ global/],
    ['Buffer.from("x");', /Espruino API Buffer/],
    ['E.setClock(84);', /Espruino API E\.setClock is not implemented/],
    ['process.version;', /Espruino API process\.version/],
    ['require("fs");', /Espruino API require\('fs'\)/],
    ['USB.print("x");', /Espruino API USB\.print/],
    ['I2C1.setup({scl: "B8", sda: "B9"}); I2C1.writeTo({address: 64, stop: false}, 0);', /address object/],
    ['setImmediate(function () {});', /Espruino API setImmediate/],
  ];
  for (const [code, message] of cases) {
    it(`stops the simulation: ${code}`, () => {
      const b = board(`setTimeout(function () { try { ${code} } catch (e) { USB.write('swallowed'); } }, 1000);`);
      b.runUntil(0.5);
      assert.throws(() => b.runUntil(2), (e: unknown) => e instanceof ShimApiError && message.test(e.message));
      assert.equal(b.mcu.unimplemented.length, 1);
    });
  }

  it('with strict off, the error reaches the firmware like any exception and is still recorded', () => {
    const b = board(`process.on('uncaughtException', function (e) { USB.write('handled: ' + e.message); }); setTimeout(function () { peek32(0); }, 10);`, { strict: false });
    b.runUntil(1);
    assert.match(b.text(), /handled: Espruino API peek32 is not implemented/);
    assert.deepEqual(b.mcu.unimplemented.map((u) => u.what), ['peek32']);
  });

  it('nothing leaks from the host: Math.random follows the seed, Date follows the virtual clock', () => {
    const code = `setTimeout(function () { USB.write(Math.random() + ' ' + Date.now() + ' ' + new Date().getTime() + ' ' + new Date(0).getTime()); }, 1500);`;
    const one = board(code, { seed: 4 });
    one.runUntil(2);
    const two = board(code, { seed: 4 });
    two.runUntil(2);
    const other = board(code, { seed: 5 });
    other.runUntil(2);
    assert.equal(one.text(), two.text());
    assert.notEqual(one.text().split(' ')[0], other.text().split(' ')[0]);
    assert.deepEqual(one.text().split(' ').slice(1), ['1500', '1500', '0']);
  });

  it('the built-ins Espruino has are there (from the bundle\'s own realm)', () => {
    const b = board(`USB.write([Math.round(2.6), JSON.stringify({a: [1]}), parseInt('12', 10), new Uint8Array(2).length, isFinite(1), typeof Date.now(), new Error('e') instanceof Error].join(' '));`);
    b.runUntil(0);
    assert.equal(b.text(), '3 {"a":[1]} 12 2 true number true');
  });
});

describe('Espruino shim: exceptions, console, serial', () => {
  it('an exception in a callback goes to process.on("uncaughtException"); the interval keeps running', () => {
    const b = board(`
      LoopbackA.setConsole(true);
      process.on('uncaughtException', function (e) { USB.write('caught ' + e.message + ';'); });
      setInterval(function () { throw new Error('boom'); }, 1000);
    `);
    b.runUntil(2.5);
    assert.equal(b.text(), 'caught boom;caught boom;');
    assert.equal(b.mcu.uncaught.length, 2);
  });

  it('without a handler it is printed on the console, which is USB until the firmware moves it', () => {
    const b = board(`
      setTimeout(function () { throw new TypeError('first'); }, 1000);
      setTimeout(function () { LoopbackA.setConsole(true); console.log('quiet'); throw new Error('second'); }, 2000);
    `);
    b.runUntil(3);
    assert.equal(b.text(), 'Uncaught TypeError: first\r\n');
    assert.deepEqual(b.mcu.consoleTail, ['quiet', 'Uncaught Error: second']);
  });

  it('host bytes reach USB.on("data") once the console is elsewhere; before that they go to the REPL', () => {
    const b = board(`
      USB.on('data', function (d) { USB.write('got[' + d + ']'); });
      setTimeout(function () { LoopbackA.setConsole(true); }, 1000);
    `);
    b.runUntil(0.5);
    b.mcu.hostWrite('USB', 'early\n');
    b.runUntil(1.5);
    b.mcu.hostWrite('USB', 'late\n');
    b.runUntil(2);
    assert.equal(b.text(), 'got[late\n]');
    assert.deepEqual(b.mcu.replInput.map((r) => r.what), ['early\n']);
  });
});

describe('Espruino shim: I2C, pins, ADC', () => {
  it('I2C1 reaches the register models; results are the bundle\'s own Uint8Array; NACK throws InternalError', () => {
    const b = board(`
      I2C1.setup({ scl: 'B8', sda: 'B9', bitrate: 100000 });
      I2C1.writeTo(0x40, 0);
      var d = I2C1.readFrom(0x40, 2);
      USB.write((d instanceof Uint8Array) + ' ' + d[0].toString(16) + d[1].toString(16) + ';');
      try { I2C1.readFrom(0x41, 2); } catch (e) { USB.write(e.name + ': ' + e.message + ' ' + (e instanceof Error)); }
    `);
    b.runUntil(0);
    assert.equal(b.text(), 'true 399f;InternalError: I2C got NACK from 0x41 true');
  });

  it('a stuck bus times out every transfer; I2C1 on pins where nothing is wired never answers; no setup, no bus', () => {
    const stuck = board(`I2C1.setup({ scl: 'B8', sda: 'B9' }); try { I2C1.writeTo(0x40, 0); } catch (e) { USB.write(e.message); }`);
    stuck.bus.stuck = true;
    stuck.runUntil(0);
    assert.match(stuck.text(), /Timeout/);
    const wrongPins = board(`I2C1.setup({ scl: 'B6', sda: 'B7' }); try { I2C1.writeTo(0x40, 0); } catch (e) { USB.write(e.message); }`);
    wrongPins.runUntil(0);
    assert.equal(wrongPins.text(), 'I2C got NACK');
    const noSetup = board(`try { I2C1.writeTo(0x40, 0); } catch (e) { USB.write(e.message); }`);
    noSetup.runUntil(0);
    assert.match(noSetup.text(), /not set up/);
  });

  it('digitalWrite makes a pin an output unless pinMode fixed it; digitalRead un-drives an automatic pin', () => {
    const b = board(`
      digitalWrite('A8', 1);
      USB.write('1:' + digitalRead('A8'));
      pinMode('B3', 'input');
      digitalWrite('B3', 1);
      pinMode('B4', 'opendrain');
      digitalWrite('B4', 1);
      pinMode('B5', 'input_pullup');
      USB.write(' 2:' + digitalRead('B5'));
    `);
    b.runUntil(0);
    assert.equal(b.text(), '1:1 2:1');
    assert.equal(b.mcu.pinDrive('A8'), 'high');
    assert.equal(b.mcu.pinDrive('B3'), 'float', 'pinMode input holds: the write only sets the output latch');
    assert.equal(b.mcu.pinDrive('B4'), 'float', 'open drain high is high-Z');
    assert.equal(b.mcu.pinDrive('B5'), 'pullup');
    assert.ok(b.pinChanges() > 0);
  });

  it('the REMOTE driver turns the charger OFF only for a pin driven high', () => {
    assert.equal(remoteChargerOn('high'), false);
    assert.equal(remoteChargerOn('low'), true);
    assert.equal(remoteChargerOn('float'), true);
    assert.equal(remoteChargerOn('pulldown'), true);
    assert.equal(remoteChargerOn('pullup'), true, 'an STM32 pull-up (≈ 40 kΩ) cannot turn Q2 on through 4.7 k / 10 k');
  });

  it('analogRead reads the wiring on ADC pins and refuses the rest; a bad pin name throws', () => {
    const b = board(`
      USB.write(String(analogRead('A5')));
      ['B8', 'A0', 'Z9'].forEach(function (p) { try { analogRead(p); } catch (e) { USB.write('|' + e.message); } });
      try { digitalWrite('Z9', 1); } catch (e) { USB.write('|' + e.message); }
    `);
    b.runUntil(0);
    assert.equal(b.text(), '0.25|Pin B8 is not capable of Analog Input|nothing wired to A0|Invalid pin! (Z9)|Invalid pin! (Z9)');
  });
});

describe('Espruino shim: E, process, Storage', () => {
  it('E.CRC32 is CRC-32/IEEE, equal to the protocol\'s crc32', () => {
    const b = board(`USB.write(E.CRC32('123456789').toString(16) + ' ' + E.CRC32('R,v=1,seq=1') + ' ' + E.CRC32(''));`);
    b.runUntil(0);
    assert.equal(b.text(), `cbf43926 ${crc32('R,v=1,seq=1')} ${crc32('')}`);
  });

  it('process.memory reports the Pico\'s 5,100 JsVars; process.env says the version', () => {
    const b = board(`var m = process.memory(); USB.write((m.free + m.usage) + ' ' + (m.usage > 0) + ' ' + process.env.VERSION);`);
    b.runUntil(0);
    assert.equal(b.text(), '5100 true 2v25');
  });

  it('Storage: read/write/erase strings, 28-character names, write failures as false', () => {
    const b = board(`
      var s = require('Storage');
      USB.write(s.read('none') + ' ' + s.write('a', 'x1') + ' ' + s.read('a'));
      s.erase('a');
      USB.write(' ' + s.read('a'));
      try { s.write('this-name-is-much-too-long-for-flash', 'x'); } catch (e) { USB.write(' long'); }
      setTimeout(function () { USB.write(' ' + s.write('b', 'y')); }, 1000);
    `);
    b.runUntil(0.5);
    b.mcu.storage.failWrites = true;
    b.runUntil(2);
    assert.equal(b.text(), 'undefined true x1 undefined long false');
  });

  it('Storage can live in a file, so flash survives between simulator runs', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sim-flash-')), 'flash.json');
    const first = new FlashStorage(file);
    first.write('sc.boot', '7');
    const second = new FlashStorage(file);
    assert.equal(second.read('sc.boot'), '7');
    assert.equal(first.stats.writes, 1);
    assert.deepEqual(first.stats.writesByFile, { 'sc.boot': 1 });
  });
});
