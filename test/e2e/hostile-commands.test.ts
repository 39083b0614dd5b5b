/**
 * Hostile commands against the bridge as a real process, through a real mosquitto and
 * the web page's token-gated HTTP path, with an MCU stand-in on TCP that answers every
 * command frame it gets (as the firmware would, console included) and sends a reading
 * every 200 ms:
 * - commands that hand the MCU's console away (and flash-, eval- or reset-like names)
 *   are refused with a reason on the reply topic and in the log, and never reach the MCU;
 * - a flood of 5,000 commands is answered once each while the log stays bounded;
 * - every reading sent meanwhile reaches MQTT exactly once.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import mqtt from 'mqtt';
import { decodeLine, encodeReply } from '../../protocol';
import type { SpooledFrame } from '../../bridge/src';
import { BridgeProcess, metricValue } from '../bridge/helpers/bridge-harness';
import { readingLine } from '../bridge/helpers/frames';
import { MqttRecorder } from '../bridge/helpers/mqtt-recorder';
import { LineServer, MosquittoService, makeTempDir, removeDir, sleep, waitFor } from '../helpers/services';

interface Reply { request_id?: string; ok: boolean; cmd?: string; error?: string; detail?: string }

const DEVICE = 'hostile';
const BASE = `solar/${DEVICE}`;
const TOKEN = 'test-token-0123456789';
const HANDOVER = /never forwarded from the network: it hands the MCU's console to whoever holds its port.*npm run flash/;

/** The bridge's log lines from its command path. */
function commandLines(output: string): string[] {
  return output.split('\n').filter((l) => / commands: /.test(l));
}

describe('end to end: hostile commands over MQTT and HTTP', function () {
  this.timeout(180000);
  let dir: string;
  let broker: MosquittoService;
  let mcu: LineServer;
  let bridge: BridgeProcess;
  let client: mqtt.MqttClient;
  let readings: MqttRecorder;
  let talk: NodeJS.Timeout;
  let seq = 0;
  const replies = new Map<string, Reply[]>();
  const unmatched: Reply[] = [];
  const mcuCommands: string[] = [];

  before(async () => {
    dir = makeTempDir('e2e-hostile');
    broker = await MosquittoService.start();
    mcu = await LineServer.start();
    mcu.respond((line, reply) => {
      const d = decodeLine(line);
      if (!d.ok || d.frame.type !== 'C') return;
      mcuCommands.push(line);
      reply(encodeReply({ id: d.frame.id, ok: 1 }) + '\n');
    });
    talk = setInterval(() => { if (mcu.clientCount > 0) void mcu.send(readingLine(++seq) + '\n'); }, 200);
    readings = await MqttRecorder.connect(broker.url, [`${BASE}/readings`]);
    bridge = await BridgeProcess.create(['--source', mcu.url, '--mqtt', broker.url, '--device-id', DEVICE, '--spool', path.join(dir, 'spool')],
      path.join(dir, 'bridge.log'), { SOLAR_BRIDGE_WEB_TOKEN: TOKEN, SOLAR_BRIDGE_MQTT_COMMANDS_TIMEOUT_MS: '5000' });
    await bridge.start();
    await waitFor(() => mcu.clientCount === 1, { timeoutMs: 15000, what: 'the bridge to connect to the MCU' });
    client = mqtt.connect(broker.url, { clientId: 'hostile-commander', reconnectPeriod: 200 });
    const c = client;
    await new Promise<void>((resolve) => c.once('connect', () => resolve()));
    c.on('message', (_t, p) => {
      const r = JSON.parse(p.toString()) as Reply;
      if (typeof r.request_id === 'string') replies.set(r.request_id, [...(replies.get(r.request_id) ?? []), r]);
      else unmatched.push(r);
    });
    await c.subscribeAsync(`${BASE}/command/reply`, { qos: 1 });
    await waitFor(async () => metricValue(await bridge.metrics(), 'solar_bridge_frames_total', 'type="R"') >= 3, { timeoutMs: 15000, what: 'readings flowing' });
  });

  after(async () => {
    clearInterval(talk);
    client?.end(true);
    await readings?.close();
    await bridge?.stop();
    await mcu?.close();
    await broker?.dispose();
    removeDir(dir);
  });

  it('console and flash-like commands are refused with a reason on the reply topic and in the log, and never reach the MCU', async () => {
    const cases: Array<[payload: string, error: string, detail: RegExp]> = [
      ['{"cmd":"console","request_id":"h1"}', 'forbidden', HANDOVER],
      ['{"request_id":"h2","cmd":"console","mode":"on","for":5}', 'forbidden', HANDOVER],
      ['{"request_id":"h3","cmd":"console","id":77}', 'forbidden', HANDOVER],
      ['{"request_id":"h4","cmd":"\\u0063onsole"}', 'forbidden', HANDOVER],
      ['{"request_id":"h5","cmd":"status","cmd":"console"}', 'forbidden', HANDOVER],
      ['{"request_id":"h6","cmd":"CONSOLE"}', 'bad_value', /cmd/],
      ['{"request_id":"h7","cmd":" console"}', 'bad_value', /cmd/],
      ['{"request_id":"h8","cmd":"console\\n"}', 'bad_value', /cmd/],
      ['{"request_id":"h9","cmd":["console"]}', 'bad_value', /cmd must be a string or a number, got object/],
      ['{"request_id":"h10","cmd":"flash"}', 'bad_value', /cmd/],
      ['{"request_id":"h11","cmd":"upload","code":"E.setConsole(USB)"}', 'bad_value', /cmd/],
      ['{"request_id":"h12","cmd":"eval","js":"reset(true)"}', 'bad_value', /cmd/],
      ['{"request_id":"h13","cmd":"reset"}', 'bad_value', /cmd/],
      ['{"request_id":"h14","cmd":"status\\r\\n$C,v=1,id=1,cmd=console*00000000"}', 'bad_value', /cmd/],
      ['{"request_id":"h15","cmd":"status","js":"E.setConsole(LoopbackA)"}', 'bad_value', /status does not take/],
      ['{"request_id":"h16","__proto__":{"cmd":"console"}}', 'bad_value', /__proto__ must be a string or a number/],
      ['{"request_id":"h17","cmd":"set","period":3600}', 'forbidden', /period 3600 s is more than half of source\.idle_timeout_ms \(10000 ms\)/],
    ];
    for (const [payload] of cases) await client.publishAsync(`${BASE}/command`, payload, { qos: 1 });
    // Payloads without a usable request_id: answered too (counted in `unmatched`).
    const anonymous = ['console', '{"cmd":"console"}{"cmd":"console"}', '[{"cmd":"console"}]', '{"cmd":"console","request_id":{"x":1}}'];
    for (const p of anonymous) await client.publishAsync(`${BASE}/command`, p, { qos: 1 });
    const ids = cases.map((_, i) => `h${i + 1}`);
    await waitFor(() => ids.every((id) => replies.has(id)) && unmatched.length >= anonymous.length, {
      timeoutMs: 15000, what: 'a reply to every hostile command', detail: () => `${[...replies.keys()].join(',')} + ${unmatched.length}\n${bridge.output().slice(-2000)}`,
    });
    cases.forEach(([payload, error, detail], i) => {
      const got = replies.get(`h${i + 1}`)!;
      assert.equal(got.length, 1, `${payload}: answered once`);
      assert.equal(got[0].ok, false, `${payload}: ${JSON.stringify(got[0])}`);
      assert.equal(got[0].error, error, `${payload}: ${JSON.stringify(got[0])}`);
      assert.match(got[0].detail ?? '', detail, `${payload}: ${JSON.stringify(got[0])}`);
    });
    assert.deepEqual(unmatched.map((r) => [r.ok, r.error]), [[false, 'invalid'], [false, 'invalid'], [false, 'invalid'], [false, 'invalid']]);

    // The HTTP path (the page's API, with the token) refuses it the same way.
    const http = await fetch(`http://127.0.0.1:${bridge.httpPort}/api/command`, {
      method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: '{"cmd":"console","request_id":"web-1"}',
    });
    assert.equal(http.status, 422);
    const body = (await http.json()) as Reply;
    assert.equal(body.error, 'forbidden');
    assert.match(body.detail ?? '', HANDOVER);

    // The MCU never saw a console command, and still answers: a plain status goes through.
    assert.ok(!mcuCommands.some((l) => /cmd=console/.test(l)), mcuCommands.join('\n'));
    // The web page itself asks for the settings (`get`) now and then; nothing else may have passed.
    const notPoll = (): string[] => mcuCommands.filter((l) => !/,cmd=get\*/.test(l));
    assert.deepEqual(notPoll(), [], 'nothing hostile reached the MCU');
    await client.publishAsync(`${BASE}/command`, '{"cmd":"status","request_id":"ok-1"}', { qos: 1 });
    await waitFor(() => replies.has('ok-1'), { timeoutMs: 10000, what: 'the status reply' });
    assert.equal(replies.get('ok-1')![0].ok, true);
    assert.equal(notPoll().length, 1);
    assert.match(notPoll()[0], /,cmd=status\*/);

    // The log: which command, from where, why.
    const log = commandLines(bridge.output()).join('\n');
    assert.match(log, /WARN  commands: refused command console from mqtt: forbidden: console is never forwarded.* from=mqtt .*request_id=h1/);
    assert.match(log, /WARN  commands: refused command CONSOLE from mqtt: bad_value: field cmd: CONSOLE is not one of/);
    assert.match(log, /WARN  commands: refused command set from mqtt: forbidden: period 3600 s/);
    assert.match(log, /WARN  commands: refused command console from web: forbidden: /);
    assert.match(log, /WARN  commands: refused command \(none\) from mqtt: invalid: payload is not JSON.* payload=console/);
    assert.match(log, /INFO  commands: command status from mqtt: ok/);
    const m = await bridge.metrics();
    assert.equal(metricValue(m, 'solar_bridge_commands_total', 'result="forbidden"'), 7);
    // The other unknown names (flash, upload, eval, reset...) share one kind: held back, then
    // summed up in one line when the 10 s window ends.
    await waitFor(() => /refused command \S+ from mqtt: bad_value: .*\(latest of \d+ like it in 10 s, not logged one by one\).*kind=command:mqtt:other:invalid:bad_value suppressed=\d+/.test(commandLines(bridge.output()).join('\n')),
      { timeoutMs: 15000, what: 'the summary line of the refused unknown commands', detail: () => commandLines(bridge.output()).join('\n') });
  });

  it('a flood of 5,000 commands (console and status) is answered once each; the log stays bounded; readings keep flowing exactly once', async () => {
    const linesBefore = commandLines(bridge.output()).length;
    const seqBefore = seq;
    const N = 5000;
    const ids: string[] = [];
    const sends: Array<Promise<unknown>> = [];
    for (let i = 0; i < N; i++) {
      const id = `f${i}`;
      ids.push(id);
      const payload = i % 2 === 0 ? `{"cmd":"console","request_id":"${id}"}` : `{"cmd":"status","request_id":"${id}"}`;
      sends.push(client.publishAsync(`${BASE}/command`, payload, { qos: 1 }));
    }
    await Promise.all(sends);
    await waitFor(() => ids.every((id) => replies.has(id)), {
      timeoutMs: 90000, what: 'a reply to each of the 5,000 commands', detail: () => `${ids.filter((id) => replies.has(id)).length} answered\n${bridge.output().slice(-1500)}`,
    });
    await sleep(1000);
    const twice = ids.filter((id) => replies.get(id)!.length !== 1);
    assert.deepEqual(twice, [], 'commands answered more than once');
    for (let i = 0; i < N; i += 2) assert.equal(replies.get(`f${i}`)![0].error, 'forbidden');
    const statuses = ids.filter((_, i) => i % 2 === 1).map((id) => replies.get(id)![0]);
    assert.ok(statuses.every((r) => r.ok || r.error === 'busy' || r.error === 'timeout'), JSON.stringify(statuses.find((r) => !(r.ok || r.error === 'busy'))));
    assert.ok(statuses.some((r) => r.ok), 'some status commands went through');
    assert.ok(!mcuCommands.some((l) => /cmd=console/.test(l)), 'no console command reached the MCU');

    // Rate-limited: a handful of kinds, one line each per 10 s plus a summary each.
    const floodLines = commandLines(bridge.output()).slice(linesBefore);
    assert.ok(floodLines.length <= 40, `${floodLines.length} command log lines for ${N} commands:\n${floodLines.slice(0, 50).join('\n')}`);
    await waitFor(() => commandLines(bridge.output()).slice(linesBefore).some((l) => /refused command console from mqtt: forbidden: .*\(latest of \d+ like it in 10 s, not logged one by one\).*suppressed=\d+/.test(l)),
      { timeoutMs: 15000, what: 'the summary of the suppressed refusals', detail: () => commandLines(bridge.output()).slice(linesBefore).join('\n') });
    const suppressed = commandLines(bridge.output()).slice(linesBefore)
      .filter((l) => /refused command console from mqtt/.test(l))
      .reduce((sum, l) => sum + Number(/suppressed=(\d+)/.exec(l)?.[1] ?? 1), 0);
    assert.ok(suppressed >= N / 2 - 5, `the refusal lines stand for ${suppressed} of ${N / 2} console commands`);

    // Readings went on meanwhile, each delivered once.
    await waitFor(() => seq >= seqBefore + 10, { timeoutMs: 10000, what: 'readings during and after the flood' });
    const last = seq;
    await readings.waitFor(`reading ${last} on MQTT`, () => readings.readings(`${BASE}/readings`).some((r: SpooledFrame) => (r.frame as { seq: number }).seq === last));
    const seqs = readings.readings(`${BASE}/readings`).map((r: SpooledFrame) => (r.frame as { seq: number }).seq).filter((s) => s <= last);
    const counts = new Map<number, number>();
    for (const s of seqs) counts.set(s, (counts.get(s) ?? 0) + 1);
    const firstSeen = Math.min(...seqs);
    assert.ok(firstSeen <= 3, `readings from the start: first ${firstSeen}`);
    for (let s = firstSeen; s <= last; s++) assert.equal(counts.get(s), 1, `reading ${s} delivered ${counts.get(s) ?? 0} times`);
  });
});
