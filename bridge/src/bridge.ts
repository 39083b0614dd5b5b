/**
 * The bridge assembled: source -> line splitter -> ingest -> spool -> one drainer per
 * sink (MQTT, InfluxDB), plus commands, health and metrics. This file wires; the work is
 * done in the modules it names.
 */
import path from 'node:path';
import type { Readable } from 'node:stream';
import { LineSplitter, MAX_LINE_LENGTH, ReplyFrame } from '../../protocol';
import { CommandRouter } from './commands/command-router';
import type { BridgeConfig } from './config/schema';
import { applyHeapPolicy } from './heap-policy';
import { HealthReport, HealthServer } from './health/http-server';
import { BootClock } from './ingest/boot-clock';
import { Ingest } from './ingest/ingest';
import { SequenceTracker, TrackerState } from './ingest/sequence-tracker';
import { AnchorFile, TrackerFile } from './ingest/state-files';
import type { Logger } from './log/logger';
import { RateLimitedLog } from './log/rate-limited-log';
import { BridgeMetrics, createBridgeMetrics } from './metrics/bridge-metrics';
import { SinkDrainer } from './sinks/drainer';
import { InfluxSink, SINK_NAME as INFLUX } from './sinks/influx/influx-sink';
import { v1Writer } from './sinks/influx/v1-writer';
import { v2Writer } from './sinks/influx/v2-writer';
import { MqttSink, SINK_NAME as MQTT } from './sinks/mqtt/mqtt-sink';
import { ReconnectingSource } from './sources/reconnecting-source';
import { ReplaySource } from './sources/replay-source';
import { serialConnector } from './sources/serial-link';
import type { Source } from './sources/source';
import { describeSpec, parseSourceSpec } from './sources/source-spec';
import { tcpConnector } from './sources/tcp-link';
import { Spool } from './spool/spool';
import { decodeSpooledFrame, isSpooledReading } from './spool/spooled-frame';
import { HISTORY_SINK } from './web/history-retention'; // web page hook
import { WebFeature } from './web/web-feature'; // web page hook

export interface BridgeOptions {
  config: BridgeConfig;
  log: Logger;
  version: string;
  /** For a `-` source. */
  stdin?: Readable;
}

function makeSource(c: BridgeConfig): Source {
  const parsed = parseSourceSpec(c.source.url);
  if (!parsed.ok) throw new Error(`source.url: ${parsed.error}`);
  const spec = parsed.spec;
  const reconnect = { initialMs: c.source.reconnect_initial_ms, maxMs: c.source.reconnect_max_ms, idleTimeoutMs: c.source.idle_timeout_ms };
  const description = describeSpec(spec, c.source.baud);
  if (spec.kind === 'tcp') return new ReconnectingSource(description, tcpConnector({ host: spec.host, port: spec.port, connectTimeoutMs: c.source.connect_timeout_ms }), reconnect);
  if (spec.kind === 'serial') return new ReconnectingSource(description, serialConnector({ path: spec.path, baudRate: c.source.baud }), reconnect);
  return new ReplaySource(spec.path);
}

/** What /healthz answers. */
export interface BridgeHealth extends HealthReport {
  healthy: boolean;
  problems: string[];
  source: { description: string | undefined; up: boolean };
  sinks: { [sink: string]: { connected: boolean; pending_records: number; dropped_records: number } };
  spool: { bytes: number; segments: number } | undefined;
  /** Readings received by this process. */
  frames: number;
  version: string;
}

/**
 * The newest reading in the spool, which holds every frame read before a crash. The
 * tracker file is saved lazily and can lag it: starting from that would count the
 * readings in between as a gap although they were received.
 */
function lastSpooledReading(spool: Spool): TrackerState | null {
  let pos = spool.tailPosition();
  let last: string | null = null;
  for (let batches = 0; batches < 100000; batches++) {
    const b = spool.read(pos, 5000, 4 * 1024 * 1024);
    if (b.payloads.length === 0) break;
    for (const p of b.payloads) if (isSpooledReading(p)) last = p;
    pos = b.next;
  }
  const f = last === null ? null : decodeSpooledFrame(last);
  return f && f.frame.type === 'R' ? { boot: f.frame.boot, seq: f.frame.seq, up: f.frame.up } : null;
}

export class Bridge {
  readonly metrics: BridgeMetrics = createBridgeMetrics();
  private spool: Spool | null = null;
  private source: Source | null = null;
  private mqtt: MqttSink | null = null;
  private influx: InfluxSink | null = null;
  private router: CommandRouter | null = null;
  private web: WebFeature | null = null; // web page hook
  private readonly drainers: SinkDrainer[] = [];
  private http: HealthServer | null = null;
  private httpPort = 0;
  private tracker: SequenceTracker | null = null;
  private trackerFile: TrackerFile | null = null;
  private stateTimer: NodeJS.Timeout | undefined;
  private lastSavedTracker = '';
  private stopped = false;
  private finished: Promise<void>;
  private finish: () => void = () => undefined;
  private readonly log: Logger;

  constructor(private readonly options: BridgeOptions) {
    this.log = options.log;
    this.finished = new Promise((r) => { this.finish = r; });
  }

  /** Opens everything; throws (with a message naming what) if something cannot start. */
  async start(): Promise<void> {
    applyHeapPolicy();
    const c = this.options.config;
    const log = this.log;
    const sinkNames = [...(c.mqtt.url ? [MQTT] : []), ...(c.influx.url ? [INFLUX] : [])];
    if (sinkNames.length === 0) log.warn('no sink configured (mqtt.url and influx.url are empty): frames are only spooled');

    // web page hook: the page's history is a sink of its own, trailing by a week
    const webOn = c.web.enabled && c.http.listen !== '';
    const spool = Spool.open({ dir: c.spool.dir, maxBytes: c.spool.max_bytes, segmentBytes: c.spool.segment_bytes, fsyncIntervalMs: c.spool.fsync_interval_ms, sinks: webOn ? [...sinkNames, HISTORY_SINK] : sinkNames });
    this.spool = spool;
    const spoolLog = log.child('spool');
    spool.on('warning', (m: string) => spoolLog.warn(m));
    spool.on('dropped', (n: number) => spoolLog.warn(`spool full (${c.spool.max_bytes} bytes): dropped the oldest ${n} record(s)`));
    const st = spool.stats();
    log.info(`spool ${path.resolve(c.spool.dir)}: ${st.bytes} bytes in ${st.segments} segment(s)`, Object.fromEntries(Object.entries(st.sinks).map(([k, v]) => [`pending_${k}`, v.pendingRecords])));
    this.metrics.registry.onCollect(() => this.collectSpool());

    this.source = makeSource(c);
    const source = this.source;

    // ---- web page hook: the page shares the command router, so it exists without MQTT too ----
    if (c.mqtt.url || webOn) {
      const cmdLog = log.child('commands');
      this.router = new CommandRouter({
        linkUp: () => source.isUp(),
        send: (line) => source.write(line),
        reply: (r) => { if (!this.web?.reply(r)) this.mqtt?.publishReply(r); },
      }, { timeoutMs: c.mqtt.commands.timeout_ms, maxPending: 16, firstId: Math.floor(Date.now() / 1000) }, (o) => {
        this.metrics.commands.inc({ result: o });
        cmdLog.info(`command ${o}`);
      });
    }
    if (webOn) {
      const router = this.router!;
      const webLog = log.child('web');
      this.web = new WebFeature({
        spool, historyBudgetBytes: c.spool.max_bytes - 3 * c.spool.segment_bytes, health: () => this.health(), request: (p) => router.request(p), linkUp: () => source.isUp(),
        token: c.web.token, version: this.options.version, log: webLog, registry: this.metrics.registry,
      });
      await this.web.start();
    }
    const web = this.web;
    // ---- end web page hook ----
    if (c.mqtt.url) {
      const mqttLog = log.child('mqtt');
      const router = this.router!;
      this.mqtt = new MqttSink(c.mqtt, c.device_id, this.options.version, mqttLog, this.metrics, {
        onCommand: (text) => router.request(text),
        onForceMode: (mode) => {
          if (mode === 'auto') router.submit({ cmd: 'force', mode: 'auto' }, 'homeassistant');
          else if (mode === 'on' || mode === 'off') router.submit({ cmd: 'force', mode, for: c.mqtt.homeassistant.force_duration_s }, 'homeassistant');
          else router.request(JSON.stringify({ cmd: 'force', mode, request_id: 'homeassistant' }));
        },
      });
      this.mqtt.start();
      this.drainers.push(new SinkDrainer(spool, this.mqtt, { batchRecords: Math.max(1, Math.min(c.mqtt.max_inflight, 5000)), batchBytes: 4 * 1024 * 1024, maxInFlight: 2 }, (n) => this.metrics.sinkSent.inc({ sink: MQTT }, n)));
    }
    if (c.influx.url) {
      const i = c.influx;
      const writer = i.api === 'v1'
        ? v1Writer({ url: i.url, db: i.db, rp: i.rp, username: i.username, password: i.password, timeoutMs: i.timeout_ms })
        : v2Writer({ url: i.url, org: i.org, bucket: i.bucket, token: i.token, timeoutMs: i.timeout_ms });
      this.influx = new InfluxSink(writer, {
        deviceId: c.device_id,
        batchLines: i.batch_size,
        retryInitialMs: i.retry_initial_ms,
        retryMaxMs: i.retry_max_ms,
        parkedFile: path.join(c.spool.dir, 'parked-influx.lp'),
      }, log.child('influx'), this.metrics);
      log.info(`InfluxDB sink: ${writer.description}`);
      // A reading is 4 lines: size batches so one spool batch is about one request.
      this.drainers.push(new SinkDrainer(spool, this.influx, { batchRecords: Math.max(1, Math.floor(i.batch_size / 4)), batchBytes: 8 * 1024 * 1024, maxInFlight: 2 }, (n) => this.metrics.sinkSent.inc({ sink: INFLUX }, n)));
    }
    for (const d of this.drainers) d.start();

    const anchors = new AnchorFile(c.spool.dir, (m) => log.warn(m));
    this.trackerFile = new TrackerFile(c.spool.dir);
    this.tracker = new SequenceTracker(lastSpooledReading(spool) ?? this.trackerFile.load());
    const unknownReplies = new RateLimitedLog(log, 10000);
    const ingest = new Ingest({
      // web page hook: the page sees every frame spooled, after the spool has it
      spool: web ? { append: (p) => { spool.append(p); web.appended(p); }, flush: () => { spool.flush(); web.flushed(); } } : spool,
      clock: new BootClock(anchors),
      tracker: this.tracker,
      metrics: this.metrics,
      log: log.child('decode'),
      onReply: (r: ReplyFrame) => {
        if (!this.router || !this.router.reply(r)) unknownReplies.warn('unknown_reply', `reply to a command this bridge is not waiting for (id ${r.id})`);
      },
    });
    const splitter = new LineSplitter(MAX_LINE_LENGTH, (l) => ingest.line(l), () => ingest.overlong());
    this.stateTimer = setInterval(() => this.saveTracker(), 1000);
    this.stateTimer.unref();

    if (c.http.listen) {
      this.http = new HealthServer({ health: () => this.health(), metrics: () => this.metrics.registry.render(), routes: web ? (q, r) => web.handle(q, r) : undefined /* web page hook */ });
      const addr = await this.http.listen(c.http.listen);
      this.httpPort = addr.port;
      const origin = `http://${addr.address.includes(':') ? `[${addr.address}]` : addr.address}:${addr.port}`;
      log.info(`health and metrics on ${origin}/healthz and /metrics`);
      if (web) log.info(`web page on ${origin}/${c.web.token ? '' : ' (read-only: no web.token)'}`); // web page hook
    }

    const srcLog = log.child('source');
    this.metrics.sourceUp.set(0);
    source.start({
      data: (chunk) => {
        splitter.push(chunk);
        ingest.endOfChunk();
      },
      up: () => {
        splitter.reset();
        this.metrics.sourceUp.set(1);
        this.metrics.sourceConnects.inc();
        srcLog.info(`${source.description} is up`);
        this.mqtt?.setSourceUp(true);
      },
      down: (reason) => {
        ingest.endOfChunk();
        this.metrics.sourceUp.set(0);
        if (!reason.startsWith('end of replay')) this.metrics.sourceFailures.inc();
        srcLog.warn(`${source.description} is down: ${reason}`);
        this.mqtt?.setSourceUp(false);
      },
      end: () => {
        // A last line without its newline is still a line at the end of a capture.
        splitter.push('\n');
        ingest.endOfChunk();
        srcLog.info('replay input finished; waiting for the sinks to confirm everything');
        void this.waitCaughtUp().then(() => this.finish());
      },
    });
  }

  private async waitCaughtUp(): Promise<void> {
    while (!this.stopped && !this.drainers.every((d) => d.caughtUp())) {
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Resolves when a replay source has been read to its end and every sink confirmed it all. */
  replayDone(): Promise<void> {
    return this.finished;
  }

  /** The port the health server listens on (useful with port 0). */
  healthPort(): number {
    return this.httpPort;
  }

  private saveTracker(): void {
    const s = this.tracker?.state();
    if (!s || !this.trackerFile) return;
    const text = JSON.stringify(s);
    if (text === this.lastSavedTracker) return;
    this.lastSavedTracker = text;
    try {
      this.trackerFile.save(s);
    } catch (e) {
      this.log.warn(`could not save the last reading: ${(e as Error).message}`);
    }
  }

  private collectSpool(): void {
    if (!this.spool) return;
    const s = this.spool.stats();
    const m = this.metrics;
    m.spoolBytes.set(s.bytes);
    m.spoolSegments.set(s.segments);
    m.spoolAppended.mirror(s.appendedRecords);
    m.spoolDropped.mirror(s.droppedRecords);
    m.spoolTorn.mirror(s.tornRecords);
    m.spoolCorruptBytes.mirror(s.corruptBytes);
    m.spoolFsyncs.mirror(s.fsyncs);
    for (const [sink, v] of Object.entries(s.sinks)) {
      m.sinkPending.set(v.pendingRecords, { sink });
      m.sinkPendingBytes.set(v.pendingBytes, { sink });
      m.sinkDropped.mirror(v.droppedRecords, { sink });
    }
  }

  health(): BridgeHealth {
    const problems: string[] = [];
    const sourceUp = this.source?.isUp() ?? false;
    if (!sourceUp) problems.push(`source ${this.source?.description ?? ''} is down`);
    const sinks: BridgeHealth['sinks'] = {};
    const stats = this.spool?.stats();
    for (const name of [MQTT, INFLUX]) {
      if (!stats || !stats.sinks[name]) continue;
      const connected = this.metrics.sinkConnected.get({ sink: name }) === 1;
      if (!connected) problems.push(`${name} is not connected`);
      sinks[name] = { connected, pending_records: stats.sinks[name].pendingRecords, dropped_records: stats.sinks[name].droppedRecords };
    }
    return {
      healthy: problems.length === 0,
      problems,
      source: { description: this.source?.description, up: sourceUp },
      sinks,
      spool: stats ? { bytes: stats.bytes, segments: stats.segments } : undefined,
      frames: this.metrics.framesIn.get({ type: 'R' }),
      version: this.options.version,
    };
  }

  /** Stops reading, lets in-flight deliveries finish (briefly), saves state, closes. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.stateTimer) clearInterval(this.stateTimer);
    await this.source?.stop();
    await Promise.all(this.drainers.map((d) => d.stop(3000)));
    this.influx?.stop();
    this.router?.close();
    await this.mqtt?.stop();
    this.saveTracker();
    this.spool?.close();
    this.web?.close(); // web page hook
    await this.http?.close();
    this.finish();
  }
}
