/**
 * A real VictoriaMetrics (Debian's victoria-metrics) on a free loopback port. It takes
 * InfluxDB line protocol at /api/v2/write and stores each numeric field as a series named
 * <measurement>_<field> with the tags as labels; string fields are not stored. Started
 * with -dedup.minScrapeInterval=1ms so that, like InfluxDB, a point written twice with
 * the same timestamp is kept once.
 */
import path from 'node:path';
import { ManagedProcess } from './managed-process';
import { ProcessService } from './process-service';
import { freePort } from './free-port';
import { makeTempDir } from './temp-dir';
import { waitFor } from './wait-for';

export interface VmSeries {
  metric: { [label: string]: string };
  values: number[];
  timestamps: number[];
}

export function victoriaMetricsBinary(): string {
  return 'victoria-metrics';
}

export class VictoriaMetricsService extends ProcessService {
  private constructor(dir: string, readonly port: number) {
    // A graceful stop (fault tests stop it mid-run) must not turn into the SIGKILL that
    // loses rows VM has already confirmed: it saves in about a second here, but the 5 s
    // default is thin on a loaded 2-core machine.
    super(dir, 30000);
  }

  static async start(): Promise<VictoriaMetricsService> {
    const s = new VictoriaMetricsService(makeTempDir('victoria'), await freePort());
    return ProcessService.launched(s);
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  protected async launch(): Promise<void> {
    this.proc = new ManagedProcess(victoriaMetricsBinary(), [
      `-storageDataPath=${path.join(this.dir, 'data')}`,
      `-httpListenAddr=127.0.0.1:${this.port}`,
      '-retentionPeriod=100y',
      '-dedup.minScrapeInterval=1ms',
      // WARN: VM reports the rows it drops while answering 204 (too far in the future or
      // past, unparsable) only as warnings.
      '-loggerLevel=WARN',
    ], { logFile: this.logFile });
    const proc = this.proc;
    await waitFor(async () => {
      if (!proc.running) throw new Error('victoria-metrics exited');
      const r = await fetch(`${this.url}/health`).catch(() => null);
      return r !== null && r.status === 200;
    }, { timeoutMs: 20000, what: `victoria-metrics on port ${this.port}`, detail: () => proc.output() });
  }

  /** Where its output goes, across restarts. */
  get logFile(): string {
    return path.join(this.dir, 'vm.log');
  }

  /**
   * VM's own account of what it did with written rows (since it last started): inserted,
   * stored, ignored for their timestamp, invalid, deduplicated, series created, failed
   * writes. One line per counter, for a failure message.
   */
  async ingestCounters(): Promise<string> {
    const r = await fetch(`${this.url}/metrics`);
    const wanted = /^vm_(rows_inserted_total\{type="influx"|rows_added_to_storage_total|rows_ignored_total|rows_invalid_total\{type="influx"|deduplicated_samples_total|new_timeseries_created_total|http_request_errors_total\{path="\/influx\/write")/;
    return (await r.text()).split('\n').filter((l) => wanted.test(l)).join('\n');
  }

  /**
   * Raw samples of every series matching a selector (all time, or `range`), after asking
   * VM to make recent writes searchable.
   */
  async export(selector: string, range?: { startMs: number; endMs: number }): Promise<VmSeries[]> {
    await fetch(`${this.url}/internal/force_flush`);
    // Test streams run faster than real time, so their boot-anchored timestamps can lie
    // ahead of the clock; export's default end (now) would hide those samples.
    const start = range ? range.startMs / 1000 : 0;
    const end = range ? range.endMs / 1000 : Math.floor(Date.now() / 1000) + 30 * 86400;
    const r = await fetch(`${this.url}/api/v1/export?match[]=${encodeURIComponent(selector)}&start=${start}&end=${end}`);
    if (r.status !== 200) throw new Error(`export ${selector}: HTTP ${r.status} ${await r.text()}`);
    const text = await r.text();
    return text.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as VmSeries);
  }
}
