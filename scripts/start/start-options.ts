/**
 * `npm start` flags. Pure: returns the options or an error naming the flag. Bridge flags
 * for InfluxDB and the like are passed through to the bridge unchanged; the ones this
 * command wires itself (source, spool, device id, http) have their own defaults here.
 */
import { SETTING_FLAGS } from '../../bridge/src';
import { SCENARIOS, scenarioNames } from '../../simulator/scenarios';

export interface StartOptions {
  scenario: string;
  /** Local clock hour the simulated run starts at. */
  startHour: number;
  hours: number;
  seed: number;
  /** × real time. */
  speed: number;
  /** An external broker; without it the embedded one runs. */
  mqttUrl?: string;
  brokerHost: string;
  brokerPort: number;
  /** Keep the spool here (default: a fresh temporary directory, removed after a clean stop). */
  spoolDir?: string;
  deviceId: string;
  /** HOST:PORT of the bridge's /healthz and /metrics. */
  http: string;
  /** Status refresh, ms. */
  refreshMs: number;
  /** Further bridge flags, as `npm run bridge` takes them. */
  bridgeFlags: { key: string; value: string; flag: string }[];
}

/** A year: long enough that the run ends by Ctrl-C, not by running out of scenario. */
const DEFAULT_HOURS = 24 * 365;
/** The default run starts at 07:00 so the sun rises, and the charger switches, soon after start. */
const DEFAULT_START_HOUR = 7;
/** Flags `npm start` sets itself; the rest of the bridge's flags pass through. */
const OWN_BRIDGE_KEYS = new Set(['source.url', 'mqtt.url', 'spool.dir', 'device_id', 'http.listen']);

type NumericKey = 'speed' | 'startHour' | 'hours' | 'seed' | 'brokerPort';
const NUMERIC_FLAGS: { [flag: string]: { key: NumericKey; lo: number; hi: number; integer: boolean } | undefined } = {
  '--speed': { key: 'speed', lo: 0.001, hi: 1e6, integer: false },
  '--start-hour': { key: 'startHour', lo: 0, hi: 23.999, integer: false },
  '--hours': { key: 'hours', lo: 0.001, hi: 24 * 3650, integer: false },
  '--seed': { key: 'seed', lo: 0, hi: 4294967295, integer: true },
  '--broker-port': { key: 'brokerPort', lo: 0, hi: 65535, integer: true },
};

export function startUsage(): string {
  const passed = SETTING_FLAGS.filter((f) => !OWN_BRIDGE_KEYS.has(f.key)).map((f) => f.flag).join(' ');
  return `usage: npm start -- [--speed N] [--scenario NAME] [--start-hour H] [--hours H] [--seed S]
                 [--mqtt URL | --broker-port N] [--device-id ID] [--spool DIR]
                 [--http HOST:PORT] [--influx-url URL ...]

Runs the whole system on the simulator: the firmware bundle on a simulated MCU wired to a
simulated plant, its serial port on a local TCP port, the bridge reading it, and an MQTT
broker (embedded, unless --mqtt). Shows a live status; Ctrl-C stops everything cleanly.

  --speed N         N × real time (default 1: a reading a second, as the hardware does)
  --scenario NAME   ${scenarioNames().join(', ')} (default day)
  --start-hour H    local hour the simulated clock starts at (default ${DEFAULT_START_HOUR} for the
                    default scenario, else the scenario's own)
  --hours H         simulated hours before it stops by itself (default ${DEFAULT_HOURS})
  --seed S          seed of every random process (default 1)
  --mqtt URL        publish to this broker instead of starting the embedded one
  --broker-port N   port of the embedded broker on 127.0.0.1 (default 0: any free port)
  --device-id ID    the monitor's id in topics and Home Assistant (default solar-cluster)
  --spool DIR       keep the bridge's spool here (default: a temporary directory,
                    removed after a clean stop)
  --http HOST:PORT  the bridge's /healthz and /metrics (default 127.0.0.1:0: any free port;
                    "" turns it off)
  --help            this text

Bridge flags passed through (see npm run bridge -- --help): ${passed}
With --influx-url the bridge also writes to InfluxDB (or VictoriaMetrics).`;
}

export type StartArgs = { ok: true; options: StartOptions } | { ok: true; help: true } | { ok: false; error: string };

export function parseStartArgs(argv: readonly string[]): StartArgs {
  const o: StartOptions = {
    scenario: 'day', startHour: DEFAULT_START_HOUR, hours: DEFAULT_HOURS, seed: 1, speed: 1,
    brokerHost: '127.0.0.1', brokerPort: 0, deviceId: 'solar-cluster', http: '127.0.0.1:0', refreshMs: 1000, bridgeFlags: [],
  };
  let startHourGiven = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const value = (): string | null => {
      if (eq > 0) return arg.slice(eq + 1);
      const v = argv[i + 1];
      if (v === undefined || (v.startsWith('--') && v !== '--')) return null;
      i++;
      return v;
    };
    const number = (lo: number, hi: number, integer: boolean): number | string => {
      const s = value();
      if (s === null) return `${flag} needs a value`;
      const n = Number(s);
      if (s.trim() === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < lo || n > hi) {
        return `${flag} needs ${integer ? 'an integer' : 'a number'} from ${lo} to ${hi}, got "${s}"`;
      }
      return n;
    };
    const range = NUMERIC_FLAGS[flag];
    if (range) {
      const n = number(range.lo, range.hi, range.integer);
      if (typeof n === 'string') return { ok: false, error: n };
      o[range.key] = n;
      if (flag === '--start-hour') startHourGiven = true;
      continue;
    }
    switch (flag) {
      case '--help': case '-h':
        return { ok: true, help: true };
      case '--scenario': {
        const s = value();
        if (s === null) return { ok: false, error: '--scenario needs a name' };
        if (!SCENARIOS[s]) return { ok: false, error: `--scenario: unknown scenario "${s}"; known: ${scenarioNames().join(', ')}` };
        o.scenario = s;
        break;
      }
      case '--mqtt': case '--spool': case '--device-id': case '--http': {
        const s = value();
        if (s === null) return { ok: false, error: `${flag} needs a value` };
        if (flag === '--mqtt') {
          if (!/^(mqtts?|wss?|tcp|ssl):\/\/[^\s]+$/.test(s)) return { ok: false, error: `--mqtt: expected a broker URL like mqtt://host:1883, got "${s}"` };
          o.mqttUrl = s;
        } else if (flag === '--spool') {
          if (s === '') return { ok: false, error: '--spool needs a directory' };
          o.spoolDir = s;
        } else if (flag === '--device-id') {
          if (!/^[A-Za-z0-9_-]{1,64}$/.test(s)) return { ok: false, error: `--device-id: letters, digits, _ and - (1 to 64), got "${s}"` };
          o.deviceId = s;
        } else {
          o.http = s;
        }
        break;
      }
      default: {
        const spec = SETTING_FLAGS.find((f) => f.flag === flag);
        if (!spec) return { ok: false, error: `unknown flag ${flag} (see npm start -- --help)` };
        if (OWN_BRIDGE_KEYS.has(spec.key)) return { ok: false, error: `${flag}: npm start sets this itself` };
        const s = value();
        if (s === null) return { ok: false, error: `${flag} needs a value: ${spec.arg}` };
        o.bridgeFlags.push({ key: spec.key, value: s, flag });
      }
    }
  }
  if (!startHourGiven && o.scenario !== 'day') o.startHour = SCENARIOS[o.scenario].startHour;
  if (o.mqttUrl !== undefined && o.brokerPort !== 0) return { ok: false, error: '--broker-port is for the embedded broker; it makes no sense with --mqtt' };
  return { ok: true, options: o };
}
