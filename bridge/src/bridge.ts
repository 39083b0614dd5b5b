/**
 * The bridge assembled: a small core (source -> line splitter -> ingest -> spool, the
 * frame bus, the command path, the health server, metrics) and the features listed in
 * feature-list.ts, each started with its own view of the core (core/feature.ts). This
 * file composes; the work is done in the modules it names.
 */
import path from 'node:path';
import type { Readable } from 'node:stream';
import { LineSplitter, MAX_LINE_LENGTH, ReplyFrame } from '../../protocol';
import { CommandLog } from './commands/command-log';
import { CommandRouter } from './commands/command-router';
import type { BridgeConfig } from './config/schema';
import { DerivedValues } from './core/derived-values';
import { exportDerivedMetrics } from './core/derived-metrics';
import type { BridgeCore, Feature, FeatureDefinition } from './core/feature';
import { FrameBus } from './core/frame-bus';
import { BridgeHealth, bridgeHealth } from './core/health';
import { CoreSpool } from './core/spool-port';
import { SourceWatch } from './core/source-watch';
import { FEATURES } from './feature-list';
import { applyHeapPolicy } from './heap-policy';
import { HealthServer } from './health/http-server';
import { BootClock } from './ingest/boot-clock';
import { Ingest } from './ingest/ingest';
import { SequenceState } from './ingest/sequence-state';
import { SpoolLoss } from './ingest/spool-loss';
import { AnchorFile } from './ingest/state-files';
import type { Logger } from './log/logger';
import { RateLimitedLog } from './log/rate-limited-log';
import { BridgeMetrics, createBridgeMetrics } from './metrics/bridge-metrics';
import type { I2cBusSync } from './sources/i2c/linux-i2c-transport';
import { makeSource } from './sources/make-source';
import type { Source } from './sources/source';
import { Spool } from './spool/spool';

export type { BridgeHealth } from './core/health';

/** Ceiling on the records held in memory while the spool's disk is full. */
const SPOOL_HOLD_MAX_BYTES = 4 * 1024 * 1024;

export interface BridgeOptions {
  config: BridgeConfig;
  log: Logger;
  version: string;
  /** For a `-` source. */
  stdin?: Readable;
  /** For an `i2c:` source: opens the bus (default i2c-bus on Linux; tests pass the simulator's). */
  openI2cBus?: (busNumber: number) => I2cBusSync;
  /** The features to compose (default feature-list.ts); each still decides from the config whether it runs. */
  features?: readonly FeatureDefinition[];
}

interface Running {
  name: string;
  feature: Feature;
}

export class Bridge {
  readonly metrics: BridgeMetrics = createBridgeMetrics();
  readonly derived = new DerivedValues();
  private spool: Spool | null = null;
  private coreSpool: CoreSpool | null = null;
  private source: Source | null = null;
  private watch: SourceWatch | null = null;
  private router: CommandRouter | null = null;
  private commandLog: CommandLog | null = null;
  private http: HealthServer | null = null;
  private httpPort = 0;
  private sequence: SequenceState | null = null;
  private spoolLoss: SpoolLoss | null = null;
  private readonly running: Running[] = [];
  private stopped = false;
  private finished: Promise<void>;
  private finish: () => void = () => undefined;
  private readonly log: Logger;
  private readonly bus: FrameBus;

  constructor(private readonly options: BridgeOptions) {
    this.log = options.log;
    this.bus = new FrameBus(options.log.child('features'));
    this.finished = new Promise((r) => { this.finish = r; });
    exportDerivedMetrics(this.derived, this.metrics.registry);
  }

  /** Opens everything; throws (with a message naming what) if something cannot start. */
  async start(): Promise<void> {
    applyHeapPolicy();
    const c = this.options.config;
    const log = this.log;
    const definitions = (this.options.features ?? FEATURES).filter((d) => d.enabled(c));
    const cursors = definitions.filter((d) => d.drainsSpool).map((d) => d.name);
    if (cursors.length === 0) log.warn('no sink configured (mqtt.url and influx.url are empty): frames are only spooled');

    const spoolLog = log.child('spool');
    const spool = Spool.open({
      dir: c.spool.dir, maxBytes: c.spool.max_bytes, segmentBytes: c.spool.segment_bytes, fsyncIntervalMs: c.spool.fsync_interval_ms, sinks: cursors,
      // Warnings from the first moment of opening on: a torn tail is cut while opening.
      onWarning: (m) => spoolLog.warn(m.replace(/^spool: /, '')),
      // While the disk is full, two segments' worth of records wait in memory (4 MiB at most).
      holdBytes: Math.min(SPOOL_HOLD_MAX_BYTES, 2 * c.spool.segment_bytes),
    });
    this.spool = spool;
    this.coreSpool = new CoreSpool(spool, cursors, this.metrics);
    const loss = new SpoolLoss(spoolLog);
    this.spoolLoss = loss;
    spool.on('resumed', () => loss.end('the spool writes again'));
    spool.on('dropped', (n: number) => spoolLog.warn(`spool full (${c.spool.max_bytes} bytes): dropped the oldest ${n} record(s)`));
    const st = spool.stats();
    log.info(`spool ${path.resolve(c.spool.dir)}: ${st.bytes} bytes in ${st.segments} segment(s)`, Object.fromEntries(Object.entries(st.sinks).map(([k, v]) => [`pending_${k}`, v.pendingRecords])));
    this.metrics.registry.onCollect(() => this.collectSpool());

    const source = makeSource(c, { log, stdin: this.options.stdin, openI2cBus: this.options.openI2cBus });
    this.source = source;
    const watch = new SourceWatch(source, this.metrics, log.child('source'));
    this.watch = watch;
    const commandLog = new CommandLog(log.child('commands'), this.metrics.commands);
    this.commandLog = commandLog;
    this.router = new CommandRouter({
      linkUp: () => source.isUp(),
      send: (line) => source.write(line),
    }, { timeoutMs: c.mqtt.commands.timeout_ms, maxPending: 16, firstId: Math.floor(Date.now() / 1000), silenceLimitMs: source.silenceLimitMs ?? 0 }, (report) => commandLog.record(report));
    if (c.http.listen) this.http = new HealthServer({ health: () => this.health(), metrics: () => this.metrics.registry.render() });

    for (const d of definitions) {
      const feature = d.create(this.coreFor(d.name));
      this.running.push({ name: d.name, feature });
      await feature.start();
    }

    // What the features are told of the link (MQTT availability, the web page): changes
    // only, not each failed attempt. A link reopened after silence is announced with its
    // first valid frame: until then the MCU is as unheard as before, and a source that
    // stays silent is reopened now and then without a round of publishes each time.
    let linkAnnounced = false;
    let linkHeld = false;
    const announceLink = (up: boolean, reason?: string): void => {
      linkHeld = false;
      if (up === linkAnnounced) return;
      linkAnnounced = up;
      this.bus.link(up, reason);
    };
    /** A valid frame came in: the link is alive, and one held back after silence is announced. */
    const heard = (): void => {
      watch.frame();
      if (linkHeld) announceLink(true);
    };
    const anchors = new AnchorFile(c.spool.dir, (m) => log.warn(m));
    const sequence = new SequenceState(spool, c.spool.dir, log);
    this.sequence = sequence;
    const router = this.router;
    const unknownReplies = new RateLimitedLog(log, 10000);
    const clock = new BootClock(anchors);
    const newest = sequence.tracker.state();
    if (newest) clock.resumeAfter(newest.boot, newest.up);
    const ingest = new Ingest({
      spool,
      clock,
      tracker: sequence.tracker,
      metrics: this.metrics,
      log: log.child('decode'),
      loss,
      onReply: (r: ReplyFrame) => {
        heard();
        if (!router.reply(r)) unknownReplies.warn('unknown_reply', `reply to a command this bridge is not waiting for (id ${r.id})`);
      },
      onSpooled: (rec) => {
        heard();
        sequence.changed();
        this.bus.frame(rec);
      },
    });
    const splitter = new LineSplitter(MAX_LINE_LENGTH, (l) => ingest.line(l), () => ingest.overlong());
    sequence.start();

    if (this.http) {
      const addr = await this.http.listen(c.http.listen);
      this.httpPort = addr.port;
      log.info(`health and metrics on http://${addr.address.includes(':') ? `[${addr.address}]` : addr.address}:${addr.port}/healthz and /metrics`);
    }

    const srcLog = log.child('source');
    this.metrics.sourceUp.set(0);
    source.start({
      data: (chunk) => {
        splitter.push(chunk);
        ingest.endOfChunk();
      },
      up: (afterSilence) => {
        splitter.reset();
        watch.up();
        if (afterSilence) linkHeld = true;
        else announceLink(true);
      },
      down: (reason) => {
        ingest.endOfChunk();
        watch.down(reason);
        announceLink(false, reason);
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

  /** The view of the core that one feature gets. */
  private coreFor(name: string): BridgeCore {
    const router = this.router!;
    const http = this.http;
    const source = this.source!;
    return {
      config: this.options.config,
      version: this.options.version,
      log: this.log.child(name),
      metrics: this.metrics,
      onFrame: (l) => this.bus.onFrame(l),
      onLink: (l) => this.bus.onLink(l),
      linkUp: () => source.isUp(),
      readPromptly: (on) => source.readPromptly?.(on),
      latestReading: () => this.bus.latestReading(),
      spool: this.coreSpool!,
      commands: { request: (text, origin = name) => router.request(text, origin), submit: (cmd, id, origin = name) => router.submit(cmd, id, origin) },
      http: {
        enabled: http !== null,
        route: (options, handler) => {
          if (!http) throw new Error(`${name}: http.listen is empty, so there is no HTTP server to serve ${options.path}`);
          http.route(options, handler);
        },
      },
      derived: this.derived,
      health: () => this.health(),
    };
  }

  private async waitCaughtUp(): Promise<void> {
    while (!this.stopped && !(this.coreSpool?.drainers ?? []).every((d) => d.caughtUp())) {
      for (const d of this.coreSpool?.drainers ?? []) d.hurry();
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
    m.spoolLost.mirror(s.lostRecords);
    m.spoolCursorsLost.mirror(s.cursorsLost);
    m.spoolWriteFailing.set(s.writeFailing ? 1 : 0);
    m.spoolHeld.set(s.writeFailing?.heldRecords ?? 0);
    for (const [sink, v] of Object.entries(s.sinks)) {
      m.sinkPending.set(v.pendingRecords, { sink });
      m.sinkPendingBytes.set(v.pendingBytes, { sink });
      m.sinkDropped.mirror(v.droppedRecords, { sink });
    }
  }

  health(): BridgeHealth {
    return bridgeHealth({
      source: this.source,
      spool: this.spool,
      metrics: this.metrics,
      silence: this.watch?.report() ?? null,
      version: this.options.version,
      features: this.running.map((r) => ({ name: r.name, health: r.feature.health?.bind(r.feature) })),
    });
  }

  /** Stops reading, lets in-flight deliveries finish (briefly), stops the features, saves state, closes. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.source?.stop();
    this.watch?.close();
    await Promise.all((this.coreSpool?.drainers ?? []).map((d) => d.stop(3000)));
    for (const r of [...this.running].reverse()) {
      try {
        await r.feature.stop();
      } catch (e) {
        this.log.warn(`${r.name} did not stop cleanly: ${(e as Error).message}`);
      }
    }
    this.router?.close();
    this.commandLog?.close();
    this.sequence?.stop();
    this.spoolLoss?.end('the bridge is stopping');
    this.spool?.close();
    await this.http?.close();
    this.finish();
  }
}
