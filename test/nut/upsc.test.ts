/**
 * The NUT server as clients see it, with Debian's upsc and raw protocol lines, against
 * the bridge fed by the simulated MCU: the variables carry the simulator's values, every
 * tier is listed, and abuse (wrong passwords, unknown UPS names, garbage, 1 MB lines, 500
 * idle connections) is answered with clear errors, counted, and leaves upsc working.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { SCENARIOS } from '../../simulator/scenarios';
import { makeTempDir, removeDir, sleep, waitFor } from '../helpers/services';
import { NutClient, NutRig } from './helpers/nut-rig';

const PRIMARY = { name: 'admin', password: 'Correct-Horse-9', role: 'primary' as const, ups: ['batch'] };
const SECONDARY = { name: 'viewer', password: 'viewer-pw', role: 'secondary' as const };
const MAX_CONNECTIONS = 300;

describe('NUT: upsc against the bridge, and bad clients', function () {
  this.timeout(180000);
  let dir: string;
  let rig: NutRig;
  let c: NutClient;

  before(async () => {
    dir = makeTempDir('nut-upsc');
    rig = new NutRig({
      dir,
      scenario: { ...SCENARIOS.day, startHour: 11, hours: 6 },
      tiers: [
        { name: 'batch', charge_low: 60, runtime_low: 7200, description: 'Batch nodes' },
        { name: 'storage', charge_low: 30, runtime_low: 1800, description: 'Storage "archive" nodes' },
      ],
      users: [PRIMARY, SECONDARY],
      idleTimeoutS: 3,
      maxConnections: MAX_CONNECTIONS,
    });
    await rig.start();
    rig.pace(() => 2);
    c = await NutClient.connect(rig.nutPort);
    await waitFor(async () => (await c.ask('GET VAR batch ups.status')).startsWith('VAR'), { timeoutMs: 15000, what: 'first readings' });
  });

  after(async () => {
    c?.close();
    await rig?.dispose();
    removeDir(dir);
  });

  const host = (): string => `127.0.0.1:${rig.nutPort}`;

  it('upsc lists the standard variables with the values the simulated MCU sent; upsc -l lists every tier', async () => {
    await rig.stopSim();
    await sleep(300);
    const r = rig.lastReading!;
    const v = await rig.vars('batch');
    rig.pace(() => 2);
    assert.equal(v.get('battery.voltage'), r.bv!.toFixed(2));
    assert.equal(v.get('battery.current'), r.ba!.toFixed(2));
    assert.equal(v.get('ups.realpower'), r.lw!.toFixed(0));
    assert.equal(v.get('output.current'), r.la!.toFixed(2));
    assert.equal(v.get('input.voltage'), r.sv!.toFixed(2));
    assert.equal(v.get('device.uptime'), r.up.toFixed(0));
    assert.equal(v.get('battery.charge.low'), '60');
    assert.equal(v.get('battery.runtime.low'), '7200');
    assert.equal(v.get('battery.voltage.low'), '11.80');
    assert.equal(v.get('battery.capacity'), '210');
    assert.equal(v.get('battery.type'), 'PbAc');
    assert.equal(v.get('device.type'), 'ups');
    for (const k of ['battery.charge', 'battery.runtime', 'battery.voltage.nominal', 'ups.mfr', 'ups.model', 'driver.name', 'driver.version', 'device.mfr', 'device.model']) assert.ok(v.has(k), k);
    const expectStatus = (r.ba! > 0.1 ? 'OL CHRG' : r.ba! < -0.1 ? 'OB DISCHRG' : 'OL');
    assert.ok(v.get('ups.status')!.startsWith(expectStatus), `${v.get('ups.status')} for battery current ${r.ba}`);
    const storage = await rig.vars('storage');
    assert.equal(storage.get('battery.charge.low'), '30');
    assert.equal(storage.get('device.description'), 'Storage "archive" nodes');

    const l = await rig.upsc(['-l', host()]);
    assert.equal(l.code, 0, l.stderr);
    assert.deepEqual(l.stdout.trim().split('\n'), ['batch', 'storage']);
    const one = await rig.upsc([`storage@${host()}`, 'ups.status']);
    assert.match(one.stdout, /^O[LB]/);
    assert.deepEqual(await c.list('LIST UPS'), ['BEGIN LIST UPS', 'UPS batch "Batch nodes"', 'UPS storage "Storage \\"archive\\" nodes"', 'END LIST UPS']);
  });

  it('wrong passwords, secondaries and primaries not logged in cannot LOGIN or set FSD', async () => {
    const wrong = await NutClient.connect(rig.nutPort);
    assert.equal(await wrong.ask('LOGIN batch'), 'ERR USERNAME-REQUIRED');
    assert.equal(await wrong.ask(`USERNAME ${PRIMARY.name}`), 'OK');
    assert.equal(await wrong.ask('FSD batch'), 'ERR PASSWORD-REQUIRED');
    assert.equal(await wrong.ask('PASSWORD not-the-password'), 'OK');
    assert.equal(await wrong.ask('LOGIN batch'), 'ERR ACCESS-DENIED');
    assert.equal(await wrong.ask('PRIMARY batch'), 'ERR ACCESS-DENIED');
    assert.equal(await wrong.ask('FSD batch'), 'ERR ACCESS-DENIED');
    assert.equal(await wrong.ask('PASSWORD again'), 'ERR ALREADY-SET-PASSWORD');
    wrong.close();

    const secondary = await NutClient.connect(rig.nutPort);
    for (const l of [`USERNAME ${SECONDARY.name}`, `PASSWORD ${SECONDARY.password}`, 'LOGIN batch']) assert.equal(await secondary.ask(l), 'OK', l);
    assert.equal(await secondary.ask('LOGIN batch'), 'ERR ALREADY-LOGGED-IN');
    assert.equal(await secondary.ask('PRIMARY batch'), 'ERR ACCESS-DENIED');
    assert.equal(await secondary.ask('FSD batch'), 'ERR ACCESS-DENIED');

    const primary = await NutClient.connect(rig.nutPort);
    for (const l of [`USERNAME ${PRIMARY.name}`, `PASSWORD ${PRIMARY.password}`]) assert.equal(await primary.ask(l), 'OK', l);
    // Not allowed on storage at all; on batch, FSD only after LOGIN to batch.
    assert.equal(await primary.ask('LOGIN storage'), 'ERR ACCESS-DENIED');
    assert.equal(await primary.ask('FSD batch'), 'ERR ACCESS-DENIED');
    assert.equal(await primary.ask('MASTER batch'), 'OK MASTER-GRANTED');
    assert.equal(await primary.ask('LOGIN nosuch'), 'ERR UNKNOWN-UPS');
    assert.match(await c.ask('GET VAR batch ups.status'), /^VAR batch ups.status "O[LB]/);
    assert.equal(await c.ask('GET NUMLOGINS batch'), 'NUMLOGINS batch 1');
    // Nothing reaches the MCU: no writable variables, no instant commands.
    assert.equal(await primary.ask('SET VAR batch battery.charge.low "5"'), 'ERR READONLY');
    assert.equal(await primary.ask('INSTCMD batch load.off'), 'ERR CMD-NOT-SUPPORTED');
    assert.deepEqual(await c.list('LIST CMD batch'), ['BEGIN LIST CMD batch', 'END LIST CMD batch']);
    assert.deepEqual(await c.list('LIST RW batch'), ['BEGIN LIST RW batch', 'END LIST RW batch']);
    assert.equal(await primary.ask('STARTTLS'), 'ERR FEATURE-NOT-CONFIGURED');
    primary.close();
    secondary.close();
    await sleep(100);
    assert.equal(await c.ask('GET NUMLOGINS batch'), 'NUMLOGINS batch 0', 'a closed connection no longer counts');
    const log = rig.bridge.output();
    for (const secret of [PRIMARY.password, SECONDARY.password]) assert.ok(!log.includes(secret), 'a password reached the log');
    assert.match(log, /LOGIN batch refused for user admin from 127\.0\.0\.1/);
  });

  it('unknown UPS names: upsc says so, the protocol answers UNKNOWN-UPS', async () => {
    const r = await rig.upsc([`nosuch@${host()}`]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Unknown UPS/i);
    assert.equal(await c.ask('GET VAR nosuch ups.status'), 'ERR UNKNOWN-UPS');
    assert.equal(await c.ask('LIST VAR nosuch'), 'ERR UNKNOWN-UPS');
    assert.equal(await c.ask('GET VAR batch no.such.var'), 'ERR VAR-NOT-SUPPORTED');
  });

  it('garbage lines are each answered with an error on the same connection, which keeps working', async () => {
    const before = await rig.bridge.metrics();
    const garbage = ['HELLO', 'GET', 'GET VAR', 'GET VAR batch', 'LIST FOO batch', 'LIST', '"unterminated', 'trailing\\', '\u0001\u0002\u0003',
      '\u00ff\u00fe binary', 'GET VAR batch ups.status extra', '', 'LOGOUT now', 'USERNAME', 'a b c d e f g h i j k l m n o p q r'];
    const expected = ['UNKNOWN-COMMAND', 'INVALID-ARGUMENT', 'INVALID-ARGUMENT', 'INVALID-ARGUMENT', 'INVALID-ARGUMENT', 'INVALID-ARGUMENT', 'INVALID-ARGUMENT', 'INVALID-ARGUMENT', 'INVALID-ARGUMENT',
      'UNKNOWN-COMMAND', 'INVALID-ARGUMENT', 'UNKNOWN-COMMAND', 'INVALID-ARGUMENT', 'INVALID-ARGUMENT', 'INVALID-ARGUMENT'];
    for (let i = 0; i < garbage.length; i++) assert.equal(await c.ask(garbage[i]), `ERR ${expected[i]}`, JSON.stringify(garbage[i]));
    // Many bad lines in one write: one answer each, in order.
    const burst = await NutClient.connect(rig.nutPort);
    const answers = Array.from({ length: 50 }, () => burst.next());
    burst.socket.write('nonsense\n'.repeat(49) + 'NETVER\n');
    const got = await Promise.all(answers);
    assert.deepEqual(got.slice(0, 49), Array(49).fill('ERR UNKNOWN-COMMAND'));
    assert.equal(got[49], '1.3');
    burst.close();
    assert.match(await c.ask('GET VAR batch ups.status'), /^VAR batch ups.status "/);
    const after = await rig.bridge.metrics();
    const d = (k: string): number => (after.get(k) ?? 0) - (before.get(k) ?? 0);
    assert.equal(d('solar_bridge_nut_errors_total{error="UNKNOWN-COMMAND"}'), 3 + 49);
    assert.equal(d('solar_bridge_nut_requests_total{command="(unknown)"}'), 2 + 49);
    assert.equal(d('solar_bridge_nut_requests_total{command="(empty)"}'), 1);
  });

  it('a 1 MB line is refused once and skipped; the next request on the connection is answered', async () => {
    const big = await NutClient.connect(rig.nutPort);
    const first = big.next();
    const second = big.next();
    const mb = Buffer.alloc(1 << 20, 'A');
    for (let i = 0; i < mb.length; i += 65536) big.socket.write(mb.subarray(i, i + 65536));
    big.socket.write('\nGET VAR batch battery.charge.low\n');
    assert.equal(await first, 'ERR INVALID-ARGUMENT line-too-long');
    assert.equal(await second, 'VAR batch battery.charge.low "60"');
    // One in a single write, with a good request glued on after it.
    const third = big.next();
    const fourth = big.next();
    big.socket.write(Buffer.concat([mb, Buffer.from('\nNETVER\n')]));
    assert.equal(await third, 'ERR INVALID-ARGUMENT line-too-long');
    assert.equal(await fourth, '1.3');
    big.close();
    const v = await rig.vars('batch');
    assert.ok(v.has('ups.status'));
  });

  it('500 idle connections: the excess is refused with an error, the idle ones are closed, upsc works after', async () => {
    const before = await rig.bridge.metrics();
    const sockets: net.Socket[] = [];
    const refused: string[] = [];
    const closed: boolean[] = [];
    for (let i = 0; i < 500; i++) {
      const s = net.connect(rig.nutPort, '127.0.0.1');
      s.setEncoding('utf8');
      let text = '';
      s.on('data', (d: string) => { text += d; });
      s.on('error', () => undefined);
      s.on('close', () => { closed[i] = true; if (text) refused.push(text); });
      sockets.push(s);
    }
    await waitFor(() => refused.length >= 500 - MAX_CONNECTIONS + 1, { timeoutMs: 15000, what: 'the excess connections refused', detail: () => `${refused.length} refused` });
    // c holds one slot, so 300 - 1 idle ones fit.
    assert.equal(refused.length, 500 - (MAX_CONNECTIONS - 1));
    assert.ok(refused.every((t) => t === 'ERR ACCESS-DENIED too-many-connections\n'), refused[0]);
    // While full, upsc is refused with a clear error too.
    const full = await rig.upsc([`batch@127.0.0.1:${rig.nutPort}`, 'ups.status']);
    assert.notEqual(full.code, 0);
    assert.match(full.stderr, /Access denied/i);
    await waitFor(() => closed.filter(Boolean).length === 500, { timeoutMs: 20000, what: 'the idle connections to be closed' });
    const v = await rig.vars('batch');
    assert.ok(v.has('ups.status'));
    const after = await rig.bridge.metrics();
    const d = (k: string): number => (after.get(k) ?? 0) - (before.get(k) ?? 0);
    assert.equal(d('solar_bridge_nut_connections_total{result="refused"}'), 500 - (MAX_CONNECTIONS - 1) + 1);
    assert.ok(d('solar_bridge_nut_connections_total{result="idle"}') >= MAX_CONNECTIONS - 1);
    for (const s of sockets) s.destroy();
    // The long-lived client went idle too; a new one is served.
    c.close();
    c = await NutClient.connect(rig.nutPort);
    assert.match(await c.ask('GET VAR batch ups.status'), /^VAR/);
    fs.writeFileSync(path.join(dir, 'metrics.txt'), [...after].map(([k, v2]) => `${k} ${v2}`).join('\n'));
  });
});
