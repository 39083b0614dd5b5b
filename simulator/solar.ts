/**
 * The sun, the sky and the panels.
 *
 * - Sun position from date, clock time and site (declination and equation of time by
 *   Spencer's Fourier series, the usual hour-angle geometry).
 * - Clear-sky irradiance on a tilted, equator-facing plane: Meinel's beam attenuation
 *   with Kasten–Young air mass, a diffuse share, ground reflection, and a dim twilight
 *   glow so the panel voltage fades at dusk instead of switching off.
 * - Clouds as a seeded process: a slowly wandering cover fraction (Ornstein–Uhlenbeck in
 *   logit space) and cloud shadows passing the sun as a two-state Markov chain whose
 *   shaded share equals the cover.
 * - The array as the single-diode model (photocurrent, diode, series and shunt
 *   resistance), temperature-corrected, solved for the current at a given voltage or for
 *   the voltage it settles at into a given load resistance (night: the divider alone).
 */
import { Random, gaussian } from './random';
import type { PanelParams, SiteParams, WeatherParams } from './plant-params';

const DEG = Math.PI / 180;
const BOLTZMANN_OVER_Q = 8.617333262e-5;
const SOLAR_CONSTANT = 1361;

export interface SunPosition {
  /** Degrees above the horizon (negative at night). */
  elevationDeg: number;
  /** Cosine of the angle between the sun and the panel's normal (negative: behind it). */
  cosIncidence: number;
  /** Cosine of the zenith angle. */
  cosZenith: number;
}

/** Day of year (1 = 1 January) of a 'YYYY-MM-DD' date plus whole days. */
export function dayOfYear(date: string, addDays = 0): number {
  const t = Date.parse(date + 'T00:00:00Z');
  if (Number.isNaN(t)) throw new RangeError(`not a date (YYYY-MM-DD): ${date}`);
  const d = new Date(t + addDays * 86400000);
  const start = Date.UTC(d.getUTCFullYear(), 0, 1);
  return Math.floor((d.getTime() - start) / 86400000) + 1;
}

/**
 * The sun seen from `site` at a local clock time (hours since local midnight) on day
 * `doy`, relative to a panel tilted `tiltDeg` towards the equator.
 */
export function sunPosition(site: SiteParams, doy: number, clockHour: number, tiltDeg: number): SunPosition {
  const g = 2 * Math.PI / 365 * (doy - 1 + (clockHour - 12) / 24);
  const eotMin = 229.18 * (0.000075 + 0.001868 * Math.cos(g) - 0.032077 * Math.sin(g) -
    0.014615 * Math.cos(2 * g) - 0.040849 * Math.sin(2 * g));
  const decl = 0.006918 - 0.399912 * Math.cos(g) + 0.070257 * Math.sin(g) - 0.006758 * Math.cos(2 * g) +
    0.000907 * Math.sin(2 * g) - 0.002697 * Math.cos(3 * g) + 0.00148 * Math.sin(3 * g);
  const solarMin = clockHour * 60 + eotMin + 4 * site.longitudeDeg - 60 * site.utcOffsetH;
  const hourAngle = (solarMin / 4 - 180) * DEG;
  const lat = site.latitudeDeg * DEG;
  const cosZenith = Math.sin(lat) * Math.sin(decl) + Math.cos(lat) * Math.cos(decl) * Math.cos(hourAngle);
  // An equator-facing plane tilted by β sees the sun as a horizontal plane at latitude
  // φ − β (north) or φ + β (south) would.
  const eq = (site.latitudeDeg >= 0 ? site.latitudeDeg - tiltDeg : site.latitudeDeg + tiltDeg) * DEG;
  const cosIncidence = Math.sin(eq) * Math.sin(decl) + Math.cos(eq) * Math.cos(decl) * Math.cos(hourAngle);
  return { elevationDeg: Math.asin(Math.max(-1, Math.min(1, cosZenith))) / DEG, cosIncidence, cosZenith };
}

/** Clear-sky irradiance on the panel plane, W/m². */
export function clearSkyPlaneIrradiance(sun: SunPosition, panel: PanelParams): number {
  const tilt = panel.tiltDeg * DEG;
  // Twilight glow: a few W/m² at sunrise, fading within the civil twilight.
  const twilight = 8 * Math.exp(Math.min(sun.elevationDeg, 3) / 2);
  if (sun.elevationDeg <= 0) return sun.elevationDeg < -8 ? 0 : twilight * (1 + Math.cos(tilt)) / 2;
  const zenithDeg = 90 - sun.elevationDeg;
  const airMass = 1 / (sun.cosZenith + 0.50572 * Math.pow(96.07995 - zenithDeg, -1.6364));
  const beamNormal = SOLAR_CONSTANT * Math.pow(0.7, Math.pow(airMass, 0.678));
  const beamHorizontal = beamNormal * sun.cosZenith;
  // Clear-sky diffuse on the horizontal ≈ 10 % of the normal beam, a common rule of thumb.
  const diffuseHorizontal = 0.1 * beamNormal + twilight;
  const global = beamHorizontal + diffuseHorizontal;
  return beamNormal * Math.max(0, sun.cosIncidence) + diffuseHorizontal * (1 + Math.cos(tilt)) / 2 +
    panel.albedo * global * (1 - Math.cos(tilt)) / 2;
}

/** Seeded cloud cover and cloud shadows, stepped with the plant. */
export class Weather {
  /** Fraction of the sky covered now. */
  cover: number;
  /** True while a cloud shadow is on the panels. */
  shaded = false;
  private latent = 0;
  private dayMean: number;
  private day = -1;
  private readonly p: WeatherParams;
  private readonly random: Random;

  constructor(params: WeatherParams, random: Random) {
    this.p = params;
    this.random = random;
    this.dayMean = params.cloudiness;
    this.cover = params.cloudiness;
  }

  /** Advances by dt; `day` is the whole days since the start (each draws its own mean). */
  step(dtS: number, day: number): void {
    const p = this.p;
    if (day !== this.day) {
      this.day = day;
      this.dayMean = p.dayToDaySpread > 0 ? clamp(p.cloudiness + p.dayToDaySpread * gaussian(this.random), 0.02, 0.98) : p.cloudiness;
      if (day === 0) this.latent = 0;
    }
    const k = dtS / p.cloudTimescaleS;
    this.latent += -this.latent * k + Math.sqrt(2 * k) * gaussian(this.random);
    const mean = clamp(this.dayMean, 0.005, 0.995);
    const logit = Math.log(mean / (1 - mean)) + p.cloudVariability * this.latent;
    this.cover = 1 / (1 + Math.exp(-logit));
    // Shadow edges: rate of leaving the sun ∝ cover, of entering it ∝ clear sky, so the
    // shaded share of time equals the cover.
    const u = this.random();
    if (this.shaded) {
      if (u < dtS * (1 - this.cover) / p.shadowEdgeS * 2) this.shaded = false;
    } else if (u < dtS * this.cover / p.shadowEdgeS * 2) {
      this.shaded = true;
    }
  }

  /** What reaches the panels out of a clear-sky irradiance. */
  transmit(clearSky: number): number {
    const c = this.cover;
    // In sunshine between clouds, a little extra light from bright cloud edges; in a
    // shadow the diffuse light left, from ≈ 50 % under thin broken cloud to 20 % overcast.
    return clearSky * (this.shaded ? 0.2 + 0.3 * (1 - c) : 1 + 0.1 * c);
  }
}

/** The array's electrical state at one irradiance and cell temperature. */
export class PvArray {
  private readonly p: PanelParams;
  private iph = 0;
  private i0 = 1e-12;
  private a = 1;
  irradiance = 0;
  cellTempC = 25;

  constructor(params: PanelParams) {
    this.p = params;
    this.setConditions(0, 25);
  }

  /** Sets irradiance (W/m²) and cell temperature, per module then scaled by the parallel count. */
  setConditions(irradiance: number, cellTempC: number): void {
    const p = this.p;
    this.irradiance = irradiance;
    this.cellTempC = cellTempC;
    const dT = cellTempC - 25;
    const isc = p.iscA * (1 + p.iscTempCoeff * dT);
    const voc = p.vocV * (1 + p.vocTempCoeff * dT);
    this.a = p.ideality * p.cellsInSeries * BOLTZMANN_OVER_Q * (cellTempC + 273.15);
    // The saturation current that puts the STC-irradiance open circuit at this
    // temperature's Voc: temperature enters the diode through Voc's datasheet coefficient.
    this.i0 = (isc - voc / p.rshOhm) / Math.expm1(voc / this.a);
    this.iph = isc * irradiance / 1000;
  }

  /** Cell temperature from air temperature and irradiance (NOCT model). */
  cellTemperature(ambientC: number, irradiance: number): number {
    return ambientC + irradiance / 800 * (this.p.noctC - 20);
  }

  /**
   * Current the array delivers into a node held at `busV` through `pathOhm` (the PWM
   * switch closed). Negative when the panels cannot lift that voltage (night, dusk).
   */
  currentInto(busV: number, pathOhm: number): number {
    const n = this.p.modules;
    // Per module, the path resistance is seen n times larger.
    const r = this.p.rsOhm + pathOhm * n;
    let i = this.iph;
    // Newton from the photocurrent: g(i) is decreasing and concave, so the iterates
    // approach the root from above without overshooting.
    for (let k = 0; k < 30; k++) {
      const vd = busV + i * r;
      const e = Math.exp(vd / this.a);
      const g = this.iph - this.i0 * (e - 1) - vd / this.p.rshOhm - i;
      const dg = -this.i0 * e * r / this.a - r / this.p.rshOhm - 1;
      const next = i - g / dg;
      if (Math.abs(next - i) < 1e-7) { i = next; break; }
      i = next;
    }
    return i * n;
  }

  /** Voltage the array settles at with only `loadOhm` across it (the switch open). */
  openCircuitVoltage(loadOhm: number): number {
    const n = this.p.modules;
    const g = (v: number): number => this.iph - this.i0 * Math.expm1(v / this.a) - v / this.p.rshOhm - v / (loadOhm * n);
    // Start right of the root, at the diode-only open circuit; f is concave and
    // decreasing, so Newton then walks down to the root monotonically.
    let v = this.iph > 0 ? this.a * Math.log1p(this.iph / this.i0) : 0;
    if (v <= 0) return 0;
    for (let k = 0; k < 60; k++) {
      const dv = -this.i0 * Math.exp(v / this.a) / this.a - 1 / this.p.rshOhm - 1 / (loadOhm * n);
      const next = v - g(v) / dv;
      if (Math.abs(next - v) < 1e-6) return Math.max(0, next);
      v = next;
    }
    return Math.max(0, v);
  }

  /** Array maximum power (W) at the current conditions, by a golden-section search. */
  maxPower(): { watts: number; volts: number } {
    let lo = 0;
    let hi = this.openCircuitVoltage(1e12);
    const power = (v: number): number => v * this.currentInto(v, 0);
    const r = (Math.sqrt(5) - 1) / 2;
    for (let k = 0; k < 60; k++) {
      const m1 = hi - r * (hi - lo);
      const m2 = lo + r * (hi - lo);
      if (power(m1) < power(m2)) lo = m1; else hi = m2;
    }
    const v = (lo + hi) / 2;
    return { watts: power(v), volts: v };
  }
}

function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}
