/**
 * The bridge as a real process that a fault run kills and restarts. Its counters live and
 * die with each process, so every process's last scrape is kept: the run's totals are
 * the sum over all of them.
 */
import path from 'node:path';
import { BridgeProcess, metricValue } from '../../bridge/helpers/bridge-harness';
import { waitFor } from '../../helpers/services';

/** Counters of one bridge process, as last scraped. */
export interface BridgeCounters {
  readings: number;
  events: number;
  rejected: number;
  gaps: number;
  missing: number;
  rebootsBootChanged: number;
  rebootsUptimeBack: number;
  spoolDropped: number;
  parked: number;
  mqttSent: number;
  influxSent: number;
  mqttPending: number;
  influxPending: number;
  sourceConnects: number;
  sourceUp: number;
}

export function countersFrom(m: Map<string, number>): BridgeCounters {
  let rejected = 0;
  for (const [k, v] of m) if (k.startsWith('solar_bridge_lines_rejected_total')) rejected += v;
  return {
    readings: metricValue(m, 'solar_bridge_frames_total', 'type="R"'),
    events: metricValue(m, 'solar_bridge_frames_total', 'type="E"'),
    rejected,
    gaps: metricValue(m, 'solar_bridge_sequence_gaps_total'),
    missing: metricValue(m, 'solar_bridge_frames_missing_total'),
    rebootsBootChanged: metricValue(m, 'solar_bridge_mcu_reboots_total', 'reason="boot_changed"'),
    rebootsUptimeBack: metricValue(m, 'solar_bridge_mcu_reboots_total', 'reason="uptime_back"'),
    spoolDropped: metricValue(m, 'solar_bridge_spool_dropped_total'),
    parked: metricValue(m, 'solar_bridge_sink_parked_total', 'sink="influx"'),
    mqttSent: metricValue(m, 'solar_bridge_sink_sent_total', 'sink="mqtt"'),
    influxSent: metricValue(m, 'solar_bridge_sink_sent_total', 'sink="influx"'),
    mqttPending: metricValue(m, 'solar_bridge_sink_pending_records', 'sink="mqtt"'),
    influxPending: metricValue(m, 'solar_bridge_sink_pending_records', 'sink="influx"'),
    sourceConnects: metricValue(m, 'solar_bridge_source_connects_total'),
    sourceUp: metricValue(m, 'solar_bridge_source_up'),
  };
}

export class BridgeUnderTest {
  private proc: BridgeProcess | null = null;
  private runs = 0;
  /** The last scrape of every process that has ended, plus the running one's. */
  private readonly finished: BridgeCounters[] = [];
  last: BridgeCounters | null = null;

  constructor(private readonly args: string[], private readonly env: NodeJS.ProcessEnv, private readonly logDir: string) {}

  async start(): Promise<void> {
    this.proc = await BridgeProcess.create(this.args, path.join(this.logDir, `bridge-${++this.runs}.log`), this.env);
    await this.proc.start();
    this.last = null;
  }

  async scrape(): Promise<BridgeCounters> {
    this.last = countersFrom(await this.proc!.metrics());
    return this.last;
  }

  /** SIGKILL, after a last scrape (the caller makes sure nothing moves in between). */
  async kill(): Promise<void> {
    this.finished.push(await this.scrape());
    await this.proc!.kill();
    this.proc = null;
  }

  /** SIGTERM and wait for a clean exit. */
  async stop(): Promise<void> {
    this.finished.push(await this.scrape());
    await this.proc!.stop();
    this.proc = null;
  }

  get restarts(): number {
    return this.runs - 1;
  }

  /** Sum of a counter over every process (running one included, as last scraped). */
  total(key: keyof BridgeCounters): number {
    let sum = 0;
    for (const c of this.finished) sum += c[key];
    if (this.proc && this.last) sum += this.last[key];
    return sum;
  }

  output(): string {
    return this.proc?.output() ?? '';
  }

  async waitUntil(what: string, check: (c: BridgeCounters) => boolean, timeoutMs: number): Promise<BridgeCounters> {
    await waitFor(async () => check(await this.scrape()), {
      timeoutMs, what, detail: () => `last scrape: ${JSON.stringify(this.last)}\nbridge output:\n${this.output().slice(-3000)}`,
    });
    return this.last!;
  }

  async dispose(): Promise<void> {
    await this.proc?.kill();
    this.proc = null;
  }
}
