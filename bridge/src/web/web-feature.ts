/**
 * The web page feature: `/` and its assets, `/api/state`, `/api/chart`, `/api/events`,
 * `/api/live` (server-sent events) and `/api/command`, served from the bridge's HTTP
 * server. It reads the spool for history, watches what ingest appends for live data, and
 * sends commands through the bridge's CommandRouter. Wiring only; the work is in the
 * modules it imports.
 */
import crypto from 'node:crypto';
import type http from 'node:http';
import type { ReadingFrame } from '../../../protocol';
import { CommandReply, parseCommandPayload } from '../commands/command-router';
import type { Logger } from '../log/logger';
import { RateLimitedLog } from '../log/rate-limited-log';
import type { Counter, MetricsRegistry } from '../metrics/registry';
import { readingState } from '../sinks/mqtt/state-payload';
import { decodeSpooledFrame } from '../spool/spooled-frame';
import { Asset, loadWebAssets } from './assets';
import { ChartBuilder, chartWindow } from './chart-data';
import { EventLog, parseThresholds } from './events';
import { LiveHub } from './live-hub';
import { newScannedReading, recordTs, recordType, scanReading } from './record-scan';
import { HistoryRetention, RetainingSpool } from './history-retention';
import { scanSpool } from './spool-scan';
import { SUMMARY_MS, SummaryStore } from './summary-store';
import { checkToken, WebCommands } from './web-commands';
import { faultWords, modeWords, reasonWords } from './words';

export const RANGES: { [name: string]: number } = { '24h': 24 * 3600 * 1000, '7d': 7 * 24 * 3600 * 1000 };
export const MAX_BODY_BYTES = 4096;
/** History kept: the longest range plus a day, so its first column (which starts before the week) is whole too. */
export const KEEP_MS = RANGES['7d'] + 24 * 3600 * 1000;
const DEFAULT_COLUMNS = 1000;

/** What the battery estimator reports, when there is one. */
export interface BatteryFigures {
  soc_pct?: number | null;
  time_to_go_s?: number | null;
}

export interface WebDeps {
  /** The spool, opened with the HISTORY_SINK among its sinks (history-retention.ts). */
  spool: RetainingSpool;
  /** Most bytes of history to keep: under the spool's bound, so history never causes a drop. */
  historyBudgetBytes: number;
  /** The bridge's /healthz report (link, sinks, spool). */
  health(): { [key: string]: unknown };
  /** The MQTT command path: CommandRouter.request. Absent: no commands at all. */
  request?: (payload: string) => void;
  linkUp(): boolean;
  token: string;
  version: string;
  /** Plug-ins that land later: the battery estimator and the NUT server. */
  battery?: () => BatteryFigures | null;
  nutClients?: () => number | null;
  now?: () => number;
  log?: Logger;
  /** Where the page's request counter goes (the bridge's /metrics). */
  registry?: MetricsRegistry;
}

export class WebFeature {
  private assets = new Map<string, Asset>();
  private assetError: string | null = null;
  private readonly events = new EventLog();
  private readonly hub: LiveHub;
  private readonly commands: WebCommands | null;
  private readonly instance = crypto.randomBytes(6).toString('hex');
  private readonly now: () => number;
  private last: { ts: number; frame: ReadingFrame } | null = null;
  private lastPayload: string | null = null;
  private sentTs = -1;
  private forceExpiresMs: number | null = null;
  private settingsAt = 0;
  private askedGetAt = 0;
  private askedStatusAt = 0;
  private askedStatusMode = 'auto';
  private poll: NodeJS.Timeout | undefined;
  private trimTimer: NodeJS.Timeout | undefined;
  private readonly retention: HistoryRetention;
  private readonly summaries = new SummaryStore(KEEP_MS);
  private readonly scan = newScannedReading();
  private readonly requests: Counter | null;
  private readonly refused: RateLimitedLog | null;

  constructor(private readonly deps: WebDeps) {
    this.now = deps.now ?? Date.now;
    this.hub = new LiveHub(() => ({ instance: this.instance, version: deps.version }));
    this.commands = deps.request ? new WebCommands(deps.request) : null;
    this.requests = deps.registry?.counter('solar_bridge_web_requests_total', 'Requests to the web page and its API, by status code.') ?? null;
    this.refused = deps.log ? new RateLimitedLog(deps.log, 10000) : null;
    this.retention = new HistoryRetention(deps.spool, KEEP_MS, deps.historyBudgetBytes);
    this.events.onEvent((e) => this.hub.send('event', e));
  }

  /** Builds or loads the assets and reads the spool's last week for events and the newest reading. */
  async start(): Promise<void> {
    try {
      this.assets = await loadWebAssets();
    } catch (e) {
      // The API, the live stream and the history still work; `/` says why there is no page.
      this.assetError = (e as Error).message;
      this.deps.log?.warn(`web page unavailable: ${this.assetError}`);
    }
    this.retention.trim(this.now());
    scanSpool(this.deps.spool, this.now() - KEEP_MS, {
      reading: (r) => {
        this.events.reading(r);
        this.summaries.add(r);
      },
      event: (ts, e) => this.events.mcuEvent(ts, e.kind, e.msg, e.fw),
    });
    const newest = this.newestReading();
    if (newest) this.remember(newest);
    this.poll = setInterval(() => this.pollMcu(), 15000);
    this.poll.unref();
    this.trimTimer = setInterval(() => this.retention.trim(this.now()), 60000);
    this.trimTimer.unref();
  }

  /** The newest reading's record, from the spool's recent tail. */
  private newestReading(): string | null {
    let found: string | null = null;
    let pos = this.deps.spool.tailPosition();
    for (let i = 0; i < 100000; i++) {
      const v = this.deps.spool.readEach(pos, 20000, 8 * 1024 * 1024, (buf, s, e) => {
        if (recordType(buf, s, e) === 'R') found = buf.toString('latin1', s, e);
      });
      if (v.count === 0) break;
      pos = v.next;
    }
    return found;
  }

  private remember(payload: string): void {
    const f = decodeSpooledFrame(payload);
    if (f && f.frame.type === 'R') this.last = { ts: f.ts, frame: f.frame };
  }

  // ---- live: called by the bridge for every frame it spools ----

  /** One spooled record (a reading or an event) as ingest appended it. */
  appended(payload: string): void {
    const buf = Buffer.from(payload, 'latin1');
    const ts = recordTs(buf, 0, buf.length);
    const type = recordType(buf, 0, buf.length);
    if (type === 'R') {
      scanReading(buf, 0, buf.length, ts, this.scan);
      this.events.reading(this.scan);
      this.summaries.add(this.scan);
      this.lastPayload = payload;
    } else if (type === 'E') {
      const f = decodeSpooledFrame(payload);
      if (f && f.frame.type === 'E') {
        this.events.mcuEvent(f.ts, f.frame.kind, f.frame.msg, f.frame.fw);
        if (f.frame.kind === 'boot') this.settingsAt = 0; // ask for the settings again
      }
    }
  }

  /** After each chunk: the newest reading goes to the pages (one per chunk, however many came). */
  flushed(): void {
    if (this.lastPayload === null) return;
    this.remember(this.lastPayload);
    this.lastPayload = null;
    this.pollMcu();
    if (this.last && this.last.ts !== this.sentTs) {
      this.sentTs = this.last.ts;
      this.hub.send('state', this.state());
    }
  }

  /** Every reply the router produces. True when it answered the page (so not for MQTT). */
  reply(r: CommandReply): boolean {
    if (r.ok && r.data && (r.cmd === 'get' || r.cmd === 'set')) {
      const t = parseThresholds(r.data);
      if (t) {
        this.settingsAt = this.now();
        this.events.settings(this.now(), t, r.cmd === 'set' ? 'by a command' : 'since last seen');
        this.hub.send('state', this.state());
      }
    }
    if (r.ok && r.data && (r.cmd === 'status' || r.cmd === 'force') && typeof r.data.left === 'number') {
      this.forceExpiresMs = r.data.mode === 'auto' || r.data.left <= 0 ? null : this.now() + r.data.left * 1000;
      this.hub.send('state', this.state());
    }
    return this.commands?.take(r) ?? false;
  }

  /** Thresholds and the force's expiry are not in readings: ask the MCU now and then. */
  private pollMcu(): void {
    if (!this.commands || !this.deps.linkUp()) return;
    const now = this.now();
    // Once a minute at most while unanswered: firmware that does not answer is not flooded.
    if (now - this.settingsAt > 600000 && now - this.askedGetAt > 60000) {
      this.askedGetAt = now;
      void this.commands.send({ cmd: 'get' });
    }
    const mode = this.last?.frame.mode ?? 'auto';
    if (mode === 'auto') this.forceExpiresMs = null;
    else if (mode !== this.askedStatusMode || now - this.askedStatusAt > 60000) {
      this.askedStatusAt = now;
      void this.commands.send({ cmd: 'status' });
    }
    this.askedStatusMode = mode;
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
      version: this.deps.version,
      now_ms: now,
      reading,
      battery: this.deps.battery?.() ?? null,
      nut_clients: this.deps.nutClients?.() ?? null,
      thresholds: this.events.currentThresholds(),
      health: this.deps.health(),
      controls: this.deps.token !== '' && this.commands !== null,
      controls_hint: this.deps.token === '' ? 'Read-only. To enable the controls, set web.token in the bridge configuration (or SOLAR_BRIDGE_WEB_TOKEN) and restart the bridge.' : null,
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

  /** Handles the request if it is one of the page's; false leaves it to the server's own routes. */
  handle(req: http.IncomingMessage, res: http.ServerResponse): boolean {
    const url = new URL(req.url ?? '/', 'http://x');
    const p = url.pathname;
    if (p !== '/' && !p.startsWith('/assets/') && !p.startsWith('/api/')) return false;
    res.once('finish', () => {
      this.requests?.inc({ status: String(res.statusCode) });
      // Refusals are logged (at most once per 10 s per status, with a count of the rest): a
      // scan or a broken client shows in the log without flooding it.
      if (res.statusCode >= 400) this.refused?.warn(`web_${res.statusCode}`, `web: ${req.method} ${p.slice(0, 100)} refused with ${res.statusCode}`, { status: res.statusCode });
    });
    if (p === '/api/command') {
      this.command(req, res);
      return true;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return true;
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
    return true;
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
    const auth = checkToken(this.deps.token, req.headers.authorization);
    const commands = this.commands;
    if (!auth.ok || !commands) {
      // Not read: the connection closes after the answer, so a refused body costs nothing.
      json(res, auth.ok ? 503 : auth.status, { ok: false, error: auth.ok ? 'commands are off: no link to the MCU is configured' : auth.error }, { connection: 'close' });
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
      const text = Buffer.concat(chunks).toString('utf8');
      // The MQTT path's own parser says what is wrong with a malformed body.
      const parsed = parseCommandPayload(text);
      if (!parsed.ok && parsed.error === 'invalid') {
        json(res, 400, { ok: false, error: parsed.error, detail: parsed.detail });
        return;
      }
      const body = JSON.parse(text) as { [k: string]: unknown };
      delete body.request_id;
      void commands.send(body).then((r) => {
        this.deps.log?.info(`web command ${String(body.cmd)}: ${r.ok ? 'ok' : r.error}`);
        const status = r.ok || r.error === undefined ? 200 : r.error === 'unavailable' || r.error === 'busy' ? 503 : r.error === 'timeout' ? 504 : 422;
        json(res, status, r);
      });
    });
  }

  close(): void {
    if (this.poll) clearInterval(this.poll);
    if (this.trimTimer) clearInterval(this.trimTimer);
    this.hub.close();
    this.commands?.close();
  }
}

function json(res: http.ServerResponse, status: number, body: unknown, extra: http.OutgoingHttpHeaders = {}): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...extra }).end(JSON.stringify(body) + '\n');
}
