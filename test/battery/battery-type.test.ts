/**
 * battery.type: the chemistry presets of hardware/battery.ts, chosen in the bridge's
 * configuration, under what the file sets explicitly; NUT reports the chemistry.
 */
import assert from 'node:assert/strict';
import {
  UpsBank, batteryStatus, batteryStep, checkParams, defaultEstimatorParams, newBatteryState, paramsFromConfig, resolveConfig,
} from '../../bridge/src';
import type { ReadingFrame } from '../../protocol';
import type { BridgeConfig } from '../../bridge/src';
import { BATTERY_MONITOR, BATTERY_TYPES, BATTERY_TYPE_NAMES, batteryMonitorFor } from '../../hardware';

function config(yaml: string): BridgeConfig {
  const r = resolveConfig({ file: { name: 'bridge.yaml', text: `source:\n  url: tcp://127.0.0.1:1\n${yaml}` } });
  if (!r.ok) throw new Error(r.errors.join('; '));
  return r.config;
}

describe('battery.type: chemistry presets', () => {
  it('every preset is a valid parameter set, and AGM (the seed\'s bank) is BATTERY_MONITOR itself', () => {
    for (const type of BATTERY_TYPE_NAMES) checkParams(defaultEstimatorParams(type));
    assert.deepEqual(batteryMonitorFor('agm'), BATTERY_MONITOR);
    assert.deepEqual(defaultEstimatorParams(), defaultEstimatorParams('agm'));
    // Each one differs where its chemistry does.
    assert.equal(defaultEstimatorParams('lifepo4').peukertExponent, 1.05);
    assert.equal(defaultEstimatorParams('lifepo4').floorSoc, 0.2);
    assert.equal(defaultEstimatorParams('flooded').selfDischargePerMonth, 0.05);
    assert.ok(defaultEstimatorParams('gel').ocvTable[4][1] > defaultEstimatorParams('flooded').ocvTable[4][1]);
    // A preset's table is a fresh copy: changing one run's table leaves hardware/ alone.
    const p = defaultEstimatorParams('gel');
    p.ocvTable[0][1] = 1;
    assert.notEqual(BATTERY_TYPES.gel.ocvTable[0][1], 1);
  });

  it('the configuration picks the preset, and only keys set explicitly go over it', () => {
    assert.deepEqual(paramsFromConfig(config('')), defaultEstimatorParams('agm'));
    const lfp = paramsFromConfig(config('battery:\n  type: lifepo4\n  capacity_ah: 100\n'));
    assert.equal(lfp.chemistry, 'LiFePO4');
    assert.equal(lfp.capacityAh, 100);
    assert.equal(lfp.floorSoc, 0.2);
    assert.equal(lfp.chargeEfficiency, 0.99);
    const set = paramsFromConfig(config('battery:\n  type: lifepo4\n  floor_pct: 30\n  params:\n    peukert_exponent: 1.1\n'));
    assert.equal(set.floorSoc, 0.3);
    assert.equal(set.peukertExponent, 1.1);
    assert.equal(set.chargeEfficiency, 0.99, 'the rest stays the preset\'s');
    const agm = paramsFromConfig(config('battery:\n  floor_pct: 40\n'));
    assert.equal(agm.floorSoc, 0.4);
    assert.equal(agm.peukertExponent, BATTERY_MONITOR.peukertExponent);
  });

  it('an unknown type is refused, naming battery.type and the choices', () => {
    const r = resolveConfig({ file: { name: 'bridge.yaml', text: 'source:\n  url: tcp://127.0.0.1:1\nbattery:\n  type: nicad\n' } });
    assert.equal(r.ok, false);
    const text = r.ok ? '' : r.errors.join('; ');
    assert.match(text, /battery\.type/);
    assert.match(text, /lifepo4/);
  });

  it('a LiFePO4 bank counts with its own efficiency: 10 Ah in at 99 %, not a lead-acid 95 %', () => {
    for (const [type, expected] of [['lifepo4', 0.99], ['agm', 0.95]] as const) {
      const p = defaultEstimatorParams(type);
      p.startSoc = 0.5;
      const s = newBatteryState(p);
      const t0 = 1.7e9;
      for (let i = 0; i <= 3600; i += 10) batteryStep(s, p, { boot: 1, bv: 13.2, ba: 10, lv: null, la: null, flt: 0, why: 'sun_up', bahi: null, baho: null, bwhi: null, bwho: null, lahi: null, laho: null, lwhi: null, lwho: null }, t0 + i);
      const gained = (batteryStatus(s, p).soc - 0.5) * p.capacityAh;
      assert.ok(Math.abs(gained - 10 * expected) < 0.05, `${type}: ${gained.toFixed(3)} Ah stored of 10`);
    }
  });

  it('NUT reports the chemistry as battery.type: PbAc for lead-acid, LiFePO4 for LiFePO4', () => {
    const frame = {
      type: 'R', seq: 1, boot: 1, up: 100, bv: 13.2, ba: -1.8, bw: -23.8, lv: 13.15, la: 1.8, lw: 23.7, sv: 0.1,
      chg: 1, why: 'sun_down', mode: 'auto', flt: 0, bahi: 0, baho: 0, bwhi: 0, bwho: 0, lahi: 0, laho: 0, lwhi: 0, lwho: 0,
    } as ReadingFrame;
    for (const [type, nut] of [['agm', 'PbAc'], ['flooded', 'PbAc'], ['gel', 'PbAc'], ['lifepo4', 'LiFePO4']] as const) {
      assert.equal(BATTERY_TYPES[type].nutType, nut);
      const bank = new UpsBank([{ name: 'b', description: '', chargeLowPct: 30, runtimeLowS: 0 }],
        { bridgeVersion: '1', deviceId: 'd', batteryType: BATTERY_TYPES[type].nutType }, 5000);
      bank.onReading(frame, 1000);
      const v = bank.view('b', 1000);
      assert.equal(v.kind === 'ok' ? v.vars.get('battery.type') : v.kind, nut);
    }
  });
});
