/**
 * The firmware's main cycle, above the hardware: read both INA219s and the panel,
 * integrate energy, run the controller, emit one reading frame, answer host commands,
 * keep settings and counters in flash. The Espruino specifics (pins, I2C1, USB,
 * Storage, watchdog) come in through McuIo from main.ts, so this module also runs in
 * Node for tests.
 */
import type { CrcFn } from './protocol-spec';
import { FLT_ERROR, FLT_SOLAR_INVALID, FLT_STORAGE } from './protocol-spec';
import type { FirmwareBoard } from './board';
import { Ina219, Ina219Reading } from './ina219';
import { ControllerSettings, ControllerState, controllerStep, initialControllerState, setForce } from './controller';
import { EnergyCounters, EnergySample, accumulate, emptySample, energyFromRecord, zeroEnergy } from './energy';
import { McuCommand, ampHours, amps, fix, frame, hex4, parseCommand, text, volts, wattHours, watts } from './mcu-codec';
import { openRecord, recordNumber, sealRecord } from './stored-record';
import { Settings, settingsFromRecord, withChanges } from './settings';

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
}

const SETTINGS_FILE = 'sc.set';
const ENERGY_FILE = 'sc.nrg';
const BOOT_FILE = 'sc.boot';

export class Firmware {
  boot = 0;
  seq = 0;
  settings: Settings;
  readonly state: ControllerState;
  energy: EnergyCounters = zeroEnergy();
  /** Lines from the host that were not commands (noise, bad CRC, too long). */
  rejectedLines = 0;
  private readonly io: McuIo;
  private readonly board: FirmwareBoard;
  private readonly battery: Ina219;
  private readonly load: Ina219;
  private readonly control: ControllerSettings;
  private readonly batteryPrev: EnergySample = emptySample();
  private readonly loadPrev: EnergySample = emptySample();
  private batteryV: number | null = null;
  private batteryAt = 0;
  private solarV: number | null = null;
  private solarAt = 0;
  private storageFault = false;
  private errorSince = false;
  private savedAt = 0;

  constructor(io: McuIo, board: FirmwareBoard, battery: Ina219, load: Ina219, now: number) {
    this.io = io;
    this.board = board;
    this.battery = battery;
    this.load = load;
    this.settings = board.defaults;
    this.state = initialControllerState(now);
    this.control = {
      batteryOnV: 0, batteryOffV: 0, sunDownV: 0, sunUpV: 0, minDwellS: 0,
      batteryFloorV: board.floorV, staleAfterS: 0,
    };
  }

  /** Restores boot count, settings and counters from flash, then announces itself. */
  start(now: number): void {
    const io = this.io;
    const bootRecord = io.load(BOOT_FILE);
    const previous = recordNumber(openRecord(bootRecord, io.crc) || {}, 'n', 0, 4294967294);
    this.storageFault = bootRecord !== undefined && previous !== previous;
    this.boot = previous === previous ? previous + 1 : 1;
    if (!io.save(BOOT_FILE, sealRecord({ n: this.boot }, io.crc))) this.storageFault = true;

    const settingsRecord = io.load(SETTINGS_FILE);
    const stored = settingsFromRecord(openRecord(settingsRecord, io.crc));
    if (stored) this.settings = stored;
    else if (settingsRecord !== undefined) this.storageFault = true;

    const energyRecord = io.load(ENERGY_FILE);
    if (energyRecord !== undefined) {
      const restored = energyFromRecord(openRecord(energyRecord, io.crc));
      if (restored) this.energy = restored;
      else this.storageFault = true;
    }
    this.applySettings();
    this.savedAt = now;
    const s = this.settings;
    this.event(now, 'boot', 'bon=' + s.bon + ' boff=' + s.boff + ' sdn=' + s.sdn + ' sup=' + s.sup +
      ' dwell=' + s.dwell + ' period=' + s.period);
    if (this.storageFault) this.event(now, 'warn', 'a stored record was corrupt and is ignored');
  }

  /** One poll: sensors, energy, controller, REMOTE, one reading frame. */
  poll(now: number): void {
    const b = this.battery.read();
    const l = this.load.read();
    const sv = this.io.readSolarV();
    if (b.busV !== null) {
      this.batteryV = b.busV;
      this.batteryAt = now;
    }
    if (sv !== null) {
      this.solarV = sv;
      this.solarAt = now;
    }
    // Bridge at most a few missed polls; a longer gap is not invented.
    const maxGap = this.settings.period * 5 + 1;
    accumulate(this.energy, 'b', this.batteryPrev, b.currentA, b.powerW, now, maxGap);
    accumulate(this.energy, 'l', this.loadPrev, l.currentA, l.powerW, now, maxGap);
    const on = controllerStep(this.state, this.control, {
      now: now, batteryV: this.batteryV, batteryAt: this.batteryAt, solarV: this.solarV, solarAt: this.solarAt,
    });
    this.io.setCharger(on);
    const flt = (b.flags & 15) | ((l.flags & 15) << 4) | (sv === null ? FLT_SOLAR_INVALID : 0) |
      (this.storageFault ? FLT_STORAGE : 0) | (this.errorSince ? FLT_ERROR : 0);
    this.errorSince = false;
    this.emitReading(now, b, l, sv, flt);
    if (now - this.savedAt >= this.board.saveEveryS) this.saveEnergy(now);
  }

  /** A line from the host. */
  onLine(line: string, now: number): void {
    const p = parseCommand(line, this.io.crc);
    if ('err' in p) {
      if (p.id > 0) this.reply(p.id, 0, 'err=' + p.err + ',msg=' + text(p.msg));
      else this.rejectedLines++;
      return;
    }
    this.execute(p, now);
  }

  /** A line longer than the protocol allows arrived and was dropped. */
  overflow(): void {
    this.rejectedLines++;
  }

  /** An error escaped a callback: say so in a frame and in the next reading's flags. */
  reportError(e: unknown, now: number): void {
    this.errorSince = true;
    const m = e && typeof e === 'object' && 'message' in e ? (e as { message: unknown }).message : e;
    this.event(now, 'error', String(m));
  }

  private execute(c: McuCommand, now: number): void {
    const a = c.args;
    if (c.cmd === 'get') {
      const s = this.settings;
      this.reply(c.id, 1, 'bon=' + s.bon + ',boff=' + s.boff + ',sdn=' + s.sdn + ',sup=' + s.sup +
        ',dwell=' + s.dwell + ',period=' + s.period + ',floor=' + this.board.floorV);
    } else if (c.cmd === 'set') {
      const next = withChanges(this.settings, a);
      if (typeof next === 'string') {
        this.reply(c.id, 0, 'err=bad_value,msg=' + text(next));
        return;
      }
      this.settings = next;
      this.applySettings();
      if (!this.io.save(SETTINGS_FILE, sealRecord(next, this.io.crc))) {
        this.storageFault = true;
        this.reply(c.id, 0, 'err=storage,msg=applied but not saved');
        return;
      }
      this.execute({ id: c.id, cmd: 'get', args: a }, now);
    } else if (c.cmd === 'force') {
      setForce(this.state, a['mode'] as 'auto' | 'on' | 'off', now, (a['for'] as number) || 0);
      this.status(c.id, now);
    } else if (c.cmd === 'status') {
      this.status(c.id, now);
    } else {
      if (c.cmd === 'reset-energy') {
        this.energy = zeroEnergy();
        this.event(now, 'reset', 'energy counters zeroed');
      }
      const ok = this.saveEnergy(now) && this.io.save(SETTINGS_FILE, sealRecord(this.settings, this.io.crc));
      this.reply(c.id, ok ? 1 : 0, ok ? 'saved=1' : 'err=storage,msg=write failed');
    }
  }

  private status(id: number, now: number): void {
    const st = this.state;
    const left = st.force === 'auto' ? 0 : st.forceUntil - now;
    this.reply(id, 1, 'chg=' + (st.chargerOn ? 1 : 0) + ',why=' + st.reason + ',mode=' + st.force +
      ',left=' + fix(left, 0, 0, 1e9) + ',bv=' + volts(this.batteryV) + ',sv=' + volts(this.solarV) +
      ',seq=' + this.seq + ',bad=' + this.rejectedLines);
  }

  private applySettings(): void {
    const s = this.settings;
    const c = this.control;
    c.batteryOnV = s.bon;
    c.batteryOffV = s.boff;
    c.sunDownV = s.sdn;
    c.sunUpV = s.sup;
    c.minDwellS = s.dwell;
    // A single missed poll is tolerated; the second makes the reading stale (fail-safe ON).
    c.staleAfterS = s.period * 1.5;
    this.io.schedule(s.period);
  }

  private saveEnergy(now: number): boolean {
    this.savedAt = now;
    const ok = this.io.save(ENERGY_FILE, sealRecord(this.energy, this.io.crc));
    this.storageFault = !ok;
    if (ok) this.event(now, 'saved', 'energy');
    return ok;
  }

  private emitReading(now: number, b: Ina219Reading, l: Ina219Reading, sv: number | null, flt: number): void {
    const e = this.energy;
    const st = this.state;
    this.seq++;
    this.io.write(frame('R,v=1,seq=' + this.seq + ',boot=' + this.boot + ',up=' + fix(now, 3, 0, 1e9) +
      ',bv=' + volts(b.busV) + ',ba=' + amps(b.currentA) + ',bw=' + watts(b.powerW) +
      ',lv=' + volts(l.busV) + ',la=' + amps(l.currentA) + ',lw=' + watts(l.powerW) + ',sv=' + volts(sv) +
      ',chg=' + (st.chargerOn ? 1 : 0) + ',why=' + st.reason + ',mode=' + st.force + ',flt=' + hex4(flt) +
      ',bahi=' + ampHours(e.bahi) + ',baho=' + ampHours(e.baho) + ',bwhi=' + wattHours(e.bwhi) + ',bwho=' + wattHours(e.bwho) +
      ',lahi=' + ampHours(e.lahi) + ',laho=' + ampHours(e.laho) + ',lwhi=' + wattHours(e.lwhi) + ',lwho=' + wattHours(e.lwho),
    this.io.crc));
  }

  private event(now: number, kind: string, msg: string): void {
    this.io.write(frame('E,v=1,boot=' + this.boot + ',up=' + fix(now, 3, 0, 1e9) + ',kind=' + kind +
      ',fw=' + this.board.version + ',msg=' + text(msg), this.io.crc));
  }

  private reply(id: number, ok: number, rest: string): void {
    this.io.write(frame('A,v=1,id=' + id + ',ok=' + ok + (rest ? ',' + rest : ''), this.io.crc));
  }
}
