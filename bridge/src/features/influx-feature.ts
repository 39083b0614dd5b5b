/**
 * InfluxDB as a feature: the sink drains the spool from its cursor through the v1
 * /write or v2 API, and writes the values other features compute with its next batch.
 */
import path from 'node:path';
import type { Feature, FeatureDefinition } from '../core/feature';
import { InfluxSink, SINK_NAME } from '../sinks/influx/influx-sink';
import { v1Writer } from '../sinks/influx/v1-writer';
import { v2Writer } from '../sinks/influx/v2-writer';

export const influxFeature: FeatureDefinition = {
  name: SINK_NAME,
  drainsSpool: true,
  enabled: (c) => c.influx.url !== '',
  create(core): Feature {
    const c = core.config;
    const i = c.influx;
    const writer = i.api === 'v1'
      ? v1Writer({ url: i.url, db: i.db, rp: i.rp, username: i.username, password: i.password, timeoutMs: i.timeout_ms })
      : v2Writer({ url: i.url, org: i.org, bucket: i.bucket, token: i.token, timeoutMs: i.timeout_ms });
    const sink = new InfluxSink(writer, {
      deviceId: c.device_id,
      batchLines: i.batch_size,
      retryInitialMs: i.retry_initial_ms,
      retryMaxMs: i.retry_max_ms,
      parkedFile: path.join(c.spool.dir, 'parked-influx.lp'),
    }, core.log, core.metrics);
    let unsubscribe = (): void => undefined;
    return {
      start() {
        core.log.info(`InfluxDB sink: ${writer.description}`);
        // A reading is 4 lines: size batches so one spool batch is about one request.
        // At a reading a second a request per reading is most of the cost: gather for flush_interval_ms.
        core.spool.drain(sink, { batchRecords: Math.max(1, Math.floor(i.batch_size / 4)), batchBytes: 8 * 1024 * 1024, maxInFlight: 2, gatherMs: i.flush_interval_ms });
        unsubscribe = core.derived.onChange((ts, values) => sink.queueDerived(ts, values));
      },
      stop() {
        unsubscribe();
        sink.stop();
      },
    };
  },
};
