/**
 * The `nut:` section of the bridge's configuration: its shape, its JSON schema (merged
 * into config/schema.ts) and the checks between keys that a schema says poorly (unique
 * names, users naming known UPS tiers, a password for every user). Pure: the caller
 * passes the environment in, so passwords named by `password_env` are read at the edge.
 */

export type NutRole = 'primary' | 'secondary';

export interface NutUpsConfig {
  /** The UPS name clients use (`upsc batch@host`). */
  name: string;
  description: string;
  /** LB at or below this battery.charge (percent). */
  charge_low: number;
  /** LB at or below this battery.runtime (seconds); 0 turns the runtime rule off. */
  runtime_low: number;
}

export interface NutUserConfig {
  name: string;
  /** The password itself; prefer password_env so it stays out of the file. */
  password: string;
  /** Name of an environment variable holding the password. */
  password_env: string;
  role: NutRole;
  /** UPS names this user may LOGIN to (and, as primary, set FSD on); empty = every tier. */
  ups: string[];
}

export interface NutConfig {
  enabled: boolean;
  listen: string;
  max_connections: number;
  idle_timeout_s: number;
  max_line_bytes: number;
  stale_after_ms: number;
  ups: NutUpsConfig[];
  users: NutUserConfig[];
}

type Schema = { [key: string]: unknown };

const NAME = { type: 'string', pattern: '^[A-Za-z0-9_.-]{1,32}$', description: 'letters, digits, _ . and -, at most 32' };

export const DEFAULT_NUT_UPS: NutUpsConfig = { name: 'solar', description: 'Solar battery bank', charge_low: 20, runtime_low: 600 };

export const NUT_SCHEMA: Schema = {
  type: 'object', additionalProperties: false, default: {},
  properties: {
    enabled: { type: 'boolean', default: false },
    listen: { type: 'string', default: '127.0.0.1:3493', pattern: '^(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9_.-]+):\\d{1,5}$', description: 'HOST:PORT' },
    max_connections: { type: 'integer', default: 256, minimum: 1, maximum: 100000 },
    idle_timeout_s: { type: 'integer', default: 60, minimum: 1, maximum: 86400 },
    max_line_bytes: { type: 'integer', default: 1024, minimum: 64, maximum: 65536 },
    stale_after_ms: { type: 'integer', default: 5000, minimum: 500, maximum: 600000 },
    ups: {
      type: 'array', minItems: 1, maxItems: 16, default: [DEFAULT_NUT_UPS],
      items: {
        type: 'object', additionalProperties: false, required: ['name'],
        properties: {
          name: NAME,
          description: { type: 'string', default: 'Solar battery bank', maxLength: 200 },
          charge_low: { type: 'integer', default: 20, minimum: 0, maximum: 100 },
          runtime_low: { type: 'integer', default: 600, minimum: 0, maximum: 604800 },
        },
      },
    },
    users: {
      type: 'array', maxItems: 64, default: [],
      items: {
        type: 'object', additionalProperties: false, required: ['name', 'role'],
        properties: {
          name: NAME,
          password: { type: 'string', default: '', maxLength: 256 },
          password_env: { type: 'string', default: '', pattern: '^$|^[A-Za-z_][A-Za-z0-9_]*$', description: 'an environment variable name' },
          role: { type: 'string', enum: ['primary', 'secondary'] },
          ups: { type: 'array', default: [], items: NAME },
        },
      },
    },
  },
};

/** A user ready for authentication: its password resolved. */
export interface NutUser {
  name: string;
  password: string;
  role: NutRole;
  /** null = every tier. */
  ups: ReadonlySet<string> | null;
}

export type NutSettingsResult = { ok: true; users: NutUser[] } | { ok: false; errors: string[] };

/**
 * Checks between keys and resolves each user's password (from the config or the named
 * environment variable). Error texts name the key and never contain a password.
 */
export function resolveNutUsers(c: NutConfig, env: { [name: string]: string | undefined }): NutSettingsResult {
  const errors: string[] = [];
  const tiers = new Set<string>();
  c.ups.forEach((u, i) => {
    if (tiers.has(u.name)) errors.push(`nut.ups[${i}].name = "${u.name}": another tier already has this name`);
    tiers.add(u.name);
  });
  const names = new Set<string>();
  const users: NutUser[] = [];
  c.users.forEach((u, i) => {
    const at = `nut.users[${i}] (${u.name})`;
    if (names.has(u.name)) errors.push(`${at}: another user already has this name`);
    names.add(u.name);
    if (u.password !== '' && u.password_env !== '') errors.push(`${at}: set password or password_env, not both`);
    let password = u.password;
    if (u.password_env !== '') {
      const v = env[u.password_env];
      if (v === undefined || v === '') errors.push(`${at}: password_env names ${u.password_env}, which is not set in the environment`);
      else password = v;
    } else if (password === '') errors.push(`${at}: needs a password (password, or password_env naming an environment variable)`);
    for (const t of u.ups) if (!tiers.has(t)) errors.push(`${at}: ups lists "${t}", which is not a tier in nut.ups (${[...tiers].join(', ')})`);
    users.push({ name: u.name, password, role: u.role, ups: u.ups.length === 0 ? null : new Set(u.ups) });
  });
  const port = Number(c.listen.slice(c.listen.lastIndexOf(':') + 1));
  if (!(port >= 0 && port <= 65535)) errors.push(`nut.listen = "${c.listen}": port must be 0..65535`);
  return errors.length > 0 ? { ok: false, errors } : { ok: true, users };
}
