/**
 * The one battery seen as several UPS tiers: the newest reading, each tier's status (per
 * reading) and variables (rebuilt at the first request after a reading, so a poll is a
 * map lookup and a reading nobody asks about costs no answer lines), its LB latch and FSD
 * flag, and who is logged in to it. Pure: reading times and "now" are passed in.
 */
import { BATTERY_FLOOR_V } from '../../../hardware';
import type { ReadingFrame } from '../../../protocol';
import { BatteryState, BatteryStateSource, estimateFromVoltage } from './battery-view';
import { quote } from './net-words';
import { MainsEvent, MainsWatch, UpsStatus, deriveStatus, isStale } from './ups-status';
import { StaticInfo, TierInfo, VarTable, buildVariables } from './variables';

interface Tier {
  info: TierInfo;
  lowLatched: boolean;
  fsd: boolean;
  /** When FSD was set, and since when the battery has been charging without a break (null: it is not). */
  fsdAtMs: number;
  chargingSinceMs: number | null;
  status: UpsStatus | null;
  vars: VarTable | null;
  /** The status changed since vars (and their answer lines) were built. */
  varsStale: boolean;
  /** Connection id -> client address, for NUMLOGINS and LIST CLIENT. */
  logins: Map<number, string>;
}

export interface StatusChange {
  ups: string;
  from: string;
  to: string;
  lowBecause: string[];
}

export interface ReadingOutcome {
  mains: MainsEvent | null;
  changes: StatusChange[];
}

/** Charging this long without a break after FSD was set clears it. */
export const FSD_CLEAR_AFTER_MS = 10 * 60 * 1000;

export type TierView = { kind: 'ok'; vars: VarTable } | { kind: 'stale' } | { kind: 'unknown' };

export class UpsBank {
  private readonly tiers = new Map<string, Tier>();
  private readonly order: string[] = [];
  private reading: ReadingFrame | null = null;
  private battery: BatteryState | null = null;
  private readingAtMs: number | null = null;
  private readonly mains = new MainsWatch();
  /** `GET VAR ups name` -> its whole answer line, for every variable of every tier: a poll is one lookup. */
  private readonly answers = new Map<string, Buffer>();
  /** Some tier's vars are out of date. */
  private varsStale = false;

  constructor(
    tiers: TierInfo[],
    private readonly info: StaticInfo,
    private readonly staleAfterMs: number,
    private readonly estimator: BatteryStateSource | null = null,
    private readonly voltageLowV = BATTERY_FLOOR_V,
  ) {
    for (const t of tiers) {
      this.tiers.set(t.name, { info: t, lowLatched: false, fsd: false, fsdAtMs: 0, chargingSinceMs: null, status: null, vars: null, varsStale: false, logins: new Map() });
      this.order.push(t.name);
    }
  }

  names(): readonly string[] {
    return this.order;
  }

  has(ups: string): boolean {
    return this.tiers.has(ups);
  }

  description(ups: string): string {
    return this.tiers.get(ups)?.info.description ?? '';
  }

  /** The tier's ups.status, '' before the first reading. */
  statusText(ups: string): string {
    return this.tiers.get(ups)?.status?.text ?? '';
  }

  get mainsOutage(): boolean {
    return this.mains.inOutage;
  }

  /** A decoded reading arrived at atMs (the bridge's clock). */
  onReading(r: ReadingFrame, atMs: number): ReadingOutcome {
    this.reading = r;
    this.readingAtMs = atMs;
    this.battery = this.estimator?.current(r) ?? estimateFromVoltage(r);
    const changes: StatusChange[] = [];
    for (const [name, t] of this.tiers) {
      const from = t.status?.text ?? '';
      this.rebuild(t);
      const s = t.status!;
      t.chargingSinceMs = s.charging ? t.chargingSinceMs ?? atMs : null;
      // FSD is a latch, as in upsd, but this server can see the power come back: once
      // the bank has been charging for a while since FSD was set, hosts that boot again
      // must not be told to shut down at once.
      if (t.fsd && t.chargingSinceMs !== null && !s.lowBattery && atMs - Math.max(t.fsdAtMs, t.chargingSinceMs) >= FSD_CLEAR_AFTER_MS) {
        t.fsd = false;
        this.rebuild(t);
      }
      t.lowLatched = t.status!.lowBattery;
      if (t.status!.text !== from) changes.push({ ups: name, from, to: t.status!.text, lowBecause: t.status!.lowBecause });
    }
    return { mains: this.mains.observe(r), changes };
  }

  private rebuild(t: Tier): void {
    const r = this.reading;
    const b = this.battery;
    if (!r || !b) return;
    const limits = { chargeLowPct: t.info.chargeLowPct, runtimeLowS: t.info.runtimeLowS, voltageLowV: this.voltageLowV };
    t.status = deriveStatus({ reading: r, battery: b, limits, lowLatched: t.lowLatched, fsd: t.fsd });
    t.varsStale = true;
    this.varsStale = true;
  }

  /** Builds the variables and answer lines of the tiers whose status changed since. */
  private refreshVars(): void {
    if (!this.varsStale) return;
    this.varsStale = false;
    const r = this.reading!;
    const b = this.battery!;
    for (const t of this.tiers.values()) {
      if (!t.varsStale) continue;
      t.varsStale = false;
      t.vars = buildVariables(t.info, r, b, t.status!, this.info);
      const prefix = `GET VAR ${t.info.name} `;
      for (const [k, v] of t.vars) this.answers.set(prefix + k, Buffer.from(`VAR ${t.info.name} ${k} ${quote(v)}\n`, 'utf8'));
    }
  }

  /**
   * The answer to a well-formed `GET VAR ups name` request line while the data is fresh;
   * undefined for anything else (which takes the full protocol path).
   */
  cachedAnswer(line: string, nowMs: number): Buffer | undefined {
    this.refreshVars();
    const a = this.answers.get(line);
    return a === undefined || isStale(this.readingAtMs, this.reading, nowMs, this.staleAfterMs) ? undefined : a;
  }

  /** The tier's variables now, or why there are none. */
  view(ups: string, nowMs: number): TierView {
    const t = this.tiers.get(ups);
    if (!t) return { kind: 'unknown' };
    this.refreshVars();
    if (t.vars === null || isStale(this.readingAtMs, this.reading, nowMs, this.staleAfterMs)) return { kind: 'stale' };
    return { kind: 'ok', vars: t.vars };
  }

  isStale(nowMs: number): boolean {
    return isStale(this.readingAtMs, this.reading, nowMs, this.staleAfterMs);
  }

  /** Sets the forced-shutdown flag (a primary asked); false for an unknown UPS. */
  setFsd(ups: string, nowMs: number): boolean {
    const t = this.tiers.get(ups);
    if (!t) return false;
    if (!t.fsd) t.fsdAtMs = nowMs;
    t.fsd = true;
    this.rebuild(t);
    return true;
  }

  fsd(ups: string): boolean {
    return this.tiers.get(ups)?.fsd ?? false;
  }

  login(ups: string, connection: number, address: string): void {
    this.tiers.get(ups)?.logins.set(connection, address);
  }

  /** A connection closed or logged out: it no longer counts for any tier. */
  logout(connection: number): void {
    for (const t of this.tiers.values()) t.logins.delete(connection);
  }

  numLogins(ups: string): number {
    return this.tiers.get(ups)?.logins.size ?? 0;
  }

  clients(ups: string): string[] {
    return [...(this.tiers.get(ups)?.logins.values() ?? [])];
  }
}
