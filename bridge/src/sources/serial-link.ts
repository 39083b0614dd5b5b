/** The MCU's serial port (USB CDC /dev/ttyACM0 or a UART) through `serialport`. */
import type { SerialPort as SerialPortType } from 'serialport';
import type { Connector, Link } from './reconnecting-source';

export interface SerialTarget {
  path: string;
  baudRate: number;
}

/**
 * Not paced (source.read_interval_ms): serialport reads ahead into its own stream buffer
 * while the stream is paused, so a pause would save the bridge's work per chunk but not
 * the wake-up of each read, and pausing and resuming its stream at a fast replay's rate
 * stalled the pty fault suite's reads. A serial link is read as it comes.
 */
export function serialConnector(target: SerialTarget): Connector {
  // Loaded on first use: its native binding costs ~10 MB of RSS a TCP bridge never needs.
  const { SerialPort } = require('serialport') as { SerialPort: typeof SerialPortType };
  return (events) => new Promise<Link>((resolve, reject) => {
    const port = new SerialPort({ path: target.path, baudRate: target.baudRate, autoOpen: false });
    let open = false;
    let lastError = '';
    port.on('data', (chunk: Buffer) => events.data(chunk.toString('latin1')));
    port.on('error', (err: Error) => { lastError = err.message; });
    port.on('close', () => {
      if (open) events.closed(lastError ? `port closed: ${lastError}` : 'port closed (device unplugged?)');
    });
    port.open((err) => {
      if (err) {
        reject(new Error(`open ${target.path}: ${err.message}`));
        return;
      }
      open = true;
      resolve({
        write: (text) => new Promise<void>((res, rej) => {
          port.write(Buffer.from(text, 'latin1'), (e) => {
            if (e) rej(e);
            else port.drain((d) => (d ? rej(d) : res()));
          });
        }),
        close: () => {
          if (port.isOpen) port.close(() => undefined);
        },
      });
    });
  });
}
