import { strict as assert } from 'node:assert';
import { COMPARATOR_BOARD, MAINS_CHARGER, MCU_BOARD, REMOTE_DRIVER } from '../../hardware';

// Worst-case datasheet figures the DC model uses. They are not in hardware/ because
// they describe the parts' spread, not our choices.
const VBE_SAT = 0.85;          // 2N3904 VBE(sat) max at IC = 10 mA
const VBE_OFF = 0.4;           // a silicon junction below this carries no useful current
const VCE_SAT = 0.2;           // 2N3904 VCE(sat) max at IC = 10 mA, IB = 1 mA
const HFE_MIN = 70;            // 2N3904 hFE min at IC = 1 mA
const FORCED_BETA = 10;        // drive so IC/IB ≤ 10: saturated with a 7× margin on hFE
const ICEX = 50e-9;            // 2N3904 collector cut-off current max
const PIN_VOH_DROP = 0.4;      // STM32: VOH ≥ VDD − 0.4 V
const PIN_LEAKAGE = 1e-6;      // STM32 input leakage max
/** Current REMOTE itself may push into the pull-down; not published for the HEP-600C, so allow 1 mA. */
const REMOTE_OWN_CURRENT = 1e-3;
const LM393_VOL_MAX = 0.4;     // at 4 mA sink
const LM393_VOL_TEST_A = 4e-3;
const BAT54_VF_MAX_1MA = 0.32;
const BAT54_VF_MAX_10MA = 0.40;
const LM393_VOL_MAX_FULL_RANGE = 0.7; // at 4 mA sink, 0–70 °C
const SILICON_VF_1MA = 0.62;   // 1N4148, typical at 1 mA

type PinState = 'high' | 'low' | 'floating' | 'unpowered';

interface DriverState { q2On: boolean; q1On: boolean; remoteV: number; charger: 'ON' | 'OFF' }

/** DC solution of the default-ON driver for one state of the MCU pin, worst case. */
function driver(pin: PinState): DriverState {
  const d = REMOTE_DRIVER;
  const vdd = MCU_BOARD.adcReferenceV; // the Pico's 3.3 V rail
  let q2BaseV: number;
  let q2BaseA = 0;
  if (pin === 'high') {
    const voh = vdd - PIN_VOH_DROP;
    q2BaseA = (voh - VBE_SAT) / d.rBaseQ2 - VBE_SAT / d.rPulldownQ2;
    q2BaseV = VBE_SAT;
  } else if (pin === 'floating') {
    // Leakage out of the pin, all of it through the pull-down.
    q2BaseV = PIN_LEAKAGE * d.rPulldownQ2;
  } else {
    q2BaseV = 0; // driven low, or an unpowered pin that can source nothing
  }
  const supply = d.supplyV; // from the battery bus: present whatever the MCU does
  const q2On = q2BaseV > VBE_OFF;
  let q1BaseV: number;
  if (q2On) {
    const q2CollectorA = (supply - VCE_SAT) / d.rBaseQ1;
    assert.ok(q2CollectorA / q2BaseA <= FORCED_BETA, `Q2 not saturated: IC/IB = ${q2CollectorA / q2BaseA}`);
    q1BaseV = VCE_SAT;
  } else {
    q1BaseV = VBE_SAT;
  }
  const q1On = q1BaseV > VBE_OFF;
  let remoteV: number;
  if (q1On) {
    const q1BaseA = (supply - VBE_SAT) / d.rBaseQ1;
    const q1CollectorA = supply / d.rRemotePullup + REMOTE_OWN_CURRENT;
    assert.ok(q1CollectorA / q1BaseA <= FORCED_BETA, `Q1 not saturated: IC/IB = ${q1CollectorA / q1BaseA}`);
    remoteV = VCE_SAT;
  } else {
    remoteV = supply - ICEX * d.rRemotePullup;
  }
  let charger: 'ON' | 'OFF';
  if (remoteV <= MAINS_CHARGER.remoteOnBelowV) charger = 'ON';
  else if (remoteV >= MAINS_CHARGER.remoteOffAboveV) charger = 'OFF';
  else assert.fail(`REMOTE at ${remoteV} V is in the undefined band`);
  return { q2On, q1On, remoteV, charger };
}

describe('hardware/remote driver: default-ON truth table', () => {
  it('MCU pin at chargerOffLevel (high) → charger OFF', () => {
    // The datasheet figures above are the 2N3904's; another part needs its own.
    assert.equal(REMOTE_DRIVER.transistor, '2N3904');
    assert.ok(HFE_MIN >= 5 * FORCED_BETA);
    assert.equal(REMOTE_DRIVER.chargerOffLevel, 1);
    const s = driver('high');
    assert.deepEqual([s.q2On, s.q1On, s.charger], [true, false, 'OFF']);
    assert.ok(s.remoteV >= MAINS_CHARGER.remoteOffAboveV);
  });

  it('MCU pin at chargerOnLevel (low) → charger ON', () => {
    assert.equal(REMOTE_DRIVER.chargerOnLevel, 0);
    assert.notEqual(REMOTE_DRIVER.chargerOnLevel, REMOTE_DRIVER.chargerOffLevel);
    const s = driver('low');
    assert.deepEqual([s.q2On, s.q1On, s.charger], [false, true, 'ON']);
  });

  it('a floating pin (reset, boot, watchdog restart) → charger ON despite worst-case leakage', () => {
    const s = driver('floating');
    assert.equal(s.charger, 'ON');
    assert.equal(REMOTE_DRIVER.defaultState, 'charger ON');
  });

  it('an unpowered MCU → charger ON, because Q1 is fed from the driver supply, not the MCU', () => {
    assert.equal(driver('unpowered').charger, 'ON');
  });

  it('the driver runs from the same 5 V as the comparator board, so either can own the REMOTE pull-up', () => {
    assert.equal(REMOTE_DRIVER.supplyV, COMPARATOR_BOARD.vcc);
  });
});

describe('hardware/remote driver: diode-OR into REMOTE', () => {
  const pullupA = REMOTE_DRIVER.supplyV / REMOTE_DRIVER.rRemotePullup;
  const ownPullupA = COMPARATOR_BOARD.vcc / Math.min(COMPARATOR_BOARD.battery.rPullup, COMPARATOR_BOARD.sun.rPullup);

  it('a low LM393 output sinks its own pull-up and REMOTE within its VOL test current', () => {
    assert.ok(pullupA + ownPullupA <= LM393_VOL_TEST_A, `${((pullupA + ownPullupA) * 1000).toFixed(2)} mA`);
  });

  it('through a Schottky, a low comparator output still reads as ON at REMOTE, over the LM393\'s whole temperature range', () => {
    // REMOTE's pull-up current lies between the BAT54's 1 mA and 10 mA limits: take the 10 mA one.
    assert.ok(pullupA > 1e-3 && pullupA <= 10e-3, `${pullupA} A`);
    // V_OL scales with the sink current below the datasheet's 4 mA test point.
    const sinkA = pullupA + ownPullupA;
    const vol = LM393_VOL_MAX_FULL_RANGE * sinkA / LM393_VOL_TEST_A;
    assert.ok(vol + BAT54_VF_MAX_10MA <= MAINS_CHARGER.remoteOnBelowV, `${vol} + ${BAT54_VF_MAX_10MA}`);
  });

  it('a silicon diode would not leave margin: why the BOM insists on Schottky', () => {
    assert.ok(LM393_VOL_MAX + SILICON_VF_1MA > MAINS_CHARGER.remoteOnBelowV);
  });

  it('the MCU driver can join the OR through a Schottky too', () => {
    assert.ok(VCE_SAT + BAT54_VF_MAX_1MA <= MAINS_CHARGER.remoteOnBelowV);
  });
});
