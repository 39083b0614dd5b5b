/**
 * The MCU's serial devices (USB, Serial1, LoopbackA) and its console: which device the
 * REPL sits on, where printed text goes, and host input waiting for the firmware's
 * `on('data')` handlers. Host input to the console device goes to the REPL, not to the
 * handlers, as on Espruino; the firmware moves the console to LoopbackA to free USB.
 */
import type { McuEvent, SerialName } from './espruino-types';

type DataHandler = (data: string) => void;

/** Lines of console text kept from a console nobody sees. */
const CONSOLE_TAIL_LINES = 200;

export interface SerialOutput {
  /** Bytes the MCU sends on a host-visible serial device. */
  onOutput(device: SerialName, data: string): void;
  /** Console text that goes nowhere visible (the console is on LoopbackA). */
  onConsole?(text: string): void;
}

export class SerialPorts {
  /** Host input that reached the REPL because the console was still on that device. */
  readonly replInput: McuEvent[] = [];
  /** Last lines printed on a console nobody sees (LoopbackA). */
  readonly consoleTail: string[] = [];
  /** The console device (where REPL output and host input for the REPL go). */
  consoleDevice: SerialName = 'USB';
  private handlers: Record<SerialName, DataHandler[]> = { USB: [], Serial1: [], LoopbackA: [] };
  private input: Array<{ device: SerialName; data: string }> = [];

  constructor(private readonly output: SerialOutput) {}

  /** A reset: handlers, pending input and the console's move are gone. */
  clear(): void {
    this.handlers = { USB: [], Serial1: [], LoopbackA: [] };
    this.input = [];
    this.consoleDevice = 'USB';
  }

  onData(device: SerialName, handler: DataHandler): void {
    this.handlers[device].push(handler);
  }

  /** Host → MCU bytes; queued for the handlers unless the REPL takes them or nobody listens. */
  hostWrite(device: SerialName, data: string, now: number): void {
    if (this.consoleDevice === device) {
      this.replInput.push({ t: now, what: data });
      return;
    }
    if (this.handlers[device].length === 0) return;
    this.input.push({ device, data });
  }

  get hasInput(): boolean {
    return this.input.length > 0;
  }

  /** The oldest queued input and a copy of the handlers to call with it (they may add more). */
  takeInput(): { data: string; handlers: DataHandler[] } {
    const item = this.input.shift() as { device: SerialName; data: string };
    return { data: item.data, handlers: this.handlers[item.device].slice() };
  }

  /** MCU → device bytes (`USB.write`); LoopbackA's other end is read by nothing. */
  write(device: SerialName, text: string): void {
    if (device === 'LoopbackA') return;
    this.output.onOutput(device, text);
  }

  /** Text on the console (console.log, "Uncaught …"). */
  print(text: string): void {
    const device = this.consoleDevice;
    if (device === 'LoopbackA') {
      for (const line of text.split(/\r?\n/)) {
        if (line.length === 0) continue;
        this.consoleTail.push(line);
        if (this.consoleTail.length > CONSOLE_TAIL_LINES) this.consoleTail.shift();
      }
      this.output.onConsole?.(text);
      return;
    }
    this.output.onOutput(device, text);
  }
}
