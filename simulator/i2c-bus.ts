/**
 * A virtual I²C bus with the byte-level interface of Espruino's I2C object
 * (writeTo / readFrom), so the firmware's Espruino transport runs on it unchanged.
 * Faults are injected where they happen on a real bus: a device that does not ACK
 * its address, or a bus held stuck (SDA low) so that every transfer fails.
 */
export interface I2cDevice {
  /** Bytes of one write transaction (after the address byte). */
  i2cWrite(bytes: number[]): void;
  /** Bytes of one read transaction of `count` bytes. */
  i2cRead(count: number): number[];
  /** When true the device does not acknowledge its address. */
  nack: boolean;
}

export class I2cError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'I2cError';
  }
}

export class VirtualI2cBus {
  /** SDA held low by a crashed device: nothing on the bus answers until it is released. */
  stuck = false;
  readonly stats = { writes: 0, reads: 0, errors: 0 };
  private readonly devices: Array<I2cDevice | undefined> = [];

  attach(address: number, device: I2cDevice): void {
    if (!Number.isInteger(address) || address < 0x08 || address > 0x77) {
      throw new RangeError(`I2C address ${address} is outside the 7-bit range 0x08-0x77`);
    }
    if (this.devices[address]) throw new Error(`I2C address 0x${address.toString(16)} is already in use`);
    this.devices[address] = device;
  }

  detach(address: number): void {
    this.devices[address] = undefined;
  }

  writeTo(address: number, data: number | number[] | Uint8Array | string): void {
    const device = this.select(address);
    this.stats.writes++;
    device.i2cWrite(toBytes(data));
  }

  readFrom(address: number, quantity: number): Uint8Array {
    const device = this.select(address);
    this.stats.reads++;
    return Uint8Array.from(device.i2cRead(quantity));
  }

  private select(address: number): I2cDevice {
    if (this.stuck) return this.fail('I2C Error: Timeout (bus stuck: SDA held low)');
    const device = this.devices[address];
    if (!device || device.nack) return this.fail(`I2C got NACK from 0x${address.toString(16)}`);
    return device;
  }

  private fail(message: string): never {
    this.stats.errors++;
    throw new I2cError(message);
  }
}

function toBytes(data: number | number[] | Uint8Array | string): number[] {
  if (typeof data === 'number') return [data & 0xff];
  // Plain loops: this runs a dozen times per simulated poll.
  const out: number[] = new Array(data.length);
  if (typeof data === 'string') {
    for (let i = 0; i < data.length; i++) out[i] = data.charCodeAt(i) & 0xff;
  } else {
    for (let i = 0; i < data.length; i++) out[i] = data[i] & 0xff;
  }
  return out;
}
