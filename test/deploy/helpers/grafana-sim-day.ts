/**
 * A simulated stretch of the installation as the MCU's serial port would have carried
 * it: the built firmware bundle runs in the simulator as fast as it can, and every byte
 * it writes to its host port is kept, ready for the bridge's replay source. Alongside,
 * the plant's truth, to judge what the dashboards derive from the firmware's numbers.
 */
import fs from 'node:fs';
import { Simulation } from '../../../simulator/simulation';
import { ensureFirmwareBundle } from '../../helpers/firmware-bundle';

export interface SimulatedRun {
  /** The serial stream: lines ending in \n, frames and anything else the firmware wrote. */
  capture: string;
  readings: number;
  /** Energy the plant really moved, Wh: panels and mains charger into the bus, bus into the cluster. */
  truth: { solarWh: number; mainsWh: number; loadWh: number };
  sim: Simulation;
}

export function simulate(o: { scenario?: string; hours?: number; seed?: number } = {}): SimulatedRun {
  const file = ensureFirmwareBundle();
  const chunks: string[] = [];
  const sim = new Simulation({
    scenario: o.scenario ?? 'day', hours: o.hours, seed: o.seed ?? 1, keepRows: true,
    firmware: { code: fs.readFileSync(file, 'utf8'), filename: file },
    onSerial: (d) => chunks.push(d),
  });
  sim.run();
  const truth = { solarWh: 0, mainsWh: 0, loadWh: 0 };
  let prevT = 0;
  for (const r of sim.rows) {
    // Each reading stands for the time since the previous one (the poll period).
    const h = (r.t - prevT) / 3600;
    prevT = r.t;
    truth.solarWh += r.trueSolarA * r.trueBatteryV * h;
    truth.mainsWh += r.trueChargerA * r.trueBatteryV * h;
    truth.loadWh += r.trueLoadA * r.trueLoadV * h;
  }
  return { capture: chunks.join(''), readings: sim.rows.length, truth, sim };
}

/** The capture without the readings whose seq is in [from, from + count): a link that dropped them. */
export function dropReadings(capture: string, from: number, count: number): string {
  const out: string[] = [];
  let dropped = 0;
  for (const line of capture.split('\n')) {
    const m = /^\$R,v=1,seq=(\d+),/.exec(line);
    if (m && Number(m[1]) >= from && Number(m[1]) < from + count) {
      dropped++;
      continue;
    }
    out.push(line);
  }
  if (dropped !== count) throw new Error(`dropReadings: found ${dropped} readings with seq ${from}..${from + count - 1}, wanted ${count}`);
  return out.join('\n');
}
