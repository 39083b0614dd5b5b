/**
 * The NUT server as a bridge feature. Each cluster host's upsmon polls it like any UPS;
 * the battery bank appears as one UPS per configured tier, each with its own low limits.
 * It takes every reading from core.onFrame, the battery estimator's charge and runtime
 * from core.derived when that feature runs (battery-derived.ts), and publishes the mains
 * outage it detects as the derived value `mains_outage`, which the MQTT (and Home
 * Assistant), InfluxDB and /metrics sinks carry. See bridge/NUT.md.
 */
import { BATTERY_TYPES } from '../../../hardware';
import type { ReadingFrame } from '../../../protocol';
import type { Feature, FeatureDefinition } from '../core/feature';
import type { DerivedValueSpec } from '../core/derived-values';
import type { Logger } from '../log/logger';
import type { BatteryStateSource } from './battery-view';
import { ESTIMATE_MAX_AGE_MS, derivedBatterySource } from './battery-derived';
import { NutConfig, resolveNutUsers } from './nut-config';
import { NutMetrics, createNutMetrics } from './nut-metrics';
import { NutServer } from './nut-server';
import { UpsBank } from './ups-bank';
import type { MainsEvent } from './ups-status';

export const MAINS_OUTAGE: DerivedValueSpec = {
  key: 'mains_outage',
  label: 'Mains outage',
  // On = a problem: the charger is commanded on at night, yet the battery discharges.
  homeassistant: { component: 'binary_sensor', device_class: 'problem' },
};

export const nutFeature: FeatureDefinition = {
  name: 'nut',
  enabled: (c) => c.nut.enabled,
  checkConfig(c, env) {
    const r = resolveNutUsers(c.nut, env);
    // The key leads the text ("nut.users[0] (mon): ..."); the problem is the rest.
    return r.ok ? [] : r.problems.map((p) => ({ key: p.key, problem: p.text.slice(p.text.indexOf(': ') + 2) }));
  },
  create(core): Feature {
    const service = new NutService({
      config: core.config.nut,
      deviceId: core.config.device_id,
      version: core.version,
      batteryType: BATTERY_TYPES[core.config.battery.type].nutType,
      metrics: createNutMetrics(core.metrics.registry),
      log: core.log,
      env: process.env,
      battery: derivedBatterySource(core.derived, () => core.latestReading()?.record.ts ?? 0, ESTIMATE_MAX_AGE_MS),
      onMainsState: (ts, outage) => core.derived.set(ts, { [MAINS_OUTAGE.key]: outage }),
    });
    let unsubscribe = (): void => undefined;
    return {
      async start() {
        core.derived.declare('nut', [MAINS_OUTAGE]);
        await service.start();
        unsubscribe = core.onFrame((rec) => {
          if (rec.frame.type === 'R') service.reading(rec.frame, rec.ts);
        });
      },
      async stop() {
        unsubscribe();
        await service.stop();
      },
      health: () => service.health(),
    };
  },
};

export interface NutFeatureDeps {
  config: NutConfig;
  deviceId: string;
  version: string;
  metrics: NutMetrics;
  log: Logger;
  env: { [name: string]: string | undefined };
  /** NUT's name for the battery's chemistry (battery.type). */
  batteryType?: string;
  /** The battery estimator's view (battery-derived.ts); null or its null answer = charge and runtime from voltage. */
  battery?: BatteryStateSource | null;
  /**
   * Whether a mains outage is going on, as of the reading's time `ts`: once after the
   * first reading (false: none detected), then at each outage and restoration.
   */
  onMainsState?: (ts: number, outage: boolean) => void;
  now?: () => number;
}

export class NutService {
  private server: NutServer | null = null;
  private bank: UpsBank | null = null;
  private port = 0;
  private mainsKnown = false;
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
    this.bank = new UpsBank(tiers, { bridgeVersion: this.deps.version, deviceId: this.deps.deviceId, batteryType: this.deps.batteryType }, c.stale_after_ms, this.deps.battery ?? null);
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

  /** A reading taken at `ts` (ms, the bridge's clock for the MCU's time). */
  reading(r: ReadingFrame, ts: number): void {
    if (!this.bank) return;
    const out = this.bank.onReading(r, this.now());
    for (const ch of out.changes) {
      if (ch.from === '') continue;
      this.deps.log.info(`NUT ${ch.ups}: ups.status ${ch.from} -> ${ch.to}${ch.lowBecause.length > 0 ? ` (low: ${ch.lowBecause.join(', ')})` : ''}`);
    }
    if (out.mains) this.mainsEvent(out.mains, ts);
    else if (!this.mainsKnown) this.deps.onMainsState?.(ts, this.bank.mainsOutage);
    this.mainsKnown = true;
  }

  private mainsEvent(e: MainsEvent, ts: number): void {
    this.deps.metrics.mainsEvents.inc({ kind: e.kind });
    this.deps.log.warn(e.kind === 'mains_outage'
      ? `mains outage: the charger is commanded ON with the sun down, yet the battery is discharging (${e.battery_a} A)`
      : 'mains restored: the battery is charging again, or the charger is no longer needed');
    this.deps.onMainsState?.(ts, e.kind === 'mains_outage');
  }

  /** For /healthz (features.nut): where it listens, who is connected, each tier's status. */
  health(): { problems: string[]; listening: string | null; connections: number; stale: boolean; ups: { [name: string]: string } } {
    const bank = this.bank;
    const ups: { [name: string]: string } = {};
    for (const name of bank?.names() ?? []) ups[name] = bank!.statusText(name);
    const problems = this.server?.listening === false ? ['the NUT server is not listening'] : [];
    return {
      problems,
      listening: this.server ? this.deps.config.listen.replace(/:\d+$/, `:${this.port}`) : null,
      connections: this.server?.connections ?? 0,
      stale: bank?.isStale(this.now()) ?? true,
      ups,
    };
  }

  async stop(): Promise<void> {
    await this.server?.close();
    this.server = null;
  }
}
