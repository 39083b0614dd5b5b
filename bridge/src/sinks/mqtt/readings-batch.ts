/**
 * One MQTT delivery of a batch of spooled records, built as the records are read, in
 * this order on the wire:
 *   <base>/event      each MCU event (not retained), QoS 1
 *   <base>/state      the newest reading in friendly form (state-payload.ts), retained,
 *                     at mqtt.state_qos
 *   <base>/<channel>/<quantity>, charger/…, faults   its values that changed, retained,
 *                     only with mqtt.per_value_topics (per-value-topics.ts), at mqtt.state_qos
 *   <base>/readings   every reading of the batch, in order, as one JSON array of spooled
 *                     frames {"ts":…,"frame":{…protocol fields…}} (not retained), QoS 1
 * The readings go last: the broker handles one client's packets in order, so their PUBACK
 * also says it took the state before them, even at QoS 0.
 * Readings are copied byte for byte into the one `readings` payload (it is the spool's
 * own JSON, so a backlog costs no per-reading work), and only the newest reading is
 * parsed, for the retained state and values.
 */
import type { BridgeMetrics } from '../../metrics/bridge-metrics';
import type { RateLimitedLog } from '../../log/rate-limited-log';
import { SpooledFrame, decodeSpooledFrame, isSpooledReadingBytes } from '../../spool/spooled-frame';
import { BuilderPool, ByteBuilder } from '../byte-builder';
import type { BatchBuilder } from '../drainer';
import type { ReadingFrame } from '../../../../protocol';
import { SINK_NAME, Outgoing, Qos } from './mqtt-link';
import { eventJson, readingState } from './state-payload';
import type { PerValueTopics } from './per-value-topics';
import type { Topics } from './topics';

export interface ReadingsBatchDeps {
  topics: Topics;
  metrics: BridgeMetrics;
  limited: RateLimitedLog;
  /** The readings payload is built in one reused builder (its string is made at once). */
  builders: BuilderPool;
  /** The per-value topics, when configured. */
  perValue: PerValueTopics | null;
  /** mqtt.state_qos: of the state and per-value topics. */
  stateQos: Qos;
  /** Sees the newest reading of each batch and its state payload (Home Assistant learns of a solar current sensor; a reconnect sends the state again). */
  newest(r: ReadingFrame, statePayload: string): void;
  publishAll(msgs: Outgoing[]): Promise<void>;
}

export function readingsBatch(d: ReadingsBatchDeps): BatchBuilder {
  const events: Outgoing[] = [];
  const readings = d.builders.take();
  // [start, end) of each reading inside `readings`, to find the newest readable one.
  const spans: number[] = [];
  readings.byte(0x5b /* [ */);
  return {
    add: (buf, start, end) => {
      if (isSpooledReadingBytes(buf, start, end)) {
        if (spans.length > 0) readings.byte(0x2c /* , */);
        spans.push(readings.length);
        readings.bytes(buf, start, end);
        spans.push(readings.length);
        return;
      }
      const rec = decodeSpooledFrame(buf.toString('latin1', start, end));
      if (!rec || rec.frame.type !== 'E') {
        // Cannot happen for records this bridge wrote; a record from a damaged disk is
        // skipped, not retried forever.
        d.metrics.sinkErrors.inc({ sink: SINK_NAME, kind: 'bad_record' });
        d.limited.warn('mqtt_bad_record', 'skipped an unreadable spool record');
        return;
      }
      events.push({ topic: d.topics.event, payload: JSON.stringify(eventJson(rec.frame, rec.ts)), retain: false, qos: 1 });
    },
    send: () => {
      let msgs: Outgoing[];
      try {
        msgs = events;
        addReadings(d, msgs, readings, spans);
      } catch (e) {
        return Promise.reject(e); // as from an async function: the drainer never sees a throw
      } finally {
        d.builders.release(readings);
      }
      return d.publishAll(msgs);
    },
  };
}

/** The readings message, and the newest reading as retained state (and values, when configured). */
function addReadings(d: ReadingsBatchDeps, out: Outgoing[], readings: ByteBuilder, spans: number[]): void {
  const all = readings.result();
  // Only the newest reading is parsed; one that cannot be read is left out of the batch.
  let newest: SpooledFrame | null = null;
  while (spans.length > 0 && !(newest = decodeSpooledFrame(all.toString('latin1', spans[spans.length - 2], spans[spans.length - 1])))) {
    spans.length -= 2;
    d.metrics.sinkErrors.inc({ sink: SINK_NAME, kind: 'bad_record' });
  }
  if (!newest || newest.frame.type !== 'R') return;
  const r = newest.frame;
  // Cut at the end of the newest readable reading and close the array.
  readings.drop(readings.length - spans[spans.length - 1]);
  readings.byte(0x5d /* ] */);
  const state = JSON.stringify(readingState(r, newest.ts));
  out.push({ topic: d.topics.state, payload: state, retain: true, qos: d.stateQos });
  d.newest(r, state);
  if (d.perValue) for (const [path, value] of d.perValue.changed(r)) out.push({ topic: d.topics.value(path), payload: value, retain: true, qos: d.stateQos });
  // A string, not the Buffer: mqtt.js deep-copies a Buffer payload into its store until
  // the PUBACK (a second copy, off-heap, freed late); a string it shares.
  out.push({ topic: d.topics.readings, payload: readings.result().toString('latin1'), retain: false, qos: 1 });
}
