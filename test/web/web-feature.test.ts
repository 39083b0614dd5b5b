/**
 * The page as a feature on the real bridge (in process, real sockets, a real mosquitto):
 * the values another feature derives (the battery estimator's, the NUT server's) reach
 * /api/state, the live stream and the SoC chart; and the week the page asks the spool to
 * keep outlives delivery to MQTT and a restart, so the charts come back at once.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { encodeReading } from '../../protocol';
import { BATTERY_KEYS, Bridge, FEATURES, FeatureDefinition, webFeature } from '../../bridge/src';
import { LogCapture, configFrom, repoRoot } from '../bridge/helpers/bridge-harness';
import { LineServer, MosquittoService, makeTempDir, removeDir, waitFor } from '../helpers/services';
import { launchChromium } from './helpers/browser';

function readingLine(seq: number, ba = -1.25): string {
  return encodeReading({
    seq, boot: 2, up: seq, bv: 12.5, ba, bw: -15.6, lv: 12.4, la: 1.5, lw: 18.6, sv: 3.2, chg: 1, why: 'sun_down', mode: 'auto', flt: 0,
    bahi: 0, baho: 1, bwhi: 0, bwho: 12, lahi: 0, laho: 1, lwhi: 0, lwho: 12,
  }) + '\n';
}

/**
 * Stands in for the battery estimator and the NUT server: declares their values and sets
 * them from each reading, as those features do (the page must not know which one runs).
 */
const fakeEstimator: FeatureDefinition = {
  name: 'fakebattery',
  enabled: () => true,
  create(core) {
    let off = (): void => undefined;
    return {
      start() {
        core.derived.declare('fakebattery', [...BATTERY_KEYS, 'nut_clients'].map((key) => ({ key, label: key })));
        off = core.onFrame((rec) => {
          if (rec.frame.type !== 'R') return;
          const seq = rec.frame.seq;
          const discharging = (rec.frame.ba ?? 0) < 0;
          core.derived.set(rec.ts, {
            battery_soc: 90 - seq, battery_soc_uncertainty: 4, battery_time_to_go_s: discharging ? 7200 : null,
            battery_time_to_go_state: discharging ? 'discharging' : 'charging', battery_runtime_alone_s: 36000, battery_health: 97,
            night_lasts: false, night_margin_ah: -3.5, nut_clients: 2,
          });
        });
      },
      stop() { off(); },
    };
  },
};

describe('web page as a feature: derived values, kept history', function () {
  this.timeout(60000);
  let broker: MosquittoService;
  let mcu: LineServer;
  let dir: string;
  let bridge: Bridge | null = null;

  before(async () => { broker = await MosquittoService.start(); });
  after(async () => { await broker.dispose(); });
  beforeEach(async () => {
    dir = makeTempDir('web-feature');
    mcu = await LineServer.start();
  });
  afterEach(async () => {
    await bridge?.stop();
    bridge = null;
    await mcu.close();
    removeDir(dir);
  });

  async function start(features: readonly FeatureDefinition[], settings: { [key: string]: string | number } = {}): Promise<string> {
    const config = configFrom({
      'source.url': mcu.url, 'spool.dir': path.join(dir, 'spool'), 'http.listen': '127.0.0.1:0', device_id: 'wf', 'mqtt.commands.timeout_ms': 300, ...settings,
    });
    bridge = new Bridge({ config, log: new LogCapture().logger, version: 'test', features });
    await bridge.start();
    await waitFor(() => mcu.clientCount === 1, { timeoutMs: 10000, what: 'the bridge to connect' });
    return `http://127.0.0.1:${bridge.healthPort()}`;
  }

  it("shows the estimator's and NUT server's values, live and in the SoC chart; none without them", async () => {
    let base = await start([webFeature, fakeEstimator]);
    const ctl = new AbortController();
    const live = await fetch(`${base}/api/live`, { signal: ctl.signal });
    const reader = live.body!.getReader();
    let text = '';
    for (let i = 1; i <= 3; i++) await mcu.send(readingLine(i));
    while (!/"battery":\{[^}]*"battery_soc":87/.test(text)) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`stream ended: ${text}`);
      text += Buffer.from(value).toString('utf8');
    }
    ctl.abort();
    type State = { battery: { [k: string]: unknown } | null; nut_clients: number | null };
    const s = (await (await fetch(`${base}/api/state`)).json()) as State;
    assert.deepEqual(s.battery, {
      battery_soc: 87, battery_soc_uncertainty: 4, battery_time_to_go_s: 7200, battery_time_to_go_state: 'discharging', battery_runtime_alone_s: 36000,
      battery_health: 97, night_lasts: false, night_margin_ah: -3.5,
    });
    assert.equal(s.nut_clients, 2);
    await mcu.send(readingLine(4, 2.5));
    await waitFor(async () => ((await (await fetch(`${base}/api/state`)).json()) as State).battery?.battery_time_to_go_state === 'charging', { timeoutMs: 5000, what: 'charging' });
    assert.equal(((await (await fetch(`${base}/api/state`)).json()) as State).battery?.battery_time_to_go_s, null, 'no time to go while charging');
    const c = (await (await fetch(`${base}/api/chart?range=24h&width=100`)).json()) as { readings: number; series: { soc?: { min: number[]; max: number[] } } };
    assert.equal(c.readings, 4);
    assert.deepEqual([Math.min(...c.series.soc!.min), Math.max(...c.series.soc!.max)], [86, 89], 'the SoC the estimator gave each reading');

    // In the browser: the battery card's lines and the SoC chart.
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      await page.goto(base + '/');
      await page.waitForFunction('document.querySelector(\'[data-field="soc"]\')?.textContent === "86"');
      const text = async (f: string): Promise<string> => (await page.textContent(`[data-field="${f}"]`)) ?? '';
      assert.equal(await text('soc-uncertainty'), ' ± 4');
      assert.equal(await text('time-to-go'), 'charging');
      assert.equal(await text('runtime-alone'), '10 h 0 min');
      assert.equal(await text('battery-health'), '97');
      assert.equal(await text('night'), 'runs out (3.5 Ah short)');
      assert.equal(await text('nut'), '2');
      assert.ok(await page.isVisible('#chart-soc'), 'the SoC chart shows');
      const shots = path.join(repoRoot, 'out', 'web-screenshots');
      fs.mkdirSync(shots, { recursive: true });
      await page.screenshot({ path: path.join(shots, 'desktop-battery.png'), fullPage: true });
    } finally {
      await browser.close();
    }

    // Without an estimator or NUT server: no battery figures, no SoC series.
    await bridge!.stop();
    bridge = null;
    base = await start([webFeature]);
    const bare = (await (await fetch(`${base}/api/state`)).json()) as State;
    assert.equal(bare.battery, null);
    assert.equal(bare.nut_clients, null);
    const c2 = (await (await fetch(`${base}/api/chart?range=24h&width=100`)).json()) as { readings: number; series: { soc?: unknown } };
    assert.equal(c2.readings, 4, 'the readings come back from the spool');
    assert.equal(c2.series.soc, undefined, 'derived values are not spooled');
  });

  it('keeps delivered segments for the charts (and only with the page on), so a restart charts them at once', async () => {
    // The battery feature keeps its own history for --battery-rebuild: off here, so what is kept is the page's.
    const settings = { 'mqtt.url': broker.url, 'spool.segment_bytes': 65536, 'spool.max_bytes': 16 * 1024 * 1024, 'battery.history_days': 0 };
    const segments = async (base: string): Promise<number> => ((await (await fetch(`${base}/healthz`)).json()) as { spool: { segments: number } }).spool.segments;
    const pending = async (base: string): Promise<number> => ((await (await fetch(`${base}/healthz`)).json()) as { sinks: { mqtt: { pending_records: number } } }).sinks.mqtt.pending_records;
    let base = await start(FEATURES, settings);
    const n = 1200;
    for (let i = 1; i <= n; i++) await mcu.send(readingLine(i));
    await waitFor(async () => (await pending(base)) === 0 && ((await (await fetch(`${base}/api/state`)).json()) as { reading: { seq: number } | null }).reading?.seq === n, { timeoutMs: 20000, what: 'MQTT to confirm every reading' });
    // Deletion happens on the spool's one-second tick: give it two.
    await new Promise((r) => setTimeout(r, 2500));
    const kept = await segments(base);
    assert.ok(kept >= 4, `${n} readings of ~300 bytes in 64 KB segments, all delivered, still in ${kept} segments`);

    await bridge!.stop();
    bridge = null;
    base = await start(FEATURES, settings);
    const c = (await (await fetch(`${base}/api/chart?range=24h&width=100`)).json()) as { readings: number };
    assert.equal(c.readings, n, 'the restarted page charts what was delivered before');

    // The same with the page off: delivery alone deletes them.
    await bridge!.stop();
    bridge = null;
    base = await start(FEATURES, { ...settings, 'web.enabled': 'false' });
    for (let i = n + 1; i <= n + 10; i++) await mcu.send(readingLine(i));
    await waitFor(async () => (await pending(base)) === 0 && (await segments(base)) <= 2, { timeoutMs: 20000, what: 'delivered segments deleted without the page' });
  });
});
