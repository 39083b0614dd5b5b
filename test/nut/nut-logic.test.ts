/**
 * The NUT server's pure parts, with no sockets and no clock: word splitting as NUT's
 * parser does it, ups.status derivation (OL/OB, CHRG/DISCHRG, LB and its latch, RB, FSD),
 * the night mains-outage detector, staleness, the config checks, and the session's
 * answers and access rules, with time passed in.
 */
import assert from 'node:assert/strict';
import type { ReadingFrame } from '../../protocol';
import {
  NutBatteryState as BatteryState, FSD_CLEAR_AFTER_MS, MainsWatch, NutConfig, NutSession, UpsBank, chargeFromVoltage, deriveStatus, estimateFromVoltage, isStale,
  nutQuote as quote, nutSplitWords as splitWords, resolveNutUsers, DerivedValues, resolveConfig, redactConfig, derivedBatterySource, REPLACE_AT_HEALTH_PCT,
} from '../../bridge/src';

function reading(o: Partial<ReadingFrame> = {}): ReadingFrame {
  return {
    type: 'R', seq: 1, boot: 1, up: 100, bv: 12.6, ba: -1.8, bw: -22.7, lv: 12.55, la: 1.8, lw: 22.6, sv: 0.1,
    chg: 1, why: 'sun_down', mode: 'auto', flt: 0, bahi: 0, baho: 0, bwhi: 0, bwho: 0, lahi: 0, laho: 0, lwhi: 0, lwho: 0, ...o,
  } as ReadingFrame;
}
const LIMITS = { chargeLowPct: 30, runtimeLowS: 600, voltageLowV: 11.8 };
const battery = (chargePct: number | null, runtimeS: number | null = null, replace = false): BatteryState => ({ chargePct, runtimeS, replace, source: 'voltage' });

describe('NUT logic (pure)', () => {
  it('splits request words like NUT: quotes group, backslash escapes, control characters refused', () => {
    assert.deepEqual(splitWords('GET VAR su700 ups.status'), { ok: true, words: ['GET', 'VAR', 'su700', 'ups.status'] });
    assert.deepEqual(splitWords('SET VAR ups ups.id "My \\"big\\" UPS"'), { ok: true, words: ['SET', 'VAR', 'ups', 'ups.id', 'My "big" UPS'] });
    assert.deepEqual(splitWords('  PASSWORD a\\ b\t\r'), { ok: true, words: ['PASSWORD', 'a b'] });
    assert.deepEqual(splitWords('""'), { ok: true, words: [''] });
    assert.equal(splitWords('GET "open').ok, false);
    assert.equal(splitWords('GET \\').ok, false);
    assert.equal(splitWords('GET \u0000').ok, false);
    assert.equal(splitWords(Array(20).fill('w').join(' ')).ok, false);
    assert.equal(quote('a "b" \\c'), '"a \\"b\\" \\\\c"');
    assert.deepEqual(splitWords(`X ${quote('a "b" \\c')}`), { ok: true, words: ['X', 'a "b" \\c'] });
  });

  it('status: OB when the battery carries the load, OL CHRG when charged, LB at each limit, RB, FSD first', () => {
    const s = (r: Partial<ReadingFrame>, b: BatteryState, latched = false, fsd = false) => deriveStatus({ reading: reading(r), battery: b, limits: LIMITS, lowLatched: latched, fsd });
    assert.equal(s({ ba: 5 }, battery(80)).text, 'OL CHRG');
    assert.equal(s({ ba: 0.05 }, battery(80)).text, 'OL');
    assert.equal(s({ ba: -1.8 }, battery(80)).text, 'OB DISCHRG');
    assert.deepEqual(s({ ba: -1.8 }, battery(30)).lowBecause, ['charge']);
    assert.equal(s({ ba: -1.8 }, battery(30)).text, 'OB DISCHRG LB');
    assert.equal(s({ ba: -1.8 }, battery(31)).text, 'OB DISCHRG');
    assert.deepEqual(s({ ba: -1.8 }, battery(80, 600)).lowBecause, ['runtime']);
    assert.deepEqual(s({ ba: -1.8, bv: 11.8 }, battery(80)).lowBecause, ['voltage']);
    // Latched LB holds while discharging even if the charge reads higher again; charging clears it.
    assert.equal(s({ ba: -1.8 }, battery(35), true).text, 'OB DISCHRG LB');
    assert.equal(s({ ba: 3 }, battery(35), true).text, 'OL CHRG');
    assert.equal(s({ ba: -1.8 }, battery(80, null, true)).text, 'OB DISCHRG RB');
    assert.equal(s({ ba: -1.8 }, battery(20), false, true).text, 'FSD OB DISCHRG LB');
    // runtime_low 0 turns the runtime rule off.
    assert.deepEqual(deriveStatus({ reading: reading(), battery: battery(80, 10), limits: { ...LIMITS, runtimeLowS: 0 }, lowLatched: false, fsd: false }).lowBecause, []);
  });

  it('charge and runtime from voltage, until the estimator lands', () => {
    assert.equal(chargeFromVoltage(11.5), 0);
    assert.equal(chargeFromVoltage(13.5), 100);
    assert.equal(chargeFromVoltage(12.30), 50);
    assert.ok(Math.abs(chargeFromVoltage(12.425) - 62.5) < 1e-9);
    const e = estimateFromVoltage(reading({ bv: 12.3, ba: -2.1, la: 2.0 }));
    assert.equal(e.chargePct, 50);
    assert.equal(e.runtimeS, Math.round(0.5 * 210 / 2.1 * 3600));
    assert.equal(estimateFromVoltage(reading({ bv: null })).chargePct, null);
  });

  it('charge, runtime, health and capacity from the estimator\'s derived values while fresh; the voltage view without them', () => {
    const derived = new DerivedValues();
    let readingTs = 1_000_000;
    const source = derivedBatterySource(derived, () => readingTs, 60_000);
    const r = reading({ bv: 12.3, ba: -2.1, la: 2.0 });
    const bank = new UpsBank([{ name: 'b', description: '', chargeLowPct: 40, runtimeLowS: 0 }], { bridgeVersion: '1', deviceId: 'd' }, 5000, source);
    const varOf = (name: string): string => {
      const v = bank.view('b', readingTs);
      return v.kind === 'ok' ? v.vars.get(name) ?? '(none)' : v.kind;
    };
    // Nothing declared (no estimator feature): the voltage view.
    assert.equal(source.current(r), null);
    bank.onReading(r, readingTs);
    assert.equal(varOf('driver.parameter.battery_state'), 'voltage');
    assert.equal(varOf('battery.charge'), '50');

    derived.declare('battery', ['battery_soc', 'battery_runtime_alone_s', 'battery_time_to_go_s', 'battery_health', 'battery_capacity_ah'].map((key) => ({ key, label: key })));
    assert.equal(source.current(r), null, 'declared but never set');
    derived.set(readingTs, { battery_soc: 35.4, battery_runtime_alone_s: 5400.4, battery_time_to_go_s: 9000, battery_health: 90, battery_capacity_ah: 190 });
    bank.onReading(r, readingTs);
    assert.equal(varOf('driver.parameter.battery_state'), 'estimator');
    assert.equal(varOf('battery.charge'), '35');
    assert.equal(varOf('battery.runtime'), '5400', 'runtime alone (chargers stopped) is what upsmon needs');
    assert.equal(varOf('battery.capacity'), '190');
    assert.equal(varOf('ups.status'), 'OB DISCHRG LB', 'LB at the tier limit from the estimator\'s charge, not the voltage\'s 50 %');

    // Runtime unknown: time to go, then the charge over the present draw.
    derived.set(readingTs, { battery_runtime_alone_s: null });
    assert.equal(source.current(r)?.runtimeS, 9000);
    derived.set(readingTs, { battery_time_to_go_s: null });
    assert.equal(source.current(r)?.runtimeS, Math.round(0.354 * 190 / 2.1 * 3600));

    // Worn out: RB.
    derived.set(readingTs, { battery_health: REPLACE_AT_HEALTH_PCT });
    bank.onReading(r, readingTs);
    assert.match(varOf('ups.status'), /\bRB\b/);

    // The estimator stopped: a minute later its charge is no longer used; learned health and capacity still are.
    readingTs += 60_001;
    assert.equal(source.current(r), null);
    bank.onReading(r, readingTs);
    assert.equal(varOf('driver.parameter.battery_state'), 'voltage');
    derived.set(readingTs, { battery_soc: 'full' as unknown as number });
    assert.equal(source.current(r), null, 'a non-number charge is not used');
    derived.set(readingTs, { battery_soc: 120 });
    assert.deepEqual(source.current(r), { chargePct: 100, runtimeS: Math.round(190 / 2.1 * 3600), replace: true, capacityAh: 190, source: 'estimator' });
  });

  it('stale when readings stop, when none came yet, or when the battery channel is not measured', () => {
    assert.equal(isStale(null, null, 1000, 5000), true);
    assert.equal(isStale(1000, reading(), 6000, 5000), false);
    assert.equal(isStale(1000, reading(), 6001, 5000), true);
    assert.equal(isStale(1000, reading({ bv: null }), 1000, 5000), true);
  });

  it('mains outage: charger ON, sun down, battery discharging, for 3 readings; restored when it charges', () => {
    const w = new MainsWatch();
    assert.equal(w.observe(reading({ ba: 10 })), null);
    assert.equal(w.observe(reading()), null);
    assert.equal(w.observe(reading()), null);
    assert.equal(w.observe(reading())?.kind, 'mains_outage');
    assert.equal(w.inOutage, true);
    // Sun up and charger OFF by design: not an outage, whatever the current.
    const day = new MainsWatch();
    for (let i = 0; i < 5; i++) assert.equal(day.observe(reading({ chg: 0, why: 'released' })), null);
    // A single charging reading is not a restoration.
    assert.equal(w.observe(reading({ ba: 8 })), null);
    assert.equal(w.observe(reading()), null);
    for (let i = 0; i < 2; i++) assert.equal(w.observe(reading({ ba: 8 })), null);
    assert.equal(w.observe(reading({ ba: 8 }))?.kind, 'mains_restored');
  });

  it('config: unique names, known tiers, a password from the file or the environment, never echoed', () => {
    const base: NutConfig = {
      enabled: true, listen: '127.0.0.1:3493', max_connections: 10, idle_timeout_s: 60, max_line_bytes: 1024, stale_after_ms: 5000,
      ups: [{ name: 'a', description: '', charge_low: 50, runtime_low: 0 }],
      users: [{ name: 'u', password: '', password_env: 'PW', role: 'primary', ups: ['a'] }],
    };
    const ok = resolveNutUsers(base, { PW: 's3cret' });
    assert.ok(ok.ok && ok.users[0].password === 's3cret');
    const bad = resolveNutUsers({ ...base, ups: [...base.ups, base.ups[0]], users: [{ ...base.users[0], ups: ['zz'] }, { ...base.users[0], password: 'x' }] }, {});
    assert.ok(!bad.ok);
    const text = bad.errors.join('\n');
    assert.match(text, /nut\.ups\[1\]\.name = "a": another tier already has this name/);
    assert.match(text, /password_env names PW, which is not set/);
    assert.match(text, /ups lists "zz", which is not a tier/);
    assert.match(text, /set password or password_env, not both/);
    assert.ok(!text.includes('s3cret'));
  });

  it('config: nut lists from the file or as JSON from the environment, bad ones named, passwords redacted', () => {
    const file = { name: 'c.yaml', text: 'source: { url: "tcp://a:1" }\nnut:\n  enabled: true\n  users: [{ name: mon, password: hunter2, role: secondary }]\n' };
    const r = resolveConfig({ file });
    assert.ok(r.ok, JSON.stringify(r));
    assert.deepEqual(r.config.nut.ups, [{ name: 'solar', description: 'Solar battery bank', charge_low: 20, runtime_low: 600 }], 'the default tier');
    assert.deepEqual(r.config.nut.users, [{ name: 'mon', password: 'hunter2', password_env: '', role: 'secondary', ups: [] }]);
    assert.equal(redactConfig(r.config).nut.users[0].password, '***');
    assert.equal(r.config.nut.users[0].password, 'hunter2', 'redaction works on a copy');

    const env = resolveConfig({ file, env: { SOLAR_BRIDGE_NUT_UPS: '[{"name":"batch","charge_low":60}]' } });
    assert.ok(env.ok, JSON.stringify(env));
    assert.deepEqual(env.config.nut.ups, [{ name: 'batch', description: 'Solar battery bank', charge_low: 60, runtime_low: 600 }]);
    const notJson = resolveConfig({ file, env: { SOLAR_BRIDGE_NUT_UPS: 'batch' } });
    assert.ok(!notJson.ok && notJson.errors.some((e) => e.includes('nut.ups') && e.includes('SOLAR_BRIDGE_NUT_UPS') && e.includes('JSON array')), JSON.stringify(notJson));
    const noRole = resolveConfig({ file: { name: 'c.yaml', text: 'source: { url: "tcp://a:1" }\nnut:\n  users: [{ name: mon, password: x }]\n' } });
    assert.ok(!noRole.ok && noRole.errors.some((e) => e.includes('nut.users') && e.includes('role')), JSON.stringify(noRole));
    const badName = resolveConfig({ file: { name: 'c.yaml', text: 'source: { url: "tcp://a:1" }\nnut:\n  ups: [{ name: "no spaces" }]\n' } });
    assert.ok(!badName.ok && badName.errors.some((e) => e.includes('nut.ups') && e.includes('letters, digits')), JSON.stringify(badName));
  });

  describe('session', () => {
    const users = new Map([['p', { name: 'p', password: 'pw', role: 'primary' as const, ups: null }], ['s', { name: 's', password: 'sw', role: 'secondary' as const, ups: null }]]);
    const make = () => {
      const bank = new UpsBank([{ name: 'batch', description: 'Batch', chargeLowPct: 60, runtimeLowS: 0 }, { name: 'storage', description: '', chargeLowPct: 30, runtimeLowS: 0 }], { bridgeVersion: '9.9', deviceId: 'd' }, 5000);
      return { bank, session: (id = 1) => new NutSession({ bank, users, serverVersion: '9.9' }, id, '10.0.0.1') };
    };

    it('answers DATA-STALE before the first reading and after readings stop, and values in between', () => {
      const { bank, session } = make();
      const c = session();
      assert.equal(c.handle('GET VAR batch ups.status', 0).text, 'ERR DATA-STALE\n');
      assert.equal(c.handle('LIST UPS', 0).text, 'BEGIN LIST UPS\nUPS batch "Batch"\nUPS storage "Unavailable"\nEND LIST UPS\n');
      bank.onReading(reading({ bv: 12.6, ba: -1.8 }), 1000);
      assert.equal(c.handle('GET VAR batch ups.status', 2000).text, 'VAR batch ups.status "OB DISCHRG"\n');
      assert.equal(c.handle('get var storage battery.voltage', 2000).text, 'VAR storage battery.voltage "12.60"\n');
      assert.equal(bank.cachedAnswer('GET VAR batch ups.status', 2000)?.toString(), 'VAR batch ups.status "OB DISCHRG"\n');
      assert.equal(c.handle('GET TYPE batch battery.voltage', 2000).text, 'TYPE batch battery.voltage NUMBER\n');
      assert.equal(c.handle('GET VAR batch ups.status', 6001).text, 'ERR DATA-STALE\n');
      assert.equal(bank.cachedAnswer('GET VAR batch ups.status', 6001), undefined);
      assert.equal(c.handle('GET VAR nosuch ups.status', 2000).text, 'ERR UNKNOWN-UPS\n');
      assert.equal(c.handle('GET VAR x server.version', 2000).text, 'VAR x server.version "9.9"\n');
      assert.equal(c.handle('NETVER', 2000).text, '1.3\n');
      assert.equal(c.handle('LOGOUT', 2000).close, true);
    });

    it('tiers: the same battery is LB on batch (60 %) while storage (30 %) is not', () => {
      const { bank, session } = make();
      const out = bank.onReading(reading({ bv: 12.3, ba: -1.8 }), 0);
      assert.deepEqual(out.changes.map((c) => `${c.ups}:${c.to}`), ['batch:OB DISCHRG LB', 'storage:OB DISCHRG']);
      assert.equal(session().handle('GET VAR batch battery.charge', 0).text, 'VAR batch battery.charge "50"\n');
    });

    it('FSD only from a logged-in primary of that UPS; it shows first in ups.status and clears after charging for a while', () => {
      const { bank, session } = make();
      bank.onReading(reading({ bv: 12.7 }), 0);
      const s = session(1);
      for (const l of ['USERNAME s', 'PASSWORD sw', 'LOGIN batch']) assert.equal(s.handle(l, 0).text, 'OK\n');
      assert.equal(s.handle('FSD batch', 0).text, 'ERR ACCESS-DENIED\n');
      const p = session(2);
      assert.equal(p.handle('FSD batch', 0).text, 'ERR USERNAME-REQUIRED\n');
      p.handle('USERNAME p', 0);
      assert.equal(p.handle('FSD batch', 0).text, 'ERR PASSWORD-REQUIRED\n');
      p.handle('PASSWORD pw', 0);
      assert.equal(p.handle('FSD batch', 0).text, 'ERR ACCESS-DENIED\n', 'not logged in to batch');
      assert.equal(p.handle('PRIMARY batch', 0).text, 'OK PRIMARY-GRANTED\n');
      assert.equal(p.handle('LOGIN batch', 0).text, 'OK\n');
      assert.equal(p.handle('GET NUMLOGINS batch', 0).text, 'NUMLOGINS batch 2\n');
      assert.deepEqual(p.handle('LIST CLIENT batch', 0).text.split('\n').slice(1, 3), ['CLIENT batch 10.0.0.1', 'CLIENT batch 10.0.0.1']);
      assert.equal(p.handle('FSD storage', 0).text, 'ERR ACCESS-DENIED\n', 'logged in to batch, not storage');
      assert.equal(p.handle('FSD batch', 1).text, 'OK FSD-SET\n');
      assert.equal(p.handle('GET VAR batch ups.status', 1).text, 'VAR batch ups.status "FSD OB DISCHRG"\n');
      assert.equal(p.handle('GET VAR storage ups.status', 1).text, 'VAR storage ups.status "OB DISCHRG"\n');
      s.close();
      assert.equal(bank.numLogins('batch'), 1);
      // Charging, but not yet long enough: still FSD; then it clears.
      bank.onReading(reading({ ba: 10 }), 1000);
      assert.equal(bank.fsd('batch'), true);
      bank.onReading(reading({ ba: 10 }), 1000 + FSD_CLEAR_AFTER_MS);
      assert.equal(bank.fsd('batch'), false);
    });

    it('every bad line gets an ERR; nothing is writable or commandable', () => {
      const { bank, session } = make();
      bank.onReading(reading(), 0);
      const c = session();
      const cases: Array<[string, string]> = [
        ['', 'UNKNOWN-COMMAND'], ['FOO', 'UNKNOWN-COMMAND'], ['GET', 'INVALID-ARGUMENT'], ['GET VAR batch', 'INVALID-ARGUMENT'],
        ['GET BOGUS batch x', 'INVALID-ARGUMENT'], ['LIST VAR', 'INVALID-ARGUMENT'], ['LIST ENUM batch nosuch', 'VAR-NOT-SUPPORTED'],
        ['"x', 'INVALID-ARGUMENT'], ['SET VAR batch ups.status "OL"', 'USERNAME-REQUIRED'], ['GET VAR batch nosuch', 'VAR-NOT-SUPPORTED'],
        ['STARTTLS', 'FEATURE-NOT-CONFIGURED'], ['GET CMDDESC batch load.off', 'CMD-NOT-SUPPORTED'],
      ];
      for (const [line, word] of cases) assert.equal(c.handle(line, 0).text, `ERR ${word}\n`, line);
      c.handle('USERNAME p', 0);
      c.handle('PASSWORD pw', 0);
      assert.equal(c.handle('SET VAR batch battery.charge.low "5"', 0).text, 'ERR READONLY\n');
      assert.equal(c.handle('INSTCMD batch shutdown.return', 0).text, 'ERR CMD-NOT-SUPPORTED\n');
      assert.equal(c.handle('USERNAME q', 0).text, 'ERR ALREADY-SET-USERNAME\n');
      assert.equal(c.handle('LIST RANGE batch battery.charge', 0).text, 'BEGIN LIST RANGE batch battery.charge\nEND LIST RANGE batch battery.charge\n');
    });
  });
});
