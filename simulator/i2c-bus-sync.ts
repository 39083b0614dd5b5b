/**
 * The virtual bus behind the synchronous API of npm `i2c-bus` (i2cWriteSync /
 * i2cReadSync on a Buffer), the one the bridge's host-direct mode uses on Linux. Bus
 * faults become the errors Linux i2c-dev gives: a NACK is EREMOTEIO, a stuck bus
 * ETIMEDOUT, both thrown as Node system errors the way i2c-bus throws them.
 */
import type { VirtualI2cBus } from './i2c-bus';

export interface VirtualI2cBusSync {
  i2cWriteSync(address: number, length: number, buffer: Buffer): number;
  i2cReadSync(address: number, length: number, buffer: Buffer): number;
  closeSync(): void;
}

function linuxError(e: unknown, syscall: string): Error {
  const message = e instanceof Error ? e.message : String(e);
  const timeout = /timeout/i.test(message);
  const code = timeout ? 'ETIMEDOUT' : 'EREMOTEIO';
  const err = new Error(`${code}: ${timeout ? 'connection timed out' : 'remote I/O error'}, ${syscall}`) as NodeJS.ErrnoException;
  err.code = code;
  err.errno = timeout ? -110 : -121;
  err.syscall = syscall;
  return err;
}

export function virtualI2cBusSync(bus: VirtualI2cBus): VirtualI2cBusSync {
  let open = true;
  const check = (syscall: string): void => {
    if (!open) throw Object.assign(new Error(`EBADF: bad file descriptor, ${syscall}`), { code: 'EBADF', errno: -9, syscall });
  };
  return {
    i2cWriteSync(address, length, buffer) {
      check('write');
      try {
        bus.writeTo(address, Array.from(buffer.subarray(0, length)));
      } catch (e) {
        throw linuxError(e, 'write');
      }
      return length;
    },
    i2cReadSync(address, length, buffer) {
      check('read');
      let bytes: Uint8Array;
      try {
        bytes = bus.readFrom(address, length);
      } catch (e) {
        throw linuxError(e, 'read');
      }
      buffer.set(bytes.subarray(0, length));
      return bytes.length;
    },
    closeSync() {
      open = false;
    },
  };
}
