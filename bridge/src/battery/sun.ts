/**
 * Sunrise and sunset at the site, for the night forecast: the NOAA/Meeus low-precision
 * solar position (good to about a minute between 60° N and 60° S), which needs no
 * table and no clock. Times are Unix seconds (UTC).
 */

const J2000 = 2451545;
const UNIX_EPOCH_JD = 2440587.5;
const RAD = Math.PI / 180;

export interface SunSite {
  latitudeDeg: number;
  /** East positive. */
  longitudeDeg: number;
  /** Elevation of the sun's centre that counts as rising/setting (−0.833° with refraction). */
  horizonDeg: number;
}

/** Sunrise and sunset of the solar day numbered `n` (days since J2000 at the site), or null in polar day/night. */
function riseSet(site: SunSite, n: number, out: number[]): boolean {
  const jStar = n - site.longitudeDeg / 360;
  const m = (357.5291 + 0.98560028 * jStar) % 360;
  const mr = m * RAD;
  const centre = 1.9148 * Math.sin(mr) + 0.02 * Math.sin(2 * mr) + 0.0003 * Math.sin(3 * mr);
  const lambda = ((m + centre + 180 + 102.9372) % 360) * RAD;
  const transit = J2000 + jStar + 0.0053 * Math.sin(mr) - 0.0069 * Math.sin(2 * lambda);
  const sinDecl = Math.sin(lambda) * Math.sin(23.4397 * RAD);
  const cosDecl = Math.cos(Math.asin(sinDecl));
  const phi = site.latitudeDeg * RAD;
  const cosW = (Math.sin(site.horizonDeg * RAD) - Math.sin(phi) * sinDecl) / (Math.cos(phi) * cosDecl);
  if (cosW < -1 || cosW > 1) return false;
  const w = Math.acos(cosW) / RAD / 360;
  out[0] = (transit - w - UNIX_EPOCH_JD) * 86400;
  out[1] = (transit + w - UNIX_EPOCH_JD) * 86400;
  return true;
}

const pair = [0, 0];

/** The first sunrise after `tS` (Unix seconds), or NaN if none within two days (polar night). */
export function nextSunrise(site: SunSite, tS: number): number {
  const n = Math.round(tS / 86400 + UNIX_EPOCH_JD - J2000);
  for (let d = n - 1; d <= n + 2; d++) {
    if (riseSet(site, d, pair) && pair[0] > tS) return pair[0];
  }
  return NaN;
}

/** The last sunset at or before `tS`, or NaN. */
export function previousSunset(site: SunSite, tS: number): number {
  const n = Math.round(tS / 86400 + UNIX_EPOCH_JD - J2000);
  for (let d = n + 1; d >= n - 2; d--) {
    if (riseSet(site, d, pair) && pair[1] <= tS) return pair[1];
  }
  return NaN;
}
