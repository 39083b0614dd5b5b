/**
 * Bad input through a real TCP source: over 100,000 random and mutated lines with valid
 * readings interleaved. The bridge must stay up, count every line by what it is (the
 * counts are checked against the protocol's own splitter and decoder run on the same
 * bytes), keep its log quiet (rate-limited), and deliver every valid reading to MQTT.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { LineSplitter, MAX_LINE_LENGTH, crc32, decodeLine, encodeCommand, encodeReply } from '../../protocol';
import { Bridge } from '../../bridge/src';
import { LineServer, MosquittoService, makeTempDir, removeDir, waitFor } from '../helpers/services';
import { LogCapture, metricValue, parseMetrics, startBridge } from './helpers/bridge-harness';
import { readingLine } from './helpers/frames';
import { MqttRecorder } from './helpers/mqtt-recorder';
import { seededRandom } from '../../simulator/random';

const LINES = 110000;

/** Seeded, so a failure can be replayed with the printed seed. */
const prng = seededRandom;

function seal(body: string): string {
  return '$' + body + '*' + crc32(body).toString(16).toUpperCase().padStart(8, '0');
}

function makeFuzz(seed: number): { text: string; goodSeqs: number[] } {
  const rnd = prng(seed);
  const int = (n: number): number => Math.floor(rnd() * n);
  const pick = <T>(xs: T[]): T => xs[int(xs.length)];
  const printable = (n: number): string => { let s = ''; for (let i = 0; i < n; i++) s += String.fromCharCode(32 + int(95)); return s; };
  const bytes = (n: number): string => { let s = ''; for (let i = 0; i < n; i++) { const c = int(256); s += String.fromCharCode(c === 10 ? 11 : c); } return s; };
  const keys = ['seq', 'boot', 'up', 'bv', 'ba', 'bw', 'chg', 'why', 'mode', 'flt', 'id', 'ok', 'err', 'kind', 'cmd', 'X', 'bahi', '9x', ''];
  const values = ['1', '-1', '0.5', '-', '', 'abc', '1e3', 'NaN', 'sun_down', 'FFFF', '0001', '4294967296', '12.734', 'auto', '$', '*'];
  const lines: string[] = [];
  const goodSeqs: number[] = [];
  let seq = 0;
  for (let i = 0; i < LINES; i++) {
    const kind = i % 40 === 0 ? -1 : int(9);
    let line: string;
    switch (kind) {
      case -1: // a valid reading the sinks must get
        seq++;
        goodSeqs.push(seq);
        line = readingLine(seq, 7);
        break;
      case 0: { // a valid frame of another boot, mutated: flip, drop, insert, truncate, lowercase CRC
        const v = readingLine(1 + int(100000), 9);
        const at = int(v.length);
        const m = int(5);
        line = m === 0 ? v.slice(0, at) + String.fromCharCode(v.charCodeAt(at) ^ (1 << int(7))) + v.slice(at + 1)
          : m === 1 ? v.slice(0, at) + v.slice(at + 1)
          : m === 2 ? v.slice(0, at) + printable(1) + v.slice(at)
          : m === 3 ? v.slice(0, at)
          : v.slice(0, -8) + v.slice(-8).toLowerCase();
        break;
      }
      case 1: line = printable(int(700)); break;
      case 2: line = bytes(int(300)); break;
      case 3: { // CRC-valid garbage, so the checks after the CRC run too
        let body = pick(['R', 'E', 'A', 'C', 'X', 'r', '']) + ',' + pick(['v=1', 'v=1', 'v=2', 'v=', 'x=1', 'v=1.0']);
        const n = int(12);
        for (let k = 0; k < n; k++) body += ',' + pick(keys) + (rnd() < 0.9 ? '=' : '') + pick(values);
        line = seal(body);
        break;
      }
      case 4: line = pick(['>', '=undefined', 'Uncaught Error: Field or method "x" does not already exist', '', '   ', '\r', ' ____                 _ ']); break;
      case 5: line = '> ' + readingLine(1 + int(100000), 9); break; // prompt before a frame: still a frame
      case 6: line = encodeReply({ id: 1 + int(1000), ok: 1 }); break; // a reply nobody waits for
      case 7: line = encodeCommand({ id: 1 + int(1000), cmd: 'status' }); break; // an echoed command
      default: line = printable(500 + int(100)) + '$R,v=1'; break; // overlong or truncated
    }
    lines.push(line);
  }
  return { text: lines.join('\n') + '\n', goodSeqs };
}

/** What the bridge should count, from the protocol's own splitter and decoder. */
function expectedCounts(text: string): { frames: Map<string, number>; rejected: Map<string, number>; lines: number } {
  const frames = new Map<string, number>();
  const rejected = new Map<string, number>();
  let lines = 0;
  const bump = (m: Map<string, number>, k: string): void => { m.set(k, (m.get(k) ?? 0) + 1); };
  const splitter = new LineSplitter(MAX_LINE_LENGTH, (l) => {
    lines++;
    const d = decodeLine(l);
    if (!d.ok) bump(rejected, d.reason);
    else if (d.frame.type === 'C') bump(rejected, 'echoed_command');
    else bump(frames, d.frame.type);
  }, () => { lines++; bump(rejected, 'too_long'); });
  splitter.push(text);
  return { frames, rejected, lines };
}

describe('bridge fuzz: random and mutated lines through a real TCP source', function () {
  this.timeout(180000);
  let broker: MosquittoService;
  let mcu: LineServer;
  let dir: string;
  let bridge: Bridge | null = null;
  let rec: MqttRecorder | null = null;

  before(async () => {
    broker = await MosquittoService.start();
    mcu = await LineServer.start();
    dir = makeTempDir('fuzz');
  });
  after(async () => {
    await bridge?.stop();
    await rec?.close();
    await mcu.close();
    await broker.dispose();
    removeDir(dir);
  });

  it(`stays up through ${LINES} lines, counts each by kind, and delivers every valid reading`, async () => {
    const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 1000000);
    const { text, goodSeqs } = makeFuzz(seed);
    const want = expectedCounts(text);
    assert.ok(want.lines >= 100000, `${want.lines} lines`);

    rec = await MqttRecorder.connect(broker.url, ['solar/fz/readings']);
    const seen = new Set<number>();
    rec.client.on('message', (_t, p) => { for (const s of JSON.parse(p.toString()) as Array<{ frame: { seq: number; boot: number } }>) if (s.frame.boot === 7) seen.add(s.frame.seq); });
    const log = new LogCapture('info');
    const r = await startBridge({ 'source.url': mcu.url, 'mqtt.url': broker.url, device_id: 'fz', 'spool.dir': path.join(dir, 'spool'), 'http.listen': '127.0.0.1:0' }, log);
    bridge = r.bridge;
    await waitFor(() => mcu.clientCount === 1, { timeoutMs: 10000, what: 'source connection' });

    // In uneven chunks, so lines are split across TCP reads.
    const rnd = prng(seed + 1);
    for (let i = 0; i < text.length;) {
      const n = 1 + Math.floor(rnd() * 65536);
      await mcu.send(text.slice(i, i + n));
      i += n;
    }

    const counted = (): number => {
      const m = parseMetrics(bridge!.metrics.registry.render());
      let n = 0;
      for (const [k, v] of m) if (k.startsWith('solar_bridge_frames_total{') || k.startsWith('solar_bridge_lines_rejected_total{')) n += v;
      return n;
    };
    await waitFor(() => counted() === want.lines, { timeoutMs: 60000, what: `the bridge to count all ${want.lines} lines (seed ${seed})`, detail: () => `counted ${counted()}; want ${JSON.stringify([...want.rejected, ...want.frames])}; got ${[...parseMetrics(bridge!.metrics.registry.render())].filter(([k]) => k.includes('frames_total') || k.includes('rejected')).join(' ')}` });
    const m = parseMetrics(bridge.metrics.registry.render());
    for (const [reason, n] of want.rejected) assert.equal(metricValue(m, 'solar_bridge_lines_rejected_total', `reason="${reason}"`), n, `rejected ${reason} (seed ${seed})`);
    for (const [type, n] of want.frames) assert.equal(metricValue(m, 'solar_bridge_frames_total', `type="${type}"`), n, `frames ${type} (seed ${seed})`);

    await waitFor(() => goodSeqs.every((s) => seen.has(s)), { timeoutMs: 60000, what: `all ${goodSeqs.length} valid readings on MQTT (seed ${seed})`, detail: () => `have ${seen.size}` });

    const health = await fetch(`http://127.0.0.1:${bridge.healthPort()}/healthz`);
    assert.equal(health.status, 200, 'still healthy: source up, broker connected');
    assert.ok(mcu.clientCount === 1 && mcu.connectionCount === 1, 'bad input never dropped the connection');
    const warnings = log.lines.filter((l) => l.includes('rejected line')).length;
    assert.ok(warnings > 0 && warnings < 200, `bad lines are logged, rate-limited per kind (${warnings} lines for ${want.lines - goodSeqs.length} bad)`);
    assert.match(log.text(), /rejected line: (CRC is [0-9A-F]{8} but the frame gives [0-9A-F]{8}|CRC must be 8 uppercase hex digits) reason=bad_crc line_no=\d+ line=/, 'a bad line is logged with what was wrong and where');
  });
});
