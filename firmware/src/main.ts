/**
 * Espruino entry point: the only file that touches Espruino's globals. It binds the
 * board (pins, I2C1, USB, Storage, watchdog) to the firmware's cycle in app.ts.
 *
 * The bundle is uploaded as boot code (.bootcde), so it runs from the top at every
 * boot and reset; `onInit` is also defined for images made with save(). Start-up is
 * idempotent either way.
 */
import { Ina219 } from '../../drivers/ina219';
import { espruinoI2cTransport } from './ina219-espruino';
import { LineSplitter } from '../../protocol/line-splitter';
import { MAX_LINE_LENGTH } from '../../protocol/spec';
import { Firmware, McuIo, createFirmware } from './app';
import type { ChannelConfig } from './board';
import { BOARD } from './board-data';

let started = false;

function sensor(i2c: EspruinoI2C, c: ChannelConfig): Ina219 {
  return new Ina219(espruinoI2cTransport(i2c), c.address, {
    shuntOhms: c.shuntOhms, maxCurrentA: c.maxCurrentA, busRangeV: c.busRangeV, busAdc: c.adc, shuntAdc: c.adc,
  }, c.calibration);
}

function start(): void {
  if (started) return;
  started = true;
  const B = BOARD;
  const t0 = getTime();
  const now = (): number => getTime() - t0;
  const host = USB;
  // Free USB from the REPL so host lines are commands, not JavaScript.
  LoopbackA.setConsole(true);
  // Through the global object: a bundler rewrites a bare require() into a Node shim.
  const storage = (global['require'] as (name: 'Storage') => EspruinoStorage)('Storage');
  let timer = -1;
  let tickS = 1;
  let nextPoll = 0;
  let fw: Firmware;
  const loop = (): void => {
    const t = now();
    if (t >= nextPoll - 0.001) {
      nextPoll = t + fw.settings().period;
      try {
        fw.poll(t);
      } catch (e) {
        fw.reportError(e, t);
      }
    }
    // Only this loop feeds the watchdog: a hang anywhere stops it and resets the MCU,
    // which leaves REMOTE floating, and the driver turns the charger ON.
    E.kickWatchdog();
  };
  const io: McuIo = {
    crc: (s: string) => E.CRC32(s),
    write: (line: string) => host.write(line + '\r\n'),
    setCharger: (on: boolean) => drive(on ? B.remote.onLevel : B.remote.offLevel),
    readSolarV: () => {
      let sum = 0;
      for (let i = 0; i < B.solar.samples; i++) {
        const f = analogRead(B.solar.pin);
        // A reading at full scale is a clamp, not a voltage.
        if (!(f >= 0 && f < 0.999)) return null;
        sum += f;
      }
      return sum / B.solar.samples * B.solar.vref * B.solar.gain;
    },
    releaseConsole: () => host.setConsole(true),
    load: (name: string) => storage.read(name),
    save: (name: string, data: string) => storage.write(name, data),
    schedule: (periodS: number) => {
      // Tick at most every 5 s whatever the period, so the 10 s watchdog is always fed.
      tickS = periodS < 5 ? periodS : 5;
      nextPoll = 0;
      if (timer >= 0) {
        clearInterval(timer);
        timer = setInterval(loop, tickS * 1000);
      }
    },
  };
  // A pin this board lacks must not stop monitoring: the error is reported once and the
  // driver's default-ON keeps the charger safe. 0 = not set up, 1 = driving, 2 = failed.
  let remote = 0;
  const drive = (level: number): void => {
    if (remote > 1) return;
    try {
      if (!remote) pinMode(B.remote.pin, 'output');
      remote = 1;
      digitalWrite(B.remote.pin, level);
    } catch (e) {
      remote = 2;
      throw e;
    }
  };
  I2C1.setup(B.i2c);
  const battery = sensor(I2C1, B.battery);
  const load = sensor(I2C1, B.load);
  fw = createFirmware(io, B, battery, load, now());
  battery.configure();
  load.configure();
  fw.start(now());
  try {
    drive(B.remote.onLevel);
  } catch (e) {
    fw.reportError(e, now());
  }
  const splitter = new LineSplitter(MAX_LINE_LENGTH, (line) => fw.onLine(line, now()), () => fw.overflow());
  host.on('data', (d: string) => splitter.push(d));
  process.on('uncaughtException', (e: unknown) => fw.reportError(e, now()));
  E.enableWatchdog(B.watchdogS, false);
  // The first poll waits one period: the INA219s need a conversion (136 ms) first.
  nextPoll = now() + fw.settings().period;
  timer = setInterval(loop, tickS * 1000);
}

// The build appends `onInit();` after the bundle's wrapper function: by then the
// wrapper (the whole bundle's text) has returned and can be freed before start-up
// allocates anything, which keeps the peak inside a Pico's 5,100 variables.
global['onInit'] = start;
