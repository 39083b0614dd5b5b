/**
 * What the firmware needs to know about the hardware, derived from hardware/ at build
 * time. The build evaluates `firmwareBoard()` in Node and bakes the result into the
 * bundle as a constant, so the MCU carries the numbers but not the comparator
 * arithmetic that produced them. main.ts imports only the type.
 */
import {
  BATTERY_FLOOR_V, DEFAULT_THRESHOLDS, HOST_LINK, I2C_BUS, INA219_CHANNELS, MCU_BOARD,
  REMOTE_DRIVER, SOLAR_INPUT, solarDividerGain,
} from '../../hardware';
import type { Settings } from './settings';
import { ChannelConfig, channelConfig } from '../../drivers/ina219-channel';

export type { ChannelConfig } from '../../drivers/ina219-channel';

export interface FirmwareBoard {
  version: string;
  i2c: { scl: string; sda: string; bitrate: number };
  battery: ChannelConfig;
  load: ChannelConfig;
  solar: { pin: string; gain: number; vref: number; samples: number };
  remote: { pin: string; offLevel: number; onLevel: number };
  defaults: Settings;
  floorV: number;
  /** Energy counters are written to flash at most this often (and on `save`). */
  saveEveryS: number;
  watchdogS: number;
}

/** Rounded to what the wire carries, so `get` reports exactly what the controller uses. */
function mV(v: number): number {
  return Math.round(v * 1000) / 1000;
}

export function firmwareBoard(version: string): FirmwareBoard {
  if (SOLAR_INPUT.kind !== 'adc') throw new Error('firmware build: only the ADC solar input is implemented');
  if (HOST_LINK.port !== 'USB') throw new Error('firmware build: only the USB host link is implemented');
  return {
    version,
    i2c: { scl: I2C_BUS.scl, sda: I2C_BUS.sda, bitrate: I2C_BUS.bitrateHz },
    battery: channelConfig(INA219_CHANNELS.battery),
    load: channelConfig(INA219_CHANNELS.load),
    solar: { pin: SOLAR_INPUT.pin, gain: solarDividerGain(SOLAR_INPUT), vref: MCU_BOARD.adcReferenceV, samples: 8 },
    remote: { pin: REMOTE_DRIVER.pin, offLevel: REMOTE_DRIVER.chargerOffLevel, onLevel: REMOTE_DRIVER.chargerOnLevel },
    defaults: {
      bon: mV(DEFAULT_THRESHOLDS.batteryOnV), boff: mV(DEFAULT_THRESHOLDS.batteryOffV),
      sdn: mV(DEFAULT_THRESHOLDS.sunDownV), sup: mV(DEFAULT_THRESHOLDS.sunUpV),
      dwell: DEFAULT_THRESHOLDS.minDwellS, period: 1,
    },
    floorV: BATTERY_FLOOR_V,
    saveEveryS: 900,
    watchdogS: 10,
  };
}
