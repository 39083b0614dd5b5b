/**
 * The power plant on one 12 V bus: battery, MP3735 with its panels and load output,
 * HEP-600C-12, cluster. Each step solves the bus for the battery current that makes
 * every source's current consistent with the battery's terminal voltage, then commits
 * the states. The results sit in `truth`, which the INA219 models, the ADC and the CSV's
 * true_* columns read.
 *
 * The load current is taken at the previous step's voltage: a constant-power load has
 * a negative incremental resistance, and lagging it one step (≤ 1 s) keeps the bus
 * equation monotonic, so bisection always finds its single root.
 */
import { AgmBattery } from './battery';
import { MainsCharger } from './charger';
import { ClusterLoad } from './load';
import { ControllerStage, Mp3735 } from './mp3735';
import type { PlantParams } from './plant-params';
import { Random, deriveSeed, gaussian, seededRandom } from './random';
import { PvArray, Weather, clearSkyPlaneIrradiance, dayOfYear, sunPosition } from './solar';

export interface PlantStart {
  /** Local calendar date of t = 0, 'YYYY-MM-DD'. */
  date: string;
  /** Local clock hour at t = 0. */
  startHour: number;
}

export interface PlantTruth {
  t: number;
  batteryV: number;
  /** + = charging. */
  batteryA: number;
  loadV: number;
  loadA: number;
  /** Panel voltage at the divider, at the instant of the step's PWM phase. */
  panelV: number;
  /** MP3735 output into the bus. */
  solarA: number;
  chargerA: number;
  chargerRemoteOn: boolean;
  mains: boolean;
  soc: number;
  irradiance: number;
  cellTempC: number;
  cloudCover: number;
  stage: ControllerStage;
  loadConnected: boolean;
  /**
   * Charge and energy that truly crossed the battery terminals (in = charging) and went to
   * the load since t = 0, summed over the plant's own steps: what the energy counters are
   * judged against.
   */
  batteryInAh: number; batteryOutAh: number; batteryInWh: number; batteryOutWh: number;
  loadAh: number; loadWh: number;
}

export class Plant {
  readonly params: PlantParams;
  readonly battery: AgmBattery;
  readonly weather: Weather;
  readonly panels: PvArray;
  readonly controller: Mp3735;
  readonly charger: MainsCharger;
  readonly load: ClusterLoad;
  readonly truth: PlantTruth;
  /** Resistance hung across the panel when the controller's switch is open (the divider). */
  panelLoadOhm = Infinity;
  private readonly start: PlantStart;
  private readonly pwmRandom: Random;
  private readonly loadDayRandom: Random;
  /** Today's multiple of the cluster's power (params.load.dayToDaySpread). */
  loadDayScale = 1;
  private doyDay = -1;
  private doy = 1;
  /** Supply voltage at the cluster, for its constant-power current in the next step. */
  private loadSupplyV: number;

  constructor(params: PlantParams, start: PlantStart, seed: number) {
    this.params = params;
    this.start = start;
    dayOfYear(start.date); // validates the date now rather than mid-run
    this.battery = new AgmBattery(params.battery);
    this.weather = new Weather(params.weather, seededRandom(deriveSeed(seed, 'weather')));
    this.panels = new PvArray(params.panel);
    this.controller = new Mp3735(params.controller);
    this.charger = new MainsCharger(params.charger);
    this.load = new ClusterLoad(params.load, seededRandom(deriveSeed(seed, 'load')));
    this.pwmRandom = seededRandom(deriveSeed(seed, 'pwm'));
    this.loadDayRandom = seededRandom(deriveSeed(seed, 'load-day'));
    const v = this.battery.ocv();
    this.loadSupplyV = v;
    this.truth = {
      t: 0, batteryV: v, batteryA: 0, loadV: v, loadA: 0, panelV: 0, solarA: 0, chargerA: 0,
      chargerRemoteOn: this.charger.remoteOn, mains: true, soc: this.battery.soc, irradiance: 0, cellTempC: 25,
      cloudCover: this.weather.cover, stage: this.controller.stage, loadConnected: true,
      batteryInAh: 0, batteryOutAh: 0, batteryInWh: 0, batteryOutWh: 0, loadAh: 0, loadWh: 0,
    };
  }

  /** Local clock hour (may exceed 24) and whole days since the start, at time t. */
  clock(t: number): { hour: number; day: number } {
    const hour = this.start.startHour + t / 3600;
    return { hour, day: Math.floor(hour / 24) };
  }

  setRemote(on: boolean): void {
    this.charger.setRemote(on);
    this.truth.chargerRemoteOn = on;
  }

  setMains(present: boolean): void {
    this.charger.setMains(present);
    this.truth.mains = present;
  }

  /** Steps to `t` in equal steps no longer than maxStepS. */
  advanceTo(t: number): void {
    const span = t - this.truth.t;
    if (!(span > 0)) return;
    const n = Math.ceil(span / this.params.maxStepS - 1e-9);
    const dt = span / n;
    for (let i = 1; i < n; i++) this.step(dt, this.truth.t + dt);
    this.step(t - this.truth.t, t);
  }

  private step(dt: number, tEnd: number): void {
    const p = this.params;
    const truth = this.truth;
    const { hour, day } = this.clock(tEnd);
    if (day !== this.doyDay) {
      this.doyDay = day;
      this.doy = dayOfYear(this.start.date, day);
      const lp = p.load;
      if (lp.dayToDaySpread > 0) {
        const next = this.loadDayScale * Math.exp(lp.dayToDaySpread * gaussian(this.loadDayRandom));
        this.loadDayScale = Math.min(lp.dayScaleMax, Math.max(lp.dayScaleMin, next));
      }
    }
    const sun = sunPosition(p.site, this.doy, hour - day * 24, p.panel.tiltDeg);
    this.weather.step(dt, day);
    const irradiance = this.weather.transmit(clearSkyPlaneIrradiance(sun, p.panel));
    const ambient = p.site.ambientMeanC + p.site.ambientSwingC * Math.cos(2 * Math.PI * (hour - 15) / 24);
    this.panels.setConditions(irradiance, this.panels.cellTemperature(ambient, irradiance));
    this.load.step(dt);
    this.charger.step(dt);

    const battery = this.battery;
    const charger = this.charger;
    const controller = this.controller;
    const fullA = this.panels.currentInto(truth.batteryV, p.controller.panelPathOhm);
    // The controller closes its switch only when the panels can push current into the battery.
    const canCharge = fullA > 0.02;
    const loadA = controller.loadConnected ? this.load.powerW() * this.loadDayScale / (this.loadSupplyV > 6 ? this.loadSupplyV : 6) : 0;
    const drawA = loadA + p.controller.selfConsumptionA;
    const ocv = battery.ocv();
    const sourceA = (v: number): number => charger.current(v) + (canCharge ? controller.chargeCurrent(v, fullA) : 0);
    let lo = -drawA - 1;
    let hi = p.charger.ratedA + p.controller.ratedA + 1;
    for (let k = 0; k < 60 && hi - lo > 1e-7; k++) {
      const mid = (lo + hi) / 2;
      if (sourceA(battery.terminalVoltage(mid, dt, ocv)) - drawA - mid > 0) lo = mid; else hi = mid;
    }
    const batteryA = (lo + hi) / 2;
    const busV = battery.terminalVoltage(batteryA, dt, ocv);
    battery.step(batteryA, dt);
    const chargerA = charger.current(busV);
    const solarA = canCharge ? controller.chargeCurrent(busV, fullA) : 0;
    controller.update(dt, busV, canCharge, solarA, fullA);

    // The divider samples the panel at one instant of the PWM cycle: pulled down to the
    // battery while the switch is closed, at its (divider-loaded) open circuit otherwise.
    const closed = solarA > 0 && this.pwmRandom() < controller.duty;
    truth.panelV = closed ? busV + fullA * p.controller.panelPathOhm : this.panels.openCircuitVoltage(this.panelLoadOhm);
    const loadV = controller.loadConnected ? busV - loadA * p.controller.loadPathOhm : 0;
    this.loadSupplyV = controller.loadConnected ? loadV : busV;

    // Each step holds its current for dt (the battery's step is backward Euler at it).
    const h = dt / 3600;
    const deliveredA = controller.loadConnected ? loadA : 0;
    if (batteryA > 0) { truth.batteryInAh += batteryA * h; truth.batteryInWh += batteryA * busV * h; }
    else { truth.batteryOutAh -= batteryA * h; truth.batteryOutWh -= batteryA * busV * h; }
    truth.loadAh += deliveredA * h;
    truth.loadWh += deliveredA * loadV * h;
    truth.t = tEnd;
    truth.batteryV = busV;
    truth.batteryA = batteryA;
    truth.loadA = deliveredA;
    truth.loadV = loadV;
    truth.solarA = solarA;
    truth.chargerA = chargerA;
    truth.soc = battery.soc;
    truth.irradiance = irradiance;
    truth.cellTempC = this.panels.cellTempC;
    truth.cloudCover = this.weather.cover;
    truth.stage = controller.stage;
    truth.loadConnected = controller.loadConnected;
  }
}
