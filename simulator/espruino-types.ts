/**
 * The vocabulary shared by the Espruino shim's modules (espruino-shim.ts and the parts it
 * is built from) and by whoever wires an MCU into a simulation.
 */
import type { VirtualI2cBus } from './i2c-bus';

export interface VirtualClock {
  /** Seconds since the simulated power-on. */
  now: number;
}

/** How the MCU's pins and buses are wired to the rest of the simulation. */
export interface McuWiring {
  /** The bus on I2C1's pins, and those pins. */
  i2c1: { bus: VirtualI2cBus; scl: string; sda: string };
  /** Fraction 0..1 that analogRead returns for a pin, or throws if nothing is wired there. */
  analogRead(pin: string): number;
  /** Called after any change of pin mode or level (and after a reset). */
  pinsChanged(): void;
}

export type PinMode = 'input' | 'input_pullup' | 'input_pulldown' | 'output' | 'opendrain' | 'analog';
/** What a pin does to the circuit outside. */
export type PinDrive = 'high' | 'low' | 'float' | 'pullup' | 'pulldown';

export type SerialName = 'USB' | 'Serial1' | 'LoopbackA';

export interface McuEvent {
  t: number;
  what: string;
  /** For an unimplemented API: why it is missing (e.g. a Node-only global). */
  hint?: string;
}

/** Error class for APIs the shim lacks; host-side, so it is recognisable wherever it lands. */
export class ShimApiError extends Error {
  constructor(readonly api: string, hint = '') {
    super(`Espruino API ${api} is not implemented by the simulator shim${hint}`);
    this.name = 'ShimApiError';
  }
}
