/**
 * MQTT as a feature: the sink drains the spool from its cursor, the command topics go
 * through the core's command path (the reply is published on the reply topic), the MCU
 * link's availability and the values other features compute are published as they change.
 */
import type { Feature, FeatureDefinition } from '../core/feature';
import { MqttSink, SINK_NAME } from '../sinks/mqtt/mqtt-sink';
import { tlsFileProblems } from '../sinks/mqtt/tls-files';

export const mqttFeature: FeatureDefinition = {
  name: SINK_NAME,
  drainsSpool: true,
  enabled: (c) => c.mqtt.url !== '',
  checkConfig: (c) => tlsFileProblems(c.mqtt.tls),
  create(core): Feature {
    const c = core.config;
    const reply = (r: object): void => sink.publishReply(r);
    const sink: MqttSink = new MqttSink(c.mqtt, c.device_id, core.version, core.log, core.metrics, {
      onCommand: (text) => { void core.commands.request(text, 'mqtt').then(reply); },
      onForceMode: (mode) => {
        const answer = mode === 'auto'
          ? core.commands.submit({ cmd: 'force', mode: 'auto' }, 'homeassistant', 'homeassistant')
          : mode === 'on' || mode === 'off'
            ? core.commands.submit({ cmd: 'force', mode, for: c.mqtt.homeassistant.force_duration_s }, 'homeassistant', 'homeassistant')
            : core.commands.request(JSON.stringify({ cmd: 'force', mode, request_id: 'homeassistant' }), 'homeassistant');
        void answer.then(reply);
      },
    });
    const unsubscribe: Array<() => void> = [];
    return {
      start() {
        sink.start();
        core.spool.drain(sink, { batchRecords: Math.max(1, Math.min(c.mqtt.max_inflight, 5000)), batchBytes: 4 * 1024 * 1024, maxInFlight: 2 });
        unsubscribe.push(core.onLink((up) => sink.setSourceUp(up)));
        if (core.derived.specs().length > 0) sink.declareDerived(core.derived.specs());
        // Values a feature started before this one already set (e.g. restored from its state).
        const already = core.derived.snapshot();
        if (Object.keys(already).length > 0) sink.publishDerived(already);
        unsubscribe.push(core.derived.onDeclare((specs) => sink.declareDerived(specs)));
        unsubscribe.push(core.derived.onChange((_ts, values) => sink.publishDerived(values)));
      },
      stop() {
        for (const u of unsubscribe) u();
        return sink.stop();
      },
    };
  },
};
