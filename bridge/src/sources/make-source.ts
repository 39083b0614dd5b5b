/** The source the config names: a reconnecting TCP or serial link, the host's own I²C bus (host-direct), or a replayed file/stdin. */
import type { Readable } from 'node:stream';
import type { BridgeConfig } from '../config/schema';
import type { Logger } from '../log/logger';
import { hostDirectConnector } from './i2c/host-direct-link';
import type { I2cBusSync } from './i2c/linux-i2c-transport';
import { MIN_READ_PAUSE_MS, READ_BUDGET_BYTES, ReadPacing } from './read-pacer';
import { ReconnectingSource } from './reconnecting-source';
import { ReplaySource } from './replay-source';
import { serialConnector } from './serial-link';
import type { Source } from './source';
import { describeSpec, parseSourceSpec } from './source-spec';
import { tcpConnector } from './tcp-link';

export interface SourceOptions {
  log: Logger;
  /** What a `-` source replays (default process.stdin). */
  stdin?: Readable;
  /** For an `i2c:` source: opens the bus (default i2c-bus on Linux; tests pass the simulator's). */
  openI2cBus?: (busNumber: number) => I2cBusSync;
}

/**
 * A trickle is read at most every source.read_interval_ms, and never paused for more than
 * a third of the silence limit: with the MCU's period at most half of it (the command
 * router's rule), a paused link is never taken for a silent one.
 */
export function readPacing(c: BridgeConfig): ReadPacing {
  const idle = c.source.idle_timeout_ms;
  const maxPauseMs = idle > 0 ? Math.min(c.source.read_interval_ms, Math.floor(idle / 3)) : c.source.read_interval_ms;
  return { maxPauseMs, budgetBytes: READ_BUDGET_BYTES, minPauseMs: MIN_READ_PAUSE_MS };
}

export function makeSource(c: BridgeConfig, options: SourceOptions): Source {
  const parsed = parseSourceSpec(c.source.url);
  if (!parsed.ok) throw new Error(`source.url: ${parsed.error}`);
  const spec = parsed.spec;
  const reconnect = { initialMs: c.source.reconnect_initial_ms, maxMs: c.source.reconnect_max_ms, idleTimeoutMs: c.source.idle_timeout_ms };
  const paced = { ...reconnect, pacing: readPacing(c), promptAfterWriteMs: c.mqtt.commands.timeout_ms };
  const description = describeSpec(spec, c.source.baud);
  if (spec.kind === 'tcp') return new ReconnectingSource(description, tcpConnector({ host: spec.host, port: spec.port, connectTimeoutMs: c.source.connect_timeout_ms }), paced);
  if (spec.kind === 'serial') return new ReconnectingSource(description, serialConnector({ path: spec.path, baudRate: c.source.baud }), reconnect);
  if (spec.kind === 'i2c') {
    const i2c = { devicePath: spec.path, busNumber: spec.bus, pollPeriodS: spec.periodS, stateDir: c.spool.dir, log: options.log.child('i2c'), openBus: options.openI2cBus };
    // A poll period longer than the silence limit is not silence: allow three missed polls.
    const idleTimeoutMs = reconnect.idleTimeoutMs > 0 ? Math.max(reconnect.idleTimeoutMs, 3 * spec.periodS * 1000) : 0;
    return new ReconnectingSource(description, hostDirectConnector(i2c), { ...reconnect, idleTimeoutMs });
  }
  return new ReplaySource(spec.path, options.stdin);
}
