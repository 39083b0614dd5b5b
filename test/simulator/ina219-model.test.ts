import assert from 'node:assert/strict';
import { VirtualI2cBus } from '../../simulator/i2c-bus';
import { Ina219Model, IDEAL_INA219, INA219B_LIMITS, sampleIna219BErrors } from '../../simulator/ina219-model';
import { seededRandom } from '../../simulator/random';
import { ina219ConfigWord } from '../../drivers/ina219';

const CONFIG = 0, SHUNT = 1, BUS = 2, POWER = 3, CURRENT = 4, CAL = 5;

/** Talks to the model the way a master on the bus does: bytes, MSB first. */
function chip(shuntOhms = 0.1, errors = IDEAL_INA219, seed = 1) {
  let now = 0;
  const bus = new VirtualI2cBus();
  const model = new Ina219Model({ shuntOhms, clock: () => now, errors, random: seededRandom(seed) });
  bus.attach(0x40, model);
  const read = (reg: number) => { bus.writeTo(0x40, reg); const b = bus.readFrom(0x40, 2); return (b[0] << 8) | b[1]; };
  const write = (reg: number, v: number) => bus.writeTo(0x40, [reg, v >> 8, v & 0xff]);
  const signed = (v: number) => (v << 16) >> 16;
  return { bus, model, read, write, signed, advance: (s: number) => { now += s; } };
}

describe('INA219 register model', () => {
  it('powers up like the datasheet: config 0x399F, calibration 0, so current and power read 0 while the shunt measures', () => {
    const c = chip();
    assert.equal(c.read(CONFIG), 0x399f);
    assert.equal(c.read(CAL), 0);
    c.model.setInputs(1.5, 12);
    c.advance(0.01);
    assert.equal(c.signed(c.read(SHUNT)), 15000);
    assert.equal(c.read(CURRENT), 0);
    assert.equal(c.read(POWER), 0);
    assert.equal(c.read(BUS) >> 3, 3000);
  });

  it('forces calibration bit 0 to 0, ignores writes to read-only registers, and resets on RST', () => {
    const c = chip();
    c.write(CAL, 4097);
    assert.equal(c.read(CAL), 4096);
    c.write(SHUNT, 0x1234);
    c.write(CURRENT, 0x1234);
    assert.notEqual(c.read(SHUNT), 0x1234);
    c.write(CONFIG, 0x1fff);
    assert.equal(c.read(CONFIG), 0x1fff);
    c.write(CONFIG, 0x8000);
    assert.equal(c.read(CONFIG), 0x399f, 'RST restores the default and clears itself');
    assert.equal(c.read(CAL), 0);
  });

  it('computes current = shunt × Cal / 4096 and power = current × bus / 5000, signed current, unsigned power', () => {
    const c = chip();
    c.write(CAL, 4096);
    c.model.setInputs(-1.234, 12);
    c.advance(0.01);
    assert.equal(c.signed(c.read(SHUNT)), -12340);
    assert.equal(c.signed(c.read(CURRENT)), -12340);
    assert.equal(c.read(POWER), 7404);
    c.write(CAL, 8192);
    c.advance(0.01);
    assert.equal(c.signed(c.read(CURRENT)), -24680);
  });

  it('quantises to 10 µV and 4 mV', () => {
    const c = chip(1); // 1 Ω: amps = volts
    c.model.setInputs(12.34e-6, 12.345);
    c.advance(0.01);
    assert.equal(c.signed(c.read(SHUNT)), 1);
    assert.equal(c.read(BUS) >> 3, 3086); // 12.345 / 0.004 = 3086.25
    c.model.setInputs(-16e-6, 0.0021);
    c.advance(0.01);
    assert.equal(c.signed(c.read(SHUNT)), -2);
    assert.equal(c.read(BUS) >> 3, 1);
  });

  it('clips the shunt at the PGA full scale and sets OVF only when the arithmetic overflows', () => {
    const c = chip(0.01);
    for (const [pg, full] of [[0, 4000], [1, 8000], [2, 16000], [3, 32000]]) {
      c.write(CONFIG, ina219ConfigWord(32, pg, 3, 3, 7));
      c.model.setInputs(50, 12); // 500 mV: beyond every range
      c.advance(0.01);
      assert.equal(c.signed(c.read(SHUNT)), full);
      c.model.setInputs(-50, 12);
      c.advance(0.01);
      assert.equal(c.signed(c.read(SHUNT)), -full);
    }
    c.write(CAL, 4096);
    c.advance(0.01);
    assert.equal(c.read(BUS) & 1, 0, 'at Cal 4096 the current register holds the clipped shunt');
    c.write(CAL, 8192); // doubles the current: 64000 > 32767
    c.advance(0.01);
    assert.equal(c.read(BUS) & 1, 1, 'OVF');
    c.model.setInputs(0.5, 12);
    c.advance(0.01);
    assert.equal(c.read(BUS) & 1, 0, 'OVF clears with the next in-range conversion');
  });

  it('sets CNVR when the conversion time per the ADC settings has passed, and clears it on a power read or a config write', () => {
    const c = chip();
    c.write(CONFIG, ina219ConfigWord(32, 3, 3, 3, 7)); // 12-bit both: 532 + 532 µs
    c.advance(1.0e-3);
    assert.equal(c.read(BUS) & 2, 0, 'not yet at 1.0 ms');
    c.advance(0.1e-3);
    assert.equal(c.read(BUS) & 2, 2, 'ready at 1.1 ms');
    c.read(SHUNT);
    assert.equal(c.read(BUS) & 2, 2, 'reading other registers leaves it');
    c.read(POWER);
    assert.equal(c.read(BUS) & 2, 0, 'reading power clears it');
    c.advance(1.1e-3);
    assert.equal(c.read(BUS) & 2, 2);
    c.write(CONFIG, ina219ConfigWord(32, 3, 0xf, 0xf, 7)); // 128 samples each: 136.2 ms
    assert.equal(c.read(BUS) & 2, 0, 'a config write restarts the conversion');
    c.advance(0.136);
    assert.equal(c.read(BUS) & 2, 0);
    c.advance(0.0003);
    assert.equal(c.read(BUS) & 2, 2);
  });

  it('converts once per trigger in triggered mode, and never when powered down', () => {
    const c = chip();
    c.write(CONFIG, ina219ConfigWord(32, 3, 3, 3, 3));
    c.advance(0.01);
    c.read(POWER);
    const before = c.model.stats.conversions;
    c.advance(1);
    assert.equal(c.read(BUS) & 2, 0);
    assert.equal(c.model.stats.conversions, before);
    c.write(CONFIG, ina219ConfigWord(32, 3, 3, 3, 0));
    c.advance(1);
    assert.equal(c.read(BUS) & 2, 0);
    assert.equal(c.model.stats.conversions, before);
  });

  it('updates only the converted quantity in shunt-only and bus-only modes', () => {
    const c = chip();
    c.model.setInputs(1, 10);
    c.advance(0.01);
    c.write(CONFIG, ina219ConfigWord(32, 3, 3, 3, 5)); // shunt continuous
    c.model.setInputs(2, 20);
    c.advance(0.01);
    assert.equal(c.signed(c.read(SHUNT)), 20000);
    assert.equal(c.read(BUS) >> 3, 2500, 'bus kept its last conversion (10 V)');
    c.write(CONFIG, ina219ConfigWord(32, 3, 3, 3, 6)); // bus continuous
    c.model.setInputs(3, 20);
    c.advance(0.01);
    assert.equal(c.signed(c.read(SHUNT)), 20000);
    assert.equal(c.read(BUS) >> 3, 5000);
  });

  it('reduces noise by √N with averaging', () => {
    const spread = (adc: number) => {
      const c = chip(1, { ...IDEAL_INA219, shuntNoiseV: 200e-6 }, 99);
      c.write(CONFIG, ina219ConfigWord(32, 3, 3, adc, 7));
      c.model.setInputs(0.01, 12);
      const xs: number[] = [];
      for (let i = 0; i < 400; i++) { c.advance(0.2); xs.push(c.signed(c.read(SHUNT))); }
      const mean = xs.reduce((a, b) => a + b) / xs.length;
      return Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length);
    };
    const single = spread(0x8);
    const avg64 = spread(0xe);
    assert.ok(single > 15 && single < 25, `single-sample σ ${single} counts (expect ≈ 20)`);
    assert.ok(single / avg64 > 5 && single / avg64 < 12, `ratio ${single / avg64} (expect ≈ 8)`);
  });

  it('draws chip errors inside the INA219B limits, and repeats bit for bit with the same seed', () => {
    const random = seededRandom(5);
    for (let i = 0; i < 1000; i++) {
      const e = sampleIna219BErrors(random);
      assert.ok(Math.abs(e.shuntOffsetV) <= INA219B_LIMITS.shuntOffsetV);
      assert.ok(Math.abs(e.shuntGain) <= INA219B_LIMITS.shuntGain);
      assert.ok(Math.abs(e.busGain) <= INA219B_LIMITS.busGain);
    }
    const run = () => {
      const c = chip(0.0015, sampleIna219BErrors(seededRandom(11)), 11);
      c.write(CAL, 5460);
      const regs: number[] = [];
      for (let i = 0; i < 50; i++) { c.model.setInputs(i - 25, 12 + i / 10); c.advance(0.2); regs.push(c.read(SHUNT), c.read(BUS), c.read(CURRENT), c.read(POWER)); }
      return regs;
    };
    assert.deepEqual(run(), run());
  });

  it('injects faults where a real bus shows them: NACK, a stuck bus, a spontaneous reset', () => {
    const c = chip();
    c.write(CAL, 4096);
    c.model.nack = true;
    assert.throws(() => c.read(CONFIG), /I2C got NACK from 0x40/);
    c.model.nack = false;
    c.bus.stuck = true;
    assert.throws(() => c.read(CONFIG), /Timeout \(bus stuck/);
    assert.throws(() => c.bus.readFrom(0x41, 2), /bus stuck/, 'every address fails on a stuck bus');
    c.bus.stuck = false;
    assert.throws(() => c.bus.readFrom(0x41, 2), /NACK from 0x41/, 'an empty address NACKs');
    c.model.spontaneousReset();
    assert.equal(c.read(CAL), 0);
    assert.equal(c.read(CONFIG), 0x399f);
    assert.equal(c.bus.stats.errors, 4);
  });

  it('refuses a second device at the same address and addresses outside 7 bits', () => {
    const c = chip();
    assert.throws(() => c.bus.attach(0x40, c.model), /already in use/);
    assert.throws(() => c.bus.attach(0x80, c.model), /outside the 7-bit range/);
  });
});
