/**
 * Everything that can be known about a resolved configuration before the bridge starts:
 * the host checks of the schema's paths and listen addresses (config/host-checks.ts) and
 * each enabled feature's own checks (FeatureDefinition.checkConfig). `--check` and the
 * start both run it, so a value that cannot work ends in exit status 2 with its key named,
 * and is not restarted by systemd every 5 s forever.
 */
import type { BridgeConfig } from './config/schema';
import type { ConfigLocator } from './config/resolve-config';
import { checkConfigOnHost } from './config/host-checks';
import { FEATURES } from './feature-list';

function shown(config: Readonly<BridgeConfig>, key: string): string {
  const v = key.split('.').reduce<unknown>((o, k) => (o !== null && typeof o === 'object' ? (o as { [k: string]: unknown })[k] : undefined), config);
  // Secrets and whole sections are named, not printed.
  return typeof v === 'string' && /pass|token|key$/.test(key) ? '' : typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? ` = ${JSON.stringify(v)}` : '';
}

export async function preflightConfig(config: Readonly<BridgeConfig>, where: ConfigLocator, env: { readonly [name: string]: string | undefined }): Promise<string[]> {
  const out = await checkConfigOnHost(config, where);
  for (const feature of FEATURES) {
    if (!feature.enabled(config) || !feature.checkConfig) continue;
    for (const p of feature.checkConfig(config, env)) out.push(`${p.key}${shown(config, p.key)}${where(p.key)}: ${p.problem}`);
  }
  return out;
}
