/**
 * The checks of a valid configuration against this host, before anything starts: the
 * paths the schema marks (hostPath in schema.ts) exist or can be made, the addresses a
 * server listens on are this host's, a replayed capture file exists. A value that fails
 * here cannot work however often the service restarts, so the bridge refuses it with
 * exit status 2 (at --check and at start) instead of failing later with status 1.
 * Nothing is created or changed: --check may run beside a running bridge.
 */
import dns from 'node:dns/promises';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { BridgeConfig } from './schema';
import { CONFIG_SCHEMA } from './schema';
import type { ConfigLocator } from './resolve-config';
import type { HostRule } from './value-checks';
import { parseListenAddress } from './value-checks';
import { parseSourceSpec } from '../sources/source-spec';

type Json = { [key: string]: unknown };

interface MarkedLeaf {
  path: string[];
  rule: unknown;
  /** The key that turns this value's feature on (onHostWhen), if not the value itself. */
  when: string | undefined;
}

/** Every leaf of the schema whose node has `keyword`, with its dotted path (list items not included). */
function leavesWith(keyword: string, schema: Json = CONFIG_SCHEMA, prefix: string[] = []): MarkedLeaf[] {
  const out: MarkedLeaf[] = [];
  for (const [k, s] of Object.entries((schema.properties ?? {}) as { [k: string]: Json })) {
    if (s.type === 'object') out.push(...leavesWith(keyword, s, [...prefix, k]));
    else if (keyword in s) out.push({ path: [...prefix, k], rule: s[keyword], when: typeof s.onHostWhen === 'string' ? s.onHostWhen : undefined });
  }
  return out;
}

function valueAt(config: Readonly<BridgeConfig>, p: string[]): unknown {
  return p.reduce<unknown>((o, k) => (o !== null && typeof o === 'object' ? (o as Json)[k] : undefined), config);
}

/** The value to check, or null: unset, or its feature is off (a TLS file with MQTT off cannot hurt). */
function checkedValue(config: Readonly<BridgeConfig>, leaf: MarkedLeaf): string | null {
  const value = valueAt(config, leaf.path);
  if (typeof value !== 'string' || value === '') return null;
  if (leaf.when === undefined) return value;
  const on = valueAt(config, leaf.when.split('.'));
  return on === true || (typeof on === 'string' && on !== '') ? value : null;
}

function errnoText(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOENT': return 'does not exist';
    case 'EACCES': case 'EPERM': return 'permission denied';
    case 'EROFS': return 'is on a read-only filesystem';
    case 'ENOTDIR': return 'a part of the path is not a directory';
    case 'ELOOP': return 'too many symbolic links';
    default: return (e as Error).message;
  }
}

/** Why the file cannot be read, or null. */
export function readableFileProblem(file: string): string | null {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (e) {
    return `${file} ${errnoText(e)}`;
  }
  if (st.isDirectory()) return `${file} is a directory, not a file`;
  try {
    // Opening is the real test (access() says yes to root even on a file it cannot read through a mount).
    fs.closeSync(fs.openSync(file, 'r'));
  } catch (e) {
    return `cannot read ${file}: ${errnoText(e)}`;
  }
  return null;
}

/** Why `dir` cannot be used as a writable directory (existing, or created with its parents), or null. */
export function writableDirProblem(dir: string): string | null {
  const abs = path.resolve(dir);
  // The nearest part of the path that exists decides: it must be a directory we may write in.
  let existing = abs;
  for (;;) {
    try {
      const st = fs.statSync(existing);
      if (!st.isDirectory()) return existing === abs ? `${dir} exists and is not a directory` : `${dir} cannot be created: ${existing} is not a directory`;
      break;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // ENOTDIR: a file further up; walk on to name it.
      if (code !== 'ENOENT' && code !== 'ENOTDIR') return `${dir}: ${errnoText(e)}`;
      const parent = path.dirname(existing);
      if (parent === existing) return `${dir}: no part of the path exists`;
      existing = parent;
    }
  }
  try {
    fs.accessSync(existing, fs.constants.W_OK | fs.constants.X_OK);
  } catch (e) {
    return existing === abs ? `${dir} is not writable: ${errnoText(e)}` : `${dir} cannot be created in ${existing}: ${errnoText(e)}`;
  }
  return null;
}

/** Why `file` cannot be written (it, or its directory, created when missing), or null. */
export function writableFileProblem(file: string): string | null {
  try {
    const st = fs.statSync(file);
    if (st.isDirectory()) return `${file} is a directory, not a file`;
    fs.accessSync(file, fs.constants.W_OK);
    return null;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') return `${file} is not writable: ${errnoText(e)}`;
  }
  return writableDirProblem(path.dirname(path.resolve(file)));
}

const PATH_CHECKS: { [rule in HostRule]: (p: string) => string | null } = {
  'readable-file': readableFileProblem,
  'writable-dir': writableDirProblem,
  'writable-file': writableFileProblem,
};

function localAddresses(): Set<string> {
  const out = new Set<string>(['0.0.0.0', '::']);
  for (const list of Object.values(os.networkInterfaces())) for (const a of list ?? []) out.add(a.address);
  return out;
}

/** Why nothing can listen on HOST:PORT here (the host is not one of this machine's addresses), or null. */
export async function listenHostProblem(listen: string): Promise<string | null> {
  const parsed = parseListenAddress(listen);
  if ('problem' in parsed) return parsed.problem;
  const local = localAddresses();
  if (net.isIP(parsed.host) !== 0) {
    return local.has(parsed.host) ? null : `${parsed.host} is not an address of this host (it has ${[...local].filter((a) => a !== '0.0.0.0' && a !== '::').join(', ')}; 0.0.0.0 or [::] listens on all)`;
  }
  let addresses: string[];
  try {
    addresses = (await dns.lookup(parsed.host, { all: true })).map((a) => a.address);
  } catch (e) {
    return `host ${parsed.host} does not resolve (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`;
  }
  return addresses.some((a) => local.has(a)) ? null : `${parsed.host} resolves to ${addresses.join(', ')}, none of them an address of this host`;
}

/** Every problem of `config` on this host, each naming its key and where the value came from. */
export async function checkConfigOnHost(config: Readonly<BridgeConfig>, where: ConfigLocator): Promise<string[]> {
  const out: string[] = [];
  for (const leaf of leavesWith('onHost')) {
    const value = checkedValue(config, leaf);
    if (value === null) continue;
    const problem = PATH_CHECKS[leaf.rule as HostRule](value);
    const key = leaf.path.join('.');
    if (problem) out.push(`${key} = ${JSON.stringify(value)}${where(key)}: ${problem}`);
  }
  for (const leaf of leavesWith('listen')) {
    const value = checkedValue(config, leaf);
    if (value === null) continue;
    const problem = await listenHostProblem(value);
    const key = leaf.path.join('.');
    if (problem) out.push(`${key} = ${JSON.stringify(value)}${where(key)}: ${problem}`);
  }
  const src = parseSourceSpec(config.source.url);
  if (src.ok && src.spec.kind === 'replay' && src.spec.path !== '-') {
    const problem = readableFileProblem(src.spec.path);
    if (problem) out.push(`source.url = ${JSON.stringify(config.source.url)}${where('source.url')}: the capture to replay: ${problem}`);
  }
  return out;
}
