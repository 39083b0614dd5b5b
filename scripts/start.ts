/**
 * npm start, foundation stage: runs what exists and says so. Two simulated INA219B chips
 * (register model with INA219B errors) on a virtual I²C bus are polled by the real firmware
 * driver through its Espruino transport; each poll is encoded as a protocol v1 reading
 * frame and decoded back the way the bridge will. The controller, plant, bridge and MQTT
 * come with their issues; until then the charger fields show the fail-safe default.
 *
 * Flags: --count N (stop after N frames), --interval-ms MS (default 1000).
 */
import { INA219_CHANNELS } from '../hardware';
import { createIna219, INA_FLAG_COMM, INA_FLAG_OVF, INA_FLAG_RESET, INA_FLAG_STALE } from '../firmware/src/ina219';
import { espruinoI2cTransport } from '../firmware/src/ina219-espruino';
import {
  FLT_BAT_COMM, FLT_BAT_OVF, FLT_BAT_RESET, FLT_BAT_STALE, FLT_LOAD_COMM, FLT_LOAD_OVF, FLT_LOAD_RESET,
  FLT_LOAD_STALE, FLT_SOLAR_INVALID, WHY_BOOT, decodeLine, encodeReading,
} from '../firmware/src/protocol';
import { VirtualI2cBus } from '../simulator/i2c-bus';
import { Ina219Model, sampleIna219BErrors } from '../simulator/ina219-model';
import { seededRandom } from '../simulator/random';

function parseArgs(argv: string[]): { count: number; intervalMs: number } {
  let count = Infinity;
  let intervalMs = 1000;
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (flag === '--count' || flag === '--interval-ms') {
      const n = Number(value);
      if (value === undefined || !Number.isInteger(n) || n < (flag === '--count' ? 1 : 0)) {
        console.error(`npm start: ${flag} needs a ${flag === '--count' ? 'positive' : 'non-negative'} integer, got ${value ?? 'nothing'}`);
        process.exit(2);
      }
      if (flag === '--count') count = n; else intervalMs = n;
      i++;
    } else if (flag === '--help' || flag === '-h') {
      console.log('usage: npm start [-- --count N] [--interval-ms MS]');
      process.exit(0);
    } else {
      console.error(`npm start: unknown flag ${flag} (try --help)`);
      process.exit(2);
    }
  }
  return { count, intervalMs };
}

/** Maps one channel's driver flags onto the protocol's fault word. */
function channelFaults(flags: number, bits: { comm: number; ovf: number; reset: number; stale: number }): number {
  return (flags & INA_FLAG_COMM ? bits.comm : 0) | (flags & INA_FLAG_OVF ? bits.ovf : 0) |
    (flags & INA_FLAG_RESET ? bits.reset : 0) | (flags & INA_FLAG_STALE ? bits.stale : 0);
}

function main(): void {
  const { count, intervalMs } = parseArgs(process.argv.slice(2));
  const startedAt = Date.now();
  const clock = () => (Date.now() - startedAt) / 1000;
  const random = seededRandom(1);
  const bus = new VirtualI2cBus();
  const channels = [INA219_CHANNELS.battery, INA219_CHANNELS.load].map((spec) => {
    const model = new Ina219Model({ shuntOhms: spec.shunt.ohms, clock, errors: sampleIna219BErrors(random), random });
    bus.attach(spec.address, model);
    const driver = createIna219(espruinoI2cTransport(bus), spec.address, {
      shuntOhms: spec.shunt.ohms, maxCurrentA: spec.maxCurrentA, busRangeV: spec.busRangeV,
      busAdc: spec.adcSetting, shuntAdc: spec.adcSetting,
    });
    driver.configure();
    return { spec, model, driver };
  });
  const [battery, load] = channels;

  console.log('solar-cluster-power: foundation stage. Running now:');
  console.log('  2 simulated INA219B (register model) on a virtual I2C bus, polled by the firmware driver,');
  console.log('  each poll encoded as a protocol v1 reading frame and decoded back.');
  console.log('Not built yet: controller, plant and solar input, bridge, MQTT (see README).');
  console.log('So: sv is "-", chg=1 why=boot (the fail-safe default), energy counters "-". Ctrl-C stops.\n');

  let seq = 0;
  const poll = () => {
    const t = clock();
    // A slow bench pattern: battery charging and discharging around 12.9 V, the cluster's ~1.8 A with bursts.
    const loadA = 1.8 + (Math.sin(t / 7) > 0.9 ? 1.2 : 0);
    const batteryA = 6 * Math.sin(t / 20) - loadA;
    const batteryV = 12.9 + 0.004 * batteryA;
    battery.model.setInputs(batteryA, batteryV);
    load.model.setInputs(loadA, batteryV - 0.02);
    const b = battery.driver.read();
    const l = load.driver.read();
    seq++;
    const line = encodeReading({
      seq, boot: 1, up: t,
      bv: b.busV, ba: b.currentA, bw: b.powerW, lv: l.busV, la: l.currentA, lw: l.powerW, sv: null,
      chg: 1, why: WHY_BOOT, mode: 'auto',
      flt: channelFaults(b.flags, { comm: FLT_BAT_COMM, ovf: FLT_BAT_OVF, reset: FLT_BAT_RESET, stale: FLT_BAT_STALE }) |
        channelFaults(l.flags, { comm: FLT_LOAD_COMM, ovf: FLT_LOAD_OVF, reset: FLT_LOAD_RESET, stale: FLT_LOAD_STALE }) |
        FLT_SOLAR_INVALID,
      bahi: null, baho: null, bwhi: null, bwho: null, lahi: null, laho: null, lwhi: null, lwho: null,
    });
    const back = decodeLine(line);
    console.log(line);
    console.log(back.ok ? `  decoded ok: seq ${seq}` : `  decode FAILED: ${back.reason} ${back.detail}`);
    if (seq >= count) {
      clearInterval(timer);
    }
  };
  const timer = setInterval(poll, intervalMs);
  process.on('SIGINT', () => {
    clearInterval(timer);
    console.log(`\nstopped after ${seq} frames`);
    process.exit(0);
  });
}

main();
