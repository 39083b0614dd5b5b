/**
 * The page's HTTP side on the real bridge (in process, real sockets): content types and
 * caching of the built assets, every /api endpoint, and bad input: unknown paths 404,
 * wrong methods 405, huge headers 431, huge bodies 413, malformed JSON 400, a command
 * without the token 401/403, and /healthz still answering with 500 idle connections open.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import path from 'node:path';
import zlib from 'node:zlib';
import { decodeLine, encodeReading, encodeReply } from '../../protocol';
import type { Bridge } from '../../bridge/src';
import { startBridge } from '../bridge/helpers/bridge-harness';
import { LineServer, makeTempDir, removeDir, waitFor } from '../helpers/services';

const TOKEN = 'http-test-token';

function readingLine(seq: number): string {
  return encodeReading({
    seq, boot: 2, up: seq, bv: 12.5, ba: -1.25, bw: -15.6, lv: 12.4, la: 1.5, lw: 18.6, sv: 3.2, chg: 1, why: 'sun_down', mode: 'auto', flt: 0,
    bahi: 0, baho: 1, bwhi: 0, bwho: 12, lahi: 0, laho: 1, lwhi: 0, lwho: 12,
  }) + '\n';
}

/** One raw HTTP exchange, for requests fetch() will not send (huge headers, bad framing). */
function raw(port: number, request: string | Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let out = '';
    s.on('data', (d) => { out += d.toString('latin1'); });
    s.on('end', () => resolve(out));
    s.on('close', () => resolve(out));
    s.on('error', (e) => (out ? resolve(out) : reject(e)));
    s.end(request);
  });
}

describe('web page over HTTP: assets, API, and bad input', function () {
  this.timeout(120000);
  let dir: string;
  let mcu: LineServer;
  let bridge: Bridge;
  let base: string;
  let port: number;

  before(async () => {
    dir = makeTempDir('web-http');
    mcu = await LineServer.start();
    // A stand-in MCU that answers status commands as the firmware does.
    mcu.respond((line, reply) => {
      const d = decodeLine(line.trim());
      if (d.ok && d.frame.type === 'C' && d.frame.cmd === 'status') reply(encodeReply({ id: d.frame.id, ok: 1, data: { chg: 1, why: 'sun_down', mode: 'auto', left: 0, bad: 0 } }) + '\n');
    });
    ({ bridge } = await startBridge({
      'source.url': mcu.url, 'spool.dir': path.join(dir, 'spool'), 'http.listen': '127.0.0.1:0', 'web.token': TOKEN, 'mqtt.commands.timeout_ms': 300,
    }));
    port = bridge.healthPort();
    base = `http://127.0.0.1:${port}`;
    await waitFor(() => mcu.clientCount === 1, { timeoutMs: 10000, what: 'the bridge to connect' });
    for (let i = 1; i <= 5; i++) await mcu.send(readingLine(i));
    await waitFor(async () => ((await (await fetch(`${base}/api/state`)).json()) as { reading: { seq: number } | null }).reading?.seq === 5, { timeoutMs: 10000, what: 'the readings on /api/state' });
  });
  after(async () => {
    await bridge?.stop();
    await mcu?.close();
    removeDir(dir);
  });

  it('serves the page and its assets with their types, caching and compression', async () => {
    const page = await fetch(`${base}/`);
    assert.equal(page.status, 200);
    assert.equal(page.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.equal(page.headers.get('cache-control'), 'no-cache');
    const html = await page.text();
    assert.doesNotMatch(html, /https?:\/\//, 'nothing from outside');
    const js = /src="(\/assets\/app\.[0-9a-f]+\.js)"/.exec(html)![1];
    const css = /href="(\/assets\/app\.[0-9a-f]+\.css)"/.exec(html)![1];
    for (const [url, type] of [[js, 'text/javascript; charset=utf-8'], [css, 'text/css; charset=utf-8']]) {
      const r = await fetch(base + url, { headers: { 'accept-encoding': 'identity' } });
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('content-type'), type);
      assert.equal(r.headers.get('cache-control'), 'public, max-age=31536000, immutable');
      const body = Buffer.from(await r.arrayBuffer());
      const etag = r.headers.get('etag')!;
      assert.equal((await fetch(base + url, { headers: { 'if-none-match': etag } })).status, 304);
      // Compressed on request, to the same bytes.
      const gz = await raw(port, `GET ${url} HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n`);
      assert.match(gz, /content-encoding: gzip/i);
      const gzBody = Buffer.from(gz.slice(gz.indexOf('\r\n\r\n') + 4), 'latin1');
      assert.deepEqual(zlib.gunzipSync(gzBody), body);
      assert.ok(gzBody.length < body.length / 2);
    }
    assert.equal((await fetch(`${base}/healthz`)).status, 200, 'the health server still has its own routes');
    assert.match(await (await fetch(`${base}/metrics`)).text(), /solar_bridge_frames_total/);
  });

  it('answers state, chart, events and the live stream', async () => {
    const s = (await (await fetch(`${base}/api/state`)).json()) as { reading: { battery: { voltage: number }; charger: { reason: string; reason_words: string } }; controls: boolean; health: { source: { up: boolean } } };
    assert.equal(s.reading.battery.voltage, 12.5);
    assert.equal(s.reading.charger.reason_words, 'sun down');
    assert.equal(s.controls, true);
    assert.equal(s.health.source.up, true);
    const c = (await (await fetch(`${base}/api/chart?range=7d&width=500`)).json()) as { points: number; readings: number; columns: number; series: { bv: { min: number[] } } };
    assert.equal(c.columns, 500);
    assert.equal(c.readings, 5);
    assert.equal(c.points, 1, 'five readings a second apart share one 20-minute column');
    assert.deepEqual(c.series.bv.min, [12.5]);
    assert.ok(Array.isArray(((await (await fetch(`${base}/api/events`)).json()) as { events: unknown[] }).events));

    const ctl = new AbortController();
    const live = await fetch(`${base}/api/live`, { signal: ctl.signal });
    assert.equal(live.headers.get('content-type'), 'text/event-stream; charset=utf-8');
    const reader = live.body!.getReader();
    let text = '';
    const readUntil = async (re: RegExp): Promise<void> => {
      while (!re.test(text)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`stream ended: ${text}`);
        text += Buffer.from(value).toString('utf8');
      }
    };
    await readUntil(/event: hello\ndata: \{"instance"/);
    await mcu.send(readingLine(6));
    await readUntil(/event: state\ndata: .*"seq":6/);
    assert.match(text, /^retry: 1000\n/);
    ctl.abort();
  });

  it('refuses bad input with a clear status and keeps serving', async () => {
    for (const p of ['/nope', '/assets/app.0000.js', '/api/nope', '/index.html', '/assets/']) {
      assert.equal((await fetch(base + p)).status, 404, p);
    }
    assert.equal((await fetch(`${base}/`, { method: 'POST' })).status, 405);
    assert.equal((await fetch(`${base}/api/state`, { method: 'DELETE' })).status, 405);
    assert.equal((await fetch(`${base}/api/command`)).status, 405);
    assert.equal((await fetch(`${base}/api/chart?range=1y`)).status, 400);
    assert.equal((await fetch(`${base}/api/chart?width=1e9`)).status, 400);
    assert.match(await raw(port, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`), /^HTTP\/1\.1 431/);
    assert.match(await raw(port, 'GARBAGE\r\n\r\n'), /^HTTP\/1\.1 400/);

    const post = (body: string, headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` }): Promise<Response> =>
      fetch(`${base}/api/command`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
    assert.equal((await post('{"cmd":"status"}', {})).status, 401);
    assert.equal((await post('{"cmd":"status"}', { authorization: 'Bearer nope-nope' })).status, 401);
    const big = await post(`{"cmd":"status","request_id":"${'x'.repeat(10000)}"}`);
    assert.equal(big.status, 413);
    // Chunked, no length declared: cut off once past the limit.
    const chunked = await raw(port, `POST /api/command HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nTransfer-Encoding: chunked\r\n\r\n${'2000\r\n' + 'y'.repeat(0x2000) + '\r\n'}0\r\n\r\n`);
    assert.match(chunked, /^HTTP\/1\.1 413/);
    const bad = await post('{"cmd":');
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { detail: string }).detail, /not JSON/);
    const unknown = await post('{"cmd":"launch"}');
    assert.equal(unknown.status, 422);
    assert.equal(((await unknown.json()) as { error: string }).error, 'bad_value');

    // The same validated path as MQTT, to the MCU and back.
    const ok = await post('{"cmd":"status","request_id":"mine"}');
    assert.equal(ok.status, 200);
    const reply = (await ok.json()) as { ok: boolean; cmd: string; data: { why: string }; request_id: string };
    assert.equal(reply.ok, true);
    assert.equal(reply.data.why, 'sun_down');
    assert.equal(reply.request_id, 'mine', 'the request id comes back, as on MQTT');
    assert.match(mcu.receivedText(), /C,v=1,id=\d+,cmd=status/);
    // A command the stand-in MCU never answers: the router's timeout, as on MQTT.
    const silent = await post('{"cmd":"get"}');
    assert.equal(silent.status, 504);
    assert.equal(((await silent.json()) as { error: string }).error, 'timeout');
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
    // Counted by status on /metrics.
    const m = await (await fetch(`${base}/metrics`)).text();
    const count = (status: number): number => Number(new RegExp(`^solar_bridge_web_requests_total\\{status="${status}"\\} (\\d+)$`, 'm').exec(m)?.[1] ?? 0);
    assert.ok(count(404) >= 3, m); // the three under /assets/ and /api/; the others are the health server's
    assert.ok(count(401) >= 2 && count(413) >= 1 && count(400) >= 3 && count(200) >= 1, m);
  });

  it('500 idle connections (and half-sent requests) do not stop /healthz', async () => {
    const sockets: net.Socket[] = [];
    try {
      for (let i = 0; i < 500; i++) {
        const s = net.connect(port, '127.0.0.1');
        s.on('error', () => undefined);
        if (i % 2 === 1) s.write('GET /api/state HTTP/1.1\r\nHost: x\r\n'); // headers never finished
        sockets.push(s);
      }
      await Promise.all(sockets.map((s) => new Promise<void>((resolve) => (s.readyState === 'open' ? resolve() : s.once('connect', () => resolve())))));
      const t0 = Date.now();
      const h = await fetch(`${base}/healthz`);
      assert.equal(h.status, 200);
      assert.ok(Date.now() - t0 < 2000, `/healthz took ${Date.now() - t0} ms`);
      assert.equal((await fetch(`${base}/`)).status, 200);
    } finally {
      for (const s of sockets) s.destroy();
    }
  });
});
