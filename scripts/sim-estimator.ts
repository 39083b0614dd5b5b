/**
 * The bridge's battery estimator as the simulator's SocEstimator: npm run sim attaches
 * it, so readings.csv gets estimated_soc and chart.svg draws it against the true state
 * of charge. It lives here, not in simulator/, because the simulator judges the bridge
 * and must not import it; the bridge is reached through its front door.
 */
import { batteryStep, defaultEstimatorParams, newBatteryState, stateOfCharge } from '../bridge/src';
import type { SocEstimator } from '../simulator/reading-row';

/** A fresh estimator with hardware/'s defaults: it starts believing the bank full, as a new installation does. */
export function bridgeSocEstimator(): SocEstimator {
  const params = defaultEstimatorParams();
  const state = newBatteryState(params);
  return {
    step(row, unixS) {
      batteryStep(state, params, row, unixS);
      return stateOfCharge(state, params);
    },
  };
}
