/**
 * The MCU hangs (the simulator's `mcu-hang`): readings stop, every GET is answered
 * ERR DATA-STALE within a few seconds, and a real upsmon applies NUT's dead-UPS rule: a
 * UPS it last saw on line is only reported (COMMBAD), one it last saw on battery is
 * promoted to OB+LB after DEADTIME and the host shuts down. The simulation slows to half
 * real time around each hang so the firmware's 10 s watchdog takes 20 s of wall time.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { SCENARIOS } from '../../simulator/scenarios';
import { makeTempDir, removeDir, sleep, waitFor } from '../helpers/services';
import { NutClient, NutRig, Upsmon } from './helpers/nut-rig';

const USER = { name: 'mon', password: 'hang-test', role: 'primary' as const };
const HANG_ON_LINE_S = 120;
const OUTAGE_S = 240;
const HANG_ON_BATTERY_S = 400;
const STALE_AFTER_MS = 2000;
const DEADTIME_S = 3;

describe('NUT: a hung MCU makes the data stale and upsmon acts on the dead UPS as NUT documents', function () {
  this.timeout(240000);
  let dir: string;
  let rig: NutRig;
  let client: NutClient;
  let mon: Upsmon;

  before(async () => {
    dir = makeTempDir('nut-stale');
    rig = new NutRig({
      dir,
      scenario: {
        ...SCENARIOS.day, startHour: 20, hours: 2,
        events: [
          { atHour: HANG_ON_LINE_S / 3600, action: { kind: 'mcu-hang', durationS: 600 } },
          { atHour: OUTAGE_S / 3600, action: { kind: 'mains-outage', durationS: 3600 } },
          { atHour: HANG_ON_BATTERY_S / 3600, action: { kind: 'mcu-hang', durationS: 600 } },
        ],
      },
      tiers: [{ name: 'solar', charge_low: 20, runtime_low: 0 }],
      users: [USER],
      staleAfterMs: STALE_AFTER_MS,
    });
    await rig.start();
    rig.pace(() => 1);
    client = await NutClient.connect(rig.nutPort);
    await waitFor(async () => (await client.ask('GET VAR solar ups.status')).startsWith('VAR'), { timeoutMs: 15000, what: 'first readings' });
    mon = new Upsmon(path.join(dir, 'upsmon'), `solar@127.0.0.1:${rig.nutPort} 1 ${USER.name} ${USER.password} primary`, { deadtime: DEADTIME_S });
    mon.start();
    await waitFor(async () => (await client.ask('GET NUMLOGINS solar')) === 'NUMLOGINS solar 1', { timeoutMs: 15000, what: 'upsmon to log in', detail: () => mon.output() });
    await rig.stopSim();
  });

  after(async () => {
    client?.close();
    await mon?.stop();
    await rig?.dispose();
    removeDir(dir);
  });

  const statusNow = async (): Promise<string> => client.ask('GET VAR solar ups.status');
  const near = (t: number, hangAt: number): boolean => t >= hangAt - 1 && t < hangAt + 25;
  const speed = (t: number): number => (near(t, HANG_ON_LINE_S) || near(t, HANG_ON_BATTERY_S) ? 0.5 : 20);

  it('hung while on line: DATA-STALE within a few seconds, upsmon only reports it, data returns after the watchdog reset', async () => {
    rig.pace(speed);
    await waitFor(() => rig.sim.clock.now >= HANG_ON_LINE_S - 2, { timeoutMs: 30000, what: 'the run to reach the first hang' });
    assert.match(await statusNow(), /^VAR solar ups.status "OL/);
    await waitFor(() => rig.sim.clock.now >= HANG_ON_LINE_S, { timeoutMs: 10000, what: 'the hang' });
    const hungAt = Date.now();
    await waitFor(async () => (await statusNow()) === 'ERR DATA-STALE', { timeoutMs: 10000, what: 'ERR DATA-STALE' });
    const staleAfter = Date.now() - hungAt;
    assert.ok(staleAfter <= STALE_AFTER_MS + 1500, `stale after ${staleAfter} ms`);
    for (const q of ['GET VAR solar battery.voltage', 'GET NUMLOGINS solar', 'LIST VAR solar']) assert.equal(await client.ask(q), 'ERR DATA-STALE', q);
    // Well past DEADTIME while stale: a UPS last seen on line is not a reason to shut down.
    await sleep((DEADTIME_S + 4) * 1000);
    assert.equal(await statusNow(), 'ERR DATA-STALE');
    assert.equal(mon.shutDown, false, 'upsmon shut down for a stale UPS that was on line');
    assert.match(mon.output(), /Data stale/);
    await waitFor(async () => (await statusNow()).startsWith('VAR'), { timeoutMs: 40000, what: 'readings after the watchdog reset' });
    assert.ok(rig.sim.mcu.resets.length >= 1, 'the watchdog reset the MCU');
    assert.equal(mon.shutDown, false);
  });

  it('hung while on battery: DATA-STALE, and after DEADTIME upsmon promotes the dead UPS to OB+LB and shuts down', async () => {
    await waitFor(async () => /"OB DISCHRG"$/.test(await statusNow()) || rig.sim.clock.now >= HANG_ON_BATTERY_S - 3, { timeoutMs: 60000, what: 'on battery in the outage' });
    const seen = await statusNow();
    assert.equal(seen, 'VAR solar ups.status "OB DISCHRG"', 'on battery, not low: the shutdown to come is for the dead UPS alone');
    assert.equal(mon.shutDown, false);
    await waitFor(() => rig.sim.clock.now >= HANG_ON_BATTERY_S, { timeoutMs: 30000, what: 'the second hang' });
    const hungAt = Date.now();
    await waitFor(async () => (await statusNow()) === 'ERR DATA-STALE', { timeoutMs: 10000, what: 'ERR DATA-STALE' });
    await waitFor(() => mon.shutDown, { timeoutMs: 20000, what: 'upsmon to shut down', detail: () => mon.output().slice(-3000) });
    const after = (Date.now() - hungAt) / 1000;
    assert.ok(after >= DEADTIME_S, `shut down ${after} s after the hang: before DEADTIME`);
    assert.match(mon.output(), /Promoting dead UPS/);
    const m = await rig.bridge.metrics();
    assert.ok((m.get('solar_bridge_nut_errors_total{error="DATA-STALE"}') ?? 0) > 0);
  });
});
