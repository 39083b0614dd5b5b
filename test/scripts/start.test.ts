import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { parseStartArgs } from '../../scripts/start/start-options';
import { EnergyToday, StatusSnapshot, batteryLine, reasonText, renderStatus } from '../../scripts/start/status-view';
import type { StateJson } from '../../bridge/src';

const root = path.join(__dirname, '..', '..');

function start(args: string[]) {
  return spawnSync(process.execPath, ['scripts/ts-run.js', 'scripts/start.ts', ...args], { cwd: root, encoding: 'utf8', timeout: 60000 });
}

describe('npm start: flags', () => {
  it('defaults to the day scenario from 07:00 at real time with the embedded broker', () => {
    const r = parseStartArgs([]);
    assert.ok(r.ok && 'options' in r);
    assert.equal(r.options.scenario, 'day');
    assert.equal(r.options.startHour, 7);
    assert.equal(r.options.speed, 1);
    assert.equal(r.options.mqttUrl, undefined);
    assert.equal(r.options.brokerPort, 0);
  });

  it('takes a scenario\'s own start hour unless one is given, and passes InfluxDB flags to the bridge', () => {
    const r = parseStartArgs(['--scenario', 'low-battery', '--speed=120', '--influx-url', 'http://127.0.0.1:8086', '--influx-api', 'v1']);
    assert.ok(r.ok && 'options' in r);
    assert.equal(r.options.startHour, 17);
    assert.equal(r.options.speed, 120);
    assert.deepEqual(r.options.bridgeFlags.map((f) => [f.key, f.value]), [['influx.url', 'http://127.0.0.1:8086'], ['influx.api', 'v1']]);
    const h = parseStartArgs(['--scenario', 'low-battery', '--start-hour', '3']);
    assert.ok(h.ok && 'options' in h && h.options.startHour === 3);
  });

  for (const [args, message] of [
    [['--speed', '0'], /--speed needs a number from 0.001/],
    [['--speed'], /--speed needs a value/],
    [['--scenario', 'moon'], /unknown scenario "moon"; known: day, week/],
    [['--mqtt', 'localhost'], /--mqtt: expected a broker URL/],
    [['--source', 'tcp://x:1'], /--source: npm start sets this itself/],
    [['--mqtt', 'mqtt://h:1883', '--broker-port', '1884'], /--broker-port is for the embedded broker/],
    [['--device-id', 'a b'], /--device-id: letters, digits/],
    [['--frobnicate'], /unknown flag --frobnicate/],
  ] as Array<[string[], RegExp]>) {
    it(`rejects ${args.join(' ')} with a message naming the flag`, () => {
      const r = parseStartArgs(args);
      assert.ok(!r.ok);
      assert.match(r.error, message);
    });
  }

  it('exits 2 on a bad flag and 0 on --help, as a command line', function () {
    this.timeout(120000);
    const bad = start(['--speed', 'fast']);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /npm start: --speed needs a number/);
    // A spool directory that cannot be made: refused before anything starts, naming the flag.
    const spool = start(['--spool', '/etc/passwd/spool']);
    assert.equal(spool.status, 2, spool.stderr);
    assert.match(spool.stderr, /spool\.dir = "\/etc\/passwd\/spool" \(from --spool\): \/etc\/passwd\/spool cannot be created: \/etc\/passwd is not a directory/);
    const help = start(['--help']);
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, /usage: npm start/);
    assert.match(help.stdout, /--influx-url/);
  });
});

describe('npm start: status view', () => {
  const state: StateJson = {
    time: '2025-03-21T13:00:00.000Z', timestamp_ms: 0, boot: 3, seq: 120, uptime_s: 120,
    battery: { voltage: 13.1234, current: -1.5, power: -19.7, energy_in: 10, energy_out: 5 },
    load: { voltage: 13.1, current: 1.6, power: 21, energy_out: 8 },
    solar: { voltage: 0.4 },
    charger: { on: true, state: 'ON', reason: 'sun_down', mode: 'auto' },
    faults: { word: '0000', names: [] },
  };
  const snap = (over: Partial<StatusSnapshot>): StatusSnapshot => ({
    siteTime: '2025-03-21 19:00:00', speed: 1, state, stateAgeS: 0.4, energyToday: null,
    bridge: { sourceUp: true, framesIn: 120, linesRejected: 0, missing: 0, mcuReboots: 0, spoolBytes: 2048, sinks: [{ name: 'mqtt', connected: true, pendingRecords: 0 }] },
    warnings: [], ...over,
  });

  it('shows the reading, the charger with its reason in words, and the bridge', () => {
    const text = renderStatus(snap({})).join('\n');
    assert.match(text, /^battery\s+13\.123 V\s+-1\.50 A\s+discharging$/m);
    assert.match(text, /^charger\s+ON\s+— sun down$/m);
    assert.match(text, /^bridge\s+source up, 120 frames, spool 2\.0 KiB$/m);
    assert.match(text, /^sinks\s+mqtt ok \(0 pending\)$/m);
  });

  it('says what is wrong: source down, sink down, bad lines, warnings', () => {
    const text = renderStatus(snap({
      state: null,
      bridge: { sourceUp: false, framesIn: 7, linesRejected: 2, missing: 3, mcuReboots: 1, spoolBytes: 10, sinks: [{ name: 'influx', connected: false, pendingRecords: 44 }] },
      warnings: ['influx: server returned 500'],
    })).join('\n');
    assert.match(text, /waiting for the first reading/);
    assert.match(text, /source DOWN, 7 frames \(2 bad lines, 3 missing, 1 MCU reboots\)/);
    assert.match(text, /influx DOWN \(44 pending\)/);
    assert.match(text, /^warning\s+influx: server returned 500$/m);
  });

  it('shows the battery estimator\'s answer from the derived values it receives over MQTT', () => {
    const derived = {
      battery_soc: '78.1', battery_soc_uncertainty: '2.4', battery_remaining_ah: '164.01', battery_time_to_go_state: 'discharging',
      battery_time_to_go_s: String(9 * 3600 + 20 * 60 + 10), battery_current_avg_a: '-12.31', battery_floor_pct: '50', night_lasts: 'true', night_margin_ah: '41.2',
    };
    assert.match(renderStatus(snap({ derived })).join('\n'), /^battery 78 % \(164 Ah\) · 9 h 20 min to 50 % at 12\.3 A · lasts the night alone, 41 Ah to spare$/m);
    assert.equal(batteryLine({ ...derived, battery_time_to_go_state: 'charging', battery_time_to_go_s: 'None', battery_current_avg_a: '20.04', night_lasts: 'false', night_margin_ah: '-7.6', battery_soc_uncertainty: '30' }),
      'battery 78 % ± 30 (164 Ah) · charging at 20.0 A · would NOT last the night alone: 8 Ah short');
    assert.equal(batteryLine({ ...derived, night_lasts: 'None', night_margin_ah: 'None', battery_time_to_go_state: 'unknown' }), 'battery 78 % (164 Ah) · battery sensor faulted: holding');
    assert.equal(batteryLine({}), null, 'no line before the first value');
    assert.ok(!renderStatus(snap({})).some((l) => l.includes('%')), 'nothing without the estimator');
  });

  it('names every charger reason the firmware sends', () => {
    for (const why of ['released', 'bat_low', 'sun_down', 'bat_low_sun_down', 'forced_on', 'forced_off', 'floor', 'dwell', 'failsafe', 'boot']) {
      assert.notEqual(reasonText(why), why, why);
    }
    assert.equal(reasonText('from_the_future'), 'from_the_future');
  });

  it('counts energy from local midnight, and across a counter reset without going negative', () => {
    const e = new EnergyToday();
    e.update(0, { batteryInWh: 100, batteryOutWh: 50, loadWh: 30 });
    e.update(0, { batteryInWh: 110, batteryOutWh: 55, loadWh: 40 });
    assert.deepEqual(e.totals(), { batteryInWh: 10, batteryOutWh: 5, loadWh: 10 });
    e.update(0, { batteryInWh: 2, batteryOutWh: 1, loadWh: 3 }); // reset-energy
    assert.deepEqual(e.totals(), { batteryInWh: 12, batteryOutWh: 6, loadWh: 13 });
    e.update(1, { batteryInWh: 4, batteryOutWh: 1, loadWh: 5 });  // a new day
    assert.deepEqual(e.totals(), { batteryInWh: 0, batteryOutWh: 0, loadWh: 0 });
  });
});
