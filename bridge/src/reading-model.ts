/**
 * What each measured value in a reading is, in one table: the MQTT state payload, the
 * per-value topics, Home Assistant discovery and the InfluxDB fields are all generated
 * from it, so a quantity cannot be named or unitised differently in two places.
 */
import type { Reading } from '../../protocol';

export type Channel = 'battery' | 'load' | 'solar';

/** Home Assistant sensor device classes this bridge uses. */
export type HaDeviceClass = 'voltage' | 'current' | 'power' | 'energy';
export type HaStateClass = 'measurement' | 'total_increasing';

export interface Quantity {
  /** Key in the protocol's R frame. */
  wire: keyof Reading;
  channel: Channel;
  /** Name inside the channel: JSON key, topic leaf and InfluxDB field. */
  name: string;
  /** Human label (Home Assistant entity name, README tables). */
  label: string;
  unit: 'V' | 'A' | 'W' | 'Ah' | 'Wh';
  /** Absent for Ah: Home Assistant has no device class for electric charge. */
  deviceClass?: HaDeviceClass;
  stateClass: HaStateClass;
  /** Present only when the MCU has a third INA219 on the panel. */
  optional?: boolean;
  /** Decimals on the wire, so HA shows what the MCU measured and no more. */
  decimals: number;
}

function q(wire: keyof Reading, channel: Channel, name: string, label: string, unit: Quantity['unit'], decimals: number, optional = false): Quantity {
  const counter = unit === 'Ah' || unit === 'Wh';
  const deviceClass: HaDeviceClass | undefined = unit === 'V' ? 'voltage' : unit === 'A' ? 'current' : unit === 'W' ? 'power' : unit === 'Wh' ? 'energy' : undefined;
  const out: Quantity = { wire, channel, name, label, unit, stateClass: counter ? 'total_increasing' : 'measurement', decimals };
  if (deviceClass) out.deviceClass = deviceClass;
  if (optional) out.optional = true;
  return out;
}

export const QUANTITIES: readonly Quantity[] = [
  q('bv', 'battery', 'voltage', 'Battery voltage', 'V', 3),
  q('ba', 'battery', 'current', 'Battery current', 'A', 4),
  q('bw', 'battery', 'power', 'Battery power', 'W', 2),
  q('bahi', 'battery', 'charge_in', 'Battery charge in', 'Ah', 4),
  q('baho', 'battery', 'charge_out', 'Battery charge out', 'Ah', 4),
  q('bwhi', 'battery', 'energy_in', 'Battery energy in', 'Wh', 3),
  q('bwho', 'battery', 'energy_out', 'Battery energy out', 'Wh', 3),
  q('lv', 'load', 'voltage', 'Load voltage', 'V', 3),
  q('la', 'load', 'current', 'Load current', 'A', 4),
  q('lw', 'load', 'power', 'Load power', 'W', 2),
  q('lahi', 'load', 'charge_in', 'Load charge in', 'Ah', 4),
  q('laho', 'load', 'charge_out', 'Load charge out', 'Ah', 4),
  q('lwhi', 'load', 'energy_in', 'Load energy in', 'Wh', 3),
  q('lwho', 'load', 'energy_out', 'Load energy out', 'Wh', 3),
  q('sv', 'solar', 'voltage', 'Solar voltage', 'V', 3),
  q('sa', 'solar', 'current', 'Solar current', 'A', 4, true),
  q('sw', 'solar', 'power', 'Solar power', 'W', 2, true),
];

export const CHANNELS: readonly Channel[] = ['battery', 'load', 'solar'];

/** The quantities a reading actually carries (the optional solar ones only when sent). */
export function quantitiesOf(r: Reading): Quantity[] {
  const out: Quantity[] = [];
  for (const qty of QUANTITIES) if (!qty.optional || r[qty.wire] !== undefined) out.push(qty);
  return out;
}
