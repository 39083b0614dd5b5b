/**
 * The NUT server as a feature of an in-process bridge: it takes readings from the frame
 * stream, uses the battery estimator's derived values when a feature declares them (a
 * stand-in estimator here, setting the keys the real one declares) and the voltage view
 * when none does, reports itself under /healthz features.nut, counts on /metrics, and
 * publishes mains_outage as a derived value.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { Bridge, FEATURES, resolveConfig } from '../../bridge/src';
import type { FeatureDefinition } from '../../bridge/src';
import { LineServer, makeTempDir, removeDir, waitFor } from '../helpers/services';
import { LogCapture, metricValue, parseMetrics } from '../bridge/helpers/bridge-harness';
import { readingStream } from '../bridge/helpers/frames';
import { NutClient } from './helpers/nut-rig';

/** Sets the estimator's keys on every reading, as the battery feature does. */
const estimatorStandIn: FeatureDefinition = {
  name: 'estimator',
  enabled: () => true,
  create(core) {
    let unsubscribe = (): void => undefined;
    return {
      start() {
        core.derived.declare('estimator', ['battery_soc', 'battery_soc_uncertainty', 'battery_runtime_alone_s', 'battery_time_to_go_s', 'battery_health', 'battery_capacity_ah']
          .map((key) => ({ key, label: key })));
        unsubscribe = core.onFrame((rec) => {
          if (rec.frame.type === 'R') core.derived.set(rec.ts, { battery_soc: 27.6, battery_soc_uncertainty: 2, battery_runtime_alone_s: 4321, battery_time_to_go_s: 5000, battery_health: 95, battery_capacity_ah: 200 });
        });
      },
      stop() { unsubscribe(); },
    };
  },
};

describe('NUT server as a bridge feature', function () {
  this.timeout(60000);
  let dir: string;
  let mcu: LineServer;
  let bridge: Bridge | null = null;
  let client: NutClient | null = null;

  beforeEach(async () => {
    dir = makeTempDir('nut-feature');
    mcu = await LineServer.start();
  });
  afterEach(async () => {
    client?.close();
    client = null;
    await bridge?.stop();
    bridge = null;
    await mcu.close();
    removeDir(dir);
  });

  async function run(features: FeatureDefinition[]): Promise<{ base: string; nutPort: number }> {
    const text = [
      `source: { url: "${mcu.url}" }`,
      `spool: { dir: "${path.join(dir, 'spool')}" }`,
      'http: { listen: "127.0.0.1:0" }',
      // The real estimator off: one test stands in for it, the other checks the voltage view.
      'battery: { enabled: false }',
      'nut:',
      '  enabled: true',
      '  listen: "127.0.0.1:0"',
      '  ups: [{ name: solar, charge_low: 30, runtime_low: 0 }]',
      '',
    ].join('\n');
    const r = resolveConfig({ file: { name: 'test.yaml', text } });
    if (!r.ok) throw new Error(r.errors.join('\n'));
    const b = new Bridge({ config: r.config, log: new LogCapture().logger, version: 'test', features });
    bridge = b;
    await b.start();
    await waitFor(() => mcu.clientCount === 1, { timeoutMs: 10000, what: 'the bridge to connect to the TCP source' });
    const base = `http://127.0.0.1:${b.healthPort()}`;
    const health = await (await fetch(`${base}/healthz`)).json() as { features: { nut: { listening: string } } };
    const nutPort = Number(/:(\d+)$/.exec(health.features.nut.listening)?.[1]);
    assert.ok(nutPort > 0, JSON.stringify(health.features));
    client = await NutClient.connect(nutPort);
    return { base, nutPort };
  }

  async function varOf(name: string): Promise<string> {
    const line = await client!.ask(`GET VAR solar ${name}`);
    return /"([^"]*)"$/.exec(line)?.[1] ?? line;
  }

  it('uses the estimator\'s charge, runtime and capacity when a feature declares them', async () => {
    const { base } = await run([estimatorStandIn, ...FEATURES]);
    assert.equal(await client!.ask('GET VAR solar ups.status'), 'ERR DATA-STALE', 'no reading yet');
    await mcu.send(readingStream(5));
    await waitFor(async () => (await varOf('ups.status')) !== 'ERR DATA-STALE', { timeoutMs: 10000, what: 'a reading at the NUT server' });
    assert.equal(await varOf('driver.parameter.battery_state'), 'estimator');
    assert.equal(await varOf('battery.charge'), '28');
    assert.equal(await varOf('battery.runtime'), '4321');
    assert.equal(await varOf('battery.capacity'), '200');
    assert.equal(await varOf('ups.status'), 'OB DISCHRG LB', 'LB from the estimator\'s 27.6 % against the tier\'s 30 %');

    const health = await (await fetch(`${base}/healthz`)).json() as { problems: string[]; features: { nut: { problems: string[]; connections: number; stale: boolean; ups: { solar: string } } } };
    assert.deepEqual(health.features.nut.problems, []);
    assert.equal(health.features.nut.connections, 1);
    assert.equal(health.features.nut.stale, false);
    assert.equal(health.features.nut.ups.solar, 'OB DISCHRG LB');
    const m = parseMetrics(await (await fetch(`${base}/metrics`)).text());
    assert.equal(metricValue(m, 'solar_bridge_nut_connections'), 1);
    assert.ok((metricValue(m, 'solar_bridge_nut_requests_total{command="GET"}') ?? 0) >= 6, 'requests counted');
    assert.equal(metricValue(m, 'solar_derived_mains_outage'), 0, 'no outage seen after the first reading');
  });

  it('falls back to the battery voltage without an estimator', async () => {
    await run([...FEATURES]);
    await mcu.send(readingStream(3));
    await waitFor(async () => (await varOf('ups.status')) !== 'ERR DATA-STALE', { timeoutMs: 10000, what: 'a reading at the NUT server' });
    assert.equal(await varOf('driver.parameter.battery_state'), 'voltage');
    // Reading 3: 12.503 V on the resting curve (12.30 V 50 %, 12.55 V 75 %).
    assert.equal(await varOf('battery.charge'), '70');
    assert.equal(await varOf('battery.voltage'), '12.50');
  });
});
