/**
 * Every metric the bridge exports, named once. Prometheus names carry their unit and
 * `_total` for counters, so a dashboard author can read them without this file.
 */
import { Counter, Gauge, MetricsRegistry } from './registry';

export interface BridgeMetrics {
  registry: MetricsRegistry;
  framesIn: Counter;
  linesRejected: Counter;
  sequenceGaps: Counter;
  framesMissing: Counter;
  sequenceBack: Counter;
  mcuReboots: Counter;
  sourceUp: Gauge;
  sourceConnects: Counter;
  sourceFailures: Counter;
  lastFrameTime: Gauge;
  lastFrameAge: Gauge;
  mcuClockOffset: Gauge;
  sinkSent: Counter;
  sinkPending: Gauge;
  sinkPendingBytes: Gauge;
  sinkDropped: Counter;
  sinkErrors: Counter;
  sinkParked: Counter;
  sinkConnected: Gauge;
  spoolBytes: Gauge;
  spoolSegments: Gauge;
  spoolAppended: Counter;
  spoolDropped: Counter;
  spoolTorn: Counter;
  spoolCorruptBytes: Counter;
  spoolFsyncs: Counter;
  spoolCursorsLost: Counter;
  spoolLost: Counter;
  spoolWriteFailing: Gauge;
  spoolHeld: Gauge;
  commands: Counter;
  residentMemory: Gauge;
  heapUsed: Gauge;
  externalMemory: Gauge;
}

export function createBridgeMetrics(): BridgeMetrics {
  const r = new MetricsRegistry();
  const m: BridgeMetrics = {
    registry: r,
    framesIn: r.counter('solar_bridge_frames_total', 'Valid frames received from the source, by type (R reading, E event, A reply).'),
    linesRejected: r.counter('solar_bridge_lines_rejected_total', 'Lines from the source that were not a valid frame, by reason (the protocol reject reasons, plus too_long from the line splitter).'),
    sequenceGaps: r.counter('solar_bridge_sequence_gaps_total', 'Times the reading sequence number jumped forward within one MCU boot.'),
    framesMissing: r.counter('solar_bridge_frames_missing_total', 'Readings never received, according to the sequence numbers.'),
    sequenceBack: r.counter('solar_bridge_sequence_back_total', 'Readings whose sequence number went back while uptime did not (reordered or repeated).'),
    mcuReboots: r.counter('solar_bridge_mcu_reboots_total', 'MCU reboots detected, by reason: boot_changed (boot counter moved) or uptime_back (same boot, uptime went back: a reset that did not count, or a replayed capture).'),
    sourceUp: r.gauge('solar_bridge_source_up', '1 while the source (serial port, TCP connection, replay) is open, else 0.'),
    sourceConnects: r.counter('solar_bridge_source_connects_total', 'Successful opens of the source.'),
    sourceFailures: r.counter('solar_bridge_source_failures_total', 'Failed opens and lost connections of the source.'),
    lastFrameTime: r.gauge('solar_bridge_last_frame_timestamp_seconds', 'Bridge clock when the last valid frame arrived (Unix seconds).'),
    lastFrameAge: r.gauge('solar_bridge_source_last_frame_age_seconds', 'Seconds since the last valid frame from the source (since the bridge started, before the first). Above source.idle_timeout_ms the link counts as silent: it is reopened and /healthz fails.'),
    mcuClockOffset: r.gauge('solar_bridge_mcu_clock_offset_seconds', 'Bridge clock minus the timestamp given to the last reading: drift of the MCU crystal since its boot was anchored.'),
    sinkSent: r.counter('solar_bridge_sink_sent_total', 'Spool records confirmed by the sink\'s server.'),
    sinkPending: r.gauge('solar_bridge_sink_pending_records', 'Spool records the sink has not had confirmed yet.'),
    sinkPendingBytes: r.gauge('solar_bridge_sink_pending_bytes', 'Spool bytes the sink has not had confirmed yet.'),
    sinkDropped: r.counter('solar_bridge_sink_dropped_total', 'Records the sink never got because the spool hit its byte bound and dropped the oldest segment.'),
    sinkErrors: r.counter('solar_bridge_sink_errors_total', 'Failed deliveries, by sink and kind (network, server, rejected, auth, timeout).'),
    sinkParked: r.counter('solar_bridge_sink_parked_total', 'Points the server rejected as invalid (4xx), set aside in the spool directory instead of retried.'),
    sinkConnected: r.gauge('solar_bridge_sink_connected', '1 while the sink\'s last delivery or connection succeeded, else 0.'),
    spoolBytes: r.gauge('solar_bridge_spool_bytes', 'Bytes in the spool (all segments).'),
    spoolSegments: r.gauge('solar_bridge_spool_segments', 'Segment files in the spool.'),
    spoolAppended: r.counter('solar_bridge_spool_appended_total', 'Records written to the spool by this process.'),
    spoolDropped: r.counter('solar_bridge_spool_dropped_total', 'Records dropped, oldest first, to keep the spool under its byte bound.'),
    spoolTorn: r.counter('solar_bridge_spool_torn_records_total', 'Torn records found at the end of the spool on start (power loss mid-write), cut and copied to <spool>/quarantine/.'),
    spoolCorruptBytes: r.counter('solar_bridge_spool_corrupt_bytes_total', 'Damaged spool bytes skipped (failed length/CRC check), each counted once and copied to <spool>/quarantine/.'),
    spoolFsyncs: r.counter('solar_bridge_spool_fsyncs_total', 'fsync calls on spool segments.'),
    spoolCursorsLost: r.counter('solar_bridge_spool_cursors_lost_total', 'Times the sink cursor file (<spool>/cursors.bin) was found on start with no good slot: every sink started again from the oldest record the spool holds, so what it held is delivered again (at least once, never skipped).'),
    spoolLost: r.counter('solar_bridge_spool_lost_records_total', 'Records never stored: the spool\'s disk was full (or failing) and the memory held meanwhile was full too, or records still held in memory when the bridge stopped.'),
    spoolWriteFailing: r.gauge('solar_bridge_spool_write_failing', '1 while the spool cannot write (disk full, I/O error): records wait in memory, then are lost.'),
    spoolHeld: r.gauge('solar_bridge_spool_held_records', 'Records held in memory because the spool cannot write, to be written when it can.'),
    commands: r.counter('solar_bridge_commands_total', 'Commands received (MQTT, Home Assistant, the web page, features), by result: ok, failed (the MCU refused), invalid (not a valid command), forbidden (never forwarded from these paths, e.g. console), timeout, unavailable, busy.'),
    residentMemory: r.gauge('process_resident_memory_bytes', 'Resident memory of the bridge process.'),
    heapUsed: r.gauge('nodejs_heap_used_bytes', 'V8 heap in use.'),
    externalMemory: r.gauge('nodejs_external_memory_bytes', 'Memory outside the V8 heap held by JavaScript objects (buffers).'),
  };
  r.onCollect(() => {
    const u = process.memoryUsage();
    m.residentMemory.set(u.rss);
    m.heapUsed.set(u.heapUsed);
    m.externalMemory.set(u.external + u.arrayBuffers);
  });
  return m;
}
