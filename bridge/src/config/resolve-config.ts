/**
 * Builds the effective configuration from, in rising precedence: the schema's defaults,
 * the YAML file, SOLAR_BRIDGE_* environment variables, and CLI flags. Pure: the caller
 * reads the file and passes its text. Every error names the key, the value, where the
 * value came from (the file with line and column, the variable or the flag) and what
 * was expected.
 */
import type { ErrorObject } from 'ajv';
import { BridgeConfig, CONFIG_SCHEMA } from './schema';
import { CONFIG_KEYWORDS, hostProblem } from './value-checks';
import { FilePosition, readYamlSource } from './yaml-source';
import { parseSourceSpec } from '../sources/source-spec';

export const ENV_PREFIX = 'SOLAR_BRIDGE_';
/** Names the config file; not a config key itself. */
export const ENV_CONFIG_FILE = 'SOLAR_BRIDGE_CONFIG';

export interface ConfigInputs {
  file?: { name: string; text: string };
  env?: { [name: string]: string | undefined };
  /** Dotted key -> raw string, from CLI flags (see cli-args.ts). */
  flags?: { key: string; value: string; flag: string }[];
}

/**
 * Where a key's value came from, for a message: " (in c.yaml:3:9)", " (from --mqtt)",
 * " (from SOLAR_BRIDGE_MQTT_URL)", or "" for a default. Keys are dotted, list items by
 * index (nut.users.0.name).
 */
export type ConfigLocator = (key: string) => string;

export type ConfigResult = { ok: true; config: BridgeConfig; where: ConfigLocator } | { ok: false; errors: string[] };

type Json = { [key: string]: unknown };
type LeafType = 'string' | 'integer' | 'number' | 'boolean' | 'array';

interface Leaf {
  path: string[];
  type: LeafType;
  schema: Json;
}

/** Every settable key of the schema, with its type. */
export function configLeaves(schema: Json = CONFIG_SCHEMA, prefix: string[] = []): Leaf[] {
  const out: Leaf[] = [];
  const props = (schema.properties ?? {}) as { [k: string]: Json };
  for (const k of Object.keys(props)) {
    const s = props[k];
    if (s.type === 'object') out.push(...configLeaves(s, [...prefix, k]));
    else out.push({ path: [...prefix, k], type: s.type as LeafType, schema: s });
  }
  return out;
}

export function envNameOf(path: string[]): string {
  return ENV_PREFIX + path.join('_').toUpperCase();
}

function show(v: unknown): string {
  if (v === undefined) return '(missing)';
  const s = JSON.stringify(v);
  return s.length > 60 ? s.slice(0, 57) + '...' : s;
}

function getPath(o: unknown, path: string[]): unknown {
  let cur = o;
  for (const k of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Json)[k];
  }
  return cur;
}

function setPath(o: Json, path: string[], value: unknown): void {
  let cur = o;
  for (let i = 0; i < path.length - 1; i++) {
    const next = cur[path[i]];
    if (next === null || typeof next !== 'object' || Array.isArray(next)) cur[path[i]] = {};
    cur = cur[path[i]] as Json;
  }
  cur[path[path.length - 1]] = value;
}

/** A string from the environment or a flag, typed by the schema; or an error text. */
function coerce(raw: string, leaf: Leaf): { value: unknown } | { error: string } {
  if (leaf.type === 'integer') {
    const t = raw.trim();
    if (!/^-?\d+$/.test(t)) return { error: 'expected an integer' };
    return { value: Number(t) };
  }
  if (leaf.type === 'array') {
    // A list (nut.ups, nut.users) from the environment or a flag is JSON; the schema checks its items.
    try {
      const v = JSON.parse(raw) as unknown;
      return Array.isArray(v) ? { value: v } : { error: 'expected a JSON array, e.g. [{"name": "x"}]' };
    } catch {
      return { error: 'expected a JSON array, e.g. [{"name": "x"}]' };
    }
  }
  if (leaf.type === 'boolean') {
    const t = raw.trim().toLowerCase();
    if (['true', '1', 'yes', 'on'].includes(t)) return { value: true };
    if (['false', '0', 'no', 'off'].includes(t)) return { value: false };
    return { error: 'expected true or false' };
  }
  if (leaf.type === 'number') {
    const t = raw.trim();
    return t !== '' && Number.isFinite(Number(t)) ? { value: Number(t) } : { error: 'expected a number' };
  }
  return { value: raw };
}

function expectation(e: ErrorObject): string {
  const p = e.params as Json;
  switch (e.keyword) {
    case 'type': return `expected ${p.type === 'integer' ? 'an integer' : p.type === 'object' ? 'a mapping (key: value lines)' : `a ${String(p.type)}`}`;
    case 'enum': return `expected one of ${(p.allowedValues as unknown[]).join(', ')}`;
    case 'minimum': return `expected at least ${String(p.limit)}`;
    case 'maximum': return `expected at most ${String(p.limit)}`;
    case 'minLength': return 'expected a non-empty string';
    case 'pattern': {
      const d = (e.parentSchema as Json | undefined)?.description;
      return d ? `expected ${String(d)}` : `expected a string matching ${String(p.pattern)}`;
    }
    default: return e.message ?? e.keyword;
  }
}

/**
 * Validates against the schema (filling defaults). ajv and its compiled validator are
 * loaded here and not kept: a configuration is resolved once per start, and a running
 * bridge would otherwise carry them in its heap for nothing.
 */
function validate(data: unknown): ErrorObject[] {
  const Ajv = (require('ajv') as typeof import('ajv')).default;
  const validator = new Ajv({ allErrors: true, useDefaults: true, strict: true, verbose: true, keywords: [...CONFIG_KEYWORDS] }).compile(CONFIG_SCHEMA);
  return validator(data) ? [] : [...(validator.errors ?? [])];
}

export function resolveConfig(inputs: ConfigInputs): ConfigResult {
  const errors: string[] = [];
  /** Keys set by the environment or a flag: "from NAME". */
  const origin = new Map<string, string>();
  let positions = new Map<string, FilePosition>();
  let data: Json = {};

  if (inputs.file) {
    const source = readYamlSource(inputs.file.name, inputs.file.text);
    if (!source.ok) return { ok: false, errors: source.errors };
    const parsed = source.data;
    if (parsed !== null && parsed !== undefined) {
      if (typeof parsed !== 'object' || Array.isArray(parsed)) {
        return { ok: false, errors: [`${inputs.file.name}:1:1: the top level must be a mapping of keys (device_id:, source:, ...), got ${show(parsed)}`] };
      }
      data = parsed as Json;
    }
    positions = source.positions;
  }
  const fileName = inputs.file?.name;
  const where: ConfigLocator = (key) => {
    // A list set whole by a variable (nut.users) is where its items came from too.
    const parts = key.split('.');
    for (let n = parts.length; n > 0; n--) {
      const o = origin.get(parts.slice(0, n).join('.'));
      if (o) return ` (${o})`;
    }
    const p = positions.get(key);
    return p && fileName ? ` (in ${fileName}:${p.line}:${p.col})` : '';
  };

  const leaves = configLeaves();
  const byEnv = new Map(leaves.map((l) => [envNameOf(l.path), l]));
  const env = inputs.env ?? {};
  for (const name of Object.keys(env).sort()) {
    if (!name.startsWith(ENV_PREFIX) || name === ENV_CONFIG_FILE) continue;
    const raw = env[name];
    if (raw === undefined) continue;
    const leaf = byEnv.get(name);
    if (!leaf) {
      errors.push(`environment variable ${name}: not a setting (settings are ${ENV_PREFIX}<SECTION>_<KEY>, e.g. ${envNameOf(['mqtt', 'url'])})`);
      continue;
    }
    const key = leaf.path.join('.');
    const c = coerce(raw, leaf);
    if ('error' in c) errors.push(`${key} = ${show(raw)} (from ${name}): ${c.error}`);
    else {
      setPath(data, leaf.path, c.value);
      origin.set(key, `from ${name}`);
    }
  }

  const byKey = new Map(leaves.map((l) => [l.path.join('.'), l]));
  for (const f of inputs.flags ?? []) {
    const leaf = byKey.get(f.key);
    if (!leaf) {
      errors.push(`${f.flag}: no setting ${f.key}`);
      continue;
    }
    const c = coerce(f.value, leaf);
    if ('error' in c) errors.push(`${f.key} = ${show(f.value)} (from ${f.flag}): ${c.error}`);
    else {
      setPath(data, leaf.path, c.value);
      origin.set(f.key, `from ${f.flag}`);
    }
  }
  if (errors.length > 0) return { ok: false, errors };

  for (const e of validate(data)) {
    const path = e.instancePath.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
    if (e.keyword === 'additionalProperties') {
      const extra = String((e.params as Json).additionalProperty);
      const key = [...path, extra].join('.');
      const allowed = Object.keys(((e.parentSchema as Json).properties ?? {}) as Json).join(', ');
      errors.push(`${key}: unknown setting${where(key)}; ${path.length ? path.join('.') : 'the top level'} takes ${allowed}`);
      continue;
    }
    if (e.keyword === 'required') {
      const key = [...path, String((e.params as Json).missingProperty)].join('.');
      const section = path.join('.');
      const inSection = section !== '' && positions.has(section) && !origin.has(section) ? `; ${section}${where(section)} has none` : '';
      errors.push(`${key} is required (set it in the file, with ${envNameOf(key.split('.'))}, or with a flag)${inSection}`);
      continue;
    }
    const key = path.join('.');
    errors.push(`${key || '(top level)'} = ${show(getPath(data, path))}${where(key)}: ${expectation(e)}`);
  }
  if (errors.length > 0) return { ok: false, errors };

  const config = data as unknown as BridgeConfig;
  errors.push(...crossChecks(config, where));
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, config: finish(config), where };
}

/** Rules between keys, which a JSON schema says poorly. */
function crossChecks(c: BridgeConfig, at: ConfigLocator): string[] {
  const out: string[] = [];
  const src = parseSourceSpec(c.source.url);
  if (!src.ok) out.push(`source.url${at('source.url')}: ${src.error}`);
  else if (src.spec.kind === 'tcp') {
    const h = hostProblem(src.spec.host);
    if (h) out.push(`source.url = ${show(c.source.url)}${at('source.url')}: ${h}`);
  }
  const atLeast = (maxKey: string, max: number, minKey: string, min: number): void => {
    if (max < min) out.push(`${maxKey} = ${max}${at(maxKey)}: expected at least ${minKey} = ${min}${at(minKey)}`);
  };
  atLeast('source.reconnect_max_ms', c.source.reconnect_max_ms, 'source.reconnect_initial_ms', c.source.reconnect_initial_ms);
  atLeast('mqtt.reconnect_max_ms', c.mqtt.reconnect_max_ms, 'mqtt.reconnect_initial_ms', c.mqtt.reconnect_initial_ms);
  atLeast('influx.retry_max_ms', c.influx.retry_max_ms, 'influx.retry_initial_ms', c.influx.retry_initial_ms);
  if (c.spool.max_bytes < 4 * c.spool.segment_bytes) out.push(`spool.max_bytes = ${c.spool.max_bytes}${at('spool.max_bytes')}: expected at least 4 x spool.segment_bytes (${4 * c.spool.segment_bytes}), so dropping one segment frees a quarter at most`);
  if ((c.mqtt.tls.cert === '') !== (c.mqtt.tls.key === '')) {
    const set = c.mqtt.tls.cert === '' ? 'mqtt.tls.key' : 'mqtt.tls.cert';
    out.push(`mqtt.tls.cert and mqtt.tls.key: expected both or neither (a client certificate needs its key); only ${set} is set${at(set)}`);
  }
  if (c.influx.url !== '') {
    const api = `influx.api${at('influx.api')} is ${c.influx.api}`;
    if (c.influx.api === 'v1' && c.influx.db === '') out.push(`influx.db is required when ${api} (the database /write goes to)`);
    if (c.influx.api === 'v2' && c.influx.bucket === '') out.push(`influx.bucket is required when ${api} (for InfluxDB 1.8 use db/rp, e.g. "solar/autogen")`);
    const misplaced = (keys: string[]): string => keys.filter((k) => getPath(c, k.split('.')) !== '').map((k) => `${k}${at(k)}`).join(', ');
    if (c.influx.api === 'v1' && (c.influx.bucket !== '' || c.influx.org !== '' || c.influx.token !== '')) out.push(`influx.bucket/org/token belong to api v2; with api v1 use influx.db, influx.rp, influx.username, influx.password (set: ${misplaced(['influx.bucket', 'influx.org', 'influx.token'])}; ${api})`);
    if (c.influx.api === 'v2' && (c.influx.db !== '' || c.influx.rp !== '')) out.push(`influx.db/rp belong to api v1; with api v2 use influx.bucket (and org, token) (set: ${misplaced(['influx.db', 'influx.rp'])}; ${api})`);
  }
  return out;
}

/** Fills the defaults that depend on other keys. */
function finish(c: BridgeConfig): BridgeConfig {
  if (c.mqtt.base_topic === '') c.mqtt.base_topic = `solar/${c.device_id}`;
  if (c.mqtt.client_id === '') c.mqtt.client_id = `solar-bridge-${c.device_id}`;
  return c;
}

/** The configuration with secrets masked, for `--check` and the start-up log. */
export function redactConfig(c: BridgeConfig): BridgeConfig {
  const copy = JSON.parse(JSON.stringify(c)) as BridgeConfig;
  if (copy.mqtt.password) copy.mqtt.password = '***';
  if (copy.influx.password) copy.influx.password = '***';
  if (copy.influx.token) copy.influx.token = '***';
  for (const u of copy.nut.users) if (u.password) u.password = '***'; // NUT server (issue 18)
  if (copy.web.token) copy.web.token = '***';
  return copy;
}
