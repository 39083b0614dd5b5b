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

/** One problem: the dotted key it is about (nut.users.0) and the text that names it for a person. */
export interface NutProblem {
  key: string;
  text: string;
}

export type NutSettingsResult = { ok: true; users: NutUser[] } | { ok: false; errors: string[]; problems: NutProblem[] };

/**
 * Checks between keys and resolves each user's password (from the config or the named
 * environment variable). Error texts name the key and never contain a password.
 */
export function resolveNutUsers(c: NutConfig, env: { [name: string]: string | undefined }): NutSettingsResult {
  const problems: NutProblem[] = [];
  const tiers = new Set<string>();
  c.ups.forEach((u, i) => {
    if (tiers.has(u.name)) problems.push({ key: `nut.ups.${i}.name`, text: `nut.ups[${i}].name = "${u.name}": another tier already has this name` });
    tiers.add(u.name);
  });
  const names = new Set<string>();
  const users: NutUser[] = [];
  c.users.forEach((u, i) => {
    const at = `nut.users[${i}] (${u.name})`;
    const problem = (field: string, text: string): void => { problems.push({ key: `nut.users.${i}${field}`, text: `${at}: ${text}` }); };
    if (names.has(u.name)) problem('.name', 'another user already has this name');
    names.add(u.name);
    if (u.password !== '' && u.password_env !== '') problem('', 'set password or password_env, not both');
    let password = u.password;
    if (u.password_env !== '') {
      const v = env[u.password_env];
      if (v === undefined || v === '') problem('.password_env', `password_env names ${u.password_env}, which is not set in the environment`);
      else password = v;
    } else if (password === '') problem('', 'needs a password (password, or password_env naming an environment variable)');
    for (const t of u.ups) if (!tiers.has(t)) problem('.ups', `ups lists "${t}", which is not a tier in nut.ups (${[...tiers].join(', ')})`);
    users.push({ name: u.name, password, role: u.role, ups: u.ups.length === 0 ? null : new Set(u.ups) });
  });
  const port = Number(c.listen.slice(c.listen.lastIndexOf(':') + 1));
  if (!(port >= 0 && port <= 65535)) problems.push({ key: 'nut.listen', text: `nut.listen = "${c.listen}": port must be 0..65535` });
  return problems.length > 0 ? { ok: false, errors: problems.map((p) => p.text), problems } : { ok: true, users };
}
