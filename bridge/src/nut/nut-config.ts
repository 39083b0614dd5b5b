/**
 * The `nut:` section of the bridge's configuration (its schema is in config/schema.ts):
 * the checks between keys that a schema says poorly (unique names, users naming known
 * UPS tiers, a password for every user). Pure: the caller passes the environment in, so
 * passwords named by `password_env` are read at the edge.
 */

import type { BridgeConfig } from '../config/schema';

/** The `nut:` section as config/schema.ts describes it (defaults filled in). */
export type NutConfig = BridgeConfig['nut'];
export type NutUpsConfig = NutConfig['ups'][number];
export type NutUserConfig = NutConfig['users'][number];
export type NutRole = NutUserConfig['role'];

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
