/**
 * The web page: `/` and its assets, `/api/state`, `/api/chart`, `/api/events`,
 * `/api/live` (server-sent events) and `/api/command`. It sees the bridge only through
 * the feature seam: readings and events from the spool (a week kept, read once at start)
 * and the live frame stream, the battery estimator's and NUT server's derived values,
 * and the one command path. Wiring only; the work is in the modules it imports.
 */
import crypto from 'node:crypto';
import type http from 'node:http';
import type { ReadingFrame } from '../../../protocol';
import type { CommandReply } from '../commands/command-router';
import type { BridgeCore } from '../core/feature';
import type { DerivedValue } from '../core/derived-values';
import { RateLimitedLog } from '../log/rate-limited-log';
import type { Counter } from '../metrics/registry';
import { readingState } from '../sinks/mqtt/state-payload';
import type { SpooledFrame } from '../spool/spooled-frame';
import { Asset, loadWebAssets } from './assets';
import { ChartBuilder, chartWindow } from './chart-data';
import { EventLog, parseThresholds } from './events';
import { LiveHub } from './live-hub';
import { newScannedReading, scanFrame } from './scanned-reading';
import { SUMMARY_MS, SummaryStore } from './summary-store';
import { checkToken } from './web-commands';
import { faultWords, modeWords, reasonWords } from './words';

export const RANGES: { [name: string]: number } = { '24h': 24 * 3600 * 1000, '7d': 7 * 24 * 3600 * 1000 };
/** History kept: the longest range plus a day, so its first column (which starts before the week) is whole too. */
export const MAX_BODY_BYTES = 4096;
export const KEEP_MS = RANGES['7d'] + 24 * 3600 * 1000;
const DEFAULT_COLUMNS = 1000;

/** The battery estimator's derived values the page shows (absent keys: no estimator). */
export const BATTERY_KEYS = ['battery_soc', 'battery_soc_uncertainty', 'battery_time_to_go_s', 'battery_time_to_go_state', 'battery_runtime_alone_s', 'battery_health', 'night_lasts', 'night_margin_ah'] as const;

const RESOLVED = Promise.resolve();

/** Derived values the state shows: a change sends the state to open pages. */
const STATE_KEYS: ReadonlySet<string> = new Set<string>([...BATTERY_KEYS, 'nut_clients']);

/** The part of the core the page uses. */
export type WebCore = Pick<BridgeCore, 'spool' | 'onFrame' | 'onLink' | 'linkUp' | 'readPromptly' | 'commands' | 'derived' | 'health' | 'log' | 'metrics' | 'version'>;

export interface WebOptions {
  token: string;
  now?: () => number;
}

export class WebPage {
  private assets = new Map<string, Asset>();
  private assetError: string | null = null;
  private readonly events = new EventLog();
  private readonly hub: LiveHub;
  private readonly instance = crypto.randomBytes(6).toString('hex');
  private readonly now: () => number;
  private last: { ts: number; frame: ReadingFrame } | null = null;
  private stateQueued = false;
  private pollQueued = false;
  private forceExpiresMs: number | null = null;
  private settingsAt = 0;
  private askedGetAt = 0;
  private askedStatusAt = 0;
  private askedStatusMode = 'auto';
  private readonly summaries = new SummaryStore(KEEP_MS);
  private readonly scan = newScannedReading();
  private readonly requests: Counter;
  private readonly refused: RateLimitedLog;
  private readonly unsubscribe: (() => void)[] = [];
  private closed = false;

  constructor(private readonly core: WebCore, private readonly options: WebOptions) {
    this.now = options.now ?? Date.now;
    this.hub = new LiveHub(() => ({ instance: this.instance, version: core.version }), (on) => core.readPromptly(on));
    this.requests = core.metrics.registry.counter('solar_bridge_web_requests_total', 'Requests to the web page and its API, by status code.');
    this.refused = new RateLimitedLog(core.log, 10000);
    this.events.onEvent((e) => this.hub.send('event', e));
  }

  /**
   * Builds or loads the assets and reads the week the spool keeps (keepHistory(KEEP_MS),
   * asked at create) for the charts, the events and the newest reading. Features start before the source, so the
   * live stream subscribed here continues exactly where the spool read ends.
   */
  async start(): Promise<void> {
    try {
      this.assets = await loadWebAssets();
    } catch (e) {
      // The API, the live stream and the history still work; `/` says why there is no page.
      this.assetError = (e as Error).message;
      this.core.log.warn(`web page unavailable: ${this.assetError}`);
    }
    let newest: SpooledFrame | null = null;
    this.core.spool.readRange(this.now() - KEEP_MS, Number.MAX_SAFE_INTEGER, (rec) => {
      this.take(rec, false);
      if (rec.frame.type === 'R') newest = rec;
    });
    const n = newest as SpooledFrame | null;
    if (n && n.frame.type === 'R') this.last = { ts: n.ts, frame: n.frame };
    this.unsubscribe.push(
      this.core.onFrame((rec) => this.take(rec, true)),
      this.core.onLink(() => this.queueState()),
      this.core.derived.onChange((ts, changed) => this.derivedChanged(ts, changed)),
    );
    // No poll timer: the MCU is asked from its readings and link changes (pollMcu), so an
    // idle bridge (no source, or a silent one) is not woken every 15 s to ask nobody.
  }

  /** One spooled reading or event, from the spool at start or live. */
  private take(rec: SpooledFrame, live: boolean): void {
    const f = rec.frame;
    if (f.type === 'R') {
      scanFrame(rec.ts, f, this.scan);
      this.events.reading(this.scan);
      this.summaries.add(this.scan);
      if (live) {
        this.last = rec as { ts: number; frame: ReadingFrame };
        this.queueState();
      }
    } else {
      this.events.mcuEvent(rec.ts, f.kind, f.msg, f.fw);
      if (f.kind === 'boot') this.settingsAt = 0; // ask for the settings again
    }
  }

  /**
   * The state goes to the pages once per turn of the event loop, however many frames came
   * in it (a source catching up delivers hundreds at once).
   */
  private queueState(): void {
    if (this.stateQueued || this.closed) return;
    if (this.hub.size === 0) {
      // Nobody is looking: no state to make, only the MCU to ask now and then. Once per
      // chunk of frames, without a turn of the event loop (and its poll) per reading.
      // (A resolved promise rather than queueMicrotask, which makes an AsyncResource per call.)
      if (this.pollQueued) return;
      this.pollQueued = true;
      void RESOLVED.then(this.queuedPoll);
      return;
    }
    this.stateQueued = true;
    setImmediate(() => {
      this.stateQueued = false;
      if (this.closed) return;
      this.pollMcu();
      // Nobody is looking: the state is made when a page asks for it.
      if (this.hub.size > 0) this.hub.send('state', this.state());
    });
  }

  private readonly queuedPoll = (): void => {
    this.pollQueued = false;
    this.pollMcu();
  };

  private derivedChanged(ts: number, changed: { readonly [key: string]: DerivedValue }): void {
    const soc = changed.battery_soc;
    // Derived values are not spooled: the SoC chart fills from the bridge's start on.
    if (typeof soc === 'number') this.summaries.addValue(ts, 'soc', soc);
    // Only a page shows them (the reading that caused them already asked the MCU).
    if (this.hub.size === 0) return;
    for (const k in changed) {
      if (STATE_KEYS.has(k)) {
        this.queueState();
        return;
      }
    }
  }

  /** Every reply to a command the page sent (its own or a visitor's). */
  private replied(r: CommandReply): void {
    if (r.ok && r.data && (r.cmd === 'get' || r.cmd === 'set')) {
      const t = parseThresholds(r.data);
      if (t) {
        this.settingsAt = this.now();
        this.events.settings(this.now(), t, r.cmd === 'set' ? 'by a command' : 'since last seen');
        this.queueState();
      }
    }
    if (r.ok && r.data && (r.cmd === 'status' || r.cmd === 'force') && typeof r.data.left === 'number') {
      this.forceExpiresMs = r.data.mode === 'auto' || r.data.left <= 0 ? null : this.now() + r.data.left * 1000;
      this.queueState();
    }
  }

  /** Sends a command through the bridge's one command path; the MCU's reply (or the refusal) comes back here. */
  private async send(payload: string, origin: 'web' | 'web-poll'): Promise<CommandReply> {
    const r = await this.core.commands.request(payload, origin);
    if (!this.closed) this.replied(r);
    return r;
  }

  /** Thresholds and the force's expiry are not in readings: ask the MCU now and then. */
  private pollMcu(): void {
    if (this.closed || !this.core.linkUp()) return;
    const now = this.now();
    // Once a minute at most while unanswered: firmware that does not answer is not flooded.
    if (now - this.settingsAt > 600000 && now - this.askedGetAt > 60000) {
      this.askedGetAt = now;
      void this.send('{"cmd":"get"}', 'web-poll');
    }
    const mode = this.last?.frame.mode ?? 'auto';
    if (mode === 'auto') this.forceExpiresMs = null;
    else if (mode !== this.askedStatusMode || now - this.askedStatusAt > 60000) {
      this.askedStatusAt = now;
      void this.send('{"cmd":"status"}', 'web-poll');
    }
    this.askedStatusMode = mode;
  }

  /** The estimator's and NUT server's values, when those features run. */
  private derivedState(): { battery: { [key: string]: DerivedValue } | null; nut_clients: number | null } {
    const all = this.core.derived.snapshot();
    let battery: { [key: string]: DerivedValue } | null = null;
    for (const k of BATTERY_KEYS) {
      if (!(k in all)) continue;
      battery ??= {};
      battery[k] = all[k];
    }
    const nut = all.nut_clients;
    return { battery, nut_clients: typeof nut === 'number' ? nut : null };
  }

  // ---- what the page reads ----

  state(): object {
    const l = this.last;
    const now = this.now();
    let reading: object | null = null;
    if (l) {
      const s = readingState(l.frame, l.ts);
      const forced = l.frame.mode !== 'auto';
      reading = {
        ...s,
        age_s: Math.max(0, (now - l.ts) / 1000),
        charger: { ...s.charger, reason_words: reasonWords(s.charger.reason), mode_words: modeWords(s.charger.mode), force_expires_ms: forced ? this.forceExpiresMs : null },
        faults: { ...s.faults, words: faultWords(l.frame.flt) },
      };
    }
    return {
      instance: this.instance,
      version: this.core.version,
      now_ms: now,
      reading,
      ...this.derivedState(),
      thresholds: this.events.currentThresholds(),
      health: this.core.health(),
      controls: this.options.token !== '',
      controls_hint: this.options.token === '' ? 'Read-only. To enable the controls, set web.token in the bridge configuration (or SOLAR_BRIDGE_WEB_TOKEN) and restart the bridge.' : null,
    };
  }

  chart(range: string, columns: number): object {
    const span = RANGES[range];
    const end = Math.max(this.now(), this.last?.ts ?? 0);
    const b = new ChartBuilder(chartWindow(span, columns, end, SUMMARY_MS));
    this.summaries.fill(b);
    if (this.last) b.setNewest(this.last.ts);
    return { range, ...b.toJson(), thresholds: this.events.currentThresholds() };
  }

  // ---- HTTP ----

  /** Serves `/`, `/assets/...` and `/api/...` on the bridge's HTTP server. */
  route(http: BridgeCore['http']): void {
    http.route({ path: '/' }, (req, res) => this.handle(req, res));
    http.route({ path: '/assets', prefix: true }, (req, res) => this.handle(req, res));
    http.route({ path: '/api', prefix: true, methods: ['GET', 'POST'] }, (req, res) => this.handle(req, res));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://x');
    const p = url.pathname;
    res.once('finish', () => {
      this.requests.inc({ status: String(res.statusCode) });
      // Refusals are logged (at most once per 10 s per status, with a count of the rest): a
      // scan or a broken client shows in the log without flooding it.
      if (res.statusCode >= 400) this.refused.warn(`web_${res.statusCode}`, `web: ${req.method} ${p.slice(0, 100)} refused with ${res.statusCode}`, { status: res.statusCode });
    });
    if (p === '/api/command') {
      this.command(req, res);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    if (p === '/' || p.startsWith('/assets/')) this.asset(p, req, res);
    else if (p === '/api/state') json(res, 200, this.state());
    else if (p === '/api/events') json(res, 200, { events: this.events.list() });
    else if (p === '/api/live') this.hub.open(req, res, this.last ? [['state', this.state()]] : []);
    else if (p === '/api/chart') {
      const range = url.searchParams.get('range') ?? '24h';
      const width = Number(url.searchParams.get('width') ?? DEFAULT_COLUMNS);
      if (!(range in RANGES)) json(res, 400, { error: `range must be one of ${Object.keys(RANGES).join(', ')}` });
      else if (!Number.isInteger(width) || width < 10 || width > 4000) json(res, 400, { error: 'width must be a whole number of columns, 10..4000' });
      else json(res, 200, this.chart(range, width));
    } else json(res, 404, { error: `no such page: ${p}` });
  }

  private asset(p: string, req: http.IncomingMessage, res: http.ServerResponse): void {
    if (this.assetError !== null && p === '/') {
      res.writeHead(503, { 'content-type': 'text/plain' }).end(`the web page's assets are unavailable: ${this.assetError}\n`);
      return;
    }
    const a = this.assets.get(p);
    if (!a) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: ${p}\n`);
      return;
    }
    const headers: http.OutgoingHttpHeaders = { 'content-type': a.contentType, 'cache-control': a.cacheControl, etag: a.etag, vary: 'accept-encoding', 'x-content-type-options': 'nosniff' };
    if (req.headers['if-none-match'] === a.etag) {
      res.writeHead(304, headers).end();
      return;
    }
    const gz = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    const body = gz ? a.gzip : a.body;
    if (gz) headers['content-encoding'] = 'gzip';
    headers['content-length'] = body.length;
    res.writeHead(200, headers).end(req.method === 'HEAD' ? undefined : body);
  }

  private command(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (req.method !== 'POST') {
      json(res, 405, { error: 'POST a JSON command' }, { allow: 'POST' });
      return;
    }
    const auth = checkToken(this.options.token, req.headers.authorization);
    if (!auth.ok) {
      // Not read: the connection closes after the answer, so a refused body costs nothing.
      json(res, auth.status, { ok: false, error: auth.error }, { connection: 'close' });
      return;
    }
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > MAX_BODY_BYTES) {
      json(res, 413, { ok: false, error: `a command is at most ${MAX_BODY_BYTES} bytes` }, { connection: 'close' });
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        json(res, 413, { ok: false, error: `a command is at most ${MAX_BODY_BYTES} bytes` }, { connection: 'close' });
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (size > MAX_BODY_BYTES) return;
      // The MQTT path itself parses and validates it (a malformed body is its `invalid`),
      // and echoes the page's request_id as it does on MQTT.
      // The command path logs the outcome (rate-limited, with `from=web`).
      void this.send(Buffer.concat(chunks).toString('utf8'), 'web').then((r) => {
        const status = r.ok || r.error === undefined ? 200 : r.error === 'invalid' ? 400 : r.error === 'unavailable' || r.error === 'busy' ? 503 : r.error === 'timeout' ? 504 : 422;
        json(res, status, r);
      });
    });
  }

  close(): void {
    this.closed = true;
    for (const u of this.unsubscribe) u();
    this.hub.close();
  }
}

function json(res: http.ServerResponse, status: number, body: unknown, extra: http.OutgoingHttpHeaders = {}): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...extra }).end(JSON.stringify(body) + '\n');
}
