/**
 * readings.csv: one line per reading row, written in large buffered chunks so a week at
 * 1 s polls (600,000 rows) costs a few hundred writes.
 */
import fs from 'node:fs';
import type { ReadingRow } from './reading-row';

export const CSV_HEADER = [
  't_s', 'battery_v', 'battery_a', 'load_v', 'load_a', 'solar_v', 'charger_on', 'reason', 'mode', 'flt', 'seq', 'boot',
  'up_s', 'battery_w', 'load_w',
  'battery_ah_in', 'battery_ah_out', 'battery_wh_in', 'battery_wh_out', 'load_ah_in', 'load_ah_out', 'load_wh_in', 'load_wh_out',
  'true_battery_v', 'true_battery_a', 'true_load_v', 'true_load_a', 'true_solar_v', 'true_charger_on', 'true_charger_a',
  'true_solar_a', 'true_soc', 'true_irradiance_wm2', 'true_cloud_cover', 'true_load_connected', 'true_mains',
  'true_controller_stage', 'estimated_soc',
].join(',');

/** Buffered text is written out past this many characters. */
const FLUSH_CHARS = 1 << 20;

/** A reported value with fixed decimals; empty when the firmware sent `-`. */
function reported(x: number | null, decimals: number): string {
  return x === null ? '' : x.toFixed(decimals);
}

export function csvLine(r: ReadingRow): string {
  let flt = r.flt.toString(16).toUpperCase();
  while (flt.length < 4) flt = '0' + flt;
  return r.t.toFixed(3) + ',' + reported(r.bv, 3) + ',' + reported(r.ba, 4) + ',' + reported(r.lv, 3) + ',' + reported(r.la, 4) + ',' +
    reported(r.sv, 3) + ',' + r.chg + ',' + r.why + ',' + r.mode + ',' + flt + ',' + r.seq + ',' + r.boot + ',' +
    r.up.toFixed(3) + ',' + reported(r.bw, 2) + ',' + reported(r.lw, 2) + ',' +
    reported(r.bahi, 4) + ',' + reported(r.baho, 4) + ',' + reported(r.bwhi, 3) + ',' + reported(r.bwho, 3) + ',' +
    reported(r.lahi, 4) + ',' + reported(r.laho, 4) + ',' + reported(r.lwhi, 3) + ',' + reported(r.lwho, 3) + ',' +
    r.trueBatteryV.toFixed(4) + ',' + r.trueBatteryA.toFixed(4) + ',' + r.trueLoadV.toFixed(4) + ',' +
    r.trueLoadA.toFixed(4) + ',' + r.trueSolarV.toFixed(4) + ',' + (r.trueChargerOn ? 1 : 0) + ',' +
    r.trueChargerA.toFixed(4) + ',' + r.trueSolarA.toFixed(4) + ',' + r.trueSoc.toFixed(5) + ',' +
    r.trueIrradiance.toFixed(1) + ',' + r.trueCloudCover.toFixed(3) + ',' + (r.trueLoadConnected ? 1 : 0) + ',' +
    (r.trueMains ? 1 : 0) + ',' + r.trueStage + ',' + reported(r.estSoc, 5);
}

/** readings.csv being written: the header at once, rows buffered, everything on close. */
export class ReadingsCsvFile {
  private fd: number | null;
  private buffer: string[] = [];
  private bufferedChars = 0;

  constructor(path: string) {
    this.fd = fs.openSync(path, 'w');
    this.writeLine(CSV_HEADER);
  }

  add(row: ReadingRow): void {
    this.writeLine(csvLine(row));
  }

  close(): void {
    this.flush();
    if (this.fd !== null) {
      fs.closeSync(this.fd);
      this.fd = null;
    }
  }

  private writeLine(line: string): void {
    this.buffer.push(line);
    this.bufferedChars += line.length;
    if (this.bufferedChars > FLUSH_CHARS) this.flush();
  }

  private flush(): void {
    if (this.fd === null || this.buffer.length === 0) return;
    fs.writeSync(this.fd, this.buffer.join('\n') + '\n');
    this.buffer = [];
    this.bufferedChars = 0;
  }
}
