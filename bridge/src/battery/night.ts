/**
 * The night ahead: if the mains failed now, would the battery alone carry the cluster
 * until sunrise, and by how many Ah? Forecast when the firmware reports the sun down
 * (its sun-down latch, the same signal that turns the mains charger on), again every
 * hour until sunrise (from the site, hardware/), from the load of the last nights.
 */
import type { EstimatorParams } from './params';
import { nextSunrise } from './sun';

export interface NightForecast {
  /** When it was made (Unix s) and the sunrise it looks to. */
  atT: number;
  sunriseT: number;
  hoursLeft: number;
  /** Load current the forecast assumes, A, and the Ah it needs until sunrise (Peukert-corrected). */
  loadA: number;
  needAh: number;
  /** Ah above the floor now (point estimate), and the margin left at sunrise. */
  availableAh: number;
  marginAh: number;
  /**
   * Would the battery alone last until sunrise? null when the state of charge has not
   * been anchored yet and its interval allows both answers.
   */
  lasts: boolean | null;
  /** True for the forecast made at sun-down (the one that matters most). */
  atSundown: boolean;
}

export interface NightState {
  active: boolean;
  startT: number;
  sunriseT: number;
  lastEndT: number;
  /** Load Ah and measured seconds tonight. */
  loadAh: number;
  measuredS: number;
  lastForecastT: number;
  /** Mean load current of the last nights, newest last. */
  rates: number[];
  forecast: NightForecast | null;
  /** The sun-down forecast of the night in progress or just ended. */
  sundownForecast: NightForecast | null;
}

export function newNightState(): NightState {
  return {
    active: false, startT: NaN, sunriseT: NaN, lastEndT: -Infinity, loadAh: 0, measuredS: 0, lastForecastT: NaN,
    rates: [], forecast: null, sundownForecast: null,
  };
}

export interface AvailableAh { pointAh: number; lowAh: number; highAh: number; anchored: boolean }

/** A sun-down report this soon after a night ended is the same dusk flickering, not a new night. */
const MIN_DAY_S = 2 * 3600;

/**
 * One reading. `sunDown` is the firmware's sun-down state; `loadSpanA` the mean load
 * current since the previous reading (NaN when unknown); `availableAh` is what the
 * battery holds above the floor now, with the low and high ends of its interval;
 * `anchored` whether the state of charge has been synced since start; `recentA` the
 * load of the last hours.
 */
export function nightStep(
  n: NightState, p: EstimatorParams, t: number, span: number, sunDown: boolean, loadSpanA: number,
  avail: AvailableAh, recentA: number,
): void {
  if (!n.active) {
    if (!sunDown || t - n.lastEndT < MIN_DAY_S) return;
    const sunrise = nextSunrise(p.site, t);
    if (sunrise !== sunrise || sunrise - t > 20 * 3600) return;
    n.active = true;
    n.startT = t;
    n.sunriseT = sunrise;
    n.loadAh = 0;
    n.measuredS = 0;
    forecast(n, p, t, avail, recentA, true);
    return;
  }
  if (loadSpanA === loadSpanA && span <= p.maxGapS) {
    n.loadAh += loadSpanA * span / 3600;
    n.measuredS += span;
  }
  if (t >= n.sunriseT) {
    if (n.measuredS >= 0.5 * (n.sunriseT - n.startT)) {
      n.rates.push(n.loadAh / (n.measuredS / 3600));
      while (n.rates.length > p.nightsRemembered) n.rates.shift();
    }
    n.active = false;
    n.lastEndT = t;
    return;
  }
  if (t - n.lastForecastT >= 3600) forecast(n, p, t, avail, recentA, false);
}

function forecast(n: NightState, p: EstimatorParams, t: number, avail: AvailableAh, recentA: number, atSundown: boolean): void {
  // A cluster's work changes from day to day more than from day to night: the last hours'
  // load counts as much as the remembered nights together.
  const recent = recentA > 0 ? recentA : 0;
  let rate = recent;
  if (n.rates.length > 0) {
    let sum = 0;
    for (let i = 0; i < n.rates.length; i++) sum += n.rates[i];
    rate = recentA === recentA ? (sum / n.rates.length + recent) / 2 : sum / n.rates.length;
  }
  // After an hour of tonight, tonight's own load counts as much as the remembered nights.
  if (n.measuredS >= 3600) rate = (rate + n.loadAh / (n.measuredS / 3600)) / 2;
  const hoursLeft = (n.sunriseT - t) / 3600;
  const ratedA = p.capacityAh / p.ratedHours;
  const peukert = rate > ratedA ? Math.pow(rate / ratedA, p.peukertExponent - 1) : 1;
  const needAh = rate * hoursLeft * peukert;
  const marginAh = avail.pointAh - needAh;
  const lasts = avail.lowAh >= needAh ? true : avail.highAh < needAh ? false : avail.anchored ? marginAh >= 0 : null;
  n.forecast = { atT: t, sunriseT: n.sunriseT, hoursLeft, loadA: rate, needAh, availableAh: avail.pointAh, marginAh, lasts, atSundown };
  if (atSundown) n.sundownForecast = n.forecast;
  n.lastForecastT = t;
}
