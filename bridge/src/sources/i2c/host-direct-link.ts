/**
 * Host-direct mode as a link of a ReconnectingSource: opening it opens the I²C bus,
 * configures the two INA219s of hardware/ with the shared driver, starts a new boot and
 * polls them every period; each poll arrives as the reading line an MCU would send
 * (encoded by the protocol's encodeReading, CRC included), so the bridge's usual
 * decode → spool → sinks path takes it unchanged. A bus that cannot be opened (no
 * i2c-bus package, no such device) fails the open, and the source retries with backoff
 * and reports why.
 *
 * Monitor only: commands are refused, because the REMOTE pin that switches the charger
 * stays with the MCU or the comparator board (see host-direct-meter.ts for what the
 * readings then say about the charger).
 *
 * Sensor errors (a NACK, a bus timeout, a chip reset) do not close the link: the driver
 * counts them and flags them in the reading (flt), this logs each change of a channel's
 * state, and polling goes on.
 */
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { INA219_CHANNELS } from '../../../../hardware';
import { crc32, encodeEvent, encodeReading } from '../../../../protocol';
import { INA_FLAG_COMM, Ina219Reading } from '../../../../drivers/ina219';
import { channelConfig, channelSensor } from '../../../../drivers/ina219-channel';
import type { Logger } from '../../log/logger';
import type { Connector, Link } from '../reconnecting-source';
import { SourceUnavailableError } from '../source';
import { HostDirectMeter } from './host-direct-meter';
import { loadHostDirectState, saveHostDirectState } from './host-direct-state';
import { I2cBusSync, linuxI2cTransport, namedTransport, openLinuxI2cBus } from './linux-i2c-transport';

export interface HostDirectOptions {
  /** /dev/i2c-N, for messages; `busNumber` is its N. */
  devicePath: string;
  busNumber: number;
  pollPeriodS: number;
  /** Where the boot counter and energy counters are kept (the spool directory). */
  stateDir: string;
  log: Logger;
  /** Opens the bus; default i2c-bus on Linux. Tests pass the simulator's bus. */
  openBus?: (busNumber: number) => I2cBusSync;
  /** Seconds on a monotonic clock (default performance.now()). */
  clock?: () => number;
  /** How often the counters are saved besides at close (default 60 s). */
  saveEveryS?: number;
}

export const MONITOR_ONLY = 'host-direct mode is monitor only: the REMOTE pin (charger on/off) stays with the MCU or the comparator board, so commands need an MCU source';

export function hostDirectConnector(options: HostDirectOptions): Connector {
  return async (events) => openHostDirectLink(options, (line) => events.data(line));
}

function openHostDirectLink(options: HostDirectOptions, send: (text: string) => void): Link {
  const log = options.log;
  const clock = options.clock ?? (() => performance.now() / 1000);
  const bus = (options.openBus ?? openLinuxI2cBus)(options.busNumber);
  // i2c-bus opens the device on first transfer; without this a missing device would look
  // like two silent sensors instead of a source that is down.
  if (!options.openBus) {
    try {
      fs.accessSync(options.devicePath, fs.constants.R_OK | fs.constants.W_OK);
    } catch (e) {
      bus.closeSync?.();
      throw e;
    }
  }
  const transport = namedTransport(options.devicePath, linuxI2cTransport(bus));
  const battery = channelSensor(transport, channelConfig(INA219_CHANNELS.battery));
  const load = channelSensor(transport, channelConfig(INA219_CHANNELS.load));
  const state = loadHostDirectState(options.stateDir);
  const meter = new HostDirectMeter(battery, load, state.boot, state.energy, options.pollPeriodS);
  const save = (): void => {
    try {
      saveHostDirectState(options.stateDir, meter.boot, meter.energy);
      meter.storageFault = false;
    } catch (e) {
      meter.storageFault = true;
      log.warn(`host-direct state not saved: ${(e as Error).message}`);
    }
  };
  save();
  if (state.problem) {
    // As on the MCU, an unusable stored record is flagged until the next periodic save.
    meter.storageFault = true;
    log.warn(state.problem);
  }
  const t0 = clock();
  const failing = { battery: false, load: false };
  // The driver counts failed transfers; the log says when a channel stops and starts answering, with that count.
  const watch = (channel: 'battery' | 'load', r: Ina219Reading, errorsNow: number): void => {
    const down = (r.flags & INA_FLAG_COMM) !== 0;
    if (down && !failing[channel]) log.warn(`${channel} INA219 not answering: ${r.error}`, { errors: errorsNow });
    if (!down && failing[channel]) log.info(`${channel} INA219 answers again`, { errors: errorsNow });
    failing[channel] = down;
  };
  const emit = (encode: () => string): void => {
    try {
      send(encode() + '\r\n');
    } catch (e) {
      log.warn(`host-direct frame not encoded: ${(e as Error).message}`);
    }
  };

  for (const problem of meter.configure()) if (problem !== null) log.warn(problem);
  emit(() => encodeEvent({ boot: meter.boot, up: clock() - t0, kind: 'boot', msg: `host-direct on ${options.devicePath}, monitor only` }, crc32));
  let lastSave = clock();
  const saveEveryS = options.saveEveryS ?? 60;
  const timer = setInterval(() => {
    const now = clock();
    const polled = meter.poll(now - t0);
    watch('battery', polled.battery, battery.stats.commErrors);
    watch('load', polled.load, load.stats.commErrors);
    emit(() => encodeReading(polled.reading, crc32));
    if (now - lastSave >= saveEveryS) {
      lastSave = now;
      save();
    }
  }, options.pollPeriodS * 1000);

  let closed = false;
  return {
    write: () => Promise.reject(new SourceUnavailableError(MONITOR_ONLY)),
    close: () => {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      save();
      try {
        bus.closeSync?.();
      } catch (e) {
        log.warn(`closing ${options.devicePath}: ${(e as Error).message}`);
      }
    },
  };
}
