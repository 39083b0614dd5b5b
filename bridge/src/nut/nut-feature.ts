/**
 * The NUT server as a bridge feature: start, stop, and one call per decoded reading.
 * Each cluster host's upsmon polls it like any UPS; the battery bank appears as one UPS
 * per configured tier, each with its own low limits. See bridge/NUT.md.
 */
import type { ReadingFrame } from '../../../protocol';
import type { Logger } from '../log/logger';
import type { BridgeMetrics } from '../metrics/bridge-metrics';
import type { BatteryStateSource } from './battery-view';
import { NutConfig, resolveNutUsers } from './nut-config';
import { NutServer } from './nut-server';
import { UpsBank } from './ups-bank';
import type { MainsEvent } from './ups-status';

export interface NutFeatureDeps {
  config: NutConfig;
  deviceId: string;
  version: string;
  metrics: BridgeMetrics;
  log: Logger;
  env: { [name: string]: string | undefined };
  /** The battery estimator, once it exists; null = charge and runtime from voltage. */
  battery?: BatteryStateSource | null;
  /** A mains outage or restoration was detected (the bridge publishes it on MQTT). */
  onMainsEvent?: (e: MainsEvent & { at: string }) => void;
  now?: () => number;
}

export class NutFeature {
  private server: NutServer | null = null;
  private bank: UpsBank | null = null;
  private port = 0;
  private readonly now: () => number;

  constructor(private readonly deps: NutFeatureDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** Throws, naming the key, when the configuration cannot work or the port cannot be opened. */
  async start(): Promise<void> {
    const c = this.deps.config;
    const r = resolveNutUsers(c, this.deps.env);
    if (!r.ok) throw new Error(`nut: ${r.errors.join('; ')}`);
    if (r.users.length === 0) this.deps.log.warn('NUT server has no users (nut.users): clients can read, but no upsmon can LOGIN');
    const tiers = c.ups.map((u) => ({ name: u.name, description: u.description, chargeLowPct: u.charge_low, runtimeLowS: u.runtime_low }));
    this.bank = new UpsBank(tiers, { bridgeVersion: this.deps.version, deviceId: this.deps.deviceId }, c.stale_after_ms, this.deps.battery ?? null);
    this.server = new NutServer({ bank: this.bank, users: new Map(r.users.map((u) => [u.name, u])), serverVersion: this.deps.version },
      { listen: c.listen, maxConnections: c.max_connections, idleTimeoutMs: c.idle_timeout_s * 1000, maxLineBytes: c.max_line_bytes },
      this.deps.metrics, this.deps.log, this.now);
    const addr = await this.server.listen();
    this.port = addr.port;
    this.deps.log.info(`NUT server on ${addr.address.includes(':') ? `[${addr.address}]` : addr.address}:${addr.port}: UPS ${tiers.map((t) => `${t.name} (LB at ${t.chargeLowPct} %${t.runtimeLowS > 0 ? ` or ${t.runtimeLowS} s` : ''})`).join(', ')}; ${r.users.length} user(s)`);
  }

  /** The port listened on (useful with port 0). */
  listenPort(): number {
    return this.port;
  }

  reading(r: ReadingFrame): void {
    if (!this.bank) return;
    const out = this.bank.onReading(r, this.now());
    for (const ch of out.changes) {
      if (ch.from === '') continue;
      this.deps.log.info(`NUT ${ch.ups}: ups.status ${ch.from} -> ${ch.to}${ch.lowBecause.length > 0 ? ` (low: ${ch.lowBecause.join(', ')})` : ''}`);
    }
    if (out.mains) {
      this.deps.metrics.nutMainsEvents.inc({ kind: out.mains.kind });
      this.deps.log.warn(out.mains.kind === 'mains_outage'
        ? `mains outage: the charger is commanded ON with the sun down, yet the battery is discharging (${out.mains.battery_a} A)`
        : 'mains restored: the battery is charging again, or the charger is no longer needed');
      this.deps.onMainsEvent?.({ ...out.mains, at: new Date(this.now()).toISOString() });
    }
  }

  async stop(): Promise<void> {
    await this.server?.close();
    this.server = null;
  }
}
