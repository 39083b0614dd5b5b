/**
 * Named scenarios: a start date and time, plant parameter changes, and scripted events
 * (faults, mains outages, a hung MCU, host commands) at fixed times. Everything random
 * comes from the run's seed, so a scenario and a seed fix the run.
 */
import type { Command } from '../protocol';
import type { PlantParams } from './plant-params';

export type SensorName = 'battery' | 'load';

export type ScenarioAction =
  /** The INA219 stops acknowledging its address. */
  | { kind: 'ina-nack'; sensor: SensorName; durationS: number }
  /** The INA219 resets itself (config back to 0x399F, calibration 0). */
  | { kind: 'ina-reset'; sensor: SensorName }
  /** The INA219's ADC hangs: registers answer, no conversion completes. */
  | { kind: 'ina-freeze'; sensor: SensorName; durationS: number }
  /** SDA held low: every transfer on the bus times out. */
  | { kind: 'bus-stuck'; durationS: number }
  | { kind: 'mains-outage'; durationS: number }
  /** The MCU stops running JavaScript (it keeps its pin levels); the watchdog must reset it. */
  | { kind: 'mcu-hang'; durationS: number }
  /** Flash writes fail. */
  | { kind: 'storage-fail'; durationS: number }
  /** A host command written to the MCU's serial port. */
  | { kind: 'command'; command: Command };

export interface ScenarioEvent {
  /** Hours after the start of the run. */
  atHour: number;
  action: ScenarioAction;
}

export interface Scenario {
  name: string;
  description: string;
  /** Local date and clock hour of the start. */
  date: string;
  startHour: number;
  hours: number;
  /** Changes to the default plant parameters. */
  plant?: (p: PlantParams) => void;
  events: ScenarioEvent[];
}

const DAY_DATE = '2025-03-21';

export const SCENARIOS: Record<string, Scenario> = {
  day: {
    name: 'day',
    description: 'An equinox day in Brisbane with light cloud, from midnight: mains at night, solar by day.',
    date: DAY_DATE, startHour: 0, hours: 24,
    events: [],
  },
  week: {
    name: 'week',
    description: 'A winter week (short days), each day its own cloud cover, from a part-charged bank.',
    date: '2025-06-16', startHour: 0, hours: 168,
    plant: (p) => {
      p.weather.cloudiness = 0.35;
      p.weather.dayToDaySpread = 0.3;
      p.battery.initialSoc = 0.6;
    },
    events: [],
  },
  cloudy: {
    name: 'cloudy',
    description: 'Heavy, broken cloud all day over a half-charged bank: weak, flickering solar.',
    date: DAY_DATE, startHour: 0, hours: 24,
    plant: (p) => {
      p.weather.cloudiness = 0.8;
      p.weather.cloudTimescaleS = 1200;
      p.battery.initialSoc = 0.5;
    },
    events: [],
  },
  'mains-outage': {
    name: 'mains-outage',
    description: 'Mains fails 17:00–23:00 and 03:00–03:30: the controller asks for the charger, nothing comes.',
    date: DAY_DATE, startHour: 0, hours: 24,
    plant: (p) => {
      p.battery.initialSoc = 0.6;
    },
    events: [
      { atHour: 17, action: { kind: 'mains-outage', durationS: 6 * 3600 } },
      { atHour: 27 - 24, action: { kind: 'mains-outage', durationS: 1800 } },
    ],
  },
  'sensor-fault': {
    name: 'sensor-fault',
    description: 'A day with I2C faults while the sun is up: NACKs, chip resets, a stuck bus, a hung ADC.',
    date: DAY_DATE, startHour: 0, hours: 24,
    events: [
      { atHour: 9, action: { kind: 'ina-nack', sensor: 'battery', durationS: 60 } },
      { atHour: 10, action: { kind: 'ina-reset', sensor: 'load' } },
      { atHour: 11, action: { kind: 'ina-reset', sensor: 'battery' } },
      { atHour: 12, action: { kind: 'bus-stuck', durationS: 45 } },
      { atHour: 13, action: { kind: 'ina-freeze', sensor: 'battery', durationS: 120 } },
      { atHour: 14, action: { kind: 'ina-nack', sensor: 'load', durationS: 60 } },
    ],
  },
  'low-battery': {
    name: 'low-battery',
    description: 'A nearly flat bank at 17:00 with mains out until 22:00: the MP3735 drops the load below 11 V; mains recovers it.',
    date: DAY_DATE, startHour: 17, hours: 24,
    plant: (p) => {
      p.battery.initialSoc = 0.02;
    },
    events: [
      { atHour: 0, action: { kind: 'mains-outage', durationS: 5 * 3600 } },
    ],
  },
  'mcu-hang': {
    name: 'mcu-hang',
    description: 'The MCU hangs at noon for 60 s; its watchdog resets it and it boots again.',
    date: DAY_DATE, startHour: 0, hours: 24,
    events: [
      { atHour: 12, action: { kind: 'mcu-hang', durationS: 60 } },
    ],
  },
};

export function scenarioNames(): string[] {
  return Object.keys(SCENARIOS);
}

export function getScenario(name: string): Scenario {
  const s = SCENARIOS[name];
  if (!s) throw new Error(`unknown scenario "${name}"; known: ${scenarioNames().join(', ')}`);
  return s;
}
