/**
 * What /healthz answers: healthy when the source is up, every sink's last attempt
 * succeeded and no feature reports a problem; else the list of what is wrong.
 */
import type { HealthReport } from '../health/http-server';
import type { BridgeMetrics } from '../metrics/bridge-metrics';
import type { Source } from '../sources/source';
import type { Spool } from '../spool/spool';
import type { FeatureHealth } from './feature';
import type { SilenceReport } from './source-watch';

export interface BridgeHealth extends HealthReport {
  healthy: boolean;
  problems: string[];
  source: {
    description: string | undefined;
    up: boolean;
    /** Seconds since the last valid frame (since the start, before the first); null without a watch. */
    last_frame_age_s: number | null;
    /** Above this the link is silent (0 = not watched). */
    silence_limit_s: number;
  };
  sinks: { [sink: string]: { connected: boolean; pending_records: number; dropped_records: number } };
  spool: { bytes: number; segments: number; lost_records: number; write_failing: { reason: string; error: string; since: string; held_records: number; lost_records: number } | null } | undefined;
  /** Readings received by this process. */
  frames: number;
  version: string;
  /** Features that report their own health (battery, NUT...), by name. */
  features?: { [name: string]: FeatureHealth };
}

export interface HealthInputs {
  source: Source | null;
  spool: Spool | null;
  metrics: BridgeMetrics;
  silence: SilenceReport | null;
  version: string;
  features: ReadonlyArray<{ name: string; health?: () => FeatureHealth }>;
}

export function bridgeHealth(i: HealthInputs): BridgeHealth {
  const problems: string[] = [];
  const sourceUp = i.source?.isUp() ?? false;
  if (!sourceUp) problems.push(`source ${i.source?.description ?? ''} is down`);
  const quiet = i.silence;
  if (quiet?.silent) {
    const age = Math.round(quiet.lastFrameAgeS);
    problems.push(`source ${i.source?.description ?? ''} is silent: ${quiet.anyFrame ? `no valid frame for ${age} s` : `no valid frame since the start ${age} s ago`} (limit ${quiet.limitS} s, source.idle_timeout_ms)`);
  }
  const sinks: BridgeHealth['sinks'] = {};
  const stats = i.spool?.stats();
  const failing = stats?.writeFailing ?? null;
  if (failing) problems.push(`${failing.reason} since ${new Date(failing.sinceMs).toISOString()}: ${failing.heldRecords} record(s) held in memory, ${failing.lostRecords} lost`);
  for (const [name, s] of Object.entries(stats?.sinks ?? {})) {
    const connected = i.metrics.sinkConnected.get({ sink: name }) === 1;
    if (!connected) problems.push(`${name} is not connected`);
    sinks[name] = { connected, pending_records: s.pendingRecords, dropped_records: s.droppedRecords };
  }
  let features: BridgeHealth['features'];
  for (const f of i.features) {
    if (!f.health) continue;
    let h: FeatureHealth;
    try {
      h = f.health();
    } catch (e) {
      h = { problems: [`health check failed: ${(e as Error).message}`] };
    }
    (features ??= {})[f.name] = h;
    for (const p of h.problems) problems.push(`${f.name}: ${p}`);
  }
  const out: BridgeHealth = {
    healthy: problems.length === 0,
    problems,
    source: {
      description: i.source?.description,
      up: sourceUp,
      last_frame_age_s: quiet ? Math.round(quiet.lastFrameAgeS * 10) / 10 : null,
      silence_limit_s: quiet?.limitS ?? 0,
    },
    sinks,
    spool: stats ? {
      bytes: stats.bytes,
      segments: stats.segments,
      lost_records: stats.lostRecords,
      write_failing: failing ? { reason: failing.reason, error: failing.error, since: new Date(failing.sinceMs).toISOString(), held_records: failing.heldRecords, lost_records: failing.lostRecords } : null,
    } : undefined,
    frames: i.metrics.framesIn.get({ type: 'R' }),
    version: i.version,
  };
  if (features) out.features = features;
  return out;
}
