/**
 * Runs the real bridge for tests: in this process (Bridge class, for fine-grained checks)
 * or as its own process through `scripts/bridge.ts` (the CLI users run; needed to SIGKILL
 * it), and reads its /metrics.
 */
import path from 'node:path';
import { Bridge, createLogger, Logger, resolveConfig } from '../../../bridge/src';
import { ManagedProcess, freePort, waitFor } from '../../helpers/services';

export const repoRoot = path.join(__dirname, '..', '..', '..');

/** Log lines captured in memory, for assertions on what the bridge said. */
export class LogCapture {
  readonly lines: string[] = [];
  readonly logger: Logger;
  constructor(level: 'debug' | 'info' | 'warn' = 'debug') {
    this.logger = createLogger(level, 'text', { write: (l: string) => { this.lines.push(l); if (this.lines.length > 5000) this.lines.shift(); } });
  }
  text(): string {
    return this.lines.join('');
  }
}

/** Config from flag-style settings (`{'source.url': …}`), as the CLI would build it. */
export function configFrom(settings: { [key: string]: string | number | boolean }) {
  const r = resolveConfig({ flags: Object.entries(settings).map(([key, value]) => ({ key, value: String(value), flag: `test:${key}` })) });
  if (!r.ok) throw new Error(r.errors.join('\n'));
  return r.config;
}

export async function startBridge(settings: { [key: string]: string | number | boolean }, capture = new LogCapture()): Promise<{ bridge: Bridge; log: LogCapture }> {
  const bridge = new Bridge({ config: configFrom({ 'http.listen': '', ...settings }), log: capture.logger, version: 'test' });
  await bridge.start();
  return { bridge, log: capture };
}

/** Parses Prometheus text into `name{a="x",b="y"}` -> value (labels in the order written). */
export function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const sp = line.lastIndexOf(' ');
    out.set(line.slice(0, sp), Number(line.slice(sp + 1)));
  }
  return out;
}

/** A metric's value (0 when absent); labels as `sink="mqtt"` strings. */
export function metricValue(metrics: Map<string, number>, name: string, labels = ''): number {
  return metrics.get(labels ? `${name}{${labels}}` : name) ?? 0;
}

/** How the bridge process is started: as `npm run bridge` does (ts-node), or from the --build bundle with node flags. */
/** Short retry and reconnect delays, so fault tests do not wait out production backoffs. */
export const FAST_RETRY_ENV: NodeJS.ProcessEnv = {
  SOLAR_BRIDGE_INFLUX_RETRY_INITIAL_MS: '100', SOLAR_BRIDGE_INFLUX_RETRY_MAX_MS: '1000',
  SOLAR_BRIDGE_MQTT_RECONNECT_INITIAL_MS: '100', SOLAR_BRIDGE_MQTT_RECONNECT_MAX_MS: '1000',
  SOLAR_BRIDGE_SOURCE_RECONNECT_INITIAL_MS: '50', SOLAR_BRIDGE_SOURCE_RECONNECT_MAX_MS: '500',
};

export type BridgeLaunch = { kind: 'ts' } | { kind: 'bundle'; file: string; nodeFlags: string[] };

export class BridgeProcess {
  proc: ManagedProcess | null = null;
  constructor(readonly args: string[], readonly httpPort: number, readonly logFile: string, readonly env: NodeJS.ProcessEnv = {}, readonly launch: BridgeLaunch = { kind: 'ts' }) {}

  static async create(args: string[], logFile: string, env: NodeJS.ProcessEnv = {}, launch: BridgeLaunch = { kind: 'ts' }): Promise<BridgeProcess> {
    return new BridgeProcess(args, await freePort(), logFile, env, launch);
  }

  /** Starts `npm run bridge`'s entry with the args plus --http on a free port; waits for /healthz to answer. */
  async start(): Promise<void> {
    const entry = this.launch.kind === 'ts' ? ['scripts/ts-run.js', 'scripts/bridge.ts'] : [...this.launch.nodeFlags, this.launch.file];
    this.proc = new ManagedProcess(process.execPath, [...entry, ...this.args, '--http', `127.0.0.1:${this.httpPort}`], {
      cwd: repoRoot, logFile: this.logFile, env: { ...process.env, ...this.env },
    });
    const proc = this.proc;
    // ts-node compiles the whole bridge at every start: on a loaded 2-core machine that
    // alone has taken over 25 s (a fault run's restarted bridge logged its first line 25 s
    // after the spawn, and the 30 s this wait used to allow ran out).
    await waitFor(async () => {
      if (!proc.running) throw new Error(`bridge exited: ${proc.output()}`);
      const r = await fetch(`http://127.0.0.1:${this.httpPort}/healthz`).catch(() => null);
      return r !== null;
    }, { timeoutMs: 90000, what: 'the bridge to serve /healthz', detail: () => proc.output() });
  }

  async metrics(): Promise<Map<string, number>> {
    const url = `http://127.0.0.1:${this.httpPort}/metrics`;
    let r: Response;
    try {
      r = await fetch(url);
    } catch {
      // The server may close an idle keep-alive connection just as a scrape reuses it
      // ("other side closed"); a second request gets a fresh connection.
      r = await fetch(url);
    }
    return parseMetrics(await r.text());
  }

  output(): string {
    return this.proc?.output() ?? '';
  }

  async kill(): Promise<void> {
    await this.proc?.kill();
  }

  async stop(): Promise<void> {
    await this.proc?.stop(15000);
  }
}
