/**
 * The bridge's configuration, written once: the JSON schema (draft-07, checked by ajv)
 * that the YAML file, environment overrides and CLI flags are validated against, built
 * from small typed helpers so that the TypeScript type `BridgeConfig` is derived from the
 * schema itself. Adding a key is one line here; the type follows.
 * Every key has a default except source.url and the battery's parameters (unset, they
 * are the battery type's preset), and every object refuses unknown keys, so a typo is an
 * error instead of a silently ignored setting.
 */
import { BATTERY_MONITOR, BATTERY_TYPE_NAMES, DEFAULT_BATTERY_TYPE } from '../../../hardware';
import type { HostRule, ListenRule, UrlRule } from './value-checks';

/**
 * A schema node that also carries, in its type only, the TypeScript type of the values
 * it accepts (the property never exists at run time).
 */
interface Schema<T> {
  readonly [key: string]: unknown;
  readonly '~value'?: T;
}
type ValueOf<S> = S extends Schema<infer T> ? T : never;
type Extra = { readonly [key: string]: unknown };

function obj<P extends { readonly [key: string]: Schema<unknown> }>(properties: P, required: ReadonlyArray<keyof P & string> = []): Schema<{ -readonly [K in keyof P]: ValueOf<P[K]> }> {
  return { type: 'object', additionalProperties: false, default: {}, properties, required };
}
function str(def: string, extra: Extra = {}): Schema<string> {
  return { type: 'string', default: def, ...extra };
}
/** A string without a default: the key must be set. */
function requiredStr(extra: Extra): Schema<string> {
  return { type: 'string', ...extra };
}
function oneOf<const V extends readonly string[]>(values: V, def: V[number]): Schema<V[number]> {
  return { type: 'string', enum: values, default: def };
}
function int(def: number, minimum: number, maximum: number): Schema<number> {
  return { type: 'integer', default: def, minimum, maximum };
}
function bool(def: boolean): Schema<boolean> {
  return { type: 'boolean', default: def };
}
/** A string that must be set and be one of `values`. */
function requiredOneOf<const V extends readonly string[]>(values: V): Schema<V[number]> {
  return { type: 'string', enum: values };
}
function list<T>(items: Schema<T>, def: T[], extra: Extra = {}): Schema<T[]> {
  return { type: 'array', items, default: def, ...extra };
}
function num(def: number, minimum: number, maximum: number): Schema<number> {
  return { type: 'number', default: def, minimum, maximum };
}
/**
 * A URL a client connects to (value-checks.ts: scheme, host, port 1..65535), or '' for
 * "this sink is off".
 */
function url(schemes: readonly string[], description: string): Schema<string> {
  const rule: UrlRule = { schemes: [...schemes], emptyOff: true };
  return { type: 'string', default: '', url: rule, description };
}
/**
 * HOST:PORT a server listens on (port 0: any free one); with `emptyOff`, '' turns the
 * server off. `when`: the key that turns the server on, if not this one.
 */
function listen(def: string, emptyOff: boolean, description: string, when?: string): Schema<string> {
  const rule: ListenRule = { emptyOff };
  return { type: 'string', default: def, listen: rule, description, ...(when ? { onHostWhen: when } : {}) };
}
/**
 * A path the bridge needs on this host, checked before start (host-checks.ts): a file
 * it reads must exist and be readable; a directory (or a file's directory) it writes
 * must exist or be creatable, and be writable. '' (unset) is not checked, nor is a path
 * whose feature is off: `when` names the key that turns it on (true, or a non-empty string).
 */
function hostPath(rule: HostRule, def = '', extra: Extra = {}, when?: string): Schema<string> {
  return { type: 'string', default: def, onHost: rule, ...extra, ...(when ? { onHostWhen: when } : {}) };
}
/** A number without a default: unset, something else decides (the battery type's preset). */
function optNum(minimum: number, maximum: number): Schema<number | undefined> {
  return { type: 'number', minimum, maximum };
}

const MIB = 1024 * 1024;
const NUT_NAME = { pattern: '^[A-Za-z0-9_.-]{1,32}$', description: 'letters, digits, _ . and -, at most 32' };

const ROOT = obj({
    device_id: str('solar-cluster', { pattern: '^[A-Za-z0-9_-]{1,64}$', description: 'letters, digits, _ and -; used in topics and Home Assistant ids' }),
    source: obj({
      url: requiredStr({ minLength: 1, description: 'tcp://HOST:PORT, serial:/dev/DEVICE, file:PATH or -' }),
      baud: int(115200, 50, 4000000),
      reconnect_initial_ms: int(500, 10, 3600000),
      reconnect_max_ms: int(30000, 10, 3600000),
      connect_timeout_ms: int(10000, 100, 600000),
      idle_timeout_ms: int(10000, 0, 86400000),
      read_interval_ms: int(5000, 0, 60000),
    }, ['url']),
    spool: obj({
      dir: hostPath('writable-dir', 'spool', { minLength: 1 }),
      max_bytes: int(256 * MIB, 1 * MIB, Number.MAX_SAFE_INTEGER),
      segment_bytes: int(8 * MIB, 64 * 1024, 1024 * MIB),
      fsync_interval_ms: int(100, 5, 60000),
    }),
    mqtt: obj({
      url: url(['mqtt', 'mqtts', 'ws', 'wss'], 'mqtt://, mqtts://, ws:// or wss:// URL; empty turns the MQTT sink off'),
      username: str(''),
      password: str(''),
      client_id: str(''),
      base_topic: str('', { pattern: '^$|^[^#+]+[^/#+]$', description: 'no wildcards, no trailing /' }),
      keepalive_s: int(60, 0, 65535),
      connect_timeout_ms: int(10000, 100, 600000),
      reconnect_initial_ms: int(500, 10, 3600000),
      reconnect_max_ms: int(30000, 10, 3600000),
      max_inflight: int(1000, 1, 65535),
      /** Each value of the newest reading also on its own retained topic, when it changed (bridge/README.md, MQTT). */
      per_value_topics: bool(false),
      /** QoS of the retained state, per-value and derived topics (readings and events are always 1): bridge/README.md, MQTT. */
      state_qos: int(0, 0, 1),
      /** Computed numbers (state of charge, time to go...) at most this often; changes of kind at once (bridge/README.md, MQTT). */
      derived_interval_s: int(10, 0, 3600),
      tls: obj({
        /** PEM file of the CA that signed the broker's certificate. */
        ca: hostPath('readable-file', '', {}, 'mqtt.url'),
        /** Client certificate and key (PEM files), for brokers that authenticate clients by certificate. */
        cert: hostPath('readable-file', '', {}, 'mqtt.url'),
        key: hostPath('readable-file', '', {}, 'mqtt.url'),
        reject_unauthorized: bool(true),
      }),
      homeassistant: obj({
        enabled: bool(true),
        discovery_prefix: str('homeassistant', { pattern: '^[^#+]+$' }),
        status_topic: str('homeassistant/status', { pattern: '^[^#+]+$' }),
        device_name: str('Solar power monitor', { minLength: 1 }),
        force_duration_s: int(3600, 1, 604800),
      }),
      commands: obj({
        enabled: bool(true),
        timeout_ms: int(5000, 100, 600000),
      }),
    }),
    influx: obj({
      url: url(['http', 'https'], 'http:// or https:// URL; empty turns the InfluxDB sink off'),
      api: oneOf(['v1', 'v2'], 'v2'),
      db: str(''),
      rp: str(''),
      username: str(''),
      password: str(''),
      org: str(''),
      bucket: str(''),
      token: str(''),
      batch_size: int(5000, 1, 100000),
      /** Readings wait up to this long to share a write (bridge/README.md, InfluxDB); 0 writes each at once. */
      flush_interval_ms: int(5000, 0, 600000),
      timeout_ms: int(10000, 100, 600000),
      retry_initial_ms: int(1000, 10, 3600000),
      retry_max_ms: int(60000, 10, 3600000),
    }),
    http: obj({
      listen: listen('127.0.0.1:9108', true, 'HOST:PORT; empty turns the HTTP server off'),
    }),
    // NUT server (issue 18); bridge/src/nut/nut-config.ts checks between keys.
    nut: obj({
      enabled: bool(false),
      listen: listen('127.0.0.1:3493', false, 'HOST:PORT', 'nut.enabled'),
      max_connections: int(256, 1, 100000),
      idle_timeout_s: int(60, 1, 86400),
      max_line_bytes: int(1024, 64, 65536),
      stale_after_ms: int(5000, 500, 600000),
      ups: list(obj({
        /** The UPS name clients use (`upsc batch@host`). */
        name: requiredStr(NUT_NAME),
        description: str('Solar battery bank', { maxLength: 200 }),
        /** LB at or below this battery.charge (percent). */
        charge_low: int(20, 0, 100),
        /** LB at or below this battery.runtime (seconds); 0 turns the runtime rule off. */
        runtime_low: int(600, 0, 604800),
      }, ['name']), [{ name: 'solar', description: 'Solar battery bank', charge_low: 20, runtime_low: 600 }], { minItems: 1, maxItems: 16 }),
      users: list(obj({
        name: requiredStr(NUT_NAME),
        /** The password itself; prefer password_env so it stays out of the file. */
        password: str('', { maxLength: 256 }),
        password_env: str('', { pattern: '^$|^[A-Za-z_][A-Za-z0-9_]*$', description: 'an environment variable name' }),
        role: requiredOneOf(['primary', 'secondary']),
        /** UPS names this user may LOGIN to (and, as primary, set FSD on); empty = every tier. */
        ups: list(requiredStr(NUT_NAME), []),
      }, ['name', 'role']), [], { maxItems: 64 }),
    }),
    // The web page feature (bridge/src/web).
    web: obj({
      enabled: bool(true),
      token: str('', { pattern: '^$|^[!-~]{8,256}$', description: 'empty (read-only page) or 8..256 printable characters without spaces; sent by the page as "Authorization: Bearer <token>"' }),
    }),
    battery: obj({
      /** The state-of-charge estimator (bridge/src/battery): SoC, time to go, health, the night ahead. */
      enabled: bool(true),
      capacity_ah: num(BATTERY_MONITOR.capacityAh, 1, 100000),
      /** Chemistry: picks the preset of hardware/battery.ts BATTERY_TYPES that params and floor_pct override. */
      type: oneOf(BATTERY_TYPE_NAMES, DEFAULT_BATTERY_TYPE),
      /** Unset: the type's floor (50 % lead-acid, 20 % LiFePO4). */
      floor_pct: optNum(0, 99),
      /** Empty: <spool.dir>/battery-state.json. */
      state_file: hostPath('writable-file', '', {}, 'battery.enabled'),
      save_interval_s: int(60, 1, 86400),
      /** Spool history kept for --battery-rebuild (within spool.max_bytes). */
      history_days: int(14, 0, 3650),
      /** Unset: the type's preset (hardware/battery.ts), snake_case of its field names; checked by checkParams. */
      params: obj({
        rated_hours: optNum(1, 100),
        peukert_exponent: optNum(1, 1.6),
        charge_efficiency: optNum(0.5, 1),
        gassing_v: optNum(0, 100),
        gassing_current_fraction: optNum(0, 1),
        gassing_charge_efficiency: optNum(0, 1),
        charge_taper_soc: optNum(0.5, 1),
        self_discharge_per_month: optNum(0, 0.5),
        charged_v: optNum(0, 100),
        absorption_v: optNum(0, 100),
        tail_current_fraction: optNum(0, 0.2),
        tail_slope_v_per_decade: optNum(0.01, 10),
        charged_detection_s: optNum(0, 86400),
        zero_current_a: optNum(0, 10),
        time_to_go_averaging_s: optNum(1, 3600),
        rest_current_a: optNum(0, 100),
        rest_s: optNum(60, 604800),
        ocv_tolerance_v: optNum(0, 1),
        voltage_error_fraction: optNum(0, 0.1),
        max_plausible_a: optNum(0.001, 100000),
        learn_min_depth: optNum(0.1, 0.9),
        loaded_resistance_ohm: optNum(0, 1),
      }),
    }),
    log: obj({
      level: oneOf(['debug', 'info', 'warn', 'error'], 'info'),
      format: oneOf(['text', 'json'], 'text'),
    }),
  }, ['source']);

/** The top level has no default: the file (or flags) must give at least source.url. */
const { default: _noDefault, ...ROOT_WITHOUT_DEFAULT } = ROOT;

export const CONFIG_SCHEMA: Schema<ValueOf<typeof ROOT>> = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: 'solar-cluster bridge configuration',
  ...ROOT_WITHOUT_DEFAULT,
};

/** The validated configuration (defaults filled in), as the schema above describes it. */
export type BridgeConfig = ValueOf<typeof CONFIG_SCHEMA>;
