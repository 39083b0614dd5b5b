import assert from 'node:assert/strict';
import {
  INA219_MODE_BOTH_TRIGGERED, INA219_REG_CALIBRATION, INA219_REG_CONFIG, INA_FLAG_COMM, INA_FLAG_OVF,
  INA_FLAG_RESET, INA_FLAG_STALE, Ina219Options, createIna219, ina219Calibration, ina219ConfigWord, ina219ReadyAfterS,
} from '../../drivers/ina219';
import { espruinoI2cTransport } from '../../firmware/src/ina219-espruino';
import { linuxI2cTransport, openLinuxI2cTransport } from '../../bridge/src';
import { VirtualI2cBus } from '../../simulator/i2c-bus';
import { Ina219Model, IDEAL_INA219, Ina219Errors, sampleIna219BErrors, INA219B_LIMITS } from '../../simulator/ina219-model';
import { seededRandom } from '../../simulator/random';
import { INA219_CHANNELS } from '../../hardware';

/** A clock we move by hand, a bus, one chip model and the driver talking to it through the Espruino transport. */
function rig(opts: Partial<Ina219Options> & { modelShuntOhms?: number; errors?: Ina219Errors; address?: number } = {}) {
  let now = 0;
  const clock = () => now;
  const bus = new VirtualI2cBus();
  const shuntOhms = opts.shuntOhms ?? INA219_CHANNELS.battery.shunt.ohms;
  const model = new Ina219Model({ shuntOhms: opts.modelShuntOhms ?? shuntOhms, clock, errors: opts.errors ?? IDEAL_INA219 });
  const address = opts.address ?? 0x40;
  bus.attach(address, model);
  const driver = createIna219(espruinoI2cTransport(bus), address, {
    shuntOhms,
    maxCurrentA: opts.maxCurrentA ?? INA219_CHANNELS.battery.maxCurrentA,
    busRangeV: opts.busRangeV,
    busAdc: opts.busAdc,
    shuntAdc: opts.shuntAdc,
    mode: opts.mode,
    autoRange: opts.autoRange,
  });
  return {
    bus, model, driver,
    advance(s: number) { now += s; },
    /** Sets the true inputs, waits one full conversion, and reads. */
    measure(currentA: number, busV: number) {
      model.setInputs(currentA, busV);
      now += ina219ReadyAfterS(opts.mode ?? 7, opts.busAdc ?? 0xf, opts.shuntAdc ?? 0xf) * 1.01 + 0.001;
      return driver.read();
    },
  };
}

describe('INA219 calibration (datasheet arithmetic)', () => {
  it('reproduces the datasheet example: 0.1 Ω, 3.2 A → Cal 4096 at a 100 µA LSB, 2 mW power LSB, ±320 mV', () => {
    const c = ina219Calibration(0.1, 3.2);
    assert.equal(c.calibration, 4096);
    assert.ok(Math.abs(c.currentLsbA - 100e-6) < 1e-15, `LSB ${c.currentLsbA}`);
    assert.ok(Math.abs(c.powerLsbW - 2e-3) < 1e-13);
    assert.equal(c.pgaMillivolts, 320);
  });

  it('computes the 1.5 mΩ shunt channels by the datasheet rule', () => {
    // Hand-derived: battery 80 A → min LSB 2.44 mA → 5 mA; 0.04096 / (5 mA × 1.5 mΩ) = 5461.3 → 5461 → bit 0 cleared → 5460; 120 mV → ±160 mV.
    const bat = ina219Calibration(0.0015, 80);
    assert.equal(bat.calibration, 5460);
    assert.equal(bat.pgaMillivolts, 160);
    assert.ok(Math.abs(bat.currentLsbA - 0.04096 / (5460 * 0.0015)) < 1e-15);
    assert.ok(Math.abs(bat.currentLsbA / 5e-3 - 1) < 5e-4, 'within 0.05 % of the nominal 5 mA');
    // Shunt rating 50 A: 1.53 mA → 2 mA; 13653.3 → 13653 → 13652; 75 mV → ±80 mV.
    const rated = ina219Calibration(0.0015, 50);
    assert.equal(rated.calibration, 13652);
    assert.equal(rated.pgaMillivolts, 80);
    // Load 30 A: 0.92 mA → 1 mA; 27306.7 → 27306; 45 mV → ±80 mV.
    const load = ina219Calibration(0.0015, 30);
    assert.equal(load.calibration, 27306);
    assert.equal(load.pgaMillivolts, 80);
  });

  it('keeps its invariants over many shunt/current pairs', () => {
    const random = seededRandom(7);
    for (let i = 0; i < 2000; i++) {
      const ohms = Math.pow(10, -4 + random() * 4); // 0.1 mΩ .. 1 Ω
      const maxMv = 1 + random() * 318;
      const maxA = maxMv / 1000 / ohms;
      const c = ina219Calibration(ohms, maxA);
      assert.equal(c.calibration & 1, 0, 'bit 0 clear');
      assert.ok(c.calibration >= 2 && c.calibration <= 0xfffe);
      assert.ok(c.pgaMillivolts >= maxMv - 1e-6, 'PGA covers the full-scale shunt voltage');
      const smaller = [40, 80, 160, 320].filter((p) => p < c.pgaMillivolts);
      assert.ok(smaller.every((p) => p < maxMv), 'and is the smallest that does');
      // The current register must hold maxA: 32767 counts × LSB ≥ maxA (unless Cal hit its 16-bit ceiling).
      if (c.calibration < 0xfffe) assert.ok(32767 * c.currentLsbA >= maxA * 0.999, `${ohms} Ω ${maxA} A`);
      assert.ok(Math.abs(c.powerLsbW - 20 * c.currentLsbA) < 1e-12 * c.powerLsbW);
    }
  });

  it('rejects what no INA219 can measure', () => {
    assert.throws(() => ina219Calibration(0, 1), /positive/);
    assert.throws(() => ina219Calibration(0.1, -1), /positive/);
    assert.throws(() => ina219Calibration(Number.NaN, 1), /positive/);
    assert.throws(() => ina219Calibration(0.1, 5), /5 A x 0.1 ohm = 500 mV > 320 mV/);
  });

  it('refuses an address outside 0x40-0x4F', () => {
    const bus = new VirtualI2cBus();
    assert.throws(() => createIna219(espruinoI2cTransport(bus), 0x3f, { shuntOhms: 0.1, maxCurrentA: 1 }), /0x3f not in 0x40-0x4f/);
  });
});

describe('INA219 driver against the register model', () => {
  it('configures the chip and reads it back', () => {
    const r = rig();
    assert.equal(r.driver.configure(), null);
    assert.equal(r.model.peek(INA219_REG_CONFIG), ina219ConfigWord(32, 2, 0xf, 0xf, 7));
    assert.equal(r.model.peek(INA219_REG_CALIBRATION), 5460);
  });

  it('never reports a conversion before it is ready, nor the same one twice (CNVR)', () => {
    const r = rig();
    r.driver.configure();
    r.model.setInputs(10, 13);
    r.advance(0.1); // 128-sample averaging on both ADCs takes 136.2 ms
    assert.equal(r.driver.read().flags, INA_FLAG_STALE);
    r.advance(0.04);
    const fresh = r.driver.read();
    assert.equal(fresh.flags, 0);
    const again = r.driver.read();
    assert.equal(again.flags, INA_FLAG_STALE, 'reading power cleared CNVR');
    assert.equal(again.currentA, null);
    assert.equal(r.driver.stats.stale, 2);
  });

  it('datasheet example end to end: 0.1 Ω, Cal 4096 → current = shunt counts × 100 µA, power × 2 mW', () => {
    const r = rig({ shuntOhms: 0.1, maxCurrentA: 3.2 });
    r.driver.configure();
    const m = r.measure(1.234, 12);
    assert.equal(m.flags, 0);
    assert.ok(Math.abs(m.shuntV! - 0.1234) < 1e-9);
    assert.ok(Math.abs(m.currentA! - 1.234) < 1e-9, `${m.currentA}`);
    assert.ok(Math.abs(m.busV! - 12) < 1e-9);
    // Power register = 12340 × 3000 / 5000 = 7404 counts × 2 mW.
    assert.ok(Math.abs(m.powerW! - 14.808) < 1e-9, `${m.powerW}`);
  });

  it('reads the 1.5 mΩ battery shunt within one shunt LSB, charging and discharging', () => {
    const r = rig();
    r.driver.configure();
    const shuntLsbA = 10e-6 / 0.0015; // 6.7 mA: the shunt ADC's own resolution
    for (const amps of [0, 0.05, 1.8, 12.5, 40, 75, -0.3, -1.8, -20, -75]) {
      const m = r.measure(amps, 13.2);
      assert.equal(m.flags, 0, `${amps} A: ${m.error}`);
      assert.ok(Math.abs(m.currentA! - amps) <= shuntLsbA + r.driver.calibration.currentLsbA, `${amps} A read as ${m.currentA}`);
      assert.equal(Math.sign(m.powerW!), Math.sign(m.currentA!), 'power takes the sign of the current');
      assert.ok(Math.abs(m.powerW! - amps * 13.2) <= Math.abs(amps) * 13.2 * 0.002 + 0.2, `${amps} A → ${m.powerW} W`);
      assert.ok(Math.abs(m.busV! - 13.2) <= 0.004);
    }
  });

  it('flags a clipped shunt instead of reporting it, ranges up, then reads the real value', () => {
    const r = rig(); // battery channel: ±160 mV PGA
    r.driver.configure();
    const clipped = r.measure(120, 13.8); // 180 mV across 1.5 mΩ
    assert.equal(clipped.flags, INA_FLAG_OVF);
    assert.equal(clipped.currentA, null);
    assert.equal(clipped.powerW, null);
    assert.ok(Math.abs(clipped.busV! - 13.8) < 0.005, 'bus voltage is still real');
    assert.match(clipped.error!, /clipped at 160 mV, range now 320 mV/);
    assert.equal(r.driver.pgaIndex, 3);
    const m = r.measure(120, 13.8);
    assert.equal(m.flags, 0, `${m.error}`);
    assert.ok(Math.abs(m.currentA! - 120) < 0.01, `${m.currentA}`);
    assert.equal(r.driver.stats.overflows, 1);
    assert.equal(r.driver.stats.rangeUps, 1);
  });

  it('falls back to Ohm\'s law when the chip\'s current arithmetic overflows (OVF) but the shunt is in range', () => {
    const r = rig();
    r.driver.configure();
    r.measure(120, 13.8); // ranges up to ±320 mV
    // 180 A = 270 mV = 27000 counts; × 5460 / 4096 = 35991 > 32767 → the chip sets OVF.
    r.model.setInputs(180, 13.5);
    r.advance(0.2);
    assert.equal(r.model.peek(2) & 1, 1, 'the model raised OVF');
    const m = r.driver.read();
    assert.equal(m.flags, 0);
    assert.ok(Math.abs(m.currentA! - 180) < 0.01, `${m.currentA}`);
    assert.ok(Math.abs(m.powerW! - 180 * 13.5) < 2);
  });

  it('never reports a value beyond the widest range: flags it every time', () => {
    const r = rig();
    r.driver.configure();
    r.measure(250, 13); // 375 mV: clips at 160 then at 320
    for (let i = 0; i < 3; i++) {
      const m = r.measure(250, 13);
      assert.equal(m.flags, INA_FLAG_OVF);
      assert.equal(m.currentA, null);
    }
    assert.equal(r.driver.pgaIndex, 3);
  });

  it('detects a chip that reset mid-run, restores its setup, and reads correctly after', () => {
    const r = rig();
    r.driver.configure();
    assert.equal(r.measure(-15, 12.6).flags, 0);
    r.model.spontaneousReset();
    assert.equal(r.model.peek(INA219_REG_CONFIG), 0x399f);
    assert.equal(r.model.peek(INA219_REG_CALIBRATION), 0);
    const afterReset = r.measure(-15, 12.6);
    assert.equal(afterReset.flags, INA_FLAG_RESET | INA_FLAG_STALE);
    assert.equal(afterReset.currentA, null, 'a reset chip reads 0 A: that must not be reported');
    assert.match(afterReset.error!, /INA219 0x40 had reset \(config 0x399f, cal 0\), restored/);
    assert.equal(r.model.peek(INA219_REG_CONFIG), r.driver.configWord());
    assert.equal(r.model.peek(INA219_REG_CALIBRATION), 5460);
    const m = r.measure(-15, 12.6);
    assert.equal(m.flags, 0);
    assert.ok(Math.abs(m.currentA! + 15) < 0.01);
    assert.equal(r.driver.stats.resets, 1);
  });

  it('detects a reset even when the configured word equals the power-on default, through the calibration register', () => {
    // 0x399F is 32 V, ±320 mV, 12-bit, continuous: a legal setup. Only calibration tells.
    const r = rig({ shuntOhms: 0.1, maxCurrentA: 3.2, busAdc: 3, shuntAdc: 3 });
    assert.equal(r.driver.configWord(), 0x399f);
    r.driver.configure();
    assert.equal(r.measure(1, 12).flags, 0);
    r.model.spontaneousReset();
    assert.equal(r.measure(1, 12).flags, INA_FLAG_RESET | INA_FLAG_STALE);
    assert.ok(Math.abs(r.measure(1, 12).currentA! - 1) < 1e-3);
  });

  it('reports a NACK as a communication fault, then re-initialises and recovers', () => {
    const r = rig();
    r.driver.configure();
    r.model.nack = true;
    const m = r.measure(5, 13);
    assert.equal(m.flags, INA_FLAG_COMM);
    assert.match(m.error!, /INA219 0x40: I2C got NACK from 0x40/);
    assert.equal(r.driver.configured, false);
    assert.equal(r.measure(5, 13).flags, INA_FLAG_COMM, 'still absent');
    r.model.nack = false;
    r.model.spontaneousReset(); // it came back from a power cycle
    const reinit = r.measure(5, 13);
    assert.equal(reinit.flags, INA_FLAG_STALE, 're-configured; its first conversion is pending');
    assert.equal(r.model.peek(INA219_REG_CALIBRATION), 5460);
    const ok = r.measure(5, 13);
    assert.equal(ok.flags, 0);
    assert.ok(Math.abs(ok.currentA! - 5) < 0.01);
    assert.equal(r.driver.stats.commErrors, 2);
  });

  it('survives a stuck bus (every transfer times out) and recovers when it is released', () => {
    const r = rig();
    r.driver.configure();
    r.bus.stuck = true;
    const m = r.measure(5, 13);
    assert.equal(m.flags, INA_FLAG_COMM);
    assert.match(m.error!, /bus stuck/);
    r.bus.stuck = false;
    assert.equal(r.measure(5, 13).flags, INA_FLAG_STALE);
    assert.equal(r.measure(5, 13).flags, 0);
  });

  it('reports a hung ADC as stale, never as a repeated value', () => {
    const r = rig();
    r.driver.configure();
    assert.equal(r.measure(5, 13).flags, 0);
    r.model.frozen = true;
    for (let i = 0; i < 3; i++) assert.equal(r.measure(6, 13).flags, INA_FLAG_STALE);
  });

  it('fails configure() on a device that does not hold its setup', () => {
    const r = rig();
    const orig = r.model.i2cWrite.bind(r.model);
    r.model.i2cWrite = (bytes: number[]) => orig(bytes.length >= 3 ? [bytes[0], bytes[1] ^ 0x40, bytes[2]] : bytes);
    assert.match(r.driver.configure()!, /INA219 0x40 setup not kept \(config 0x[0-9a-f]+, cal 21844\)/);
    assert.equal(r.driver.configured, false);
  });

  it('in triggered mode re-triggers after each read, so every poll gets a fresh conversion', () => {
    const r = rig({ mode: INA219_MODE_BOTH_TRIGGERED, busAdc: 3, shuntAdc: 3 });
    r.driver.configure();
    for (const amps of [1, 2, 3]) {
      const m = r.measure(amps, 13);
      assert.equal(m.flags, 0);
      assert.ok(Math.abs(m.currentA! - amps) < 0.01);
    }
    // The third read re-triggered one more conversion, and without a new trigger there is no other.
    r.advance(1);
    r.model.peek(2);
    assert.equal(r.model.stats.conversions, 4);
    r.advance(1);
    r.model.peek(2);
    assert.equal(r.model.stats.conversions, 4);
  });

  it('with INA219B errors stays within the datasheet limits after averaging', () => {
    const random = seededRandom(2024);
    for (let chip = 0; chip < 20; chip++) {
      const errors = sampleIna219BErrors(random);
      const r = rig({ errors });
      r.driver.configure();
      for (const amps of [-30, -2, 2, 30]) {
        const m = r.measure(amps, 13);
        const limit = Math.abs(amps) * INA219B_LIMITS.shuntGain + INA219B_LIMITS.shuntOffsetV / 0.0015 + 3 * (10e-6 / 0.0015);
        assert.ok(Math.abs(m.currentA! - amps) <= limit, `chip ${chip}: ${amps} A read ${m.currentA}, limit ±${limit}`);
        assert.ok(Math.abs(m.busV! - 13) <= 13 * INA219B_LIMITS.busGain + INA219B_LIMITS.busOffsetV + 0.012);
      }
    }
  });
});

describe('INA219 Linux transport (i2c-bus)', () => {
  it('speaks plain I2C transfers MSB first: the driver runs through it against the model', () => {
    let now = 0;
    const bus = new VirtualI2cBus();
    const model = new Ina219Model({ shuntOhms: 0.0015, clock: () => now });
    bus.attach(0x41, model);
    // The i2c-bus API shape, backed by the virtual bus instead of /dev/i2c-N.
    const fakeDev = {
      i2cWriteSync(addr: number, len: number, buf: Buffer) { bus.writeTo(addr, Array.from(buf.subarray(0, len))); return len; },
      i2cReadSync(addr: number, len: number, buf: Buffer) { bus.readFrom(addr, len).forEach((b, i) => { buf[i] = b; }); return len; },
    };
    const driver = createIna219(linuxI2cTransport(fakeDev), 0x41, { shuntOhms: 0.0015, maxCurrentA: 30 });
    assert.equal(driver.configure(), null);
    assert.equal(model.peek(INA219_REG_CALIBRATION), 27306);
    model.setInputs(1.8, 13.4);
    now += 0.2;
    const m = driver.read();
    assert.equal(m.flags, 0);
    assert.ok(Math.abs(m.currentA! - 1.8) < 0.007);
  });

  it('turns a short transfer into an error the driver reports', () => {
    const transport = linuxI2cTransport({ i2cWriteSync: (_a, len) => len, i2cReadSync: () => 1 });
    assert.throws(() => transport.readRegister(0x40, 2), /short read \(1 of 2 bytes\) from register 2 at 0x40/);
  });

  it('opens a real Linux bus through i2c-bus and says which device failed', function () {
    // /dev/i2c-97 does not exist here: the native module loads and the open fails on first access.
    const transport = openLinuxI2cTransport(97);
    assert.throws(() => transport.readRegister(0x40, 0), /\/dev\/i2c-97: .*(ENOENT|no such file)/i);
    const driver = createIna219(transport, 0x40, { shuntOhms: 0.0015, maxCurrentA: 50 });
    const m = driver.read();
    assert.equal(m.flags, INA_FLAG_COMM);
    assert.match(m.error!, /\/dev\/i2c-97/);
  });

  it('rejects a bad bus number', () => {
    assert.throws(() => openLinuxI2cTransport(-1), /non-negative integer/);
  });
});
