/**
 * INA219 transport over Linux i2c-dev through the `i2c-bus` package, for host-direct
 * mode (INA219s wired straight to a Raspberry Pi's or router's I²C, no MCU).
 *
 * Plain I²C transfers (pointer write, then a 2-byte read), not SMBus word reads: SMBus
 * words are little-endian while the INA219 sends MSB first, and a raw transfer keeps
 * the byte order visible here instead of hidden in a swap.
 */
import type { Ina219Transport } from '../../../../drivers/ina219';

/**
 * The synchronous subset of i2c-bus's `I2CBus` this transport needs. It is also what
 * the simulator's virtual bus offers (simulator/i2c-bus-sync.ts), so the same code runs
 * against the INA219 register model where the kernel has no I²C.
 */
export interface I2cBusSync {
  i2cWriteSync(address: number, length: number, buffer: Buffer): number;
  i2cReadSync(address: number, length: number, buffer: Buffer): number;
  closeSync?(): void;
}

export function linuxI2cTransport(bus: I2cBusSync): Ina219Transport {
  const out = Buffer.alloc(3);
  const ptr = Buffer.alloc(1);
  const input = Buffer.alloc(2);
  return {
    writeRegister(address: number, register: number, value: number): void {
      out[0] = register;
      out[1] = (value >> 8) & 0xff;
      out[2] = value & 0xff;
      const n = bus.i2cWriteSync(address, 3, out);
      if (n !== 3) throw new Error(`short write (${n} of 3 bytes) to register ${register} at 0x${address.toString(16)}`);
    },
    readRegister(address: number, register: number): number {
      ptr[0] = register;
      const w = bus.i2cWriteSync(address, 1, ptr);
      if (w !== 1) throw new Error(`pointer write to register ${register} at 0x${address.toString(16)} failed`);
      const n = bus.i2cReadSync(address, 2, input);
      if (n !== 2) throw new Error(`short read (${n} of 2 bytes) from register ${register} at 0x${address.toString(16)}`);
      return (input[0] << 8) | input[1];
    },
  };
}

/**
 * Opens /dev/i2c-N through i2c-bus. It is an optional dependency (native, Linux only),
 * loaded only here, so a bridge without an i2c: source never needs it; without it this
 * says what to install instead of failing with a module-resolution trace.
 */
export function openLinuxI2cBus(busNumber: number): I2cBusSync {
  if (!Number.isInteger(busNumber) || busNumber < 0) {
    throw new RangeError(`I2C bus number must be a non-negative integer, got ${busNumber}`);
  }
  let i2c: { openSync(n: number): I2cBusSync };
  try {
    i2c = require('i2c-bus');
  } catch (e) {
    throw new Error(`host-direct I2C needs the optional package i2c-bus (npm install i2c-bus): ${(e as Error).message}`);
  }
  return i2c.openSync(busNumber);
}

/** A transport whose errors name the device, as every message from the driver then does. */
export function namedTransport(devicePath: string, transport: Ina219Transport): Ina219Transport {
  return {
    writeRegister: (a, r, v) => withDevice(devicePath, () => transport.writeRegister(a, r, v)),
    readRegister: (a, r) => withDevice(devicePath, () => transport.readRegister(a, r)),
  };
}

/** Opens /dev/i2c-N and gives the INA219 transport over it. */
export function openLinuxI2cTransport(busNumber: number): Ina219Transport {
  return namedTransport(`/dev/i2c-${busNumber}`, linuxI2cTransport(openLinuxI2cBus(busNumber)));
}

function withDevice<T>(devicePath: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw new Error(`${devicePath}: ${(e as Error).message}`);
  }
}
