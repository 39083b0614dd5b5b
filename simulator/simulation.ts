/**
 * One simulated installation: the plant, two INA219 register models on I2C1, the solar
 * ADC and the REMOTE driver wired to an Espruino MCU running the firmware bundle, all on
 * one virtual clock. The event loop jumps from event to event (a timer, host input, a
 * scripted fault, the watchdog), advancing the plant in steps of at most maxStepS in
 * between, so a 1 s poll costs one plant step and one callback.
 *
 * What the firmware writes to its host port is split into lines and decoded as the
 * bridge would; each reading becomes a row (the firmware's values beside the plant's
 * true ones) for readings.csv, the chart and the comparator check. After every boot the
 * simulation asks the firmware for its settings (`get`) so run.json can say which
 * thresholds it ran with.
 */
import fs from 'node:fs';
import {
  ChargerThresholds, HOST_LINK, I2C_BUS, INA219_CHANNELS, REMOTE_DRIVER, SOLAR_INPUT,
} from '../hardware';
import {
  Command, DecodeResult, LineSplitter, MAX_LINE_LENGTH, ReadingFrame, decodeLine, encodeCommand,
} from '../protocol';
import { SolarAdc } from './adc';
import { ComparatorCheck, ComparatorMargins, ComparatorResult, DEFAULT_MARGINS } from './comparator-check';
import { EspruinoMcu, PinDrive, SerialName } from './espruino-shim';
import { FlashStorage } from './flash-storage';
import { VirtualI2cBus } from './i2c-bus';
import { Ina219Errors, Ina219Model, sampleIna219BErrors } from './ina219-model';
import { Plant } from './plant';
import { PlantParams, defaultPlantParams } from './plant-params';
import { deriveSeed, seededRandom } from './random';
import { Scenario, ScenarioAction, SensorName, getScenario } from './scenarios';
import { ChartData } from './chart-data';

export interface ReadingRow {
  t: number;
  seq: number;
  boot: number;
  up: number;
  bv: number | null; ba: number | null; bw: number | null;
  lv: number | null; la: number | null; lw: number | null;
  sv: number | null;
  chg: 0 | 1;
  why: string;
  mode: string;
  flt: number;
  /** Energy counters as reported: battery and load, Ah and Wh, in and out. */
  bahi: number | null; baho: number | null; bwhi: number | null; bwho: number | null;
  lahi: number | null; laho: number | null; lwhi: number | null; lwho: number | null;
  trueBatteryV: number;
  trueBatteryA: number;
  trueLoadV: number;
  trueLoadA: number;
  trueSolarV: number;
  trueChargerOn: boolean;
  trueChargerA: number;
  trueSolarA: number;
  trueSoc: number;
  trueIrradiance: number;
  trueCloudCover: number;
  trueLoadConnected: boolean;
  trueMains: boolean;
  trueStage: string;
}

export const CSV_HEADER = [
  't_s', 'battery_v', 'battery_a', 'load_v', 'load_a', 'solar_v', 'charger_on', 'reason', 'mode', 'flt', 'seq', 'boot',
  'up_s', 'battery_w', 'load_w',
  'battery_ah_in', 'battery_ah_out', 'battery_wh_in', 'battery_wh_out', 'load_ah_in', 'load_ah_out', 'load_wh_in', 'load_wh_out',
  'true_battery_v', 'true_battery_a', 'true_load_v', 'true_load_a', 'true_solar_v', 'true_charger_on', 'true_charger_a',
  'true_solar_a', 'true_soc', 'true_irradiance_wm2', 'true_cloud_cover', 'true_load_connected', 'true_mains',
  'true_controller_stage',
].join(',');

function num(x: number | null, decimals: number): string {
  return x === null ? '' : x.toFixed(decimals);
}

export function csvLine(r: ReadingRow): string {
  let flt = r.flt.toString(16).toUpperCase();
  while (flt.length < 4) flt = '0' + flt;
  return r.t.toFixed(3) + ',' + num(r.bv, 3) + ',' + num(r.ba, 4) + ',' + num(r.lv, 3) + ',' + num(r.la, 4) + ',' +
    num(r.sv, 3) + ',' + r.chg + ',' + r.why + ',' + r.mode + ',' + flt + ',' + r.seq + ',' + r.boot + ',' +
    r.up.toFixed(3) + ',' + num(r.bw, 2) + ',' + num(r.lw, 2) + ',' +
    num(r.bahi, 4) + ',' + num(r.baho, 4) + ',' + num(r.bwhi, 3) + ',' + num(r.bwho, 3) + ',' +
    num(r.lahi, 4) + ',' + num(r.laho, 4) + ',' + num(r.lwhi, 3) + ',' + num(r.lwho, 3) + ',' +
    r.trueBatteryV.toFixed(4) + ',' + r.trueBatteryA.toFixed(4) + ',' + r.trueLoadV.toFixed(4) + ',' +
    r.trueLoadA.toFixed(4) + ',' + r.trueSolarV.toFixed(4) + ',' + (r.trueChargerOn ? 1 : 0) + ',' +
    r.trueChargerA.toFixed(4) + ',' + r.trueSolarA.toFixed(4) + ',' + r.trueSoc.toFixed(5) + ',' +
    r.trueIrradiance.toFixed(1) + ',' + r.trueCloudCover.toFixed(3) + ',' + (r.trueLoadConnected ? 1 : 0) + ',' +
    (r.trueMains ? 1 : 0) + ',' + r.trueStage;
}

export interface SimulationOptions {
  scenario: Scenario | string;
  /** Firmware bundle source and its file name (for stack traces). */
  firmware: { code: string; filename?: string };
  seed?: number;
  /** Overrides the scenario's duration. */
  hours?: number;
  /** Further plant changes after the scenario's (tests use this). */
  plant?: (p: PlantParams) => void;
  /** Keep every row in memory (tests); the CLI streams them to csvPath instead. */
  keepRows?: boolean;
  csvPath?: string;
  /** A JSON file that holds the MCU's flash between runs. */
  storagePath?: string;
  /** Points across the run kept for the chart. */
  chartPoints?: number;
  strictApi?: boolean;
  margins?: ComparatorMargins;
  /** Raw bytes the firmware writes to its host port (for an endpoint). */
  onSerial?: (data: string) => void;
}

export interface SettingsSnapshot {
  t: number;
  thresholds: ChargerThresholds;
  pollPeriodS: number;
}

export interface AppliedAction {
  t: number;
  what: string;
}

interface Pending {
  t: number;
  seq: number;
  what: string;
  apply: () => void;
}

/** Ids of the simulator's own commands, far from anything a host counts up to. */
const OWN_ID_BASE = 4000000000;

/** Charger ON unless the pin pushes Q2's base past its turn-on voltage (hardware/REMOTE_DRIVER). */
export function remoteChargerOn(drive: PinDrive): boolean {
  const d = REMOTE_DRIVER;
  // The pin feeds Q2's base through rBaseQ2 against rPulldownQ2; STM32 pull-ups are ≈ 40 kΩ.
  const pinV = drive === 'high' ? 3.3 : drive === 'pullup' ? 3.3 * (d.rBaseQ2 + d.rPulldownQ2) / (40000 + d.rBaseQ2 + d.rPulldownQ2) : 0;
  const baseV = pinV * d.rPulldownQ2 / (d.rBaseQ2 + d.rPulldownQ2);
  return baseV < 0.65;
}

export class Simulation {
  readonly scenario: Scenario;
  readonly seed: number;
  readonly params: PlantParams;
  readonly endS: number;
  readonly clock = { now: 0 };
  readonly plant: Plant;
  readonly bus = new VirtualI2cBus();
  readonly sensors: Record<SensorName, Ina219Model>;
  /** Each chip's fixed errors, drawn once per run inside the INA219B limits. */
  readonly sensorErrors = {} as Record<SensorName, Ina219Errors>;
  readonly adc: SolarAdc;
  readonly storage: FlashStorage;
  readonly mcu: EspruinoMcu;
  readonly rows: ReadingRow[] = [];
  readonly chart: ChartData;
  readonly frames = { total: 0, R: 0, E: 0, A: 0, C: 0, lines: 0, rejected: {} as Record<string, number> };
  readonly events: Array<{ t: number; boot: number; kind: string; msg?: string }> = [];
  readonly settingsHistory: SettingsSnapshot[] = [];
  readonly actions: AppliedAction[] = [];
  readonly otherSerial: Array<{ t: number; device: string; data: string }> = [];
  /** Things the simulation noticed that make its record incomplete. */
  readonly problems: string[] = [];
  comparator: ComparatorCheck | null = null;
  private readonly options: SimulationOptions;
  private readonly hostPort: SerialName;
  private readonly splitter: LineSplitter;
  private readonly inputSplitter: LineSplitter;
  private readonly pending: Pending[] = [];
  private pendingSeq = 0;
  private readonly ownGets = new Set<number>();
  private nextOwnId = OWN_ID_BASE;
  private lastBoot = -1;
  private csvFd: number | null = null;
  private csvBuffer: string[] = [];
  private csvBufferedChars = 0;
  private started = false;
  private finished = false;

  constructor(options: SimulationOptions) {
    this.options = options;
    this.scenario = typeof options.scenario === 'string' ? getScenario(options.scenario) : options.scenario;
    this.seed = options.seed ?? 1;
    const params = defaultPlantParams();
    this.scenario.plant?.(params);
    options.plant?.(params);
    this.params = params;
    const hours = options.hours ?? this.scenario.hours;
    if (!(hours > 0)) throw new RangeError(`hours must be positive, got ${hours}`);
    this.endS = hours * 3600;
    this.plant = new Plant(params, { date: this.scenario.date, startHour: this.scenario.startHour }, this.seed);
    this.adc = new SolarAdc(params.adc, seededRandom(deriveSeed(this.seed, 'adc')));
    this.plant.panelLoadOhm = this.adc.loadOhm;

    const clock = () => this.clock.now;
    const chip = (name: SensorName) => {
      const spec = INA219_CHANNELS[name];
      const random = seededRandom(deriveSeed(this.seed, 'ina219-' + name));
      const errors = sampleIna219BErrors(random);
      this.sensorErrors[name] = errors;
      const model = new Ina219Model({ shuntOhms: spec.shunt.ohms, clock, errors, random });
      this.bus.attach(spec.address, model);
      return model;
    };
    this.sensors = { battery: chip('battery'), load: chip('load') };
    this.updateSensors();

    this.hostPort = HOST_LINK.port as SerialName;
    this.splitter = new LineSplitter(MAX_LINE_LENGTH, (line) => this.onLine(line), () => this.reject('too_long'));
    this.inputSplitter = new LineSplitter(MAX_LINE_LENGTH, (line) => this.onHostLine(line));
    this.storage = new FlashStorage(options.storagePath);
    if (SOLAR_INPUT.kind !== 'adc') throw new Error('simulator: only the ADC solar input is wired');
    const solarPin = SOLAR_INPUT.pin;
    this.mcu = new EspruinoMcu({
      code: options.firmware.code,
      filename: options.firmware.filename,
      clock: this.clock,
      storage: this.storage,
      strict: options.strictApi,
      seed: deriveSeed(this.seed, 'mcu'),
      wiring: {
        i2c1: { bus: this.bus, scl: I2C_BUS.scl, sda: I2C_BUS.sda },
        analogRead: (pin) => {
          if (pin !== solarPin) throw new Error(`analogRead(${pin}): nothing is wired to ${pin} in the simulator (the solar divider is on ${solarPin})`);
          return this.adc.read(this.plant.truth.panelV);
        },
        pinsChanged: () => this.plant.setRemote(remoteChargerOn(this.mcu.pinDrive(REMOTE_DRIVER.pin))),
      },
      onOutput: (device, data) => {
        if (device !== this.hostPort) {
          this.otherSerial.push({ t: this.clock.now, device, data });
          return;
        }
        this.splitter.push(data);
        // Replies to the simulator's own questions stay between it and the firmware: a
        // bridge on the endpoint sees the stream a real installation would produce.
        if (options.onSerial && !this.isOwnReply(data)) options.onSerial(data);
      },
    });
    this.chart = new ChartData(this.endS, options.chartPoints ?? 1400);
    for (const e of this.scenario.events) this.schedule(e.atHour * 3600, e.action);
    if (options.csvPath) {
      this.csvFd = fs.openSync(options.csvPath, 'w');
      this.csvWrite(CSV_HEADER);
    }
  }

  /** The thresholds the firmware reported first (null until it answered a `get`). */
  get thresholds(): ChargerThresholds | null {
    return this.settingsHistory.length > 0 ? this.settingsHistory[0].thresholds : null;
  }

  get comparatorResult(): ComparatorResult | null {
    return this.comparator ? this.comparator.summary : null;
  }

  get done(): boolean {
    return this.clock.now >= this.endS;
  }

  /** Time of the next thing that happens (MCU or script), for pacing. */
  nextEventTime(): number {
    const tm = this.mcu.nextEventTime();
    const ts = this.pending.length > 0 ? this.pending[0].t : Infinity;
    return tm < ts ? tm : ts;
  }

  /** Runs everything up to and including virtual time `limit` (capped at the end of the run). */
  runUntil(limit: number): void {
    if (!this.started) {
      this.started = true;
      this.mcu.powerOn();
    }
    const end = limit < this.endS ? limit : this.endS;
    for (;;) {
      const tm = this.mcu.nextEventTime();
      const ts = this.pending.length > 0 ? this.pending[0].t : Infinity;
      let te = tm < ts ? tm : ts;
      if (te > end) {
        this.advance(end);
        return;
      }
      if (te < this.clock.now) te = this.clock.now;
      this.advance(te);
      if (ts <= tm) {
        const p = this.pending.shift() as Pending;
        this.actions.push({ t: this.clock.now, what: p.what });
        p.apply();
      } else {
        this.mcu.dispatch();
      }
    }
  }

  /** Runs the whole scenario as fast as possible; `onProgress` gets the fraction done now and then. */
  run(onProgress?: (fraction: number) => void): void {
    const chunk = Math.max(60, this.endS / 200);
    while (!this.done) {
      this.runUntil(this.clock.now + chunk);
      onProgress?.(this.clock.now / this.endS);
    }
    this.finish();
  }

  /** Host → firmware bytes (an endpoint's client), delivered at the current virtual time. */
  hostInput(data: string): void {
    this.inputSplitter.push(data);
    this.mcu.hostWrite(this.hostPort, data);
  }

  /** Sends a command as the host would; returns its id. */
  sendCommand(command: Command): number {
    const id = this.nextOwnId++;
    this.mcu.hostWrite(this.hostPort, encodeCommand({ ...command, id } as Command & { id: number }) + '\n');
    return id;
  }

  /** Flushes and closes the CSV. */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.csvFlush();
    if (this.csvFd !== null) {
      fs.closeSync(this.csvFd);
      this.csvFd = null;
    }
  }

  /** Everything about the run that run.json records. */
  summary(): Record<string, unknown> {
    const th = this.thresholds;
    return {
      scenario: this.scenario.name,
      description: this.scenario.description,
      seed: this.seed,
      date: this.scenario.date,
      startHour: this.scenario.startHour,
      hours: this.endS / 3600,
      simulatedS: this.clock.now,
      framesEmitted: this.frames.total,
      frames: this.frames,
      readings: this.chart.rows,
      thresholds: th,
      pollPeriodS: this.settingsHistory.length > 0 ? this.settingsHistory[0].pollPeriodS : null,
      settingsHistory: this.settingsHistory,
      comparatorCheck: this.comparatorResult,
      boots: this.mcu.bootCount,
      resets: this.mcu.resets,
      firmwareEvents: this.events.length > 200 ? this.events.slice(0, 200) : this.events,
      uncaughtErrors: this.mcu.uncaught,
      unimplementedApis: this.mcu.unimplemented,
      replInput: this.mcu.replInput.length,
      problems: this.problems,
      flash: { files: this.storage.names(), ...this.storage.stats },
      mcuStats: this.mcu.stats,
      actions: this.actions,
      scriptedEvents: this.scenario.events,
      plant: this.params,
      adc: { ratio: this.adc.ratio, offsetLsb: this.adc.offsetLsb },
      ina219: {
        battery: { address: INA219_CHANNELS.battery.address, errors: this.sensorErrors.battery, resets: this.sensors.battery.stats.resets },
        load: { address: INA219_CHANNELS.load.address, errors: this.sensorErrors.load, resets: this.sensors.load.stats.resets },
        busErrors: this.bus.stats.errors,
      },
      mcu: {
        board: this.mcu.env.BOARD,
        version: this.mcu.env.VERSION,
        memoryTotal: this.mcu.memoryTotal,
        memoryUsageEstimate: this.mcu.memoryUsage,
        bootDelayS: this.mcu.bootDelayS,
        hostPort: this.hostPort,
        ownCommandIdsFrom: OWN_ID_BASE,
      },
      final: { ...this.plant.truth },
    };
  }

  // ---- internals ----

  private advance(t: number): void {
    if (t <= this.clock.now) return;
    this.plant.advanceTo(t);
    this.clock.now = t;
    this.updateSensors();
  }

  private updateSensors(): void {
    const truth = this.plant.truth;
    this.sensors.battery.setInputs(truth.batteryA, truth.batteryV);
    this.sensors.load.setInputs(truth.loadA, truth.loadV);
  }

  private schedule(t: number, action: ScenarioAction): void {
    const describe = action.kind === 'command' ? `command ${action.command.cmd}` :
      action.kind + ('sensor' in action ? ' ' + action.sensor : '') + ('durationS' in action ? ` for ${action.durationS} s` : '');
    this.at(t, describe, () => this.apply(action));
  }

  private at(t: number, what: string, apply: () => void): void {
    const item: Pending = { t, seq: this.pendingSeq++, what, apply };
    const list = this.pending;
    let i = list.length;
    while (i > 0 && (list[i - 1].t > t || (list[i - 1].t === t && list[i - 1].seq > item.seq))) i--;
    list.splice(i, 0, item);
  }

  private apply(action: ScenarioAction): void {
    const now = this.clock.now;
    switch (action.kind) {
      case 'ina-nack': {
        const chip = this.sensors[action.sensor];
        chip.nack = true;
        this.at(now + action.durationS, `ina-nack ${action.sensor} ends`, () => { chip.nack = false; });
        break;
      }
      case 'ina-reset':
        this.sensors[action.sensor].spontaneousReset();
        break;
      case 'ina-freeze': {
        const chip = this.sensors[action.sensor];
        chip.frozen = true;
        this.at(now + action.durationS, `ina-freeze ${action.sensor} ends`, () => { chip.frozen = false; });
        break;
      }
      case 'bus-stuck':
        this.bus.stuck = true;
        this.at(now + action.durationS, 'bus-stuck ends', () => { this.bus.stuck = false; });
        break;
      case 'mains-outage':
        this.plant.setMains(false);
        this.at(now + action.durationS, 'mains back', () => this.plant.setMains(true));
        break;
      case 'mcu-hang':
        this.mcu.hang(action.durationS);
        break;
      case 'storage-fail':
        this.storage.failWrites = true;
        this.at(now + action.durationS, 'storage-fail ends', () => { this.storage.failWrites = false; });
        break;
      case 'command':
        this.sendCommand(action.command);
        break;
    }
  }

  /** Asks for the settings a moment after a boot (the firmware is listening by then). */
  private askSettings(): void {
    this.at(this.clock.now + 0.25, 'get settings', () => this.ownGets.add(this.sendCommand({ cmd: 'get' })));
  }

  private isOwnReply(data: string): boolean {
    if (data.charCodeAt(0) !== 36 || data.charCodeAt(1) !== 65) return false; // "$A"
    const r = decodeLine(data);
    return r.ok && r.frame.type === 'A' && r.frame.id >= OWN_ID_BASE;
  }

  private reject(reason: string): void {
    this.frames.rejected[reason] = (this.frames.rejected[reason] ?? 0) + 1;
  }

  private onHostLine(line: string): void {
    // A client changing settings: ask for them again so run.json sees the change.
    const r = decodeLine(line);
    if (r.ok && r.frame.type === 'C' && r.frame.cmd === 'set') this.askSettings();
  }

  private onLine(line: string): void {
    this.frames.lines++;
    const r: DecodeResult = decodeLine(line);
    if (!r.ok) {
      this.reject(r.reason);
      return;
    }
    const f = r.frame;
    this.frames.total++;
    this.frames[f.type]++;
    const t = this.clock.now;
    if (f.type === 'R') {
      if (f.boot !== this.lastBoot) {
        this.lastBoot = f.boot;
        if (!this.events.some((e) => e.boot === f.boot && e.kind === 'boot')) this.askSettings();
      }
      this.onReading(f, t);
    } else if (f.type === 'E') {
      this.events.push({ t, boot: f.boot, kind: f.kind, msg: f.msg });
      if (f.kind === 'boot') {
        this.lastBoot = f.boot;
        this.askSettings();
      }
    } else if (f.type === 'A' && this.ownGets.has(f.id)) {
      this.ownGets.delete(f.id);
      // Never throw here: this runs inside the firmware's USB.write call.
      const d = f.data ?? {};
      const missing = ['bon', 'boff', 'sdn', 'sup', 'dwell', 'period'].filter((k) => typeof d[k] !== 'number');
      if (f.ok !== 1 || missing.length > 0) {
        this.problems.push(`t=${t.toFixed(3)}: unusable reply to get (${f.ok !== 1 ? 'refused' : 'no ' + missing.join(' ')}): ${line}`);
        return;
      }
      const n = (k: string): number => d[k] as number;
      const snapshot: SettingsSnapshot = {
        t,
        thresholds: { batteryOnV: n('bon'), batteryOffV: n('boff'), sunDownV: n('sdn'), sunUpV: n('sup'), minDwellS: n('dwell') },
        pollPeriodS: n('period'),
      };
      const last = this.settingsHistory[this.settingsHistory.length - 1];
      if (!last || JSON.stringify(last.thresholds) !== JSON.stringify(snapshot.thresholds) || last.pollPeriodS !== snapshot.pollPeriodS) {
        this.settingsHistory.push(snapshot);
        this.comparator = new ComparatorCheck(snapshot.thresholds, this.options.margins ?? DEFAULT_MARGINS);
      }
    }
  }

  private onReading(f: ReadingFrame, t: number): void {
    const truth = this.plant.truth;
    const row: ReadingRow = {
      t, seq: f.seq, boot: f.boot, up: f.up,
      bv: f.bv, ba: f.ba, bw: f.bw, lv: f.lv, la: f.la, lw: f.lw, sv: f.sv,
      chg: f.chg, why: f.why, mode: f.mode, flt: f.flt,
      bahi: f.bahi, baho: f.baho, bwhi: f.bwhi, bwho: f.bwho, lahi: f.lahi, laho: f.laho, lwhi: f.lwhi, lwho: f.lwho,
      trueBatteryV: truth.batteryV, trueBatteryA: truth.batteryA, trueLoadV: truth.loadV, trueLoadA: truth.loadA,
      trueSolarV: truth.panelV, trueChargerOn: truth.chargerRemoteOn, trueChargerA: truth.chargerA,
      trueSolarA: truth.solarA, trueSoc: truth.soc, trueIrradiance: truth.irradiance, trueCloudCover: truth.cloudCover,
      trueLoadConnected: truth.loadConnected, trueMains: truth.mains, trueStage: truth.stage,
    };
    if (this.options.keepRows) this.rows.push(row);
    this.chart.add(row);
    this.comparator?.push(row);
    if (this.csvFd !== null) this.csvWrite(csvLine(row));
  }

  private csvWrite(line: string): void {
    this.csvBuffer.push(line);
    this.csvBufferedChars += line.length;
    if (this.csvBufferedChars > 1 << 20) this.csvFlush();
  }

  private csvFlush(): void {
    if (this.csvFd === null || this.csvBuffer.length === 0) return;
    fs.writeSync(this.csvFd, this.csvBuffer.join('\n') + '\n');
    this.csvBuffer = [];
    this.csvBufferedChars = 0;
  }
}
