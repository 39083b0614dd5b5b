/**
 * The firmware's main cycle, above the hardware: read both INA219s and the panel,
 * integrate energy, run the controller, emit one reading frame, answer host commands,
 * keep settings and counters in flash. The Espruino specifics (pins, I2C1, USB,
 * Storage, watchdog) come in through McuIo from main.ts, so this module also runs in
 * Node for tests.
 *
 * A closure rather than a class: on the MCU every `this.` and `prototype` costs bytes of
 * the 12 KB budget, and there is only ever one instance.
 */
import type { CrcFn } from '../../protocol/spec';
import { FLT_BAT_COMM, FLT_ERROR, FLT_LOAD_COMM, FLT_SOLAR_INVALID, FLT_STORAGE } from '../../protocol/spec';
import type { FirmwareBoard } from './board';
import { INA_FLAG_COMM, INA_FLAG_OVF, INA_FLAG_RESET, INA_FLAG_STALE, Ina219, errorMessage } from '../../drivers/ina219';
import { ControllerState, controllerStep, initialControllerState, setForce } from './controller';
import { EnergyCounters, accumulate, emptySample, energyFromRecord, zeroEnergy } from './energy';
import { hexUpper } from '../../protocol/crc32';
import { McuCommand, formatFixed, frameLine, parseCommand, safeText } from './mcu-codec';
import { countersText, measurementsText } from './reading-writer';
import { openRecord, recordNumber, sealRecord } from './stored-record';
import { Settings, withChanges } from './settings';

export interface McuIo {
  crc: CrcFn;
  /** Sends one frame (the terminator is the caller's). */
  write(line: string): void;
  setCharger(on: boolean): void;
  /** Panel volts, or null when the input is saturated or unreadable. */
  readSolarV(): number | null;
  load(name: string): string | undefined;
  save(name: string, data: string): boolean;
  /** Called when the poll period changes, so the timer can follow. */
  schedule(periodS: number): void;
  /** Hands the REPL back to the host port (the `console` command, used before a re-flash). */
  releaseConsole(): void;
}

export interface Firmware {
  /** Restores boot count, settings and counters from flash, then announces itself. */
  start(now: number): void;
  /** One poll: sensors, energy, controller, REMOTE, one reading frame. */
  poll(now: number): void;
  /** A line from the host. */
  onLine(line: string, now: number): void;
  /** A line longer than the protocol allows arrived and was dropped. */
  overflow(): void;
  /** An error escaped a callback: say so in a frame and in the next reading's flags. */
  reportError(e: unknown, now: number): void;
  settings(): Settings;
  energy(): EnergyCounters;
  readonly state: ControllerState;
}

/** The driver's flags that are also protocol fault bits (all of them). */
const DRIVER_FAULT_FLAGS = INA_FLAG_COMM | INA_FLAG_OVF | INA_FLAG_RESET | INA_FLAG_STALE;

const SETTINGS_FILE = 'sc.set';
const ENERGY_FILE = 'sc.nrg';
const BOOT_FILE = 'sc.boot';

export function createFirmware(io: McuIo, board: FirmwareBoard, battery: Ina219, load: Ina219, now0: number): Firmware {
  const crc = io.crc;
  const state = initialControllerState(now0);
  const control = {
    batteryOnV: 0, batteryOffV: 0, sunDownV: 0, sunUpV: 0, minDwellS: 0, batteryFloorV: board.floorV, staleAfterS: 0,
  };
  const inputs = { now: 0, batteryV: null as number | null, batteryAt: 0, solarV: null as number | null, solarAt: 0 };
  const batteryPrev = emptySample();
  const loadPrev = emptySample();
  let settings = board.defaults;
  let energy = zeroEnergy();
  let boot = 1;
  let seq = 0;
  let rejected = 0;
  let storageFault = false;
  let errorSince = false;
  let savedAt = now0;

  const write = (body: string): void => io.write(frameLine(body, crc));
  const event = (now: number, kind: string, msg: string): void =>
    write('E,v=1,boot=' + boot + ',up=' + formatFixed(now, 3, 0, 1e9) + ',kind=' + kind + ',fw=' + board.version + ',msg=' + (safeText(msg) || '?'));
  const reply = (id: number, rest: string): void => write('A,v=1,id=' + id + ',' + rest);
  const store = (name: string, value: object): boolean => {
    const ok = io.save(name, sealRecord(value, crc));
    storageFault = !ok;
    return ok;
  };
  const settingsText = (sep: string): string => {
    const s = settings;
    return 'bon=' + s.bon + sep + 'boff=' + s.boff + sep + 'sdn=' + s.sdn + sep + 'sup=' + s.sup + sep +
      'dwell=' + s.dwell + sep + 'period=' + s.period;
  };
  const applySettings = (): void => {
    const s = settings;
    control.batteryOnV = s.bon;
    control.batteryOffV = s.boff;
    control.sunDownV = s.sdn;
    control.sunUpV = s.sup;
    control.minDwellS = s.dwell;
    // A single missed poll is tolerated; the second makes the reading stale (fail-safe ON).
    control.staleAfterS = s.period * 1.5;
    io.schedule(s.period);
  };
  const saveEnergy = (now: number): boolean => {
    savedAt = now;
    const ok = store(ENERGY_FILE, energy);
    if (ok) event(now, 'saved', 'energy');
    return ok;
  };
  const status = (id: number, now: number): void => {
    reply(id, 'ok=1,chg=' + (state.chargerOn ? 1 : 0) + ',why=' + state.reason + ',mode=' + state.force +
      ',left=' + formatFixed(state.force === 'auto' ? 0 : state.forceUntil - now, 0, 0, 1e9) + ',bad=' + rejected);
  };
  const execute = (c: McuCommand, now: number): void => {
    const a = c.args;
    const cmd = c.cmd;
    if (cmd === 'set') {
      const next = withChanges(settings, a);
      if (typeof next === 'string') return reply(c.id, 'ok=0,err=bad_value,msg=' + safeText(next));
      settings = next;
      applySettings();
      if (!store(SETTINGS_FILE, next)) return reply(c.id, 'ok=0,err=storage,msg=not saved');
    }
    if (cmd === 'set' || cmd === 'get') return reply(c.id, 'ok=1,' + settingsText(',') + ',floor=' + board.floorV);
    if (cmd === 'force') setForce(state, a['mode'] as 'auto' | 'on' | 'off', now, (a['for'] as number) || 0);
    if (cmd === 'force' || cmd === 'status') return status(c.id, now);
    if (cmd === 'console') {
      reply(c.id, 'ok=1');
      return io.releaseConsole();
    }
    if (cmd === 'reset-energy') {
      energy = zeroEnergy();
      event(now, 'reset', 'energy zeroed');
    }
    const ok = saveEnergy(now) && store(SETTINGS_FILE, settings);
    reply(c.id, ok ? 'ok=1,saved=1' : 'ok=0,err=storage,msg=write failed');
  };

  return {
    state: state,
    settings: () => settings,
    energy: () => energy,
    start: (now: number): void => {
      const bootRecord = io.load(BOOT_FILE);
      const previous = recordNumber(openRecord(bootRecord, crc) || {}, 'n', 0, 4294967294);
      if (previous === previous) boot = previous + 1;
      const bootFault = bootRecord !== undefined && previous !== previous;
      const settingsRecord = io.load(SETTINGS_FILE);
      // A record from another version may lack a key: that key keeps its default.
      const settingsRec = openRecord(settingsRecord, crc);
      const stored = settingsRec ? withChanges(settings, settingsRec) : settings;
      const storedOk = settingsRec !== null && typeof stored !== 'string';
      if (storedOk) settings = stored as Settings;
      const energyRecord = io.load(ENERGY_FILE);
      const restored = energyFromRecord(openRecord(energyRecord, crc));
      if (restored) energy = restored;
      store(BOOT_FILE, { n: boot });
      storageFault = storageFault || bootFault || (settingsRecord !== undefined && !storedOk) ||
        (energyRecord !== undefined && !restored);
      applySettings();
      savedAt = now;
      event(now, 'boot', settingsText(' '));
      if (storageFault) event(now, 'warn', 'corrupt stored record ignored');
    },
    poll: (now: number): void => {
      const b = battery.read();
      const l = load.read();
      const sv = io.readSolarV();
      inputs.now = now;
      if (b.busV !== null) {
        inputs.batteryV = b.busV;
        inputs.batteryAt = now;
      }
      if (sv !== null) {
        inputs.solarV = sv;
        inputs.solarAt = now;
      }
      // Bridge at most a few missed polls; a longer gap is not invented.
      const maxGap = settings.period * 5 + 1;
      accumulate(energy, 'b', batteryPrev, b.currentA, b.powerW, now, maxGap);
      accumulate(energy, 'l', loadPrev, l.currentA, l.powerW, now, maxGap);
      io.setCharger(controllerStep(state, control, inputs));
      // The driver's flags (COMM, OVF, RESET, STALE) are in the order of the protocol's four
      // fault bits per sensor (test/firmware/field-table.test.ts holds this): scaled to
      // the sensor's first fault bit they are its faults.
      const flt = (b.flags & DRIVER_FAULT_FLAGS) * FLT_BAT_COMM | (l.flags & DRIVER_FAULT_FLAGS) * FLT_LOAD_COMM |
        (sv === null ? FLT_SOLAR_INVALID : 0) | (storageFault ? FLT_STORAGE : 0) | (errorSince ? FLT_ERROR : 0);
      errorSince = false;
      seq++;
      write('R,v=1,seq=' + seq + ',boot=' + boot + ',up=' + formatFixed(now, 3, 0, 1e9) + measurementsText(b, l, sv) +
        ',chg=' + (state.chargerOn ? 1 : 0) + ',why=' + state.reason + ',mode=' + state.force + ',flt=' + hexUpper(flt, 4) +
        countersText(energy));
      if (now - savedAt >= board.saveEveryS) saveEnergy(now);
    },
    onLine: (line: string, now: number): void => {
      const p = parseCommand(line, crc);
      if (!('err' in p)) execute(p, now);
      else if (p.id > 0) reply(p.id, 'ok=0,err=' + p.err + ',msg=' + safeText(p.msg));
      else rejected++;
    },
    overflow: (): void => {
      rejected++;
    },
    reportError: (e: unknown, now: number): void => {
      errorSince = true;
      event(now, 'error', errorMessage(e));
    },
  };
}
