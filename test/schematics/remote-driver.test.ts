import assert from 'node:assert/strict';
import { MAINS_CHARGER, REMOTE_DRIVER } from '../../hardware';
import { remoteOffLevel } from '../../schematics/drawings';
import { MCU_PIN_MODEL } from '../../schematics/netlists';
import { remoteLevel } from '../../schematics/run-ngspice';
import { DriverSimulation, drivenRemoteAt, relativeError, simulateRemoteDriver } from '../../schematics/simulate';

/** STM32F401 3.3 V I/O: VOL ≤ 0.4 V and VOH ≥ VDD − 0.4 V at rated current (far more than Q2's base draws). */
const PIN_LOW_MAX_V = 0.4;
const PIN_HIGH_MIN_V = MCU_PIN_MODEL.highV - 0.4;

describe('schematics: default-ON REMOTE driver in ngspice', function () {
  this.timeout(30000);
  let sim: DriverSimulation | undefined;

  before(async () => {
    sim = await simulateRemoteDriver(REMOTE_DRIVER);
  });

  function driver(): DriverSimulation {
    if (!sim) throw new Error('no driver simulation (the before hook failed)');
    return sim;
  }

  it('pin floating (MCU reset, hung or unpowered): REMOTE low, charger ON', () => {
    const s = driver();
    assert.equal(s.floatingRemote.length, 3);
    for (const v of s.floatingRemote) {
      assert.equal(remoteLevel(v), 'charger ON', `REMOTE ${v} V with the pin floating`);
    }
    // Whatever level was last behind the pin, a high-impedance pin does not pass it on.
    assert.ok(Math.max(...s.floatingRemote) - Math.min(...s.floatingRemote) < 1e-3);
    assert.ok(Math.max(...s.floatingPin) < PIN_LOW_MAX_V, `floating pin sits at ${Math.max(...s.floatingPin)} V`);
  });

  it('pin driven to the OFF level (high): REMOTE rises above the HEP-600\'s OFF threshold', () => {
    const s = driver();
    assert.equal(REMOTE_DRIVER.chargerOffLevel, 1, 'the OFF level is the pin driven high');
    for (const pin of [MCU_PIN_MODEL.highV, PIN_HIGH_MIN_V]) {
      const v = drivenRemoteAt(s, pin);
      assert.ok(v > MAINS_CHARGER.remoteOffAboveV, `REMOTE ${v} V at pin ${pin} V`);
      assert.ok(relativeError(v, remoteOffLevel(REMOTE_DRIVER.supplyV, REMOTE_DRIVER.rRemotePullup)) < 0.01,
        `Q1 should be fully off: REMOTE ${v} V`);
    }
  });

  it('pin driven to the ON level (low): REMOTE low, charger ON', () => {
    const s = driver();
    assert.equal(REMOTE_DRIVER.chargerOnLevel, 0);
    for (const pin of [0, PIN_LOW_MAX_V]) {
      const v = drivenRemoteAt(s, pin);
      assert.equal(remoteLevel(v), 'charger ON', `REMOTE ${v} V at pin ${pin} V`);
    }
  });

  it('switches once, cleanly, between the MCU\'s guaranteed low and high levels', () => {
    const s = driver();
    const levels = s.drivenRemote.map(remoteLevel);
    const firstOff = levels.indexOf('charger OFF');
    const lastOn = levels.lastIndexOf('charger ON');
    assert.ok(firstOff > 0 && lastOn >= 0 && lastOn < firstOff, 'REMOTE must go ON → OFF exactly once as the pin rises');
    for (let i = firstOff; i < levels.length; i++) assert.equal(levels[i], 'charger OFF', `pin ${s.drivenLevel[i]} V`);
    const undefinedBand = s.drivenLevel[firstOff] - s.drivenLevel[lastOn];
    assert.ok(undefinedBand < 0.2, `REMOTE lingers between thresholds over ${undefinedBand} V of pin voltage`);
    const switchAt = s.drivenLevel[firstOff];
    assert.ok(switchAt > PIN_LOW_MAX_V && switchAt < PIN_HIGH_MIN_V, `switches at pin ${switchAt} V`);
  });

  it('stays ON with 5× the STM32\'s pin leakage, and only because RPD holds Q2 off', async () => {
    const leaky = { ...MCU_PIN_MODEL, leakageA: 5 * MCU_PIN_MODEL.leakageA };
    const withPulldown = await simulateRemoteDriver(REMOTE_DRIVER, leaky);
    assert.equal(remoteLevel(withPulldown.floatingRemote[0]), 'charger ON', `REMOTE ${withPulldown.floatingRemote[0]} V`);
    const noPulldown = await simulateRemoteDriver({ ...REMOTE_DRIVER, rPulldownQ2: 1e12 }, leaky);
    assert.equal(remoteLevel(noPulldown.floatingRemote[0]), 'charger OFF',
      `without RPD, leakage alone should turn Q2 on (REMOTE ${noPulldown.floatingRemote[0]} V): the check above would then fail`);
  });
});
