import { strict as assert } from 'node:assert';
import {
  BATTERY_FLOOR_V, BLOG_TARGETS, CLUSTER_LOAD, DEFAULT_THRESHOLDS, I2C_BUS,
  INA219_CHANNELS, Ina219ChannelSpec, MAINS_CHARGER, MCU_BOARD, PINS, REMOTE_DRIVER,
  SHUNT_50A_75MV, SOLAR_CONTROLLER, SOLAR_INA219, SOLAR_INPUT, SolarAdcInput,
  VOLTAGE_RANGES, shunt, solarDividerGain,
} from '../../hardware';

// Datasheet facts the description has to respect (TI SBOS448, ST RM0368/DS9716).
const INA219_PGA_RANGES_V = [0.04, 0.08, 0.16, 0.32];
const INA219_MAX_BUS_PIN_V = 26;
const INA219_CAL_MAX = 0xfffe; // 16-bit register, bit 0 always reads 0
/** INA219 table 1: address = 0x40 | A1 code << 2 | A0 code, codes GND=0, VS=1, SDA=2, SCL=3. */
const STRAP_CODE: Record<string, number> = { GND: 0, VS: 1, SDA: 2, SCL: 3 };
/** STM32F401 ADC1 channels IN0..IN9 on port pins; IN10..IN15 are on port C, absent on the Pico. */
const ADC_PINS = ['A0', 'A1', 'A2', 'A3', 'A4', 'A5', 'A6', 'A7', 'B0', 'B1'];
/** Pins the Espruino Pico brings out (both headers and the end pads), plus its LEDs and button. */
const PICO_PINS = [
  'B15', 'B14', 'B13', 'B10', 'B1', 'A7', 'A6', 'A5', 'B3', 'B4', 'B5', 'B6', 'B7', 'A8', 'B8', 'B9',
  'A0', 'A1', 'A2', 'A3', 'A4', 'A10', 'B2', 'B12', 'C13',
];
/** STM32F401 I2C1 can be mapped to PB6/PB7 or PB8/PB9 (SCL/SDA). */
const I2C1_MAPPINGS = [{ scl: 'B6', sda: 'B7' }, { scl: 'B8', sda: 'B9' }];

function solarAdc(): SolarAdcInput {
  assert.equal(SOLAR_INPUT.kind, 'adc', 'the default solar input is the ADC divider');
  return SOLAR_INPUT as SolarAdcInput;
}

const channels: Ina219ChannelSpec[] = [INA219_CHANNELS.battery, INA219_CHANNELS.load, SOLAR_INA219];

function addressFromStraps(straps: string): number {
  const m = /^A1=(GND|VS|SDA|SCL), A0=(GND|VS|SDA|SCL)$/.exec(straps);
  assert.ok(m, `unparseable strap description "${straps}"`);
  return 0x40 | (STRAP_CODE[m[1]] << 2) | STRAP_CODE[m[2]];
}

describe('hardware/system: shunts and INA219 channels', () => {
  it('a 50 A / 75 mV shunt is 1.5 mΩ', () => {
    assert.ok(Math.abs(SHUNT_50A_75MV.ohms - 0.0015) < 1e-12);
    assert.equal(SHUNT_50A_75MV.ratedA, 50);
    assert.equal(SHUNT_50A_75MV.ratedMillivolts, 75);
    // The helper is what a different shunt would go through: check it is not hard-wired.
    assert.ok(Math.abs(shunt(100, 50).ohms - 0.0005) < 1e-12);
  });

  for (const ch of channels) {
    it(`${ch.id}: full-scale current fits a PGA range, with calibration in the register`, () => {
      const fullScaleV = ch.maxCurrentA * ch.shunt.ohms;
      const pga = INA219_PGA_RANGES_V.filter((r) => r >= fullScaleV);
      assert.ok(pga.length > 0, `${fullScaleV * 1000} mV exceeds the INA219's ±320 mV`);
      // Same arithmetic as the datasheet: Current_LSB = Imax / 2^15, Cal = trunc(0.04096 / (LSB × R)).
      const currentLsb = ch.maxCurrentA / 32768;
      const cal = Math.trunc(0.04096 / (currentLsb * ch.shunt.ohms));
      assert.ok(cal >= 1 && cal <= INA219_CAL_MAX, `calibration ${cal} does not fit the register`);
    });
  }

  it('battery full scale covers the charger and the MP3735 charging together', () => {
    assert.ok(INA219_CHANNELS.battery.maxCurrentA >= MAINS_CHARGER.ratedA + SOLAR_CONTROLLER.ratedA);
    assert.ok(INA219_CHANNELS.load.maxCurrentA >= CLUSTER_LOAD.typicalA);
    assert.equal(INA219_CHANNELS.battery.bidirectional, true, 'the battery both charges and discharges');
    assert.equal(INA219_CHANNELS.load.bidirectional, false);
  });

  it('I²C addresses are distinct, in 0x40–0x4F, and match their strap descriptions', () => {
    const seen = new Set<number>();
    for (const ch of channels) {
      assert.ok(ch.address >= 0x40 && ch.address <= 0x4f, `${ch.id}: 0x${ch.address.toString(16)}`);
      assert.equal(ch.address, addressFromStraps(ch.addressStraps), `${ch.id}: straps "${ch.addressStraps}"`);
      assert.ok(!seen.has(ch.address), `${ch.id}: address 0x${ch.address.toString(16)} used twice`);
      seen.add(ch.address);
    }
    // Spot-check the decoder against the datasheet table itself.
    assert.equal(addressFromStraps('A1=GND, A0=GND'), 0x40);
    assert.equal(addressFromStraps('A1=GND, A0=VS'), 0x41);
    assert.equal(addressFromStraps('A1=VS, A0=GND'), 0x44);
    assert.equal(addressFromStraps('A1=VS, A0=VS'), 0x45);
    assert.equal(addressFromStraps('A1=SCL, A0=SCL'), 0x4f);
  });

  it('every voltage on the INA219 bus pins stays under their 26 V limit', () => {
    assert.ok(VOLTAGE_RANGES.battery.max < INA219_MAX_BUS_PIN_V);
    assert.ok(MAINS_CHARGER.chargeV < INA219_MAX_BUS_PIN_V);
    // The optional panel INA219 would sit in the PV line, where the cold open-circuit voltage appears.
    assert.ok(solarAdc().maxPanelV < INA219_MAX_BUS_PIN_V);
  });
});

describe('hardware/system: pins', () => {
  const uses: Array<[string, string]> = [
    ['I²C SCL', PINS.i2cScl], ['I²C SDA', PINS.i2cSda], ['Serial1 TX', PINS.serial1Tx],
    ['Serial1 RX', PINS.serial1Rx], ['solar ADC', PINS.solarAdc], ['REMOTE driver', PINS.remoteDriver],
    ['red LED', PINS.ledRed], ['green LED', PINS.ledGreen], ['button', PINS.button],
  ];

  it('no pin serves two functions', () => {
    const owner = new Map<string, string>();
    // All of PINS, so a pin added later is checked without anyone editing this test.
    for (const [fn, pin] of Object.entries(PINS)) {
      assert.ok(!owner.has(pin), `${pin} is both ${owner.get(pin)} and ${fn}`);
      owner.set(pin, fn);
    }
  });

  it('every pin exists on the Pico, and the LEDs and button are the on-board ones', () => {
    for (const [fn, pin] of uses) assert.ok(PICO_PINS.includes(pin), `${fn}: ${pin} is not brought out on the Pico`);
    assert.deepEqual([PINS.ledRed, PINS.ledGreen, PINS.button], ['B2', 'B12', 'C13']);
  });

  it('I²C sits on a real I2C1 mapping, away from Serial1', () => {
    assert.equal(I2C_BUS.peripheral, 'I2C1');
    assert.equal(I2C_BUS.scl, PINS.i2cScl);
    assert.equal(I2C_BUS.sda, PINS.i2cSda);
    assert.ok(I2C1_MAPPINGS.some((m) => m.scl === I2C_BUS.scl && m.sda === I2C_BUS.sda));
    const serial = [PINS.serial1Tx, PINS.serial1Rx];
    assert.ok(!serial.includes(I2C_BUS.scl) && !serial.includes(I2C_BUS.sda));
  });

  it('the solar input is an ADC-capable pin, and the driver and channels agree on pins', () => {
    assert.ok(ADC_PINS.includes(solarAdc().pin), `${solarAdc().pin} has no ADC1 channel`);
    assert.equal(solarAdc().pin, PINS.solarAdc);
    assert.equal(REMOTE_DRIVER.pin, PINS.remoteDriver);
  });

  it('the I²C pull-ups keep the sink current within the 3 mA the bus allows', () => {
    // Two breakouts with 10 kΩ each, in parallel with the board's pull-up, all to the
    // 3.3 V rail (which is also the ADC reference).
    const breakoutPullup = 10000;
    const r = 1 / (1 / I2C_BUS.pullupOhms + 2 / breakoutPullup);
    const sinkA = MCU_BOARD.adcReferenceV / r;
    assert.ok(sinkA <= 0.003, `${(sinkA * 1000).toFixed(2)} mA`);
    // …and strong enough for 100 kHz: rise time 0.8473·R·C under 1 µs with 200 pF of cable and pins.
    assert.ok(0.8473 * r * 200e-12 < 1e-6);
    assert.equal(I2C_BUS.bitrateHz, 100000);
  });
});

describe('hardware/system: solar divider', () => {
  const input = solarAdc();
  const gain = solarDividerGain(input);

  it('gain is (Rtop + Rbottom) / Rbottom', () => {
    assert.ok(Math.abs(gain - (100000 + 12000) / 12000) < 1e-12);
  });

  it('the highest panel voltage stays under the ADC reference with 10 % margin', () => {
    const pinV = input.maxPanelV / gain;
    assert.ok(pinV <= 0.9 * MCU_BOARD.adcReferenceV, `${pinV.toFixed(3)} V at the pin`);
  });

  it('full scale reads above the panel range, so a bright panel never clips', () => {
    const fullScale = MCU_BOARD.adcReferenceV * gain;
    assert.ok(fullScale > VOLTAGE_RANGES.panel.max, `full scale ${fullScale} V`);
    assert.ok(fullScale > input.maxPanelV);
  });

  it('one ADC count is finer than 10 mV of panel voltage and the sun thresholds are far apart in counts', () => {
    const voltsPerCount = MCU_BOARD.adcReferenceV * gain / (1 << MCU_BOARD.adcBits);
    assert.ok(voltsPerCount < 0.01, `${voltsPerCount} V per count`);
    assert.ok((DEFAULT_THRESHOLDS.sunUpV - DEFAULT_THRESHOLDS.sunDownV) / voltsPerCount > 100);
  });

  it('the divider source impedance is one the 100 nF capacitor can serve', () => {
    const rSource = input.rTop * input.rBottom / (input.rTop + input.rBottom);
    const tau = rSource * 100e-9;
    // The panel changes over seconds; the filter must settle within one sample period (≥ 10 ms).
    assert.ok(5 * tau < 0.01, `5τ = ${5 * tau} s`);
  });
});

describe('hardware/system: plant limits', () => {
  it('the battery floor lies between the MP3735 disconnect and the ON threshold', () => {
    assert.ok(BATTERY_FLOOR_V > SOLAR_CONTROLLER.loadDisconnectV);
    assert.ok(BATTERY_FLOOR_V < DEFAULT_THRESHOLDS.batteryOnV);
    assert.ok(BATTERY_FLOOR_V < BLOG_TARGETS.batteryOnV);
  });

  it('the ranges used by the sweeps cover every operating point', () => {
    assert.ok(VOLTAGE_RANGES.battery.min <= SOLAR_CONTROLLER.loadDisconnectV);
    assert.ok(VOLTAGE_RANGES.battery.max >= MAINS_CHARGER.chargeV);
    assert.ok(VOLTAGE_RANGES.panel.max >= DEFAULT_THRESHOLDS.sunUpV);
    assert.equal(VOLTAGE_RANGES.panel.min, 0);
  });
});
