/** What the bridge's /api/… answers (bridge/src/web/web-feature.ts), as the page reads it. */
import type { ChartJson } from '../src/web/chart-data';

export interface ReadingState {
  time: string;
  timestamp_ms: number;
  boot: number;
  seq: number;
  age_s: number;
  battery: { [k: string]: number | null };
  load: { [k: string]: number | null };
  solar: { [k: string]: number | null };
  charger: { on: boolean; state: 'ON' | 'OFF'; reason: string; reason_words: string; mode: string; mode_words: string; force_expires_ms: number | null };
  faults: { word: string; names: string[]; words: string[] };
}

export interface HealthState {
  healthy: boolean;
  problems: string[];
  source: { description?: string; up: boolean };
  sinks: { [sink: string]: { connected: boolean; pending_records: number; dropped_records: number } };
  spool?: { bytes: number; segments: number };
}

export interface BatteryValues {
  battery_soc?: number | null;
  battery_soc_uncertainty?: number | null;
  battery_time_to_go_s?: number | null;
  battery_time_to_go_state?: string | null;
  battery_runtime_alone_s?: number | null;
  battery_health?: number | null;
  night_lasts?: boolean | null;
  night_margin_ah?: number | null;
}

export interface PageState {
  instance: string;
  version: string;
  now_ms: number;
  reading: ReadingState | null;
  /** The battery estimator's derived values (keys as it declares them); null without an estimator. */
  battery: BatteryValues | null;
  nut_clients: number | null;
  thresholds: { [k: string]: number } | null;
  health: HealthState;
  controls: boolean;
  controls_hint: string | null;
}

/** What /api/chart answers: the server's chart (one definition, bridge/src/web/chart-data.ts) plus its range and thresholds. */
export interface ChartData extends ChartJson {
  range: string;
  thresholds: { [k: string]: number } | null;
}

export interface WebEvent {
  ts: number;
  kind: string;
  text: string;
}

export interface CommandReply {
  ok: boolean;
  cmd?: string;
  error?: string;
  detail?: string;
  data?: { [k: string]: number | string | null };
}

export async function getJson<T>(path: string): Promise<T> {
  const r = await fetch(path, { cache: 'no-store' });
  if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`);
  return (await r.json()) as T;
}

export async function postCommand(token: string, command: object): Promise<{ status: number; reply: CommandReply }> {
  const r = await fetch('/api/command', {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(command),
  });
  const reply = (await r.json().catch(() => ({ ok: false, error: `HTTP ${r.status}` }))) as CommandReply;
  return { status: r.status, reply };
}
