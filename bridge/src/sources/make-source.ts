/** The source the config names: a reconnecting TCP or serial link, or a replayed file/stdin. */
import type { Readable } from 'node:stream';
import type { BridgeConfig } from '../config/schema';
import { ReconnectingSource } from './reconnecting-source';
import { ReplaySource } from './replay-source';
import { serialConnector } from './serial-link';
import type { Source } from './source';
import { describeSpec, parseSourceSpec } from './source-spec';
import { tcpConnector } from './tcp-link';

/** `stdin` is what a `-` source replays (default process.stdin). */
export function makeSource(c: BridgeConfig, stdin?: Readable): Source {
  const parsed = parseSourceSpec(c.source.url);
  if (!parsed.ok) throw new Error(`source.url: ${parsed.error}`);
  const spec = parsed.spec;
  const reconnect = { initialMs: c.source.reconnect_initial_ms, maxMs: c.source.reconnect_max_ms, idleTimeoutMs: c.source.idle_timeout_ms };
  const description = describeSpec(spec, c.source.baud);
  if (spec.kind === 'tcp') return new ReconnectingSource(description, tcpConnector({ host: spec.host, port: spec.port, connectTimeoutMs: c.source.connect_timeout_ms }), reconnect);
  if (spec.kind === 'serial') return new ReconnectingSource(description, serialConnector({ path: spec.path, baudRate: c.source.baud }), reconnect);
  return new ReplaySource(spec.path, stdin);
}
