/**
 * The scenario's scripted events on the virtual clock: each action (a fault, an outage,
 * a hang, a host command) applied to the installation at its time, and, for actions
 * that last, the matching end scheduled when it starts. Ties keep the order they were
 * scheduled in.
 */
import type { Command } from '../protocol';
import type { Installation } from './installation';
import type { ScenarioAction } from './scenarios';

export interface ScriptedStep {
  t: number;
  /** Scheduling order, to break ties. */
  seq: number;
  what: string;
  apply: () => void;
}

export class ScenarioScript {
  private readonly queue: ScriptedStep[] = [];
  private scheduled = 0;

  constructor(private readonly installation: Installation, private readonly sendCommand: (command: Command) => void) {}

  /** Time of the next step (Infinity when none is left). */
  get nextTime(): number {
    return this.queue.length > 0 ? this.queue[0].t : Infinity;
  }

  /** Removes and returns the next step; call only when nextTime is finite. */
  takeNext(): ScriptedStep {
    return this.queue.shift() as ScriptedStep;
  }

  /** Schedules a scenario action. */
  schedule(t: number, action: ScenarioAction): void {
    const what = action.kind === 'command' ? `command ${action.command.cmd}` :
      action.kind + ('sensor' in action ? ' ' + action.sensor : '') + ('durationS' in action ? ` for ${action.durationS} s` : '');
    this.at(t, what, () => this.apply(action));
  }

  /** Schedules anything else (the simulator's own questions to the firmware). */
  at(t: number, what: string, apply: () => void): void {
    const step: ScriptedStep = { t, seq: this.scheduled++, what, apply };
    const list = this.queue;
    let i = list.length;
    while (i > 0 && (list[i - 1].t > t || (list[i - 1].t === t && list[i - 1].seq > step.seq))) i--;
    list.splice(i, 0, step);
  }

  /** A fault that lasts: switched on now, and off again (a step named `endWhat`) after `durationS`. */
  private during(now: number, durationS: number, endWhat: string, fault: (on: boolean) => void): void {
    fault(true);
    this.at(now + durationS, endWhat, () => fault(false));
  }

  private apply(action: ScenarioAction): void {
    const site = this.installation;
    const now = site.clock.now;
    switch (action.kind) {
      case 'ina-nack': {
        const chip = site.sensors[action.sensor];
        this.during(now, action.durationS, `ina-nack ${action.sensor} ends`, (on) => { chip.nack = on; });
        break;
      }
      case 'ina-reset':
        site.sensors[action.sensor].spontaneousReset();
        break;
      case 'ina-freeze': {
        const chip = site.sensors[action.sensor];
        this.during(now, action.durationS, `ina-freeze ${action.sensor} ends`, (on) => { chip.frozen = on; });
        break;
      }
      case 'bus-stuck':
        this.during(now, action.durationS, 'bus-stuck ends', (on) => { site.bus.stuck = on; });
        break;
      case 'mains-outage':
        this.during(now, action.durationS, 'mains back', (on) => site.plant.setMains(!on));
        break;
      case 'mcu-hang':
        site.mcu.hang(action.durationS);
        break;
      case 'storage-fail':
        this.during(now, action.durationS, 'storage-fail ends', (on) => { site.storage.failWrites = on; });
        break;
      case 'command':
        this.sendCommand(action.command);
        break;
    }
  }
}
