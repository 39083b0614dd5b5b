/**
 * The live status of `npm start`, as text lines. Pure: the caller gathers a snapshot
 * (the newest reading as it arrived over MQTT, the bridge's counters, the simulated
 * clock) and draws the lines; nothing here reads a clock or a socket.
 */
import type { StateJson } from '../../bridge/src';
import type { ChargerReason } from '../../protocol';

export interface SinkStatus {
  name: string;
  connected: boolean;
  pendingRecords: number;
}

export interface StatusSnapshot {
  /** Simulated local time at the site, e.g. "2025-03-21 13:45:10". */
  siteTime: string;
  speed: number;
  /** The newest reading received over MQTT, and how many wall seconds ago. */
  state: StateJson | null;
  stateAgeS: number;
  /** Since local midnight (or the start, on the first day), from the MCU's counters. */
  energyToday: EnergyTotals | null;
  bridge: {
    sourceUp: boolean;
    framesIn: number;
    linesRejected: number;
    missing: number;
    mcuReboots: number;
    spoolBytes: number;
    sinks: SinkStatus[];
  };
  /** Newest warnings from the bridge log, oldest first. */
  warnings: string[];
  /** Values the bridge's features publish on <base>/derived/<key>, as sent ("None" = unknown). */
  derived?: { readonly [key: string]: string };
}

export interface EnergyTotals {
  /** Wh into the battery (solar and mains). */
  batteryInWh: number;
  batteryOutWh: number;
  /** Wh delivered to the cluster. */
  loadWh: number;
}

function num(x: number | null | undefined, decimals: number, unit: string, width = 0): string {
  const s = x === null || x === undefined ? '—' : x.toFixed(decimals) + ' ' + unit;
  return s.padStart(width);
}

function bytes(n: number): string {
  return n < 1024 ? `${n} B` : n < 1 << 20 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / (1 << 20)).toFixed(1)} MiB`;
}

const REASONS: { [why in ChargerReason]: string } = {
  released: 'battery high and sun up',
  bat_low: 'battery low',
  sun_down: 'sun down',
  bat_low_sun_down: 'battery low and sun down',
  forced_on: 'forced ON by a command',
  forced_off: 'forced OFF by a command',
  floor: 'battery below its floor: a forced OFF overridden',
  dwell: 'held by the minimum dwell time',
  failsafe: 'fail-safe ON: a reading is missing or invalid',
  boot: 'no valid reading yet since boot',
};

/** Why the charger is in its state, in words; unknown reasons are shown as sent. */
export function reasonText(why: string): string {
  return (REASONS as { [why: string]: string | undefined })[why] ?? why;
}

export function renderStatus(s: StatusSnapshot): string[] {
  const lines: string[] = [];
  lines.push(`site time ${s.siteTime}   (${s.speed}× real time)`);
  const st = s.state;
  if (!st) {
    lines.push('waiting for the first reading over MQTT…');
  } else {
    const b = st.battery;
    const current = b.current ?? null;
    const direction = current === null ? '' : current > 0.05 ? 'charging' : current < -0.05 ? 'discharging' : 'idle';
    lines.push(`battery  ${num(b.voltage, 3, 'V', 9)}  ${num(current, 2, 'A', 9)}  ${direction}`);
    lines.push(`load     ${num(st.load.voltage, 3, 'V', 9)}  ${num(st.load.current, 2, 'A', 9)}  ${num(st.load.power, 1, 'W', 8)}`);
    lines.push(`solar    ${num(st.solar.voltage, 3, 'V', 9)}`);
    const mode = st.charger.mode === 'auto' ? '' : ` [mode ${st.charger.mode}]`;
    lines.push(`charger  ${st.charger.state.padEnd(3)} — ${reasonText(st.charger.reason)}${mode}`);
    if (st.faults.names.length > 0) lines.push(`faults   ${st.faults.word}: ${st.faults.names.join(', ')}`);
    lines.push(`reading  boot ${st.boot} seq ${st.seq}, ${s.stateAgeS < 10 ? s.stateAgeS.toFixed(1) : Math.round(s.stateAgeS)} s ago`);
  }
  const battery = batteryLine(s.derived ?? {});
  if (battery) lines.push(battery);
  const e = s.energyToday;
  lines.push(e ? `today    battery in ${num(e.batteryInWh, 1, 'Wh')}, out ${num(e.batteryOutWh, 1, 'Wh')}; load ${num(e.loadWh, 1, 'Wh')}` : 'today    —');
  const br = s.bridge;
  const problems = [br.linesRejected ? `${br.linesRejected} bad lines` : '', br.missing ? `${br.missing} missing` : '', br.mcuReboots ? `${br.mcuReboots} MCU reboots` : '']
    .filter((x) => x !== '').join(', ');
  lines.push(`bridge   source ${br.sourceUp ? 'up' : 'DOWN'}, ${br.framesIn} frames${problems ? ' (' + problems + ')' : ''}, spool ${bytes(br.spoolBytes)}`);
  lines.push(`sinks    ${br.sinks.length === 0 ? 'none' : br.sinks.map((k) => `${k.name} ${k.connected ? 'ok' : 'DOWN'} (${k.pendingRecords} pending)`).join(', ')}`);
  for (const w of s.warnings) lines.push(`warning  ${w}`);
  return lines;
}

/** "9 h 20 min", "45 min", "3 d 4 h". */
export function durationText(seconds: number): string {
  const m = Math.round(seconds / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m % 60} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

/**
 * The battery estimator's answer in one line, e.g. "battery 78 % (164 Ah) · 9 h 20 min
 * to 50 % at 12.3 A · lasts the night alone, 41 Ah to spare"; null before its first value.
 */
export function batteryLine(d: { readonly [key: string]: string }): string | null {
  const n = (key: string): number | null => {
    const t = d[key];
    if (t === undefined || t === '' || t === 'None') return null;
    const x = Number(t);
    return Number.isFinite(x) ? x : null;
  };
  const soc = n('battery_soc');
  if (soc === null) return null;
  const parts: string[] = [];
  const remaining = n('battery_remaining_ah');
  const uncertainty = n('battery_soc_uncertainty');
  parts.push(`battery ${soc.toFixed(0)} %${uncertainty !== null && uncertainty >= 5 ? ` ± ${uncertainty.toFixed(0)}` : ''}${remaining !== null ? ` (${remaining.toFixed(0)} Ah)` : ''}`);
  const floor = n('battery_floor_pct');
  const floorText = floor === null ? 'the floor' : `${floor.toFixed(0)} %`;
  const amps = n('battery_current_avg_a');
  const ampsText = amps === null ? '' : ` at ${Math.abs(amps).toFixed(1)} A`;
  const ttg = n('battery_time_to_go_s');
  switch (d.battery_time_to_go_state) {
    case 'discharging': parts.push(ttg === null ? `discharging${ampsText}` : `${durationText(ttg)} to ${floorText}${ampsText}`); break;
    case 'charging': parts.push(`charging${ampsText}`); break;
    case 'idle': parts.push('idle'); break;
    case 'at_floor': parts.push(`at the ${floorText} floor${ampsText}`); break;
    case 'unknown': parts.push('battery sensor faulted: holding'); break;
    default: break;
  }
  const margin = n('night_margin_ah');
  if (d.night_lasts === 'true') parts.push(`lasts the night alone${margin !== null ? `, ${margin.toFixed(0)} Ah to spare` : ''}`);
  else if (d.night_lasts === 'false') parts.push(`would NOT last the night alone${margin !== null ? `: ${Math.abs(margin).toFixed(0)} Ah short` : ''}`);
  return parts.join(' · ');
}

/**
 * Energy since local midnight from the MCU's running counters: the counters at the first
 * reading of each day are the baseline. A counter that goes down (reset-energy, or a
 * reboot with counters lost) starts a new baseline rather than showing a negative day.
 */
export class EnergyToday {
  private day = -1;
  private base: EnergyTotals | null = null;
  private last: EnergyTotals | null = null;

  update(day: number, counters: EnergyTotals): void {
    const l = this.last;
    const wentDown = l !== null && (counters.batteryInWh < l.batteryInWh || counters.batteryOutWh < l.batteryOutWh || counters.loadWh < l.loadWh);
    if (day !== this.day || this.base === null) {
      this.day = day;
      this.base = counters;
    } else if (wentDown && l !== null) {
      // Keep what was counted before the reset: shift the baseline by the drop.
      this.base = {
        batteryInWh: this.base.batteryInWh - l.batteryInWh,
        batteryOutWh: this.base.batteryOutWh - l.batteryOutWh,
        loadWh: this.base.loadWh - l.loadWh,
      };
    }
    this.last = counters;
  }

  totals(): EnergyTotals | null {
    if (!this.base || !this.last) return null;
    return {
      batteryInWh: this.last.batteryInWh - this.base.batteryInWh,
      batteryOutWh: this.last.batteryOutWh - this.base.batteryOutWh,
      loadWh: this.last.loadWh - this.base.loadWh,
    };
  }
}
