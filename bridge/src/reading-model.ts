/**
 * What each measured value in a reading is, for the bridge's sinks: the MQTT state
 * payload, the per-value topics, Home Assistant discovery and the InfluxDB fields are all
 * generated from QUANTITIES, which is the protocol's field table (protocol/fields.ts)
 * grouped by channel, plus what Home Assistant needs to know about each unit.
 */
import { CHANNELS, READING_FIELDS } from '../../protocol';
import type { Channel, FieldUnit, Reading, ReadingField } from '../../protocol';

export type { Channel };
export { CHANNELS };

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
  unit: FieldUnit;
  /** Absent for Ah: Home Assistant has no device class for electric charge. */
  deviceClass?: HaDeviceClass;
  stateClass: HaStateClass;
  /** Present only when the MCU has a third INA219 on the panel. */
  optional?: boolean;
  /** Decimals on the wire, so HA shows what the MCU measured and no more. */
  decimals: number;
}

const DEVICE_CLASS: { [unit in FieldUnit]: HaDeviceClass | undefined } = {
  V: 'voltage', A: 'current', W: 'power', Ah: undefined, Wh: 'energy',
};

/** The bridge's view of one field-table row. */
export function quantityOfField(f: ReadingField): Quantity {
  const out: Quantity = {
    wire: f.key as keyof Reading, channel: f.channel, name: f.name, label: f.label, unit: f.unit,
    // Counters only grow (reset-energy aside, which HA's total_increasing tolerates).
    stateClass: f.block === 'counter' ? 'total_increasing' : 'measurement',
    decimals: f.decimals,
  };
  const deviceClass = DEVICE_CLASS[f.unit];
  if (deviceClass) out.deviceClass = deviceClass;
  if (f.optional) out.optional = true;
  return out;
}

/** The quantities of a field table, channel by channel in CHANNELS order, table order within. */
export function quantitiesFromFields(fields: readonly ReadingField[]): Quantity[] {
  const out: Quantity[] = [];
  for (const channel of CHANNELS) for (const f of fields) if (f.channel === channel) out.push(quantityOfField(f));
  return out;
}

export const QUANTITIES: readonly Quantity[] = quantitiesFromFields(READING_FIELDS);

/** The quantities a reading actually carries (optional ones only when sent). */
export function quantitiesOf(r: Reading, quantities: readonly Quantity[] = QUANTITIES): Quantity[] {
  const out: Quantity[] = [];
  for (const qty of quantities) if (!qty.optional || r[qty.wire] !== undefined) out.push(qty);
  return out;
}
