import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { firmwareBundle } from './bundle';
import { Simulation } from '../../simulator/simulation';
import { CSV_HEADER } from '../../simulator/readings-csv';
import { outputPaths, writeOutputs } from '../../simulator/outputs';
import { DEFAULT_THRESHOLDS } from '../../hardware';

function tmpdir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'sim-test-'));
}

/** Runs `scenario` for `hours` into a fresh directory and returns the paths. */
function runTo(scenario: string, hours: number, seed: number): { dir: string; sim: Simulation } {
  const dir = tmpdir();
  const sim = new Simulation({ scenario, seed, hours, firmware: firmwareBundle(), csvPath: outputPaths(dir).csv });
  sim.run();
  writeOutputs(sim, dir);
  return { dir, sim };
}

/** Tags open and close in order (a cheap well-formedness check without an XML parser). */
function balancedXml(svg: string): boolean {
  const stack: string[] = [];
  for (const m of svg.matchAll(/<(\/?)([a-zA-Z]+)[^>]*?(\/?)>/g)) {
    if (m[3] === '/') continue;
    if (m[1] === '/') {
      if (stack.pop() !== m[2]) return false;
    } else {
      stack.push(m[2]);
    }
  }
  return stack.length === 0;
}

describe('simulation: the firmware bundle on the plant, outputs', function () {
  this.timeout(120000);
  let a: { dir: string; sim: Simulation };

  before(() => {
    a = runTo('day', 2, 42);
  });

  it('the same seed gives a bit-identical readings.csv; another seed does not', () => {
    const again = runTo('day', 2, 42);
    const first = fs.readFileSync(outputPaths(a.dir).csv);
    assert.ok(first.length > 7200 * 100);
    assert.ok(first.equals(fs.readFileSync(outputPaths(again.dir).csv)), 'identical bytes');
    const other = runTo('day', 2, 43);
    assert.ok(!first.equals(fs.readFileSync(outputPaths(other.dir).csv)));
  });

  it('readings.csv: the required columns first, one row per firmware poll, charger_on 0/1, true_* columns', () => {
    const lines = fs.readFileSync(outputPaths(a.dir).csv, 'utf8').trimEnd().split('\n');
    assert.equal(lines[0], CSV_HEADER);
    assert.ok(lines[0].startsWith('t_s,battery_v,battery_a,load_v,load_a,solar_v,charger_on,reason,'));
    const header = lines[0].split(',');
    for (const col of ['true_battery_v', 'true_battery_a', 'true_load_v', 'true_load_a', 'true_solar_v', 'true_charger_on']) {
      assert.ok(header.includes(col), col);
    }
    const rows = lines.slice(1).map((l) => l.split(','));
    assert.equal(rows.length, a.sim.frames.R);
    assert.ok(rows.length >= 7199, `${rows.length} polls in 2 h at 1 s`);
    const at = (name: string) => header.indexOf(name);
    let prevSeq = 0;
    for (const r of rows) {
      assert.ok(r[at('charger_on')] === '0' || r[at('charger_on')] === '1');
      assert.equal(Number(r[at('seq')]), prevSeq + 1);
      prevSeq = Number(r[at('seq')]);
      const bv = Number(r[at('battery_v')]);
      const tbv = Number(r[at('true_battery_v')]);
      assert.ok(Math.abs(bv - tbv) < 0.1, `firmware ${bv} V vs true ${tbv} V (INA219B error bound)`);
    }
  });

  it('run.json: scenario, seed, every parameter, framesEmitted and the thresholds the firmware ran with', () => {
    const run = JSON.parse(fs.readFileSync(outputPaths(a.dir).json, 'utf8'));
    assert.equal(run.scenario, 'day');
    assert.equal(run.seed, 42);
    assert.equal(run.framesEmitted, a.sim.frames.total);
    assert.ok(run.framesEmitted > 7200);
    const th = run.thresholds;
    assert.deepEqual(Object.keys(th).sort(), ['batteryOffV', 'batteryOnV', 'minDwellS', 'sunDownV', 'sunUpV']);
    // The firmware reports its defaults in mV, computed from hardware/'s comparator board.
    assert.ok(Math.abs(th.batteryOnV - DEFAULT_THRESHOLDS.batteryOnV) < 0.0006);
    assert.ok(Math.abs(th.batteryOffV - DEFAULT_THRESHOLDS.batteryOffV) < 0.0006);
    assert.ok(Math.abs(th.sunDownV - DEFAULT_THRESHOLDS.sunDownV) < 0.0006);
    assert.ok(Math.abs(th.sunUpV - DEFAULT_THRESHOLDS.sunUpV) < 0.0006);
    assert.equal(th.minDwellS, DEFAULT_THRESHOLDS.minDwellS);
    for (const key of ['battery', 'panel', 'site', 'weather', 'controller', 'charger', 'load', 'adc']) assert.ok(run.plant[key], key);
    assert.equal(run.plant.battery.capacityAh, 210);
    assert.equal(run.plant.site.latitudeDeg, -27.47);
    assert.deepEqual(run.unimplementedApis, []);
    assert.deepEqual(run.uncaughtErrors, []);
  });

  it('chart.svg: well-formed, with the panels, units, threshold lines and a time axis', () => {
    const svg = fs.readFileSync(outputPaths(a.dir).chart, 'utf8');
    assert.ok(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"'));
    assert.ok(balancedXml(svg));
    for (const text of ['battery (V)', 'current (A)', 'solar panel (V)', 'irradiance (W/m²)', 'charger',
      'charger ON below 12 V', 'released above 13.98 V', 'sun down: charger ON below 10 V', 'sun up above 11.97 V',
      '00:00', '01:00', 'local time']) {
      assert.ok(svg.includes(text), `chart has "${text}"`);
    }
    assert.ok((svg.match(/<path d="M/g) ?? []).length >= 8, 'series are drawn');
  });

  it('--storage: the MCU\'s flash can outlive a run (the boot counter goes on)', () => {
    const storagePath = path.join(tmpdir(), 'flash.json');
    const boots: number[] = [];
    for (let i = 0; i < 2; i++) {
      const sim = new Simulation({ scenario: 'day', hours: 0.01, firmware: firmwareBundle(), storagePath, keepRows: true });
      sim.run();
      boots.push(sim.rows[0].boot);
    }
    assert.equal(boots[1], boots[0] + 1);
    assert.ok(JSON.parse(fs.readFileSync(storagePath, 'utf8')));
  });

  it('asks the firmware for its settings after each boot, with ids of its own', () => {
    assert.equal(a.sim.settingsHistory.length, 1);
    assert.ok(a.sim.settingsHistory[0].t < 1);
    assert.equal(a.sim.settingsHistory[0].pollPeriodS, 1);
  });
});
