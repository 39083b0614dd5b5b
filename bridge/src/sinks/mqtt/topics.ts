/** Every MQTT topic the bridge uses, derived from the base topic (default solar/<device_id>). */

export interface Topics {
  base: string;
  /** Retained JSON of the newest reading (when catching up, the newest of each batch). */
  state: string;
  /** Non-retained JSON array of every reading, in order, one message per delivered batch. */
  readings: string;
  /** Non-retained JSON of each MCU event (boot, error, saved...). */
  event: string;
  /** Retained online/offline of the bridge itself; the broker sets offline (LWT) if it dies. */
  availability: string;
  /** Retained online/offline of the link to the MCU (serial port / TCP). */
  sourceAvailability: string;
  /** JSON commands in. */
  command: string;
  /** JSON replies out. */
  commandReply: string;
  /** Plain auto|on|off in: Home Assistant's select. */
  forceModeSet: string;
  /** Retained per-value topic of one reading quantity, e.g. solar/x/battery/voltage. */
  value(path: string): string;
  /** Retained topic of a value a feature computes (derived-values.ts), e.g. solar/x/derived/battery_soc. */
  derived(key: string): string;
}

export function topicsFor(base: string): Topics {
  return {
    base,
    state: `${base}/state`,
    readings: `${base}/readings`,
    event: `${base}/event`,
    availability: `${base}/availability`,
    sourceAvailability: `${base}/source/availability`,
    command: `${base}/command`,
    commandReply: `${base}/command/reply`,
    forceModeSet: `${base}/charger/mode/set`,
    value: (path) => `${base}/${path}`,
    derived: (key) => `${base}/derived/${key}`,
  };
}

export const ONLINE = 'online';
export const OFFLINE = 'offline';
