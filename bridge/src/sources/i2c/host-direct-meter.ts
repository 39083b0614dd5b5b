/**
 * Host-direct mode's measuring cycle, the MCU's (firmware/src/app.ts) minus everything
 * that needs the MCU: read the battery and load INA219s with the shared driver,
 * integrate the energy counters with the shared arithmetic, and say it all as a protocol
 * Reading, so the bridge encodes, decodes, spools and publishes it like an MCU's.
 *
 * Monitor only. The REMOTE pin that switches the charger stays with the MCU or the
 * comparator board; the host neither drives nor sees it. The reading still needs `chg`
 * and `why` (protocol v1 has no "unknown"), so it carries what the comparator logic
 * does without a solar reading, and what the REMOTE driver does when nothing holds it
 * OFF: fail-safe, charger ON. There is no solar input on the host (the divider goes into
 * the MCU's ADC), so `sv` is `-`; that is the mode, not a fault, and sets no flag.
 *
 * No I/O of its own beyond the drivers' transports, and no clock: times come in.
 */
import {
  FLT_BAT_COMM, FLT_BAT_OVF, FLT_BAT_RESET, FLT_BAT_STALE, FLT_LOAD_COMM, FLT_LOAD_OVF, FLT_LOAD_RESET,
  FLT_LOAD_STALE, FLT_STORAGE, Reading, WHY_FAILSAFE,
} from '../../../../protocol';
import { EnergyCounters, EnergySample, accumulate, emptySample, maxEnergyGapS } from '../../../../drivers/energy-counters';
import { INA_FLAG_COMM, INA_FLAG_OVF, INA_FLAG_RESET, INA_FLAG_STALE, Ina219, Ina219Reading } from '../../../../drivers/ina219';

/** Which protocol fault bit each driver flag sets, per channel. */
const FAULT_BITS: { battery: Array<[number, number]>; load: Array<[number, number]> } = {
  battery: [[INA_FLAG_COMM, FLT_BAT_COMM], [INA_FLAG_OVF, FLT_BAT_OVF], [INA_FLAG_RESET, FLT_BAT_RESET], [INA_FLAG_STALE, FLT_BAT_STALE]],
  load: [[INA_FLAG_COMM, FLT_LOAD_COMM], [INA_FLAG_OVF, FLT_LOAD_OVF], [INA_FLAG_RESET, FLT_LOAD_RESET], [INA_FLAG_STALE, FLT_LOAD_STALE]],
};

export function faultBits(channel: 'battery' | 'load', driverFlags: number): number {
  let bits = 0;
  for (const [flag, bit] of FAULT_BITS[channel]) if (driverFlags & flag) bits |= bit;
  return bits;
}

export interface MeterPoll {
  reading: Reading;
  battery: Ina219Reading;
  load: Ina219Reading;
}

export class HostDirectMeter {
  /** Set while the stored state could not be read or written (FLT_STORAGE, as on the MCU). */
  storageFault = false;
  private seq = 0;
  private readonly batteryPrevious: EnergySample = emptySample();
  private readonly loadPrevious: EnergySample = emptySample();

  constructor(
    private readonly battery: Ina219,
    private readonly load: Ina219,
    readonly boot: number,
    readonly energy: EnergyCounters,
    private readonly pollPeriodS: number,
  ) {}

  /** Writes both chips' configuration; the first conversion is ready about 140 ms later. */
  configure(): Array<string | null> {
    return [this.battery.configure(), this.load.configure()];
  }

  /** One poll at `up` seconds since the source started. Never throws. */
  poll(up: number): MeterPoll {
    const b = this.battery.read();
    const l = this.load.read();
    const maxGap = maxEnergyGapS(this.pollPeriodS);
    accumulate(this.energy, 'b', this.batteryPrevious, b.currentA, b.powerW, up, maxGap);
    accumulate(this.energy, 'l', this.loadPrevious, l.currentA, l.powerW, up, maxGap);
    const e = this.energy;
    this.seq++;
    const reading: Reading = {
      seq: this.seq, boot: this.boot, up,
      bv: b.busV, ba: b.currentA, bw: b.powerW,
      lv: l.busV, la: l.currentA, lw: l.powerW,
      sv: null,
      chg: 1, why: WHY_FAILSAFE, mode: 'auto',
      flt: faultBits('battery', b.flags) | faultBits('load', l.flags) | (this.storageFault ? FLT_STORAGE : 0),
      bahi: e.bahi, baho: e.baho, bwhi: e.bwhi, bwho: e.bwho,
      lahi: e.lahi, laho: e.laho, lwhi: e.lwhi, lwho: e.lwho,
    };
    return { reading, battery: b, load: l };
  }
}
