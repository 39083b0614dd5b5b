/**
 * The battery feature's settings: the estimator's parameters from the config's `battery`
 * section over the hardware/ defaults, where its state file lives, and the one-shot
 * requests (`--battery-rebuild`, `--battery-set-soc`, `--battery-new-bank`) that the CLI
 * leaves beside the state file for the feature to carry out at its next start.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { BridgeConfig } from '../config/schema';
import { CONFIG_SCHEMA } from '../config/schema';
import { writeFileAtomicSync } from '../spool/atomic-file';
import { EstimatorParams, checkParams, defaultEstimatorParams } from './params';

/** The keys of the config's battery.params section. */
const BATTERY_PARAM_KEYS = ((CONFIG_SCHEMA.properties as { battery: { properties: { params: { properties: object } } } }).battery.properties.params.properties);

/** `charged_v` → `chargedV`: the config's keys are the hardware/ field names in snake_case. */
function camel(key: string): string {
  return key.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
}

/**
 * The config key of an estimator field named in paramsFromConfig's error (`chargedV` or
 * `charged_v`): battery.params.charged_v, battery.capacity_ah, battery.floor_pct, or the
 * battery section when it is none of them (a field the config does not set).
 */
export function configKeyOfParam(field: string | undefined): string {
  if (field === 'capacityAh' || field === 'capacity_ah') return 'battery.capacity_ah';
  if (field === 'floorSoc' || field === 'floor_pct') return 'battery.floor_pct';
  const snake = (field ?? '').replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
  return snake !== '' && snake in BATTERY_PARAM_KEYS ? `battery.params.${snake}` : 'battery';
}

/** Throws a RangeError naming the first bad parameter (as battery.<field>). */
export function paramsFromConfig(config: Readonly<BridgeConfig>): EstimatorParams {
  const b = config.battery;
  // The type's preset first; only what the file or flags set explicitly goes over it.
  const p = defaultEstimatorParams(b.type);
  p.capacityAh = b.capacity_ah;
  if (b.floor_pct !== undefined) p.floorSoc = b.floor_pct / 100;
  const target = p as unknown as { [key: string]: unknown };
  for (const [key, value] of Object.entries(b.params)) {
    if (value === undefined) continue;
    const field = camel(key);
    if (!(field in target)) throw new RangeError(`battery.params.${key}: no such estimator parameter`);
    target[field] = value;
  }
  checkParams(p);
  return p;
}

export function stateFilePath(config: Readonly<BridgeConfig>): string {
  return config.battery.state_file || path.join(config.spool.dir, 'battery-state.json');
}

/** What the operator asked for at start: rebuild from the spool, a new bank, a known state of charge (0..1). */
export interface BatteryRequest {
  rebuild?: boolean;
  newBank?: boolean;
  setSoc?: number;
}

function requestFile(config: Readonly<BridgeConfig>): string {
  return stateFilePath(config) + '.request';
}

/**
 * Leaves a request for the feature's next start (this process's, when the CLI is
 * starting the bridge): a file, so it also survives a crash before the feature ran, and
 * is carried out exactly once.
 */
export function requestBatteryAction(config: Readonly<BridgeConfig>, request: BatteryRequest): void {
  if (request.setSoc !== undefined && !(request.setSoc >= 0 && request.setSoc <= 1)) {
    throw new RangeError(`battery state of charge must be 0..100 %, got ${request.setSoc * 100}`);
  }
  const file = requestFile(config);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  writeFileAtomicSync(file, JSON.stringify(request));
}

/** The pending request, or null; throws with the file's name when it cannot be read. */
export function pendingBatteryRequest(config: Readonly<BridgeConfig>): BatteryRequest | null {
  const file = requestFile(config);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new Error(`cannot read ${file}: ${(e as Error).message}`);
  }
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch {
    throw new Error(`${file}: not JSON; delete it or run the bridge with --battery-rebuild / --battery-set-soc again`);
  }
  const r = (o && typeof o === 'object' ? o : {}) as BatteryRequest;
  return { rebuild: r.rebuild === true, newBank: r.newBank === true, setSoc: typeof r.setSoc === 'number' ? r.setSoc : undefined };
}

/** Called once the request has been carried out and the state saved. */
export function clearBatteryRequest(config: Readonly<BridgeConfig>): void {
  fs.rmSync(requestFile(config), { force: true });
}
