import assert from 'node:assert/strict';
import { createFirmware, McuIo } from '../../firmware/src/app';
import { firmwareBoard } from '../../firmware/src/board';
import { Ina219 } from '../../drivers/ina219';
import { espruinoI2cTransport } from '../../firmware/src/ina219-espruino';
import {
  EventFrame, FLT_BAT_COMM, FLT_ERROR, FLT_STORAGE, ReadingFrame, ReplyFrame, crc32, decodeLine, encodeCommand, Command,
} from '../../protocol';
import { VirtualI2cBus } from '../../simulator/i2c-bus';
import { Ina219Model } from '../../simulator/ina219-model';

const board = firmwareBoard('test');

/** The firmware cycle on a virtual bus with two chip models, fake pins and an in-memory flash. */
function rig(flash = new Map<string, string>()) {
  let now = 0;
  const bus = new VirtualI2cBus();
  const batteryChip = new Ina219Model({ shuntOhms: board.battery.shuntOhms, clock: () => now });
  const loadChip = new Ina219Model({ shuntOhms: board.load.shuntOhms, clock: () => now });
  bus.attach(board.battery.address, batteryChip);
  bus.attach(board.load.address, loadChip);
  const sensor = (c: typeof board.battery) => new Ina219(espruinoI2cTransport(bus), c.address, {
    shuntOhms: c.shuntOhms, maxCurrentA: c.maxCurrentA, busRangeV: c.busRangeV, busAdc: c.adc, shuntAdc: c.adc,
  }, c.calibration);
  const lines: string[] = [];
  const charger: boolean[] = [];
  let solarV: number | null = 18;
  let failWrites = false;
  let released = 0;
  const io: McuIo = {
    crc: crc32,
    write: (l) => { lines.push(l); },
    setCharger: (on) => { charger.push(on); },
    readSolarV: () => solarV,
    load: (n) => flash.get(n),
    save: (n, d) => { if (failWrites) return false; flash.set(n, d); return true; },
    schedule: () => undefined,
    releaseConsole: () => { released++; },
  };
  const battery = sensor(board.battery);
  const load = sensor(board.load);
  battery.configure();
  load.configure();
  const fw = createFirmware(io, board, battery, load, now);
  fw.start(now);
  const frames = () => lines.map((l) => { const d = decodeLine(l); assert.ok(d.ok, `${l}: ${JSON.stringify(d)}`); return d.frame; });
  const last = <T>(type: string) => frames().filter((f) => f.type === type).pop() as T;
  return {
    fw, flash, lines, charger, batteryChip, loadChip, frames, last,
    set solar(v: number | null) { solarV = v; },
    set failWrites(v: boolean) { failWrites = v; },
    get now() { return now; },
    get released() { return released; },
    /** Sets the plant, advances one period and polls; returns the reading frame. */
    poll(batteryA: number, batteryV: number, loadA = 1.8, seconds = 1): ReadingFrame {
      batteryChip.setInputs(batteryA, batteryV);
      loadChip.setInputs(loadA, batteryV - 0.02);
      now += seconds;
      fw.poll(now);
      let i = lines.length - 1;
      while (i > 0 && !lines[i].startsWith('$R')) i--;
      const d = decodeLine(lines[i]);
      assert.ok(d.ok && d.frame.type === 'R', lines[i]);
      return d.frame as ReadingFrame;
    },
    command(c: Command, id = 7): ReplyFrame {
      fw.onLine(encodeCommand({ ...c, id }), now);
      const r = last<ReplyFrame>('A');
      assert.equal(r.id, id);
      return r;
    },
  };
}

describe('firmware cycle (app.ts) on the INA219 models', () => {
  it('boots with an event frame carrying its thresholds and counts boots in flash', () => {
    const flash = new Map<string, string>();
    const first = rig(flash);
    const boot = first.frames()[0] as EventFrame;
    assert.equal(boot.kind, 'boot');
    assert.equal(boot.boot, 1);
    assert.match(boot.msg!, /bon=12 boff=13.976 sdn=10 sup=11.972 dwell=0 period=1/);
    const second = rig(flash);
    assert.equal((second.frames()[0] as EventFrame).boot, 2);
  });

  it('reports what the chips measure, in a frame the full decoder accepts', () => {
    const r = rig();
    const f = r.poll(-3.5, 12.8, 2.2);
    assert.equal(f.seq, 1);
    assert.equal(f.flt, 0);
    assert.ok(Math.abs(f.bv! - 12.8) < 0.005 && Math.abs(f.ba! + 3.5) < 0.01, `${f.bv} ${f.ba}`);
    assert.ok(Math.abs(f.la! - 2.2) < 0.01);
    assert.ok(Math.abs(f.sv! - 18) < 1e-9);
    assert.ok(Math.abs(f.bw! - 12.8 * -3.5) < 0.2);
    // 12.8 V is between ON and OFF and the latch starts set: the charger stays ON until the battery proves high.
    assert.equal(f.chg, 1);
    assert.equal(f.why, 'bat_low');
    assert.equal(r.poll(10, 14.1).why, 'released');
    assert.equal(r.charger[r.charger.length - 1], false);
  });

  it('goes fail-safe ON by the second poll without a battery reading, and recovers', () => {
    const r = rig();
    r.poll(10, 14.1);
    assert.equal(r.poll(10, 14.1).chg, 0);
    r.batteryChip.nack = true;
    const first = r.poll(10, 14.1);
    assert.equal(first.flt & FLT_BAT_COMM, FLT_BAT_COMM);
    assert.equal(first.bv, null);
    const second = r.poll(10, 14.1);
    assert.equal(second.chg, 1);
    assert.equal(second.why, 'failsafe');
    r.batteryChip.nack = false;
    r.poll(10, 14.1); // re-configures the chip: its first conversion is pending
    assert.equal(r.poll(10, 14.1).chg, 0);
  });

  it('integrates energy and writes it to flash no more often than every 15 minutes', () => {
    const r = rig();
    for (let i = 0; i < 899; i++) r.poll(5, 13.5);
    assert.equal(r.flash.has('sc.nrg'), false);
    r.poll(5, 13.5);
    assert.equal(r.flash.has('sc.nrg'), true);
    const saved = r.frames().filter((f) => f.type === 'E' && (f as EventFrame).kind === 'saved');
    assert.equal(saved.length, 1);
    const f = r.last<ReadingFrame>('R');
    // 899 intervals of 1 s at 5 A (the first poll starts the integration).
    assert.ok(Math.abs(f.bahi! - 5 * 899 / 3600) < 0.002, `${f.bahi}`);
    assert.ok(Math.abs(f.laho! - 1.8 * 899 / 3600) < 0.002, `${f.laho}`);
    // Restored by the next boot.
    const again = rig(r.flash);
    assert.ok(Math.abs(again.poll(0, 13).bahi! - f.bahi!) < 0.001);
  });

  it('answers get/set, keeps settings across a reboot, and refuses a lone bon above the stored boff', () => {
    const r = rig();
    const got = r.command({ cmd: 'get' });
    assert.equal(got.ok, 1);
    assert.deepEqual(got.data, { bon: 12, boff: 13.976, sdn: 10, sup: 11.972, dwell: 0, period: 1, floor: 11.8 });
    const set = r.command({ cmd: 'set', bon: 12.4, dwell: 30 });
    assert.equal(set.ok, 1);
    assert.equal(set.data!.bon, 12.4);
    const bad = r.command({ cmd: 'set', bon: 14.5 });
    assert.equal(bad.ok, 0);
    assert.equal(bad.err, 'bad_value');
    assert.match(bad.msg!, /bon must be below boff 13.976/);
    const rebooted = rig(r.flash);
    assert.equal(rebooted.command({ cmd: 'get' }).data!.bon, 12.4);
    assert.equal(rebooted.fw.settings().dwell, 30);
  });

  it('forces OFF until the force expires, and never holds a battery below the floor', () => {
    const r = rig();
    r.poll(0, 12.8);
    const forced = r.command({ cmd: 'force', mode: 'off', for: 60 });
    assert.equal(forced.data!.mode, 'off');
    assert.equal(forced.data!.left, 60);
    assert.equal(r.poll(0, 12.8).why, 'forced_off');
    assert.equal(r.poll(0, 12.8, 1.8, 60).why, 'bat_low', 'expired: back to the latches');
    r.command({ cmd: 'force', mode: 'off', for: 600 });
    assert.equal(r.poll(-20, 11.7).why, 'floor');
    assert.equal(r.fw.state.force, 'auto', 'the floor cancels the force');
  });

  it('rejects malformed commands with a reply that says why, and counts noise it cannot answer', () => {
    const r = rig();
    const before = r.fw.settings();
    r.fw.onLine('$C,v=1,id=9,cmd=set,bon=99*' + crc32('C,v=1,id=9,cmd=set,bon=99').toString(16).toUpperCase().padStart(8, '0'), r.now);
    const reply = r.last<ReplyFrame>('A');
    assert.equal(reply.id, 9);
    assert.equal(reply.ok, 0);
    assert.equal(reply.err, 'out_of_range');
    assert.equal(r.fw.settings(), before);
    const count = r.lines.length;
    r.fw.onLine('>garbage', r.now);
    r.fw.onLine('$C,v=1,id=3,cmd=status*00000000', r.now);
    assert.equal(r.lines.length, count, 'no reply to a line without a trustworthy id');
    assert.equal(r.command({ cmd: 'status' }).data!.bad, 2);
  });

  it('flags a corrupt stored record, keeps defaults, and reports storage write failures', () => {
    const flash = new Map([['sc.set', '{"bon":13}*DEADBEEF'], ['sc.nrg', 'torn']]);
    const r = rig(flash);
    const warn = r.frames().find((f) => f.type === 'E' && (f as EventFrame).kind === 'warn') as EventFrame;
    assert.match(warn.msg!, /corrupt/);
    assert.equal(r.fw.settings().bon, 12);
    assert.equal(r.poll(0, 13).flt & FLT_STORAGE, FLT_STORAGE);
    const clean = rig();
    clean.failWrites = true;
    const saved = clean.command({ cmd: 'save' });
    assert.equal(saved.ok, 0);
    assert.equal(saved.err, 'storage');
  });

  it('reports an escaped error in an event frame and in the next reading only', () => {
    const r = rig();
    r.fw.reportError(new Error('boom'), r.now);
    const e = r.last<EventFrame>('E');
    assert.equal(e.kind, 'error');
    assert.equal(e.msg, 'boom');
    assert.equal(r.poll(0, 13).flt & FLT_ERROR, FLT_ERROR);
    assert.equal(r.poll(0, 13).flt & FLT_ERROR, 0);
  });

  it('zeroes the counters on reset-energy and saves them', () => {
    const r = rig();
    for (let i = 0; i < 10; i++) r.poll(5, 13.5);
    assert.ok(r.fw.energy().bahi > 0);
    assert.equal(r.command({ cmd: 'reset-energy' }).ok, 1);
    assert.equal(r.fw.energy().bahi, 0);
    assert.equal(rig(r.flash).fw.energy().bahi, 0);
  });

  it('gives the REPL back on `console` (before a re-flash) and keeps monitoring', () => {
    const r = rig();
    assert.equal(r.command({ cmd: 'console' }).ok, 1);
    assert.equal(r.released, 1);
    assert.equal(r.poll(0, 13).seq, 1);
  });
});
