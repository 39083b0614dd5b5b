/**
 * INA219 transport over Espruino's I2C object (I2C1.setup({scl, sda}) done by the caller).
 * Register access is a pointer write followed by a 2-byte read, MSB first, as the
 * datasheet's "Reading From the INA219" describes. Espruino throws on NACK or timeout
 * ("I2C got NACK", "I2C Error: Timeout"); those propagate as the transport contract says.
 */
import { Ina219Transport } from '../../drivers/ina219';

/** The part of Espruino's I2C class this transport uses (also what the simulator's bus offers). */
export interface EspruinoI2cLike {
  writeTo(address: number, data: number | number[]): void;
  readFrom(address: number, quantity: number): { length: number; [index: number]: number };
}

export function espruinoI2cTransport(i2c: EspruinoI2cLike): Ina219Transport {
  return {
    writeRegister(address: number, register: number, value: number): void {
      i2c.writeTo(address, [register, (value >> 8) & 0xff, value & 0xff]);
    },
    readRegister(address: number, register: number): number {
      i2c.writeTo(address, register);
      const d = i2c.readFrom(address, 2);
      if (d.length !== 2) throw new Error('short read (' + d.length + ' of 2 bytes) from register ' + register);
      return (d[0] << 8) | d[1];
    },
  };
}
