/**
 * bridge/mosquitto/: a real mosquitto started with the shipped solar.conf and solar.acl
 * (install paths and ports swapped for a test PKI, a password file and free loopback
 * ports), the real bridge logging in over TLS, and what each kind of user can and cannot do.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import mqtt, { IClientOptions } from 'mqtt';
import { decodeLine, encodeReply } from '../../protocol';
import { BridgeProcess, metricValue } from '../bridge/helpers/bridge-harness';
import { readingLine } from '../bridge/helpers/frames';
import { MqttRecorder } from '../bridge/helpers/mqtt-recorder';
import { LineServer, TestPki, freePort, makeTempDir, makeTestPki, removeDir, sleep, waitFor } from '../helpers/services';
import { ConfiguredMosquitto, substitute } from './helpers/mosquitto-config';
import { bridgeBundle, bundleEnv, repoRoot } from './helpers/systemd-bridge';

const CONF_DIR = path.join(repoRoot, 'bridge', 'mosquitto');
const DEVICE = 'sectest';
const BASE = `solar/${DEVICE}`;
const USERS = { bridge: 'solar-bridge', control: 'solar-control', reader: 'solar-reader' } as const;
const PASSWORD: { [user: string]: string } = { 'solar-bridge': 'bridge-pw-1', 'solar-control': 'control-pw-2', 'solar-reader': 'reader-pw-3' };

/** Connects once (no retry) and says how the broker answered. */
function connectOutcome(url: string, options: IClientOptions): Promise<string> {
  return new Promise((resolve) => {
    const c = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5000, ...options });
    const done = (what: string): void => { c.end(true); resolve(what); };
    c.once('connect', () => done('connected'));
    c.once('error', (e: Error & { code?: number }) => done(`refused: ${e.code ?? ''} ${e.message}`));
    c.once('close', () => done('closed'));
  });
}

describe('deploy: mosquitto with passwords, ACL and TLS (bridge/mosquitto)', function () {
  this.timeout(60000);
  let scratch = '';
  let pki: TestPki;
  let broker: ConfiguredMosquitto;
  let tlsPort = 0;
  let localPort = 0;
  let mcu: LineServer;
  let bridge: BridgeProcess;
  const commandsSeenByMcu: string[] = [];

  const tlsUrl = (): string => `mqtts://127.0.0.1:${tlsPort}`;
  const as = (user: string): IClientOptions => ({ username: user, password: PASSWORD[user], ca: fs.readFileSync(pki.caFile) });

  before(async function () {
    this.timeout(60000);
    scratch = makeTempDir('mqtt-sec');
    pki = makeTestPki(scratch);
    const passwd = path.join(scratch, 'solar.passwd');
    fs.writeFileSync(passwd, '');
    for (const u of Object.values(USERS)) execFileSync('mosquitto_passwd', ['-b', passwd, u, PASSWORD[u]]);
    tlsPort = await freePort();
    localPort = await freePort();
    const text = substitute(fs.readFileSync(path.join(CONF_DIR, 'solar.conf'), 'utf8'), [
      { from: '/etc/mosquitto/solar.passwd', to: passwd },
      // The ACL is used as shipped, from the repository.
      { from: '/etc/mosquitto/solar.acl', to: path.join(CONF_DIR, 'solar.acl') },
      { from: '/etc/mosquitto/certs/server.pem', to: pki.serverCert },
      { from: '/etc/mosquitto/certs/server.key', to: pki.serverKey },
      { from: '/etc/mosquitto/certs/ca.pem', to: pki.caFile },
      // The LAN listener binds every interface in the file; here only loopback.
      { from: 'listener 8883\n', to: `listener ${tlsPort} 127.0.0.1\n` },
      { from: 'listener 1883 127.0.0.1', to: `listener ${localPort} 127.0.0.1` },
    ]);
    broker = await ConfiguredMosquitto.start(text, [tlsPort, localPort]);

    // The MCU: readings out, and a reply to every command, as the firmware gives.
    mcu = await LineServer.start();
    mcu.respond((line, reply) => {
      const d = decodeLine(line);
      if (!d.ok || d.frame.type !== 'C') return;
      commandsSeenByMcu.push(line);
      reply(encodeReply({ id: d.frame.id, ok: 1 }) + '\n');
    });
    bridge = await BridgeProcess.create(
      ['--source', mcu.url, '--mqtt', tlsUrl(), '--mqtt-username', USERS.bridge, '--influx-url', '', '--device-id', DEVICE, '--spool', path.join(scratch, 'spool')],
      path.join(scratch, 'bridge.log'),
      // Secrets and the CA through the environment, as the systemd unit's env file gives them.
      // The MCU stand-in speaks only when a test makes it: no silence limit, or the bridge would reopen the link between tests.
      bundleEnv({ SOLAR_BRIDGE_MQTT_PASSWORD: PASSWORD[USERS.bridge], SOLAR_BRIDGE_MQTT_TLS_CA: pki.caFile, SOLAR_BRIDGE_SOURCE_IDLE_TIMEOUT_MS: '0' }),
      { kind: 'bundle', file: bridgeBundle(), nodeFlags: [] },
    );
    await bridge.start();
    await waitFor(() => mcu.clientCount > 0, { timeoutMs: 15000, what: 'the bridge to connect to the MCU', detail: () => bridge.output() });
    await waitFor(async () => metricValue(await bridge.metrics(), 'solar_bridge_sink_connected', 'sink="mqtt"') === 1,
      { timeoutMs: 15000, what: 'the bridge to log in to mosquitto over TLS', detail: () => bridge.output() + broker.logs() });
  });

  after(async () => {
    await bridge?.stop();
    await mcu?.close();
    await broker?.dispose();
    removeDir(scratch);
  });

  it('the bridge (password, TLS with the test CA) publishes state, availability and Home Assistant discovery', async () => {
    await mcu.send(readingLine(1) + '\n' + readingLine(2) + '\n');
    const reader = await MqttRecorder.connect(tlsUrl(), [`${BASE}/state`, `${BASE}/availability`], as(USERS.reader));
    const control = await MqttRecorder.connect(tlsUrl(), ['homeassistant/#'], as(USERS.control));
    try {
      await reader.waitFor('state seq 2 for the reader', () => reader.on(`${BASE}/state`).some((m) => (JSON.parse(m.payload) as { seq: number }).seq === 2));
      await reader.waitFor('availability online', () => reader.last(`${BASE}/availability`)?.payload === 'online');
      await control.waitFor('discovery configs', () => control.messages.some((m) => m.topic.endsWith('/config') && m.topic.includes(`solar_${DEVICE}`)));
    } finally {
      await reader.close();
      await control.close();
    }
  });

  it('the reader can read but not command: its command never reaches the bridge; the control user\'s does and is answered', async () => {
    const reader = await MqttRecorder.connect(tlsUrl(), [`${BASE}/command/reply`], as(USERS.reader));
    // A privileged watcher of the command topic (the control user may read solar/#).
    const watcher = await MqttRecorder.connect(tlsUrl(), [`${BASE}/command`, `${BASE}/command/reply`, `${BASE}/state`], as(USERS.control));
    const control = await MqttRecorder.connect(tlsUrl(), [], as(USERS.control));
    try {
      const before = await bridge.metrics();
      const commandsBefore = commandsSeenByMcu.length;
      // QoS 1: mosquitto acknowledges a denied publish and drops it, so the call succeeds.
      await reader.client.publishAsync(`${BASE}/command`, JSON.stringify({ cmd: 'force', mode: 'off', for: 3600, request_id: 'reader-1' }), { qos: 1 });
      await reader.client.publishAsync(`${BASE}/charger/mode/set`, 'off', { qos: 1 });
      await reader.client.publishAsync(`${BASE}/state`, '{"forged":true}', { qos: 1, retain: true });
      // Then the allowed command; its reply shows the path works, and gives the denied ones time to have arrived.
      await control.client.publishAsync(`${BASE}/command`, JSON.stringify({ cmd: 'status', request_id: 'control-1' }), { qos: 1 });
      await watcher.waitFor('the reply to the control user', () => watcher.on(`${BASE}/command/reply`).some((m) => m.payload.includes('"control-1"')));
      const reply = JSON.parse(watcher.on(`${BASE}/command/reply`).find((m) => m.payload.includes('"control-1"'))!.payload) as { ok: boolean; cmd: string };
      assert.equal(reply.ok, true);
      assert.equal(reply.cmd, 'status');
      await sleep(500);

      assert.deepEqual(watcher.on(`${BASE}/command`).map((m) => m.payload).filter((p) => p.includes('reader-1')), [], 'the broker delivered the reader\'s command');
      assert.ok(!watcher.messages.some((m) => m.payload.includes('forged')), 'the reader forged state');
      assert.ok(!reader.messages.some((m) => m.payload.includes('reader-1')), 'the reader got a reply');
      assert.equal(commandsSeenByMcu.length - commandsBefore, 1, `only the control user's command reached the MCU: ${commandsSeenByMcu.slice(commandsBefore).join(' | ')}`);
      const after = await bridge.metrics();
      const total = (m: Map<string, number>): number => [...m].filter(([k]) => k.startsWith('solar_bridge_commands_total')).reduce((s, [, v]) => s + v, 0);
      assert.equal(total(after) - total(before), 1, 'the bridge counted exactly one command');
      assert.equal(metricValue(after, 'solar_bridge_commands_total', 'result="ok"') - metricValue(before, 'solar_bridge_commands_total', 'result="ok"'), 1);
    } finally {
      await reader.close();
      await watcher.close();
      await control.close();
    }
  });

  it('refuses anonymous clients and wrong passwords on both listeners, and plain MQTT on the TLS port', async () => {
    const ca = fs.readFileSync(pki.caFile);
    assert.match(await connectOutcome(tlsUrl(), { ca }), /refused: 5 /, 'anonymous over TLS');
    assert.match(await connectOutcome(`mqtt://127.0.0.1:${localPort}`, {}), /refused: 5 /, 'anonymous on the local listener');
    assert.match(await connectOutcome(tlsUrl(), { ca, username: USERS.control, password: 'wrong' }), /refused: [45] /, 'wrong password');
    assert.notEqual(await connectOutcome(`mqtt://127.0.0.1:${tlsPort}`, { username: USERS.control, password: PASSWORD[USERS.control] }), 'connected', 'plain MQTT on the TLS port');
    // The positive control: the same users do get in.
    assert.equal(await connectOutcome(tlsUrl(), as(USERS.control)), 'connected');
    assert.equal(await connectOutcome(`mqtt://127.0.0.1:${localPort}`, { username: USERS.reader, password: PASSWORD[USERS.reader] }), 'connected');
  });
});
