/**
 * The LM393 comparator board in software: two Schmitt triggers (battery, sun) wired-OR
 * onto the charger, plus what only software can add — an optional minimum dwell, a
 * host force with expiry, a battery floor under any forced OFF, and a fail-safe.
 *
 * Pure: inputs and the clock come in as arguments; the state is a plain object the
 * caller keeps (one per MCU, mutated in place so nothing is allocated per poll).
 */
import type { ChargerReason, ForceMode } from '../../protocol/spec';

export interface ControllerSettings {
  batteryOnV: number;
  batteryOffV: number;
  sunDownV: number;
  sunUpV: number;
  /** Minimum seconds between charger changes in normal operation; 0 = like the comparators. */
  minDwellS: number;
  /** A forced OFF is cancelled when the battery is below this. */
  batteryFloorV: number;
  /** A reading older than this (seconds) no longer counts: fail-safe ON. */
  staleAfterS: number;
}

export interface ControllerInputs {
  /** Seconds, any monotonic origin. */
  now: number;
  /** Latest valid battery voltage and when it was read (NaN/undefined-free: null when never). */
  batteryV: number | null;
  batteryAt: number;
  solarV: number | null;
  solarAt: number;
}

export interface ControllerState {
  /** Battery-low latch (comparator output low). Starts set: ON until the battery proves high. */
  batteryLow: boolean;
  /** Sun-down latch. Starts set for the same reason. */
  sunDown: boolean;
  chargerOn: boolean;
  reason: ChargerReason;
  /** When the charger last changed state (dwell is measured from here). */
  changedAt: number;
  force: ForceMode;
  /** When a force ends (seconds, same clock as inputs.now). */
  forceUntil: number;
  /** True once both inputs have been valid at least once. */
  seenValid: boolean;
}

export function initialControllerState(now: number): ControllerState {
  return {
    batteryLow: true, sunDown: true, chargerOn: true, reason: 'boot',
    changedAt: now, force: 'auto', forceUntil: 0, seenValid: false,
  };
}

function fresh(v: number | null, at: number, now: number, maxAge: number): boolean {
  return v !== null && v === v && now - at <= maxAge;
}

/** Starts a force (mode on/off for `seconds`) or returns to auto. */
export function setForce(state: ControllerState, mode: ForceMode, now: number, seconds: number): void {
  state.force = mode;
  state.forceUntil = mode === 'auto' ? 0 : now + seconds;
}

/**
 * One control step. Updates the latches from valid readings, then decides:
 * fail-safe (a reading missing or stale) → ON; a forced mode; else the wired-OR of the
 * latches, held by the minimum dwell if it would change too soon. Returns chargerOn.
 */
export function controllerStep(state: ControllerState, s: ControllerSettings, inp: ControllerInputs): boolean {
  const now = inp.now;
  const batteryOk = fresh(inp.batteryV, inp.batteryAt, now, s.staleAfterS);
  const solarOk = fresh(inp.solarV, inp.solarAt, now, s.staleAfterS);
  const bv = inp.batteryV as number;
  const sv = inp.solarV as number;

  // The latches track their inputs whatever the mode, as the analogue board would.
  if (batteryOk) {
    if (bv < s.batteryOnV) state.batteryLow = true;
    else if (bv > s.batteryOffV) state.batteryLow = false;
  }
  if (solarOk) {
    if (sv < s.sunDownV) state.sunDown = true;
    else if (sv > s.sunUpV) state.sunDown = false;
  }
  if (batteryOk && solarOk) state.seenValid = true;

  if (state.force !== 'auto' && now >= state.forceUntil) setForce(state, 'auto', now, 0);
  // A forced OFF must never run the bank into the MP3735's load disconnect.
  if (state.force === 'off' && batteryOk && bv < s.batteryFloorV) {
    setForce(state, 'auto', now, 0);
    return apply(state, true, 'floor', now);
  }

  if (state.force === 'on') return apply(state, true, 'forced_on', now);
  if (!batteryOk || !solarOk) return apply(state, true, state.seenValid ? 'failsafe' : 'boot', now);
  if (state.force === 'off') return apply(state, false, 'forced_off', now);

  const want = state.batteryLow || state.sunDown;
  const why: ChargerReason = state.batteryLow
    ? (state.sunDown ? 'bat_low_sun_down' : 'bat_low')
    : (state.sunDown ? 'sun_down' : 'released');
  if (want !== state.chargerOn && s.minDwellS > 0 && now - state.changedAt < s.minDwellS) {
    state.reason = 'dwell';
    return state.chargerOn;
  }
  return apply(state, want, why, now);
}

function apply(state: ControllerState, on: boolean, why: ChargerReason, now: number): boolean {
  if (on !== state.chargerOn) {
    state.chargerOn = on;
    state.changedAt = now;
  }
  state.reason = why;
  return on;
}
