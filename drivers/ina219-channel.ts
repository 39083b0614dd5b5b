/**
 * An INA219 channel of hardware/ (address, shunt, range, averaging) turned into what the
 * driver needs: the calibration and the driver options. The firmware computes the
 * calibration at build time (firmware/src/board.ts bakes it into the bundle); the
 * bridge's host-direct mode computes it at start-up; both from this one place.
 */
import type { Ina219ChannelSpec } from '../hardware';
import { Ina219, Ina219Calibration, Ina219Options, Ina219Transport, ina219Calibration } from './ina219';

export interface ChannelConfig {
  address: number;
  /** Computed here at build time, so the MCU does not carry the calibration arithmetic. */
  calibration: Ina219Calibration;
  shuntOhms: number;
  maxCurrentA: number;
  busRangeV: number;
  adc: number;
}

export function channelConfig(c: Ina219ChannelSpec): ChannelConfig {
  return { address: c.address, calibration: ina219Calibration(c.shunt.ohms, c.maxCurrentA), shuntOhms: c.shunt.ohms, maxCurrentA: c.maxCurrentA, busRangeV: c.busRangeV, adc: c.adcSetting };
}

/** The driver options of a channel: the same averaging for bus and shunt. */
export function channelOptions(c: ChannelConfig): Ina219Options {
  return { shuntOhms: c.shuntOhms, maxCurrentA: c.maxCurrentA, busRangeV: c.busRangeV, busAdc: c.adc, shuntAdc: c.adc };
}

/** A driver for a channel over a transport, with the channel's precomputed calibration. */
export function channelSensor(transport: Ina219Transport, c: ChannelConfig): Ina219 {
  return new Ina219(transport, c.address, channelOptions(c), c.calibration);
}
