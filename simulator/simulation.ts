/**
 * One simulated installation (installation.ts) run over a scenario on its virtual clock.
 * The event loop jumps from event to event (a timer, host input, a scripted step, the
 * watchdog), advancing the plant in steps of at most maxStepS in between, so a 1 s poll
 * costs one plant step and one callback.
 *
 * What the firmware writes to its host port is split into lines and decoded as the
 * bridge would; each reading becomes a row (the firmware's values beside the plant's
 * true ones, reading-row.ts) for readings.csv, the chart and the comparator check. After
 * every boot the simulation asks the firmware for its settings (`get`) so run.json can
 * say which thresholds it ran with.
 */
import {
  ChargerThresholds, HOST_LINK, INA219_CHANNELS,
} from '../hardware';
import {
  Command, LineSplitter, MAX_LINE_LENGTH, ReadingFrame, ReplyFrame, decodeLine, encodeCommand,
} from '../protocol';
import type { SolarAdc } from './adc';
import { ChartData } from './chart-data';
import { ComparatorCheck, ComparatorMargins, ComparatorResult, DEFAULT_MARGINS } from './comparator-check';
import type { EspruinoMcu, SerialName } from './espruino-shim';
import type { FlashStorage } from './flash-storage';
import type { VirtualI2cBus } from './i2c-bus';
import type { Ina219Errors, Ina219Model, SensorGrade } from './ina219-model';
import { Installation } from './installation';
import type { Plant } from './plant';
import { PlantParams, defaultPlantParams } from './plant-params';
import { ReadingRow, SocEstimator, readingRow } from './reading-row';
import { ReadingsCsvFile } from './readings-csv';
import { ScenarioScript } from './scenario-script';
import { Scenario, SensorName, getScenario } from './scenarios';

export interface SimulationOptions {
  scenario: Scenario | string;
  /** Firmware bundle source and its file name (for stack traces). */
  firmware: { code: string; filename?: string };
  seed?: number;
  /** What the INA219s' fixed errors are drawn within (default: the INA219B's limits). */
  sensorGrade?: SensorGrade;
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
  /** A host's battery estimator to run beside the readings (estimated_soc, the chart's state-of-charge panel). */
  socEstimator?: SocEstimator;
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

/** Ids of the simulator's own commands, far from anything a host counts up to. */
const OWN_ID_BASE = 4000000000;
/** The firmware is listening this long after it announced its boot. */
const ASK_SETTINGS_AFTER_S = 0.25;
/** The settings a `get` reply carries, by wire key. */
const SETTINGS_KEYS = ['bon', 'boff', 'sdn', 'sup', 'dwell', 'period'];

export class Simulation {
  readonly scenario: Scenario;
  readonly seed: number;
  readonly params: PlantParams;
  readonly endS: number;
  /** Unix seconds of t = 0: the scenario's local date and hour at the site's UTC offset. */
  readonly epochS: number;
  readonly installation: Installation;
  readonly clock: { now: number };
  readonly plant: Plant;
  readonly bus: VirtualI2cBus;
  readonly sensors: Record<SensorName, Ina219Model>;
  /** Each chip's fixed errors, drawn once per run inside the INA219B limits. */
  readonly sensorErrors: Record<SensorName, Ina219Errors>;
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
  private readonly script: ScenarioScript;
  private readonly ownGets = new Set<number>();
  private nextOwnId = OWN_ID_BASE;
  private lastBoot = -1;
  private csv: ReadingsCsvFile | null = null;
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
    const [y, mo, d] = this.scenario.date.split('-').map(Number);
    this.epochS = Date.UTC(y, mo - 1, d) / 1000 + (this.scenario.startHour - params.site.utcOffsetH) * 3600;

    this.hostPort = HOST_LINK.port as SerialName;
    this.splitter = new LineSplitter(MAX_LINE_LENGTH, (line) => this.onLine(line), () => this.reject('too_long'));
    this.inputSplitter = new LineSplitter(MAX_LINE_LENGTH, (line) => this.onHostLine(line));
    const site = new Installation({
      params,
      start: { date: this.scenario.date, startHour: this.scenario.startHour },
      seed: this.seed,
      sensorGrade: options.sensorGrade,
      firmware: options.firmware,
      storagePath: options.storagePath,
      strictApi: options.strictApi,
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
    this.installation = site;
    this.clock = site.clock;
    this.plant = site.plant;
    this.bus = site.bus;
    this.sensors = site.sensors;
    this.sensorErrors = site.sensorErrors;
    this.adc = site.adc;
    this.storage = site.storage;
    this.mcu = site.mcu;
    this.chart = new ChartData(this.endS, options.chartPoints ?? 1400);
    this.script = new ScenarioScript(site, (command) => this.sendCommand(command));
    for (const e of this.scenario.events) this.script.schedule(e.atHour * 3600, e.action);
    if (options.csvPath) this.csv = new ReadingsCsvFile(options.csvPath);
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
    const ts = this.script.nextTime;
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
      const mcuNext = this.mcu.nextEventTime();
      const scriptNext = this.script.nextTime;
      let next = mcuNext < scriptNext ? mcuNext : scriptNext;
      if (next > end) {
        this.installation.advance(end);
        return;
      }
      if (next < this.clock.now) next = this.clock.now;
      this.installation.advance(next);
      if (scriptNext <= mcuNext) {
        const step = this.script.takeNext();
        this.actions.push({ t: this.clock.now, what: step.what });
        step.apply();
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
    this.csv?.close();
    this.csv = null;
  }

  /** Everything about the run that run.json records. */
  summary(): Record<string, unknown> {
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
      thresholds: this.thresholds,
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

  // ---- what the firmware says on its host port ----

  /** Asks for the settings a moment after a boot (the firmware is listening by then). */
  private askSettings(): void {
    this.script.at(this.clock.now + ASK_SETTINGS_AFTER_S, 'get settings', () => this.ownGets.add(this.sendCommand({ cmd: 'get' })));
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
    const r = decodeLine(line);
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
      this.onSettingsReply(f, line, t);
    }
  }

  /** Never throws: this runs inside the firmware's USB.write call. */
  private onSettingsReply(f: ReplyFrame, line: string, t: number): void {
    const data = f.data ?? {};
    const missing = SETTINGS_KEYS.filter((k) => typeof data[k] !== 'number');
    if (f.ok !== 1 || missing.length > 0) {
      this.problems.push(`t=${t.toFixed(3)}: unusable reply to get (${f.ok !== 1 ? 'refused' : 'no ' + missing.join(' ')}): ${line}`);
      return;
    }
    const setting = (k: string): number => data[k] as number;
    const snapshot: SettingsSnapshot = {
      t,
      thresholds: {
        batteryOnV: setting('bon'), batteryOffV: setting('boff'), sunDownV: setting('sdn'), sunUpV: setting('sup'), minDwellS: setting('dwell'),
      },
      pollPeriodS: setting('period'),
    };
    const last = this.settingsHistory[this.settingsHistory.length - 1];
    if (!last || JSON.stringify(last.thresholds) !== JSON.stringify(snapshot.thresholds) || last.pollPeriodS !== snapshot.pollPeriodS) {
      this.settingsHistory.push(snapshot);
      this.comparator = new ComparatorCheck(snapshot.thresholds, this.options.margins ?? DEFAULT_MARGINS);
    }
  }

  private onReading(f: ReadingFrame, t: number): void {
    const row = readingRow(f, this.plant.truth, t);
    if (this.options.socEstimator) row.estSoc = this.options.socEstimator.step(row, this.epochS + t);
    if (this.options.keepRows) this.rows.push(row);
    this.chart.add(row);
    this.comparator?.push(row);
    this.csv?.add(row);
  }
}
