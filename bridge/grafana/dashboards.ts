/**
 * The Grafana dashboards, built from one list of panels in two query languages: InfluxQL
 * (InfluxDB 1.x, and 1.8+/2.x through their InfluxQL endpoint) and Flux (InfluxDB 2).
 * The JSON files next to this are its output; regenerate them after a change with
 *
 *   node scripts/ts-run.js bridge/grafana/dashboards.ts
 *
 * test/deploy/grafana.test.ts fails when a file differs from what this builds, so the
 * two dashboards cannot drift apart, and the voltage bands always come from hardware/.
 *
 * Names follow the bridge's line protocol (bridge/src/sinks/influx/line-protocol.ts):
 *   power,device=D,channel=battery|load|solar  voltage current power charge_in charge_out energy_in energy_out seq boot
 *   charger,device=D                           on reason mode faults uptime seq boot
 *   event,device=D,kind=K                      message fw uptime boot
 */
import fs from 'node:fs';
import path from 'node:path';
import { BATTERY_FLOOR_V, DEFAULT_THRESHOLDS, SOLAR_CONTROLLER, VOLTAGE_RANGES } from '../../hardware';
import { FLT_RESERVED } from '../../protocol';
import { REASONS } from '../src/sinks/mqtt/ha-discovery';

export type Flavor = 'influxql' | 'flux';

type Json = { [key: string]: unknown };

/** Names the provisioning files give the data sources; the dashboards select them by default. */
export const DATASOURCE_NAMES: Record<Flavor, string> = {
  influxql: 'Solar InfluxDB (InfluxQL)',
  flux: 'Solar InfluxDB 2 (Flux)',
};
export const DASHBOARD_UIDS: Record<Flavor, string> = {
  influxql: 'solar-cluster-influxql',
  flux: 'solar-cluster-flux',
};
export const DASHBOARD_FILES: Record<Flavor, string> = {
  influxql: path.join(__dirname, 'dashboards', 'solar-cluster-influxql.json'),
  flux: path.join(__dirname, 'dashboards', 'solar-cluster-flux.json'),
};

/** The bridge's default device_id and the example database/bucket name (config.example.yaml). */
const DEFAULT_DEVICE = 'solar-cluster';
const DEFAULT_BUCKET = 'solar';
/** The site's IANA zone, for where a day starts in the energy panel (hardware/ SITE has only the offset). */
const DEFAULT_TZ = 'Australia/Brisbane';

/** Volts rounded to the millivolt the MCU reports, so the JSON shows 13.976, not 13.976287444363020. */
const mV = (v: number): number => Math.round(v * 1000) / 1000;

/**
 * The battery voltage bands, lowest first: each step colours the voltages from its value up
 * to the next step. All numbers come from hardware/.
 */
export function batteryBands(): Array<{ value: number | null; color: string; meaning: string }> {
  return [
    { value: null, color: 'red', meaning: `below ${mV(SOLAR_CONTROLLER.loadDisconnectV)} V the MP3735 disconnects the cluster` },
    { value: mV(SOLAR_CONTROLLER.loadDisconnectV), color: 'orange', meaning: `below ${mV(BATTERY_FLOOR_V)} V the firmware overrides a forced OFF (floor)` },
    { value: mV(BATTERY_FLOOR_V), color: 'yellow', meaning: `below ${mV(DEFAULT_THRESHOLDS.batteryOnV)} V the battery-low latch turns the charger ON` },
    { value: mV(DEFAULT_THRESHOLDS.batteryOnV), color: 'transparent', meaning: 'normal: the latch keeps its last state' },
    { value: mV(DEFAULT_THRESHOLDS.batteryOffV), color: 'blue', meaning: `above ${mV(DEFAULT_THRESHOLDS.batteryOffV)} V the battery-low latch releases` },
  ];
}

// ---------------------------------------------------------------------------
// Queries. Grafana expands $timeFilter, $__interval, ${var} (InfluxQL) and v.timeRangeStart,
// v.timeRangeStop, v.windowPeriod, ${var} (Flux) before sending them.

const DEV_QL = `"device" = '$device'`;
const DEV_FLUX = 'r.device == "${device}"';
const FLUX_FROM = 'from(bucket: "${bucket}")\n  |> range(start: v.timeRangeStart, stop: v.timeRangeStop)';

/** InfluxQL: one aggregate of one field per $__interval. */
function ql(fn: string, field: string, measurement: string, alias: string, where = ''): string {
  return `SELECT ${fn}("${field}") AS "${alias}" FROM "${measurement}" WHERE ${DEV_QL}${where ? ' AND ' + where : ''} AND $timeFilter GROUP BY time($__interval) fill(none)`;
}

/** Flux: the same, as a table with one value column named `alias`. */
function flux(fn: string, field: string, measurement: string, alias: string, where = ''): string {
  return `${FLUX_FROM}\n  |> filter(fn: (r) => r._measurement == "${measurement}" and ${DEV_FLUX}${where ? ' and ' + where : ''} and r._field == "${field}")\n` +
    `  |> aggregateWindow(every: v.windowPeriod, fn: ${fn}, createEmpty: false)\n` +
    `  |> keep(columns: ["_time", "_value"])\n  |> rename(columns: {_value: "${alias}"})`;
}

const chQL = (c: string): string => `"channel" = '${c}'`;
const chFlux = (c: string): string => `r.channel == "${c}"`;

/** One panel query in both languages; `channel` narrows the power measurement to one channel. */
function target(refId: string, fn: string, field: string, measurement: string, alias: string, channel?: string): { refId: string; influxql: string; flux: string } {
  return {
    refId,
    influxql: ql(fn, field, measurement, alias, channel ? chQL(channel) : ''),
    flux: flux(fn, field, measurement, alias, channel ? chFlux(channel) : ''),
  };
}

/*
 * Energy per day. The firmware counts Wh per shunt (battery in/out, load in/out) and the
 * counters survive missed readings, so the daily figures are sums of counter increments,
 * not integrals of sampled power. Sources (solar + mains) deliver what went into the battery
 * net plus what the load drew: Δbattery_in − Δbattery_out + Δload_out − Δload_in.
 * Nothing measures solar and mains apart (no shunt on either), so each minute is given to
 * the one that can have delivered it: the MP3735 connects the panels only when they stand
 * above the battery, so a minute with the panel voltage above the battery's is solar, any
 * other is mains. A minute in which both ran (battery low in daylight) counts as solar.
 * Increments per minute: a counter that went back (reset-energy, counters restored from
 * flash after a reset) contributes nothing instead of a negative day.
 */
function energyQL(which: 'solar' | 'mains' | 'load'): string {
  const inc = (f: string): string => `non_negative_difference(last("${f}"))`;
  const perMinute = (fields: string, c: string): string =>
    `SELECT ${fields} FROM "power" WHERE ${DEV_QL} AND ${chQL(c)} AND $timeFilter GROUP BY time(1m)`;
  const day = `WHERE $timeFilter GROUP BY time(1d) tz('$tz')`;
  if (which === 'load') {
    return `SELECT sum("wh") AS "Load out" FROM (${perMinute(`${inc('energy_out')} AS "wh"`, 'load')}) ${day}`;
  }
  const sources = `SELECT sum("wh") AS "wh", max("bv") AS "bv", max("sv") AS "sv" FROM ` +
    `(${perMinute(`${inc('energy_in')} - ${inc('energy_out')} AS "wh", last("voltage") AS "bv"`, 'battery')}), ` +
    `(${perMinute(`${inc('energy_out')} - ${inc('energy_in')} AS "wh"`, 'load')}), ` +
    `(${perMinute('mean("voltage") AS "sv"', 'solar')}) ` +
    `WHERE $timeFilter GROUP BY time(1m)`;
  return which === 'solar'
    ? `SELECT sum("wh") AS "Solar in" FROM (${sources}) WHERE "sv" > "bv" AND $timeFilter GROUP BY time(1d) tz('$tz')`
    : `SELECT sum("wh") AS "Mains in" FROM (${sources}) WHERE "sv" <= "bv" AND $timeFilter GROUP BY time(1d) tz('$tz')`;
}

function energyFlux(which: 'solar' | 'mains' | 'load'): string {
  const head = `import "timezone"\noption location = timezone.location(name: "\${tz}")\n\n` +
    `data = ${FLUX_FROM}\n  |> filter(fn: (r) => r._measurement == "power" and ${DEV_FLUX})\n`;
  const perDay = (alias: string): string =>
    `  |> aggregateWindow(every: 1d, fn: sum, createEmpty: false)\n  |> keep(columns: ["_time", "_value"])\n  |> rename(columns: {_value: "${alias}"})`;
  if (which === 'load') {
    return head + `data\n  |> filter(fn: (r) => r.channel == "load" and r._field == "energy_out")\n` +
      `  |> aggregateWindow(every: 1m, fn: last, createEmpty: false)\n  |> difference(nonNegative: true)\n` + perDay('Load out');
  }
  const cmp = which === 'solar' ? '>' : '<=';
  return head +
    `counters = data\n  |> filter(fn: (r) => (r.channel == "battery" or r.channel == "load") and (r._field == "energy_in" or r._field == "energy_out"))\n` +
    `  |> aggregateWindow(every: 1m, fn: last, createEmpty: false)\n  |> difference(nonNegative: true)\n` +
    `volts = data\n  |> filter(fn: (r) => (r.channel == "battery" or r.channel == "solar") and r._field == "voltage")\n` +
    `  |> aggregateWindow(every: 1m, fn: mean, createEmpty: false)\n\n` +
    `union(tables: [counters, volts])\n` +
    // _start/_stop stay in the group key so pivot keeps them for aggregateWindow below.
    `  |> group(columns: ["_start", "_stop"])\n` +
    `  |> pivot(rowKey: ["_time"], columnKey: ["channel", "_field"], valueColumn: "_value")\n` +
    `  |> filter(fn: (r) => exists r.battery_energy_in and exists r.battery_energy_out and exists r.load_energy_in and exists r.load_energy_out and exists r.battery_voltage and exists r.solar_voltage)\n` +
    `  |> filter(fn: (r) => r.solar_voltage ${cmp} r.battery_voltage)\n` +
    `  |> map(fn: (r) => ({_time: r._time, _start: r._start, _stop: r._stop, _value: r.battery_energy_in - r.battery_energy_out + r.load_energy_out - r.load_energy_in}))\n` +
    perDay(which === 'solar' ? 'Solar in' : 'Mains in');
}

/*
 * Bridge health from what InfluxDB holds: readings stored, readings missing (the MCU
 * numbers its readings; within a boot, seq advancing further than the readings stored
 * means some never arrived), and MCU boots. Bad lines, spool size and sink errors are
 * not written to InfluxDB: they are on the bridge's /metrics (see README.md).
 */
const missingQL = `SELECT non_negative_difference(last("seq")) - count("seq") AS "Missing" FROM "charger" WHERE ${DEV_QL} AND $timeFilter GROUP BY time($__interval) fill(none)`;
const missingFlux = `${FLUX_FROM}\n  |> filter(fn: (r) => r._measurement == "charger" and ${DEV_FLUX} and r._field == "seq")\n` +
  `  |> difference(nonNegative: true)\n  |> map(fn: (r) => ({r with _value: r._value - 1}))\n` +
  `  |> aggregateWindow(every: v.windowPeriod, fn: sum, createEmpty: false)\n  |> keep(columns: ["_time", "_value"])\n  |> rename(columns: {_value: "Missing"})`;

// ---------------------------------------------------------------------------
// Panels

interface Target {
  refId: string;
  influxql: string;
  flux: string;
}

interface PanelSpec {
  title: string;
  type: 'timeseries' | 'state-timeline';
  description: string;
  gridPos: { x: number; y: number; w: number; h: number };
  targets: Target[];
  fieldConfig: Json;
  options: Json;
  /** Grafana's query interval for the panel (the energy bars are daily regardless). */
  interval?: string;
}

const legend = { displayMode: 'list', placement: 'bottom', showLegend: true };
const tooltip = { mode: 'multi', sort: 'none' };
const line = (extra: Json = {}): Json => ({ drawStyle: 'line', lineWidth: 1, fillOpacity: 0, showPoints: 'never', spanNulls: false, ...extra });
const byRef = (refId: string, properties: Json[]): Json => ({ matcher: { id: 'byFrameRefID', options: refId }, properties });

function panelSpecs(): PanelSpec[] {
  const bands = batteryBands();
  const reasonColors: { [reason: string]: string } = {
    released: 'green', bat_low: 'orange', sun_down: 'blue', bat_low_sun_down: 'purple', forced_on: 'yellow',
    forced_off: 'yellow', floor: 'red', dwell: 'text', failsafe: 'red', boot: 'text',
  };
  return [
    {
      title: 'Battery voltage',
      type: 'timeseries',
      description: 'Mean battery bus voltage per interval. Bands (from hardware/): ' + bands.map((b) => b.meaning).join('; ') + '.',
      gridPos: { x: 0, y: 0, w: 12, h: 9 },
      targets: [target('A', 'mean', 'voltage', 'power', 'Battery', 'battery')],
      fieldConfig: {
        defaults: {
          unit: 'volt', decimals: 2, min: VOLTAGE_RANGES.battery.min, max: VOLTAGE_RANGES.battery.max,
          color: { mode: 'fixed', fixedColor: 'text' },
          custom: line({ lineWidth: 2, thresholdsStyle: { mode: 'line+area' } }),
          thresholds: { mode: 'absolute', steps: bands.map((b) => ({ color: b.color, value: b.value })) },
        },
        overrides: [],
      },
      options: { legend, tooltip },
    },
    {
      title: 'Battery current',
      type: 'timeseries',
      description: 'Mean battery current per interval: above zero the bank is charging (solar or mains), below zero it is discharging into the cluster.',
      gridPos: { x: 12, y: 0, w: 12, h: 9 },
      targets: [target('A', 'mean', 'current', 'power', 'Battery', 'battery')],
      fieldConfig: {
        defaults: {
          unit: 'amp', decimals: 2,
          // Colour by sign: red discharging, green charging.
          color: { mode: 'thresholds' },
          custom: line({ fillOpacity: 30, gradientMode: 'scheme', thresholdsStyle: { mode: 'line' } }),
          thresholds: { mode: 'absolute', steps: [{ color: 'red', value: null }, { color: 'green', value: 0 }] },
        },
        overrides: [],
      },
      options: { legend, tooltip },
    },
    {
      title: 'Load and solar',
      type: 'timeseries',
      description: 'Power drawn by the cluster (load shunt) and the solar panel voltage (right axis). Panel current and power are drawn only with a third INA219 on the panel (firmware sa/sw); the default hardware measures the voltage alone.',
      gridPos: { x: 0, y: 9, w: 12, h: 9 },
      targets: [
        target('A', 'mean', 'power', 'power', 'Load power', 'load'),
        target('B', 'mean', 'voltage', 'power', 'Panel voltage', 'solar'),
      ],
      fieldConfig: {
        defaults: { unit: 'watt', decimals: 1, color: { mode: 'palette-classic' }, custom: line({ fillOpacity: 10 }) },
        overrides: [byRef('B', [{ id: 'unit', value: 'volt' }, { id: 'custom.axisPlacement', value: 'right' }, { id: 'color', value: { mode: 'fixed', fixedColor: 'yellow' } }])],
      },
      options: { legend, tooltip },
    },
    {
      title: 'Charger',
      type: 'state-timeline',
      description: 'What the firmware decided: charger ON/OFF (REMOTE), why (latches, force, floor, fail-safe), the force mode, and whether any fault flag was set in the interval (details on MQTT <base>/faults).',
      gridPos: { x: 12, y: 9, w: 12, h: 9 },
      targets: [
        target('A', 'last', 'on', 'charger', 'Charger'),
        target('B', 'last', 'reason', 'charger', 'Reason'),
        target('C', 'last', 'mode', 'charger', 'Mode'),
        target('D', 'max', 'faults', 'charger', 'Faults'),
      ],
      fieldConfig: {
        defaults: { color: { mode: 'thresholds' }, thresholds: { mode: 'absolute', steps: [{ color: 'text', value: null }] }, custom: { lineWidth: 0, fillOpacity: 80 } },
        overrides: [
          byRef('A', [{ id: 'mappings', value: [{ type: 'value', options: { 0: { text: 'OFF', color: 'blue', index: 0 }, 1: { text: 'ON', color: 'orange', index: 1 } } }] }]),
          byRef('B', [{ id: 'mappings', value: [{ type: 'value', options: Object.fromEntries(REASONS.map((r, i) => [r, { text: r, color: reasonColors[r] ?? 'text', index: i }])) }] }]),
          byRef('C', [{ id: 'mappings', value: [{ type: 'value', options: { auto: { text: 'auto', color: 'green', index: 0 }, on: { text: 'forced on', color: 'orange', index: 1 }, off: { text: 'forced off', color: 'blue', index: 2 } } }] }]),
          byRef('D', [{ id: 'mappings', value: [
            { type: 'value', options: { 0: { text: 'none', color: 'green', index: 0 } } },
            { type: 'range', options: { from: 1, to: 0xffff & ~FLT_RESERVED, result: { text: 'fault', color: 'red', index: 1 } } },
          ] }]),
        ],
      },
      options: { mergeValues: true, showValue: 'auto', alignValue: 'left', rowHeight: 0.9, legend: { ...legend, showLegend: false }, tooltip: { mode: 'single', sort: 'none' } },
    },
    {
      title: 'Energy per day',
      type: 'timeseries',
      description: 'Wh per local day ($tz) from the firmware\'s energy counters. Sources = battery in − battery out + load out. Solar and mains are not metered apart: a minute counts as solar when the panel voltage is above the battery voltage (the only time the MP3735 can deliver), otherwise as mains. Minutes with both (battery low in daylight) count as solar.',
      gridPos: { x: 0, y: 18, w: 12, h: 9 },
      interval: '1d',
      targets: [
        { refId: 'A', influxql: energyQL('solar'), flux: energyFlux('solar') },
        { refId: 'B', influxql: energyQL('mains'), flux: energyFlux('mains') },
        { refId: 'C', influxql: energyQL('load'), flux: energyFlux('load') },
      ],
      fieldConfig: {
        defaults: { unit: 'watth', decimals: 0, min: 0, color: { mode: 'palette-classic' }, custom: { drawStyle: 'bars', barAlignment: 1, lineWidth: 1, fillOpacity: 70, showPoints: 'never', stacking: { mode: 'none', group: 'A' } } },
        overrides: [
          byRef('A', [{ id: 'color', value: { mode: 'fixed', fixedColor: 'yellow' } }]),
          byRef('B', [{ id: 'color', value: { mode: 'fixed', fixedColor: 'blue' } }]),
          byRef('C', [{ id: 'color', value: { mode: 'fixed', fixedColor: 'red' } }]),
        ],
      },
      options: { legend: { ...legend, displayMode: 'table', calcs: ['sum', 'mean'] }, tooltip },
    },
    {
      title: 'Bridge health (stored readings)',
      type: 'timeseries',
      description: 'Readings stored per interval (one a second from the MCU), readings that never arrived (gaps in the MCU\'s sequence numbers) and MCU boots. Bad lines, the spool and sink errors are on the bridge\'s /metrics, not in InfluxDB: scrape it with Prometheus or VictoriaMetrics (bridge/grafana/README.md).',
      gridPos: { x: 12, y: 18, w: 12, h: 9 },
      targets: [
        target('A', 'count', 'seq', 'charger', 'Readings'),
        { refId: 'B', influxql: missingQL, flux: missingFlux },
        { refId: 'C', influxql: ql('count', 'uptime', 'event', 'MCU boots', `"kind" = 'boot'`), flux: flux('count', 'uptime', 'event', 'MCU boots', 'r.kind == "boot"') },
      ],
      fieldConfig: {
        defaults: { decimals: 0, min: 0, color: { mode: 'palette-classic' }, custom: line({ drawStyle: 'bars', fillOpacity: 60 }) },
        overrides: [
          byRef('B', [{ id: 'custom.axisPlacement', value: 'right' }, { id: 'color', value: { mode: 'fixed', fixedColor: 'red' } }]),
          byRef('C', [{ id: 'custom.axisPlacement', value: 'right' }, { id: 'color', value: { mode: 'fixed', fixedColor: 'purple' } }]),
        ],
      },
      options: { legend, tooltip },
    },
    // The battery estimator's values (bridge/README.md, "Battery state"): the `derived`
    // measurement, a field per key, written at the time of the reading they follow from.
    {
      title: 'Battery state of charge',
      type: 'timeseries',
      description: 'The bridge\'s estimate of the state of charge (coulomb counting, synchronised at full charge and at rest) and its uncertainty: the truth lies within ± that many points. Before the first full sync the uncertainty is wide on purpose.',
      gridPos: { x: 0, y: 27, w: 12, h: 9 },
      targets: [
        target('A', 'mean', 'battery_soc', 'derived', 'State of charge'),
        target('B', 'max', 'battery_soc_uncertainty', 'derived', 'Uncertainty'),
      ],
      fieldConfig: {
        defaults: { unit: 'percent', decimals: 1, min: 0, max: 100, color: { mode: 'fixed', fixedColor: 'green' }, custom: line({ lineWidth: 2 }) },
        overrides: [byRef('B', [{ id: 'color', value: { mode: 'fixed', fixedColor: 'orange' } }, { id: 'custom.lineStyle', value: { fill: 'dash', dash: [6, 4] } }])],
      },
      options: { legend, tooltip },
    },
    {
      title: 'Time to go and the night ahead',
      type: 'timeseries',
      description: 'Runtime on battery alone at the recent load (if every charger stopped now) to the floor (battery.floor_pct, 50 %), and the night forecast\'s margin: the Ah left above the floor at sunrise if the mains failed (below zero: the bank alone would not last the night). Time to go at the present discharge is on MQTT and Home Assistant (battery_time_to_go_s); it exists only while discharging.',
      gridPos: { x: 12, y: 27, w: 12, h: 9 },
      targets: [
        target('A', 'mean', 'battery_runtime_alone_s', 'derived', 'Runtime alone'),
        target('B', 'last', 'night_margin_ah', 'derived', 'Night margin'),
      ],
      fieldConfig: {
        defaults: { unit: 's', decimals: 0, color: { mode: 'fixed', fixedColor: 'blue' }, custom: line({ lineWidth: 2 }) },
        overrides: [byRef('B', [
          { id: 'unit', value: 'Ah' }, { id: 'custom.axisPlacement', value: 'right' },
          { id: 'color', value: { mode: 'thresholds' } }, { id: 'thresholds', value: { mode: 'absolute', steps: [{ color: 'red', value: null }, { color: 'green', value: 0 }] } },
          { id: 'custom.drawStyle', value: 'points' }, { id: 'custom.pointSize', value: 6 },
        ])],
      },
      options: { legend, tooltip },
    },
    {
      title: 'Battery capacity and health',
      type: 'timeseries',
      description: 'The capacity the state of charge is counted against (the nameplate, battery.capacity_ah, until the learned capacity is sure) and how sure the learned health is (0–100 %: one clean 40 % discharge after a full charge gives about half). Health itself (learned ÷ nameplate) is on MQTT and Home Assistant as battery_health once a deep enough cycle taught it.',
      gridPos: { x: 0, y: 36, w: 12, h: 9 },
      targets: [
        target('A', 'last', 'battery_capacity_ah', 'derived', 'Capacity in use'),
        target('B', 'last', 'battery_health_confidence', 'derived', 'Health confidence'),
      ],
      fieldConfig: {
        defaults: { unit: 'Ah', decimals: 1, min: 0, color: { mode: 'fixed', fixedColor: 'purple' }, custom: line({ lineWidth: 2 }) },
        overrides: [byRef('B', [{ id: 'unit', value: 'percent' }, { id: 'max', value: 100 }, { id: 'custom.axisPlacement', value: 'right' }, { id: 'color', value: { mode: 'fixed', fixedColor: 'text' } }])],
      },
      options: { legend, tooltip },
    },
  ];
}

function templating(flavor: Flavor): Json {
  const ds = { type: 'influxdb', uid: '${ds}' };
  const list: Json[] = [
    {
      name: 'ds', label: 'Data source', type: 'datasource', query: 'influxdb', regex: '', hide: 0, refresh: 1,
      current: { selected: true, text: DATASOURCE_NAMES[flavor], value: DATASOURCE_NAMES[flavor] },
    },
  ];
  if (flavor === 'flux') {
    list.push({ name: 'bucket', label: 'Bucket', type: 'textbox', query: DEFAULT_BUCKET, hide: 0, current: { text: DEFAULT_BUCKET, value: DEFAULT_BUCKET } });
  }
  list.push({
    name: 'device', label: 'Device', type: 'query', datasource: ds, refresh: 2, hide: 0, sort: 1, multi: false, includeAll: false,
    definition: flavor === 'influxql' ? 'SHOW TAG VALUES FROM "power" WITH KEY = "device"' : 'schema.tagValues(device)',
    query: flavor === 'influxql'
      ? 'SHOW TAG VALUES FROM "power" WITH KEY = "device"'
      : 'import "influxdata/influxdb/schema"\nschema.tagValues(bucket: "${bucket}", tag: "device", predicate: (r) => r._measurement == "power", start: -30d)',
    current: { text: DEFAULT_DEVICE, value: DEFAULT_DEVICE },
  });
  list.push({ name: 'tz', label: 'Time zone (days)', type: 'textbox', query: DEFAULT_TZ, hide: 0, current: { text: DEFAULT_TZ, value: DEFAULT_TZ } });
  return { list };
}

export function buildDashboard(flavor: Flavor): Json {
  const ds = { type: 'influxdb', uid: '${ds}' };
  const panels = panelSpecs().map((p, i) => {
    const out: Json = {
      id: i + 1,
      type: p.type,
      title: p.title,
      description: p.description,
      datasource: ds,
      gridPos: p.gridPos,
      fieldConfig: p.fieldConfig,
      options: p.options,
      targets: p.targets.map((t) => flavor === 'influxql'
        ? { refId: t.refId, datasource: ds, rawQuery: true, resultFormat: 'time_series', query: t.influxql }
        : { refId: t.refId, datasource: ds, query: t.flux }),
    };
    if (p.interval) out.interval = p.interval;
    return out;
  });
  // JSON.parse(JSON.stringify()) drops undefined members, as the file on disk has them.
  return JSON.parse(JSON.stringify({
    uid: DASHBOARD_UIDS[flavor],
    title: flavor === 'influxql' ? 'Solar cluster power' : 'Solar cluster power (Flux)',
    description: `Battery, load, solar, charger and energy from the solar-cluster bridge (${flavor === 'influxql' ? 'InfluxQL, InfluxDB 1.x' : 'Flux, InfluxDB 2'}). Generated by bridge/grafana/dashboards.ts.`,
    tags: ['solar-cluster', flavor],
    editable: true,
    graphTooltip: 1,
    schemaVersion: 39,
    version: 1,
    refresh: '1m',
    time: { from: 'now-24h', to: 'now' },
    timepicker: {},
    timezone: 'browser',
    annotations: { list: [{ builtIn: 1, datasource: { type: 'grafana', uid: '-- Grafana --' }, enable: true, hide: true, iconColor: 'rgba(0, 211, 255, 1)', name: 'Annotations & Alerts', type: 'dashboard' }] },
    templating: templating(flavor),
    panels,
  })) as Json;
}

export function dashboardText(flavor: Flavor): string {
  return JSON.stringify(buildDashboard(flavor), null, 2) + '\n';
}

// Run as a script (ts-run.js puts the script's path in argv[1]), not when imported.
if (process.argv[1] && path.resolve(process.argv[1]) === __filename) {
  for (const flavor of ['influxql', 'flux'] as Flavor[]) {
    fs.mkdirSync(path.dirname(DASHBOARD_FILES[flavor]), { recursive: true });
    fs.writeFileSync(DASHBOARD_FILES[flavor], dashboardText(flavor));
    console.log(`wrote ${path.relative(process.cwd(), DASHBOARD_FILES[flavor])}`);
  }
}
