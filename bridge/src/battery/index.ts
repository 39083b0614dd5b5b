/**
 * Battery state estimator (a pure module; see estimator.ts). The bridge feature that
 * feeds it readings, keeps its state file and publishes its status is wired in by the
 * bridge's feature layer.
 */
export type { BatteryReading, BatteryState, SyncKind } from './estimator';
export { batteryStep, capacityInUse, newBatteryState, setStateOfCharge, stateOfCharge } from './estimator';
export type { BatteryStatus, TimeToGoState } from './status';
export type { StatusCore } from './status';
export { batteryStatus, newStatusCore, statusCore } from './status';
export type { EstimatorParams } from './params';
export { checkParams, defaultEstimatorParams } from './params';
export type { NightForecast } from './night';
export { nextSunrise, previousSunset } from './sun';
export type { SunSite } from './sun';
export { serialiseState, restoreState } from './persist';
