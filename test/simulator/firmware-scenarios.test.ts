/**
 * The built firmware bundle, unchanged, in the simulated MCU for a whole day per
 * scenario. Its decisions are judged against the plant's TRUE values, not against what
 * it measured.
 */
import assert from 'node:assert/strict';
import type { ReadingRow } from '../../simulator/reading-row';
import { Simulation } from '../../simulator/simulation';
import { DEFAULT_MARGINS } from '../../simulator/comparator-check';
import { FLT_BAT_COMM, FLT_BAT_RESET, FLT_BAT_STALE, FLT_LOAD_COMM, FLT_LOAD_RESET } from '../../protocol';
import { firmwareBundle } from './bundle';

const H = 3600;

function run(scenario: string, hours?: number): Simulation {
  const sim = new Simulation({ scenario, seed: 1, hours, firmware: firmwareBundle(), keepRows: true });
  sim.run();
  return sim;
}

function between(sim: Simulation, fromS: number, toS: number): ReadingRow[] {
  return sim.rows.filter((r) => r.t >= fromS && r.t < toS);
}

function at(sim: Simulation, t: number): ReadingRow {
  const row = sim.rows.find((r) => r.t >= t);
  assert.ok(row, `a reading at or after t=${t}`);
  return row;
}

/** The run went through without the shim or the firmware complaining. */
function clean(sim: Simulation): void {
  assert.deepEqual(sim.mcu.unimplemented, []);
  assert.deepEqual(sim.mcu.uncaught, []);
  assert.deepEqual(sim.problems, []);
  assert.equal(sim.mcu.replInput.length, 0);
  assert.equal(Object.keys(sim.frames.rejected).length, 0, `no unreadable lines: ${JSON.stringify(sim.frames.rejected)}`);
}

function comparatorHolds(sim: Simulation, minChecked: number): void {
  const c = sim.comparatorResult;
  assert.ok(c, 'the firmware reported its thresholds');
  assert.equal(c.violations, 0, `comparator violations: ${JSON.stringify(c.examples.slice(0, 3))}`);
  assert.ok(c.checked >= minChecked, `${c.checked} polls checked`);
}

describe('firmware bundle in the simulator: 24 h day at a 1 s poll', function () {
  this.timeout(120000);
  let sim: Simulation;
  before(() => { sim = run('day'); });

  it('polls once a second all day: 86,400 readings, one boot, nothing the shim lacks', () => {
    assert.ok(sim.frames.R >= 86399 && sim.frames.R <= 86400, `${sim.frames.R} readings`);
    assert.equal(sim.mcu.bootCount, 1);
    assert.equal(sim.mcu.resets.length, 0);
    clean(sim);
    for (let i = 1; i < sim.rows.length; i++) assert.equal(sim.rows[i].seq, sim.rows[i - 1].seq + 1);
  });

  it('switches the charger as the comparator logic says, judged on the true battery and panel voltages', () => {
    comparatorHolds(sim, 85000);
    const th = sim.thresholds;
    assert.ok(th);
    const night = at(sim, 3 * H);
    assert.equal(night.chg, 1);
    assert.equal(night.why, 'sun_down');
    const noon = at(sim, 12 * H);
    assert.equal(noon.chg, 0);
    assert.equal(noon.why, 'released');
    // Dawn: the charger goes OFF only once the true panel is above sun-up (less measurement error).
    const dawnOff = sim.rows.find((r) => r.t > 4 * H && r.chg === 0);
    assert.ok(dawnOff && dawnOff.t < 7 * H, 'OFF after sunrise');
    assert.ok(dawnOff.trueSolarV > th.sunUpV - DEFAULT_MARGINS.solarV, `panel ${dawnOff.trueSolarV} V at the switch`);
    // Dusk: it comes back ON once the panel falls below sun-down.
    const duskOn = sim.rows.find((r) => r.t > 16 * H && r.chg === 1);
    assert.ok(duskOn && duskOn.t < 19.5 * H, 'ON after sunset');
    assert.ok(duskOn.trueSolarV < th.sunDownV + DEFAULT_MARGINS.solarV, `panel ${duskOn.trueSolarV} V at the switch`);
    for (const r of sim.rows) assert.equal(r.trueChargerOn, r.chg === 1, `REMOTE follows the frame at t=${r.t}`);
  });

  it('reports what the plant does within the INA219B and divider error bounds', () => {
    for (const r of sim.rows) {
      assert.ok(r.bv !== null && r.ba !== null && r.sv !== null && r.la !== null);
      assert.ok(Math.abs(r.bv - r.trueBatteryV) < 0.1, `bv at ${r.t}`);
      assert.ok(Math.abs(r.ba - r.trueBatteryA) < 0.006 * Math.abs(r.trueBatteryA) + 0.08, `ba ${r.ba} vs ${r.trueBatteryA} at ${r.t}`);
      assert.ok(Math.abs(r.la - r.trueLoadA) < 0.006 * r.trueLoadA + 0.08, `la at ${r.t}`);
      assert.ok(Math.abs(r.sv - r.trueSolarV) < 0.025 * r.trueSolarV + 0.1, `sv ${r.sv} vs ${r.trueSolarV} at ${r.t}`);
    }
  });

  it('the plant behaves like the installation: mains holds the bank near 14.4 V at night, the sun covers the day', () => {
    const night = between(sim, 1 * H, 5 * H);
    assert.ok(night.every((r) => r.trueBatteryV > 14.0 && r.trueChargerA > 0 && r.trueSolarV < 1));
    const midday = between(sim, 10 * H, 14 * H);
    assert.ok(midday.every((r) => r.trueChargerA === 0));
    const solarAh = midday.reduce((s, r) => s + r.trueSolarA, 0) / H;
    const loadAh = midday.reduce((s, r) => s + r.trueLoadA, 0) / H;
    assert.ok(solarAh > loadAh, `solar ${solarAh.toFixed(1)} Ah covers the load ${loadAh.toFixed(1)} Ah`);
    assert.ok(midday.some((r) => r.trueIrradiance > 900));
  });
});

describe('firmware bundle in the simulator: fault scenarios', function () {
  this.timeout(120000);

  describe('sensor-fault: I2C NACK, chip resets, stuck bus, hung ADC while the sun is up', () => {
    let sim: Simulation;
    before(() => { sim = run('sensor-fault'); });

    const faultWindow = (startH: number, seconds: number) => between(sim, startH * H + 2.5, startH * H + seconds - 0.5);
    const recovered = (startH: number, seconds: number) => between(sim, startH * H + seconds + 5, startH * H + seconds + 120);

    it('battery INA219 NACK: readings flag BAT_COMM, the charger goes ON (fail-safe), and all recovers after', () => {
      const rows = faultWindow(9, 60);
      assert.ok(rows.length > 50);
      for (const r of rows) {
        assert.ok(r.flt & FLT_BAT_COMM, `flt ${r.flt} at ${r.t}`);
        assert.equal(r.bv, null);
        assert.equal(r.ba, null);
      }
      assert.ok(rows.slice(2).every((r) => r.chg === 1 && r.why === 'failsafe' && r.trueChargerOn));
      assert.ok(recovered(9, 60).every((r) => r.flt === 0 && r.chg === 0 && r.why === 'released'));
      assert.equal(at(sim, 8.9 * H).chg, 0, 'it was OFF before the fault');
    });

    it('goes fail-safe ON by the second poll after the battery sensor fails, and OFF again by the second poll after it returns', () => {
      const after = (t: number) => sim.rows.filter((r) => r.t > t).slice(0, 3);
      const [first, second] = after(9 * H);
      assert.ok(first.flt & FLT_BAT_COMM, `first poll after the NACK: flt ${first.flt}`);
      assert.equal(second.chg, 1, `second poll: ${second.why}`);
      assert.equal(second.why, 'failsafe');
      // On return the chip is re-configured (one poll without a conversion), then reads again.
      const back = after(9 * H + 60);
      assert.ok(back.slice(0, 2).some((r) => r.chg === 0 && r.why === 'released'), JSON.stringify(back.map((r) => [r.t, r.why, r.flt])));
    });

    it('chip resets are detected and the setup restored within a poll (battery and load)', () => {
      const load = between(sim, 10 * H, 10 * H + 5);
      assert.ok(load.some((r) => r.flt & FLT_LOAD_RESET), 'LOAD_RESET flagged');
      assert.ok(load.every((r) => r.chg === 0), 'a load sensor hiccup does not touch the charger');
      const battery = between(sim, 11 * H, 11 * H + 5);
      assert.ok(battery.some((r) => r.flt & FLT_BAT_RESET), 'BAT_RESET flagged');
      assert.ok(between(sim, 10 * H + 5, 10 * H + 60).every((r) => r.flt === 0 && r.la !== null));
      assert.ok(between(sim, 11 * H + 5, 11 * H + 60).every((r) => r.flt === 0 && r.bv !== null));
      assert.ok(sim.sensors.battery.stats.resets >= 1 && sim.sensors.load.stats.resets >= 1);
    });

    it('stuck bus: both sensors flag COMM, fail-safe ON, back to normal when SDA is released', () => {
      const rows = faultWindow(12, 45);
      assert.ok(rows.length > 35);
      assert.ok(rows.every((r) => (r.flt & (FLT_BAT_COMM | FLT_LOAD_COMM)) === (FLT_BAT_COMM | FLT_LOAD_COMM)));
      assert.ok(rows.slice(2).every((r) => r.chg === 1 && r.why === 'failsafe'));
      assert.ok(recovered(12, 45).every((r) => r.flt === 0 && r.chg === 0));
    });

    it('hung ADC (no conversions): stale battery readings flag BAT_STALE, fail-safe ON, recovery after', () => {
      const rows = faultWindow(13, 120);
      assert.ok(rows.length > 110);
      assert.ok(rows.every((r) => r.flt & FLT_BAT_STALE && r.bv === null));
      assert.ok(rows.slice(2).every((r) => r.chg === 1 && r.why === 'failsafe'));
      assert.ok(recovered(13, 120).every((r) => r.flt === 0 && r.chg === 0));
    });

    it('load INA219 NACK: LOAD_COMM flagged, the charger decision (battery and sun) unaffected', () => {
      const rows = faultWindow(14, 60);
      assert.ok(rows.every((r) => r.flt & FLT_LOAD_COMM && r.la === null && r.bv !== null));
      assert.ok(rows.every((r) => r.chg === 0 && r.why === 'released'));
    });

    it('no resets, and the comparator check (fail-safe must be ON) holds all day', () => {
      assert.equal(sim.mcu.resets.length, 0);
      clean(sim);
      comparatorHolds(sim, 80000);
      assert.ok(sim.comparatorResult!.failsafe > 200);
    });
  });

  describe('mains-outage: the charger is asked for, nothing comes', () => {
    let sim: Simulation;
    before(() => { sim = run('mains-outage'); });

    it('through the evening outage the firmware keeps the charger ON (sun down) while the bank discharges', () => {
      const rows = between(sim, 18.5 * H, 22.95 * H);
      assert.ok(rows.length > 15000);
      for (const r of rows) {
        assert.equal(r.chg, 1);
        assert.equal(r.trueMains, false);
        assert.equal(r.trueChargerA, 0);
        assert.ok((r.ba as number) < 0, `discharging at ${r.t}`);
      }
      assert.ok(rows[rows.length - 1].trueBatteryV < rows[0].trueBatteryV);
    });

    it('when mains returns the charger delivers at once, and the short 03:00 outage shows the same', () => {
      const back = between(sim, 23.01 * H, 24 * H);
      assert.ok(back.every((r) => r.chg === 1 && r.trueChargerA > 0 && (r.ba as number) > 0));
      const short = between(sim, 3.01 * H, 3.49 * H);
      assert.ok(short.every((r) => r.chg === 1 && r.trueChargerA === 0 && (r.ba as number) < 0));
    });

    it('the decisions still follow the comparator logic', () => {
      clean(sim);
      comparatorHolds(sim, 80000);
    });
  });

  describe('low-battery: the MP3735 drops the load below 11 V, mains recovers the bank', () => {
    let sim: Simulation;
    before(() => { sim = run('low-battery'); });

    it('the load is disconnected only after the battery stays under 11 V; the firmware then reads no load', () => {
      const first = sim.rows.findIndex((r) => !r.trueLoadConnected);
      assert.ok(first > 0, 'the load was disconnected');
      const before = sim.rows.slice(Math.max(0, first - 5), first);
      assert.ok(before.every((r) => r.trueBatteryV < 11.0 + 0.02), 'under 11 V for the disconnect delay');
      const off = sim.rows.filter((r) => !r.trueLoadConnected);
      assert.ok(off.length > 600, `${off.length} s without load`);
      for (const r of off.slice(3)) {
        assert.ok(Math.abs(r.la as number) < 0.05, `load current ${r.la} at ${r.t}`);
        assert.ok((r.lv as number) < 0.5, `load bus ${r.lv} V at ${r.t}`);
      }
      assert.ok(sim.rows.slice(0, first).every((r) => r.chg === 1 && r.trueChargerA === 0), 'ON but no mains');
    });

    it('mains back: charging at 40 A, the load reconnects at 12.6 V, by morning the charger is released', () => {
      const back = between(sim, 5 * H + 2, 5.5 * H);
      assert.ok(back.every((r) => r.trueChargerA > 35));
      const reconnect = sim.rows.find((r) => r.t > 5 * H && r.trueLoadConnected);
      assert.ok(reconnect && reconnect.trueBatteryV >= 12.6 - 0.05, 'reconnected at the MP3735 reconnect voltage');
      const last = sim.rows[sim.rows.length - 1];
      assert.equal(last.chg, 0);
      assert.equal(last.why, 'released');
    });

    it('the decisions follow the comparator logic', () => {
      clean(sim);
      comparatorHolds(sim, 80000);
    });
  });

  describe('cloudy: weak, flickering sun', () => {
    let sim: Simulation;
    before(() => { sim = run('cloudy'); });

    it('clouds cut the light but not the panel voltage below sun-down: the charger stays OFF through the day', () => {
      const midday = between(sim, 9 * H, 15 * H);
      const meanG = midday.reduce((s, r) => s + r.trueIrradiance, 0) / midday.length;
      assert.ok(meanG < 650, `mean irradiance ${meanG.toFixed(0)} W/m²`);
      assert.ok(midday.some((r) => r.trueIrradiance < 250), 'deep cloud shadows');
      assert.ok(midday.filter((r) => r.chg === 0).length / midday.length > 0.95);
      clean(sim);
      comparatorHolds(sim, 80000);
    });
  });

  describe('watchdog: the MCU hangs and stops kicking it', () => {
    let sim: Simulation;
    const hangAt = 12 * H;
    const probes: Record<string, { remoteOn: boolean; running: boolean; resets: number }> = {};

    before(() => {
      sim = new Simulation({ scenario: 'mcu-hang', seed: 1, firmware: firmwareBundle(), keepRows: true });
      const probe = (name: string, t: number): void => {
        sim.runUntil(t);
        probes[name] = { remoteOn: sim.plant.truth.chargerRemoteOn, running: sim.mcu.running, resets: sim.mcu.resets.length };
      };
      probe('beforeHang', hangAt - 1);
      probe('duringHang', hangAt + 8);
      // Step until the watchdog fires, and look at REMOTE before the bundle boots again.
      for (let t = hangAt + 8; t < hangAt + 30 && sim.mcu.resets.length === 0; t += 0.01) sim.runUntil(t);
      probes.atReset = { remoteOn: sim.plant.truth.chargerRemoteOn, running: sim.mcu.running, resets: sim.mcu.resets.length };
      sim.run();
    });

    it('a hung MCU keeps the charger as it was until the watchdog fires, within its 10 s timeout', () => {
      assert.equal(probes.beforeHang.remoteOn, false, 'OFF at noon');
      assert.equal(probes.duringHang.remoteOn, false, 'the hung MCU still holds REMOTE');
      assert.equal(probes.duringHang.resets, 0);
      assert.equal(sim.mcu.resets.length, 1);
      const dt = sim.mcu.resets[0].t - hangAt;
      assert.ok(dt > 0 && dt <= 10.001, `reset ${dt.toFixed(2)} s into the hang`);
      assert.equal(sim.mcu.resets[0].what, 'watchdog');
    });

    it('the reset leaves REMOTE floating (charger ON), the bundle boots again with its flash: boot 2, seq from 1', () => {
      assert.deepEqual(probes.atReset, { remoteOn: true, running: false, resets: 1 }, 'reset and not yet booted: the driver\'s default is ON');
      const resetT = sim.mcu.resets[0].t;
      const after = sim.rows.filter((r) => r.t > resetT);
      const before = sim.rows.filter((r) => r.t < resetT);
      assert.equal(before[before.length - 1].boot, 1);
      assert.equal(after[0].boot, 2, 'the boot counter came back from Storage and went up');
      assert.equal(after[0].seq, 1);
      assert.equal(after[0].chg, 1, 'after a reset the charger is ON');
      assert.ok(after[0].t - resetT < 2, 'back within a couple of seconds');
      assert.equal(sim.mcu.bootCount, 2);
      const boots = sim.events.filter((e) => e.kind === 'boot').map((e) => e.boot);
      assert.deepEqual(boots, [1, 2]);
      // Energy counters were restored from flash (saved every 15 min), not restarted at zero.
      const lastBefore = before[before.length - 1].bwhi as number;
      assert.ok(lastBefore > 100, `${lastBefore} Wh charged before noon`);
      assert.ok((after[0].bwhi as number) > 0.9 * lastBefore && (after[0].bwhi as number) <= lastBefore + 0.1,
        `restored ${after[0].bwhi} Wh of ${lastBefore}`);
    });

    it('after the reboot it releases the charger again once the battery proves high; the comparator check holds', () => {
      const resetT = sim.mcu.resets[0].t;
      const off = sim.rows.find((r) => r.t > resetT && r.chg === 0);
      assert.ok(off && off.t - resetT < 1800, 'released within half an hour');
      assert.ok(off.trueBatteryV > (sim.thresholds?.batteryOffV ?? 14) - DEFAULT_MARGINS.batteryV);
      clean(sim);
      comparatorHolds(sim, 60000);
    });
  });
});
