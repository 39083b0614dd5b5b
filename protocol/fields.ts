/**
 * The measured values a reading (R frame) carries, in one table: wire key, what it is
 * (channel and name), how a person reads it (label, unit), how it is spelled on the wire
 * (decimals) and what the decoders accept (range). Everything else derives from it: the
 * reference encoder and decoder (codec.ts), the bridge's fast decoder (fast-reading.ts),
 * the MCU's frame writer (generated from it at build time by scripts/build-firmware.ts),
 * and the bridge's MQTT/Home Assistant/InfluxDB model (bridge/src/reading-model.ts).
 *
 * Adding a value is one row here (plus tests; the MCU also needs to know where to read it,
 * firmware/src/reading-writer.ts). The frame's other fields (seq, boot, up, chg, why, mode,
 * flt) are its structure, not measurements, and stay in the codec.
 *
 * Constants only and ES5, like spec.ts: the firmware's build reads this table in Node and
 * never ships it.
 */

export type Channel = 'battery' | 'load' | 'solar';
export type FieldUnit = 'V' | 'A' | 'W' | 'Ah' | 'Wh';

/**
 * Where a value sits in the frame: a `measurement` between `up` and `chg` (an instant
 * value), a `counter` after `flt` (a running total that only grows).
 */
export type FieldBlock = 'measurement' | 'counter';

export interface ReadingField {
  /** Key in the R frame: [a-z][a-z0-9_]*, unique, not one of the frame's structural keys. */
  readonly key: string;
  readonly channel: Channel;
  /** Name inside the channel: JSON key, MQTT topic leaf and InfluxDB field. */
  readonly name: string;
  /** Human label (Home Assistant entity name, README tables). */
  readonly label: string;
  readonly unit: FieldUnit;
  /** Decimals on the wire: what the MCU's measurement resolves, and no more. */
  readonly decimals: number;
  /** Inclusive range the decoders accept; an encoder sends `-` (no value) outside it. */
  readonly lo: number;
  readonly hi: number;
  /** May be absent from a frame (present only on boards that measure it). */
  readonly optional: boolean;
  readonly block: FieldBlock;
}

// Per-unit wire formats, spread into the rows below so that each row states them.
const VOLTS = { unit: 'V', decimals: 3, lo: 0, hi: 40 } as const;
const AMPS = { unit: 'A', decimals: 4, lo: -250, hi: 250 } as const;
const WATTS = { unit: 'W', decimals: 2, lo: -10000, hi: 10000 } as const;
const AMP_HOURS = { unit: 'Ah', decimals: 4, lo: 0, hi: 1e9 } as const;
const WATT_HOURS = { unit: 'Wh', decimals: 3, lo: 0, hi: 1e9 } as const;

/**
 * In wire order within each block. Battery and load are the MCU's two INA219s; the panel
 * has a divider on an ADC pin (voltage only), and current and power only when a third
 * INA219 measures it. Counters: channel Ah/Wh in (charge, back-feed) and out.
 */
export const READING_FIELDS = [
  { key: 'bv', channel: 'battery', name: 'voltage', label: 'Battery voltage', ...VOLTS, optional: false, block: 'measurement' },
  { key: 'ba', channel: 'battery', name: 'current', label: 'Battery current', ...AMPS, optional: false, block: 'measurement' },
  { key: 'bw', channel: 'battery', name: 'power', label: 'Battery power', ...WATTS, optional: false, block: 'measurement' },
  { key: 'lv', channel: 'load', name: 'voltage', label: 'Load voltage', ...VOLTS, optional: false, block: 'measurement' },
  { key: 'la', channel: 'load', name: 'current', label: 'Load current', ...AMPS, optional: false, block: 'measurement' },
  { key: 'lw', channel: 'load', name: 'power', label: 'Load power', ...WATTS, optional: false, block: 'measurement' },
  { key: 'sv', channel: 'solar', name: 'voltage', label: 'Solar voltage', ...VOLTS, optional: false, block: 'measurement' },
  { key: 'sa', channel: 'solar', name: 'current', label: 'Solar current', ...AMPS, optional: true, block: 'measurement' },
  { key: 'sw', channel: 'solar', name: 'power', label: 'Solar power', ...WATTS, optional: true, block: 'measurement' },
  { key: 'bahi', channel: 'battery', name: 'charge_in', label: 'Battery charge in', ...AMP_HOURS, optional: false, block: 'counter' },
  { key: 'baho', channel: 'battery', name: 'charge_out', label: 'Battery charge out', ...AMP_HOURS, optional: false, block: 'counter' },
  { key: 'bwhi', channel: 'battery', name: 'energy_in', label: 'Battery energy in', ...WATT_HOURS, optional: false, block: 'counter' },
  { key: 'bwho', channel: 'battery', name: 'energy_out', label: 'Battery energy out', ...WATT_HOURS, optional: false, block: 'counter' },
  { key: 'lahi', channel: 'load', name: 'charge_in', label: 'Load charge in', ...AMP_HOURS, optional: false, block: 'counter' },
  { key: 'laho', channel: 'load', name: 'charge_out', label: 'Load charge out', ...AMP_HOURS, optional: false, block: 'counter' },
  { key: 'lwhi', channel: 'load', name: 'energy_in', label: 'Load energy in', ...WATT_HOURS, optional: false, block: 'counter' },
  { key: 'lwho', channel: 'load', name: 'energy_out', label: 'Load energy out', ...WATT_HOURS, optional: false, block: 'counter' },
] as const satisfies readonly ReadingField[];

/** Channels in the order the bridge publishes them. */
export const CHANNELS: readonly Channel[] = ['battery', 'load', 'solar'];

type FieldRow = (typeof READING_FIELDS)[number];
/** Keys every reading carries (a value or null). */
export type RequiredFieldKey = Extract<FieldRow, { optional: false }>['key'];
/** Keys a reading carries only when the board measures them. */
export type OptionalFieldKey = Extract<FieldRow, { optional: true }>['key'];
