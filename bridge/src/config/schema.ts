/**
 * The bridge's configuration: its TypeScript shape and the JSON schema (draft-07, checked
 * by ajv) that the YAML file, environment overrides and CLI flags are validated against.
 * Every key has a default except source.url, and every object refuses unknown keys, so
 * a typo is an error instead of a silently ignored setting.
 */

export interface TlsConfig {
  /** PEM file of the CA that signed the broker's certificate. */
  ca: string;
  /** Client certificate and key (PEM files), for brokers that authenticate clients by certificate. */
  cert: string;
  key: string;
  reject_unauthorized: boolean;
}

export interface BridgeConfig {
  device_id: string;
  source: {
    url: string;
    baud: number;
    reconnect_initial_ms: number;
    reconnect_max_ms: number;
    connect_timeout_ms: number;
    idle_timeout_ms: number;
  };
  spool: {
    dir: string;
    max_bytes: number;
    segment_bytes: number;
    fsync_interval_ms: number;
  };
  mqtt: {
    url: string;
    username: string;
    password: string;
    client_id: string;
    base_topic: string;
    keepalive_s: number;
    connect_timeout_ms: number;
    reconnect_initial_ms: number;
    reconnect_max_ms: number;
    max_inflight: number;
    tls: TlsConfig;
    homeassistant: {
      enabled: boolean;
      discovery_prefix: string;
      status_topic: string;
      device_name: string;
      force_duration_s: number;
    };
    commands: {
      enabled: boolean;
      timeout_ms: number;
    };
  };
  influx: {
    url: string;
    api: 'v1' | 'v2';
    db: string;
    rp: string;
    username: string;
    password: string;
    org: string;
    bucket: string;
    token: string;
    batch_size: number;
    timeout_ms: number;
    retry_initial_ms: number;
    retry_max_ms: number;
  };
  http: {
    listen: string;
  };
  // ---- web page (bridge/src/web): the page on the HTTP server above ----
  web: {
    enabled: boolean;
    /** Bearer token that turns the page's controls on; empty: read-only page. */
    token: string;
  };
  // ---- end web page ----
  log: {
    level: 'debug' | 'info' | 'warn' | 'error';
    format: 'text' | 'json';
  };
}

type Schema = { [key: string]: unknown };

function obj(properties: { [key: string]: Schema }, required: string[] = []): Schema {
  return { type: 'object', additionalProperties: false, default: {}, properties, required };
}
function str(def: string, extra: Schema = {}): Schema {
  return { type: 'string', default: def, ...extra };
}
function int(def: number, minimum: number, maximum: number, description?: string): Schema {
  return { type: 'integer', default: def, minimum, maximum, ...(description ? { description } : {}) };
}
function bool(def: boolean): Schema {
  return { type: 'boolean', default: def };
}

const MIB = 1024 * 1024;

const ROOT = obj({
    device_id: str('solar-cluster', { pattern: '^[A-Za-z0-9_-]{1,64}$', description: 'letters, digits, _ and -; used in topics and Home Assistant ids' }),
    source: obj({
      url: { type: 'string', minLength: 1, description: 'tcp://HOST:PORT, serial:/dev/DEVICE, file:PATH or -' },
      baud: int(115200, 50, 4000000),
      reconnect_initial_ms: int(500, 10, 3600000),
      reconnect_max_ms: int(30000, 10, 3600000),
      connect_timeout_ms: int(10000, 100, 600000),
      idle_timeout_ms: int(0, 0, 86400000),
    }, ['url']),
    spool: obj({
      dir: str('spool', { minLength: 1 }),
      max_bytes: int(256 * MIB, 1 * MIB, Number.MAX_SAFE_INTEGER),
      segment_bytes: int(8 * MIB, 64 * 1024, 1024 * MIB),
      fsync_interval_ms: int(100, 5, 60000),
    }),
    mqtt: obj({
      url: str('', { pattern: '^$|^(mqtts?|wss?)://', description: 'mqtt://, mqtts://, ws:// or wss:// URL; empty turns the MQTT sink off' }),
      username: str(''),
      password: str(''),
      client_id: str(''),
      base_topic: str('', { pattern: '^$|^[^#+]+[^/#+]$', description: 'no wildcards, no trailing /' }),
      keepalive_s: int(30, 0, 65535),
      connect_timeout_ms: int(10000, 100, 600000),
      reconnect_initial_ms: int(500, 10, 3600000),
      reconnect_max_ms: int(30000, 10, 3600000),
      max_inflight: int(1000, 1, 65535),
      tls: obj({
        ca: str(''),
        cert: str(''),
        key: str(''),
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
      url: str('', { pattern: '^$|^https?://', description: 'http:// or https:// URL; empty turns the InfluxDB sink off' }),
      api: { type: 'string', enum: ['v1', 'v2'], default: 'v2' },
      db: str(''),
      rp: str(''),
      username: str(''),
      password: str(''),
      org: str(''),
      bucket: str(''),
      token: str(''),
      batch_size: int(5000, 1, 100000),
      timeout_ms: int(10000, 100, 600000),
      retry_initial_ms: int(1000, 10, 3600000),
      retry_max_ms: int(60000, 10, 3600000),
    }),
    http: obj({
      listen: str('127.0.0.1:9108', { pattern: '^$|^(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9_.-]+):\\d{1,5}$', description: 'HOST:PORT; empty turns the HTTP server off' }),
    }),
    // ---- web page (bridge/src/web) ----
    web: obj({
      enabled: bool(true),
      token: str('', { pattern: '^$|^[!-~]{8,256}$', description: 'empty (read-only page) or 8..256 printable characters without spaces; sent by the page as "Authorization: Bearer <token>"' }),
    }),
    // ---- end web page ----
    log: obj({
      level: { type: 'string', enum: ['debug', 'info', 'warn', 'error'], default: 'info' },
      format: { type: 'string', enum: ['text', 'json'], default: 'text' },
    }),
  }, ['source']);
delete ROOT.default;

export const CONFIG_SCHEMA: Schema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: 'solar-cluster bridge configuration',
  ...ROOT,
};
