/**
 * The TS-7670 deployment of hardware/TS-7670.md, end to end on this machine: the
 * simulator runs the real firmware bundle and serves its USB port as a pty (as
 * /dev/ttyACM0 is on the TS-7670), socat exports that pty with the command copied from
 * the doc, the real bridge (the service's bundle) reads tcp://127.0.0.1:PORT and publishes
 * to a real mosquitto. Then the export is killed and started again, and finally replaced
 * by ser2net with the doc's YAML.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { HOST_LINK } from '../../hardware/system';
import { SerialEndpoint, startPtyEndpoint } from '../../simulator/endpoints';
import { runPaced } from '../../simulator/runner';
import { Simulation } from '../../simulator/simulation';
import type { SpooledFrame } from '../../bridge/src';
import { BridgeProcess, metricValue } from '../bridge/helpers/bridge-harness';
import { MqttRecorder } from '../bridge/helpers/mqtt-recorder';
import { ManagedProcess, MosquittoService, freePort, makeTempDir, removeDir, waitFor } from '../helpers/services';
import { firmwareBundle } from '../simulator/bundle';
import { SocatExport, commandArgv, docBlock, exportArgv, listening } from './helpers/socat-export';
import { bridgeBundle, bundleEnv, repoRoot } from './helpers/systemd-bridge';
import { UnitFile, execArgv } from './helpers/systemd-unit';

const DOC = path.join(repoRoot, 'hardware', 'TS-7670.md');
const DOC_DEVICE = '/dev/ttyACM0';
const DOC_PORT = 7000;
/** Simulated seconds per wall second: ten readings a second, so the test sees many without waiting long. */
const SPEED = 10;
const DEVICE_ID = 'ts7670test';

describe('deploy: TS-7670 serial export (hardware/TS-7670.md)', function () {
  this.timeout(60000);
  const socatCommand = docBlock(DOC, 'socat-export').trim();

  it('the doc\'s socat command is the export unit\'s ExecStart, at the firmware\'s baud rate, one client at a time', () => {
    const unit = UnitFile.read(path.join(repoRoot, 'bridge', 'systemd', 'solar-serial-export.service'));
    const exec = execArgv(unit.get('Service', 'ExecStart')!);
    const doc = commandArgv(socatCommand);
    assert.equal(path.basename(exec[0]), doc[0]);
    assert.deepEqual(exec.slice(1), doc.slice(1), 'unit and doc run the same socat');
    assert.ok(doc.some((a) => a.includes(`${DOC_DEVICE},`) && a.includes(`b${HOST_LINK.baud}`)), `b${HOST_LINK.baud} on ${DOC_DEVICE}`);
    assert.ok(!doc.some((a) => /(^|,)fork(,|$)/.test(a)), 'no fork: two readers of one tty would split its lines');
    assert.equal(unit.get('Service', 'Restart'), 'always', 'socat exits with its client; the unit starts it again');
    const bridgeCfg = docBlock(DOC, 'bridge-config');
    assert.match(bridgeCfg, new RegExp(`url: tcp://\\S+:${DOC_PORT}\\n`));
    assert.match(docBlock(DOC, 'ser2net-yaml'), new RegExp(`accepter: tcp,${DOC_PORT}\\n\\s+connector: serialdev,${DOC_DEVICE},${HOST_LINK.baud}n81,local`));
    assert.match(docBlock(DOC, 'ser2net-conf'), new RegExp(`^${DOC_PORT}:raw:0:${DOC_DEVICE}:${HOST_LINK.baud} 8DATABITS NONE 1STOPBIT`));
  });

  describe('simulated Pico → pty → socat → bridge → mosquitto', () => {
    let scratch = '';
    let broker: MosquittoService;
    let endpoint: SerialEndpoint | null = null;
    let sim: Simulation;
    let simStopped = false;
    let simRun: Promise<void> = Promise.resolve();
    let socat: SocatExport;
    let bridge: BridgeProcess;
    let rec: MqttRecorder;
    let port = 0;
    const topic = `solar/${DEVICE_ID}/readings`;

    before(async function () {
      this.timeout(60000);
      scratch = makeTempDir('ts7670');
      broker = await MosquittoService.start();
      // One simulated hour is far more than the test needs; it is stopped in after().
      sim = new Simulation({ scenario: 'day', seed: 5, hours: 1, firmware: firmwareBundle(), onSerial: (d) => endpoint?.write(d) });
      endpoint = await startPtyEndpoint(path.join(scratch, 'ttyACM0'), (d) => sim.hostInput(d));
      simRun = runPaced(sim, { speed: SPEED, stop: () => simStopped });
      port = await freePort();
      socat = new SocatExport(exportArgv(socatCommand, { device: endpoint.address, port, docDevice: DOC_DEVICE, docPort: DOC_PORT }), port, scratch);
      await socat.start();
      rec = await MqttRecorder.connect(broker.url, [topic]);
      bridge = await BridgeProcess.create([
        '--source', `tcp://127.0.0.1:${port}`, '--mqtt', broker.url, '--influx-url', '', '--device-id', DEVICE_ID,
        '--spool', path.join(scratch, 'spool'),
      ], path.join(scratch, 'bridge.log'), bundleEnv(), { kind: 'bundle', file: bridgeBundle(), nodeFlags: [] });
      await bridge.start();
    });

    after(async () => {
      simStopped = true;
      await simRun.catch(() => undefined);
      await bridge?.stop();
      await rec?.close();
      await socat?.stop();
      await endpoint?.close();
      await broker?.dispose();
      removeDir(scratch);
    });

    const frames = (): SpooledFrame[] => rec.readings(topic);
    const seqs = (): number[] => frames().map((f) => (f.frame as { seq: number }).seq);

    /** Every published reading in order: one boot, seq strictly rising. Returns the readings the seq jumps skipped. */
    function assertOrdered(): number {
      const f = frames();
      assert.ok(f.length > 0);
      const boots = new Set(f.map((x) => (x.frame as { boot: number }).boot));
      assert.equal(boots.size, 1, `one MCU boot, saw ${[...boots].join(',')}`);
      let skipped = 0;
      const s = seqs();
      for (let i = 1; i < s.length; i++) {
        assert.ok(s[i] > s[i - 1], `seq out of order or repeated at ${i}: ${s[i - 1]} then ${s[i]}`);
        skipped += s[i] - s[i - 1] - 1;
      }
      return skipped;
    }

    it('readings arrive at the broker in order, none missing', async () => {
      await rec.waitFor('20 readings on the readings topic', () => frames().length >= 20, 30000);
      assert.equal(assertOrdered(), 0);
      const m = await bridge.metrics();
      assert.equal(metricValue(m, 'solar_bridge_frames_missing_total'), 0);
      assert.equal(metricValue(m, 'solar_bridge_lines_rejected_total', 'reason="bad_crc"'), 0);
      assert.equal(metricValue(m, 'solar_bridge_source_connects_total'), 1);
    });

    it('survives the export being killed and started again: reconnects, no reading lost or out of order', async () => {
      const before = frames().length;
      await socat.kill();
      await waitFor(async () => metricValue(await bridge.metrics(), 'solar_bridge_source_up') === 0,
        { timeoutMs: 10000, what: 'the bridge to see its source go down' });
      // systemd's RestartSec=1 for the export unit.
      await new Promise((r) => setTimeout(r, 1000));
      await socat.start();
      await waitFor(async () => metricValue(await bridge.metrics(), 'solar_bridge_source_connects_total') >= 2,
        { timeoutMs: 15000, what: 'the bridge to reconnect', detail: () => bridge.output() });
      const resumedFrom = frames().length;
      await rec.waitFor('readings after the reconnect', () => frames().length >= resumedFrom + 20, 30000);
      const skipped = assertOrdered();
      const m = await bridge.metrics();
      // Nothing is hidden: whatever the sequence numbers skipped is exactly what the bridge counted as missing.
      assert.equal(metricValue(m, 'solar_bridge_frames_missing_total'), skipped, `seqs: ${seqs().slice(before - 3, resumedFrom + 3).join(',')}`);
      // And here nothing was skipped: the kernel keeps what the MCU side writes into a pty
      // while no one has the other side open (a few KB in these seconds), and socat hands it
      // over on its restart. A real USB CDC port keeps next to nothing (hardware/TS-7670.md).
      assert.equal(skipped, 0, 'readings written during the outage were delivered after it');
      assert.equal(metricValue(m, 'solar_bridge_mcu_reboots_total', 'reason="boot_changed"'), 0);
    });

    it('ser2net with the doc\'s YAML relays the same stream on the same port', async function () {
      const ser2net = spawnSync('sh', ['-c', 'command -v ser2net'], { encoding: 'utf8' }).stdout.trim();
      assert.ok(ser2net, 'ser2net is not installed (scripts/system-packages.txt)');
      await socat.stop();
      await waitFor(() => !listening(port), { timeoutMs: 5000, what: 'socat to release the port' });
      const yaml = docBlock(DOC, 'ser2net-yaml').split(DOC_DEVICE).join(endpoint!.address).replace(`tcp,${DOC_PORT}`, `tcp,127.0.0.1,${port}`);
      assert.ok(yaml.includes(endpoint!.address) && yaml.includes(String(port)));
      const conf = path.join(scratch, 'ser2net.yaml');
      fs.writeFileSync(conf, yaml);
      const proc = new ManagedProcess(ser2net, ['-n', '-d', '-c', conf, '-P', path.join(scratch, 'ser2net.pid')], { logFile: path.join(scratch, 'ser2net.log') });
      try {
        await waitFor(() => {
          if (!proc.running) throw new Error(`ser2net exited: ${proc.output()}`);
          return listening(port);
        }, { timeoutMs: 10000, what: 'ser2net listening', detail: () => proc.output() });
        const connects = metricValue(await bridge.metrics(), 'solar_bridge_source_connects_total');
        await waitFor(async () => metricValue(await bridge.metrics(), 'solar_bridge_source_connects_total') > connects,
          { timeoutMs: 20000, what: 'the bridge to connect to ser2net', detail: () => proc.output() + bridge.output() });
        const from = frames().length;
        await rec.waitFor('readings through ser2net', () => frames().length >= from + 15, 30000);
        const skipped = assertOrdered();
        assert.equal(metricValue(await bridge.metrics(), 'solar_bridge_frames_missing_total'), skipped);
      } finally {
        await proc.stop(3000);
      }
    });
  });
});
