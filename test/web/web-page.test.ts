/**
 * The web page in a real headless Chromium against the real bridge process, fed by the
 * simulated plant and MCU (firmware bundle), publishing to a real mosquitto:
 *   - the page shows what the MQTT state topic says (battery V, charger state and reason);
 *   - a new reading reaches the page within 2 s, without a reload;
 *   - the 24 h chart has one point per pixel column holding readings, counted here from
 *     every reading MQTT delivered;
 *   - no token: no controls, and the command endpoint refuses;
 *   - the bridge SIGKILLed and started again: the page says it is reconnecting, then is live;
 *   - with a token: a threshold change made on the page reaches the MCU (asked back over
 *     MQTT) and the page shows the MCU's reply and the change in its events;
 *   - screenshots at phone and desktop width in out/web-screenshots/.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import mqtt from 'mqtt';
import type { Browser, Page } from 'playwright-core';
import { reasonWords } from '../../bridge/src';
import { BridgeProcess, repoRoot } from '../bridge/helpers/bridge-harness';
import { MosquittoService, makeTempDir, removeDir, waitFor } from '../helpers/services';
import { launchChromium } from './helpers/browser';
import { PacedSim } from './helpers/paced-sim';

interface StateMsg { timestamp_ms: number; battery: { voltage: number }; charger: { state: string; reason: string } }
interface Reply { request_id?: string; ok: boolean; data?: { [k: string]: number | string | null } }

export const SCREENSHOT_DIR = path.join(repoRoot, 'out', 'web-screenshots');
const TOKEN = 'test-token-5f2c9a';

describe('web page in headless Chromium: bridge fed by the simulator, MQTT to mosquitto', function () {
  this.timeout(300000);
  let dir: string;
  let broker: MosquittoService;
  let sim: PacedSim;
  let bridge: BridgeProcess | null = null;
  let client: mqtt.MqttClient;
  let browser: Browser;
  const states: StateMsg[] = [];
  const readingTimes = new Set<number>();
  const replies: Reply[] = [];

  const bridgeArgs = (): string[] => ['--source', sim.endpoint.address, '--mqtt', broker.url, '--device-id', 'web', '--spool', path.join(dir, 'spool')];

  before(async () => {
    dir = makeTempDir('web-page');
    fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
    broker = await MosquittoService.start();
    // 04:00 site time: night (charger ON, sun down), then sunrise during the fast-forward.
    sim = await PacedSim.start(4, 30);
    client = mqtt.connect(broker.url, { clientId: 'web-test', reconnectPeriod: 200 });
    await new Promise<void>((resolve) => client.once('connect', () => resolve()));
    client.on('message', (topic, p) => {
      const v = JSON.parse(p.toString()) as unknown;
      if (topic.endsWith('/state')) states.push(v as StateMsg);
      else if (topic.endsWith('/readings')) for (const r of v as Array<{ ts: number }>) readingTimes.add(r.ts); // spool records as they are
      else if (topic.endsWith('/command/reply')) replies.push(v as Reply);
    });
    await client.subscribeAsync(['solar/web/state', 'solar/web/readings', 'solar/web/command/reply'], { qos: 1 });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    client?.end(true);
    await bridge?.kill();
    await sim?.close();
    await broker?.dispose();
    removeDir(dir);
  });

  const pageTs = async (page: Page): Promise<number> => Number(await page.evaluate('document.body.dataset.readingTs || "0"'));
  const text = async (page: Page, field: string): Promise<string> => (await page.textContent(`[data-field="${field}"]`))?.trim() ?? '';
  const newestState = (): StateMsg => states[states.length - 1];

  it('shows the MQTT state, live readings, the 24 h chart, reconnects after a restart, and takes a threshold change with a token', async () => {
    bridge = await BridgeProcess.create(bridgeArgs(), path.join(dir, 'bridge-1.log'), {});
    await bridge.start();
    await waitFor(() => sim.endpoint.clients === 1, { timeoutMs: 15000, what: 'the bridge to connect to the MCU port' });
    const base = `http://127.0.0.1:${bridge.httpPort}`;

    // Eight hours of plant time into the spool (and MQTT), then everything stands still.
    await sim.fastForward(8 * 3600);
    await waitFor(() => readingTimes.size >= 8 * 3600 * 0.98 && states.length > 0 && newestState().timestamp_ms === Math.max(...readingTimes), {
      timeoutMs: 120000, what: 'MQTT to deliver the fast-forwarded readings', detail: () => `${readingTimes.size} readings`,
    });

    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    const outside: string[] = [];
    page.on('request', (r) => { if (!r.url().startsWith(base) && !r.url().startsWith('data:')) outside.push(r.url()); });
    await page.goto(base + '/');
    await page.waitForSelector('#link[data-state="live"]', { timeout: 15000 });

    // Same reading on the page as on the state topic, nothing moving.
    const s0 = newestState();
    await waitFor(async () => (await pageTs(page)) === s0.timestamp_ms, { timeoutMs: 10000, what: 'the page to show the newest reading', detail: async () => `page ${await pageTs(page)}, mqtt ${s0.timestamp_ms}` });
    assert.equal(await text(page, 'battery-voltage'), s0.battery.voltage.toFixed(3));
    assert.equal(await text(page, 'charger-state'), s0.charger.state);
    assert.equal(await page.getAttribute('[data-field="charger-reason"]', 'data-token'), s0.charger.reason);
    assert.equal(await text(page, 'charger-reason'), reasonWords(s0.charger.reason));

    // The 24 h chart, fetched fresh (7 d and back): one point per column holding a reading.
    await page.click('[data-range="7d"]');
    await page.waitForSelector('#charts[data-range="7d"]');
    await page.click('[data-range="24h"]');
    await page.waitForSelector('#charts[data-range="24h"]');
    const ds = await page.evaluate('({ ...document.querySelector("#charts").dataset })') as { [k: string]: string };
    const from = Number(ds.from);
    const column = Number(ds.column);
    const newest = Number(ds.newest);
    assert.equal(newest, s0.timestamp_ms, 'the chart reaches the newest reading');
    const cols = new Set<number>();
    for (const t of readingTimes) if (t >= from && t <= newest) cols.add(Math.floor((t - from) / column));
    assert.ok(cols.size > 200, `8 h of readings fill more than 200 columns of ${column} ms (got ${cols.size})`);
    assert.equal(Number(ds.points), cols.size, `points on the 24 h chart (${column} ms columns from ${from})`);
    assert.equal(await page.locator('#charts .uplot').count() >= 4, true, 'battery V, currents, panel V and charger charts drawn');

    // Live: a reading the broker delivers shows on the page within 2 s, without reloading.
    sim.run(1);
    const before = newestState().timestamp_ms;
    await waitFor(() => newestState().timestamp_ms > before, { timeoutMs: 10000, what: 'a new reading on MQTT' });
    const seenAt = Date.now();
    const fresh = newestState().timestamp_ms;
    await waitFor(async () => (await pageTs(page)) >= fresh, { timeoutMs: 5000, what: 'the new reading on the page' });
    const lag = Date.now() - seenAt;
    assert.ok(lag < 2000, `the page showed the reading ${lag} ms after MQTT did`);

    // No token: no controls shown, and the command endpoint refuses (with or without a guess).
    assert.equal(await page.isVisible('#controls-form'), false, 'no controls without a token');
    assert.match(await page.textContent('#controls-off') ?? '', /web\.token/);
    const guesses: Array<Record<string, string>> = [{}, { authorization: `Bearer ${TOKEN}` }];
    for (const headers of guesses) {
      const r = await fetch(`${base}/api/command`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: '{"cmd":"force","mode":"on","for":60}' });
      assert.equal(r.status, 403);
      assert.match(((await r.json()) as { error: string }).error, /web\.token/);
    }

    await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'desktop-read-only.png'), fullPage: true });

    // Kill the bridge: the page says it is reconnecting. Start it again (now with a token).
    const lastBeforeKill = await pageTs(page);
    await bridge.kill();
    await page.waitForSelector('#link[data-state="reconnecting"]', { timeout: 10000 });
    assert.match(await page.textContent('#notice') ?? '', /Reconnecting/);
    bridge = new BridgeProcess(bridgeArgs(), bridge.httpPort, path.join(dir, 'bridge-2.log'), { SOLAR_BRIDGE_WEB_TOKEN: TOKEN });
    await bridge.start();
    await page.waitForSelector('#link[data-state="live"]', { timeout: 20000 });
    assert.match(await page.textContent('#notice') ?? '', /bridge restarted/);
    await waitFor(async () => (await pageTs(page)) > lastBeforeKill, { timeoutMs: 15000, what: 'live readings on the page after the restart' });

    // With a token: controls shown; a threshold change goes to the MCU and comes back.
    await page.waitForSelector('#controls-form:not([hidden])', { timeout: 10000 });
    await waitFor(async () => (await page.inputValue('input[name="bon"]')) !== '', { timeoutMs: 30000, what: 'the thresholds from the MCU in the form' });
    const bon0 = Number(await page.inputValue('input[name="bon"]'));
    const bon1 = Math.round((bon0 - 0.15) * 100) / 100;
    await page.fill('#token', 'wrong-token-123');
    await page.fill('input[name="bon"]', String(bon1));
    await page.click('#apply');
    await page.waitForSelector('#reply[data-ok="false"]', { timeout: 10000 });
    assert.match(await page.textContent('#reply') ?? '', /wrong token/);
    await page.fill('#token', TOKEN);
    await page.click('#apply');
    await page.waitForSelector('#reply[data-ok="true"]', { timeout: 20000 });
    assert.match(await page.textContent('#reply') ?? '', new RegExp(`MCU: ok .*bon=${bon1}\\b`));
    await page.waitForSelector(`#events li[data-kind="thresholds"]:has-text("bon ${bon0} → ${bon1}")`, { timeout: 10000 });

    // The MCU has it: asked over MQTT, the other command path.
    await client.publishAsync('solar/web/command', '{"cmd":"get","request_id":"check"}', { qos: 1 });
    await waitFor(() => replies.some((r) => r.request_id === 'check'), { timeoutMs: 15000, what: 'the MQTT get reply' });
    assert.equal(replies.find((r) => r.request_id === 'check')!.data!.bon, bon1);
    assert.equal(replies.filter((r) => typeof r.request_id === 'string' && r.request_id.startsWith('web-')).length, 0, 'the page\'s replies do not go to MQTT');

    // Force ON for an hour from the page: the charger and its expiry show.
    await page.click('[data-force="on"]');
    await page.waitForSelector('#reply[data-ok="true"]:has-text("mode=on")', { timeout: 20000 });
    await waitFor(async () => (await page.getAttribute('[data-field="charger-mode"]', 'data-token')) === 'on', { timeoutMs: 15000, what: 'forced ON on the page' });
    await waitFor(async () => /in (59|60) min/.test(await text(page, 'force-expiry')), { timeoutMs: 15000, what: 'the force expiry', detail: async () => text(page, 'force-expiry') });
    await page.click('[data-force="auto"]');
    await page.waitForSelector('#reply[data-ok="true"]:has-text("mode=auto")', { timeout: 20000 });

    await page.waitForSelector('#notice', { state: 'hidden', timeout: 15000 });
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'desktop.png'), fullPage: true });
    const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
    await phone.goto(base + '/');
    await phone.waitForSelector('#link[data-state="live"]', { timeout: 15000 });
    await phone.waitForSelector('#charts .uplot', { timeout: 15000 });
    const phoneWidth = Number(await phone.evaluate('document.documentElement.scrollWidth'));
    assert.ok(phoneWidth <= 390, `nothing wider than the phone (${phoneWidth} px)`);
    await phone.screenshot({ path: path.join(SCREENSHOT_DIR, 'phone.png'), fullPage: true });

    assert.deepEqual(outside, [], 'the page fetched nothing from outside the bridge');
    assert.deepEqual(pageErrors, [], 'no script errors on the page');
  });
});
