/**
 * The variables each UPS tier publishes, by NUT's standard names (docs/nut-names.txt of
 * networkupstools/nut), with their descriptions and types for GET DESC / GET TYPE. Pure.
 */
import { BATTERY_BANK, BATTERY_FLOOR_V } from '../../../hardware';
import type { ReadingFrame } from '../../../protocol';
import { BANK_AH, BatteryState } from './battery-view';
import type { UpsStatus } from './ups-status';

export interface StaticInfo {
  bridgeVersion: string;
  deviceId: string;
  /** NUT's battery.type for the configured battery.type (hardware/battery.ts BATTERY_TYPES); PbAc when not given. */
  batteryType?: string;
}

export interface TierInfo {
  name: string;
  description: string;
  chargeLowPct: number;
  runtimeLowS: number;
}

/** Name -> value, in the order LIST VAR sends them (sorted, as upsd does). */
export type VarTable = ReadonlyMap<string, string>;

const DESCRIPTIONS: { [name: string]: string } = {
  'battery.capacity': 'Battery capacity (Ah)',
  'battery.charge': 'Battery charge (percent)',
  'battery.charge.low': 'Remaining battery level when UPS switches to LB (percent)',
  'battery.charger.status': 'Status of the battery charger',
  'battery.current': 'Battery current (A), positive while charging',
  'battery.runtime': 'Battery runtime (seconds)',
  'battery.runtime.low': 'Remaining battery runtime when UPS switches to LB (seconds)',
  'battery.type': 'Battery chemistry',
  'battery.voltage': 'Battery voltage (V)',
  'battery.voltage.low': 'Battery voltage at which UPS switches to LB (V)',
  'battery.voltage.nominal': 'Nominal battery voltage (V)',
  'device.description': 'Device description',
  'device.mfr': 'Device manufacturer',
  'device.model': 'Device model',
  'device.type': 'Device type',
  'device.uptime': 'Device uptime (seconds)',
  'driver.name': 'Driver name',
  'driver.parameter.battery_state': 'Where battery.charge and battery.runtime come from',
  'driver.version': 'Driver version',
  'input.voltage': 'Solar panel voltage (V)',
  'output.current': 'Output (cluster load) current (A)',
  'output.voltage': 'Output (cluster load) voltage (V)',
  'ups.mfr': 'UPS manufacturer',
  'ups.model': 'UPS model',
  'ups.realpower': 'Current value of real power (W): the cluster load',
  'ups.status': 'UPS status',
};

const STRINGS = new Set(['battery.charger.status', 'battery.type', 'device.description', 'device.mfr', 'device.model', 'device.type',
  'driver.name', 'driver.parameter.battery_state', 'driver.version', 'ups.mfr', 'ups.model', 'ups.status']);

export function describeVar(name: string): string | null {
  return DESCRIPTIONS[name] ?? null;
}

/** GET TYPE's answer for a variable this server publishes. */
export function typeOf(name: string, value: string): string {
  return STRINGS.has(name) ? `STRING:${Math.max(32, value.length)}` : 'NUMBER';
}

/** Decimal, never exponent notation (the protocol forbids it). */
function fixed(v: number, decimals: number): string {
  return v.toFixed(decimals);
}

const MODEL = `Solar battery bank, ${BATTERY_BANK.count} x ${BATTERY_BANK.ahEach} Ah ${BATTERY_BANK.chemistry}`;

export function buildVariables(tier: TierInfo, r: ReadingFrame, b: BatteryState, status: UpsStatus, info: StaticInfo): VarTable {
  const v: Array<[string, string]> = [
    ['battery.capacity', fixed(b.capacityAh ?? BANK_AH, 0)],
    ['battery.charge.low', String(tier.chargeLowPct)],
    ['battery.runtime.low', String(tier.runtimeLowS)],
    ['battery.type', info.batteryType ?? 'PbAc'],
    ['battery.voltage.low', fixed(BATTERY_FLOOR_V, 2)],
    ['battery.voltage.nominal', String(BATTERY_BANK.nominalV)],
    ['battery.charger.status', status.charging ? 'charging' : status.discharging ? 'discharging' : 'resting'],
    ['device.description', tier.description],
    ['device.mfr', 'solar-cluster'],
    ['device.model', MODEL],
    ['device.type', 'ups'],
    ['device.uptime', fixed(r.up, 0)],
    ['driver.name', 'solar-cluster-bridge'],
    ['driver.parameter.battery_state', b.source],
    ['driver.version', info.bridgeVersion],
    ['ups.mfr', 'solar-cluster'],
    ['ups.model', MODEL],
    ['ups.status', status.text],
  ];
  if (b.chargePct !== null) v.push(['battery.charge', fixed(b.chargePct, 0)]);
  if (b.runtimeS !== null) v.push(['battery.runtime', fixed(b.runtimeS, 0)]);
  if (r.bv !== null) v.push(['battery.voltage', fixed(r.bv, 2)]);
  if (r.ba !== null) v.push(['battery.current', fixed(r.ba, 2)]);
  if (r.sv !== null) v.push(['input.voltage', fixed(r.sv, 2)]);
  if (r.lv !== null) v.push(['output.voltage', fixed(r.lv, 2)]);
  if (r.la !== null) v.push(['output.current', fixed(r.la, 2)]);
  if (r.lw !== null) v.push(['ups.realpower', fixed(r.lw, 0)]);
  v.sort((a, c) => (a[0] < c[0] ? -1 : a[0] > c[0] ? 1 : 0));
  return new Map(v);
}
