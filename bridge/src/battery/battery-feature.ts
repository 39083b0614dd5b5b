/**
 * The battery estimator as a bridge feature. At start: the state file (written
 * atomically), then the spool's readings newer than it (a SIGKILL loses only what came
 * since the last save, and the replay brings it back), then every reading as it is
 * spooled. Values are published as derived values (once per reading at most: those that
 * changed, and every 30 s of readings the rest, so a reader can tell steady from stopped);
 * the state is saved on a slow tick and at stop, never per reading.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { DerivedValue } from '../core/derived-values';
import type { Feature, FeatureDefinition } from '../core/feature';
import type { SpooledFrame } from '../spool/spooled-frame';
import { writeFileAtomicSync } from '../spool/atomic-file';
import { BatteryRequest, clearBatteryRequest, configKeyOfParam, paramsFromConfig, pendingBatteryRequest, stateFilePath } from './battery-config';
import { BATTERY_VALUES, batteryValues, changedValues } from './battery-published';
import { newCapacityState } from './capacity';
import { BatteryState, batteryStep, newBatteryState, setStateOfCharge } from './estimator';
import { newHistoryState } from './history';
import { restoreState, serialiseState } from './persist';
import { newStatusCore, statusCore } from './status';

export const FEATURE_NAME = 'battery';

/** Where the state came from at start, for the log and /healthz. */
type Origin = 'state file' | 'fresh (no state file)' | 'fresh (state file unreadable)' | 'rebuilt from the spool';

export const batteryFeature: FeatureDefinition = {
  name: FEATURE_NAME,
  enabled: (c) => c.battery.enabled,
  checkConfig(c) {
    try {
      paramsFromConfig(c);
      return [];
    } catch (e) {
      return [{ key: configKeyOfParam(/^battery\.(?:params\.)?(\w+)/.exec((e as Error).message)?.[1]), problem: (e as Error).message }];
    }
  },
  create(core): Feature {
    const c = core.config;
    const params = paramsFromConfig(c);
    const file = stateFilePath(c);
    const published = new Map<string, { value: DerivedValue; ts: number }>();
    let state: BatteryState = newBatteryState(params);
    let origin: Origin = 'fresh (no state file)';
    let timer: NodeJS.Timeout | undefined;
    let unsubscribe = (): void => undefined;
    let saveError = '';
    let savedT = NaN;
    let readings = 0;
    const savesTotal = core.metrics.registry.counter('solar_battery_state_saves_total', 'Battery state file saves');
    const saveFailures = core.metrics.registry.counter('solar_battery_state_save_failures_total', 'Battery state file saves that failed');

    core.derived.declare(FEATURE_NAME, BATTERY_VALUES);
    if (c.battery.history_days > 0) core.spool.keepHistory(c.battery.history_days * 86400 * 1000);

    const step = (rec: SpooledFrame): void => {
      if (rec.frame.type !== 'R') return;
      batteryStep(state, params, rec.frame, rec.ts / 1000);
      readings++;
    };

    const figures = newStatusCore();
    const publish = (ts: number): void => {
      const changed = changedValues(batteryValues(state, params, statusCore(state, params, figures)), ts, published);
      if (changed) core.derived.set(ts, changed);
    };

    const save = (): void => {
      if (state.t === savedT && saveError === '') return;
      try {
        fs.mkdirSync(path.dirname(file), { recursive: true });
        writeFileAtomicSync(file, serialiseState(state));
        savedT = state.t;
        saveError = '';
        savesTotal.inc();
      } catch (e) {
        saveError = `cannot save ${file}: ${(e as Error).message}`;
        saveFailures.inc();
        core.log.warn(saveError);
      }
    };

    const load = (): void => {
      let text: string;
      try {
        text = fs.readFileSync(file, 'utf8');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`cannot read ${file}: ${(e as Error).message}`);
        return;
      }
      try {
        state = restoreState(text);
        origin = 'state file';
      } catch (e) {
        // Kept for a person to look at; the spool rebuilds what it still holds.
        const bad = `${file}.bad-${Date.now()}`;
        fs.renameSync(file, bad);
        origin = 'fresh (state file unreadable)';
        core.log.warn(`${file}: ${(e as Error).message}; moved to ${bad}, rebuilding from the spool`);
      }
    };

    /** Applies an operator's request after the catch-up, so "set" is as of the newest reading. */
    const apply = (r: BatteryRequest): void => {
      if (r.newBank) {
        state.capacity = newCapacityState(params);
        state.history = newHistoryState();
        setStateOfCharge(state, params, r.setSoc ?? 1, state.t === state.t ? state.t : Date.now() / 1000);
        core.log.info(`new battery bank: ${params.capacityAh} Ah, learned capacity and history cleared, state of charge ${((r.setSoc ?? 1) * 100).toFixed(1)} %`);
      } else if (r.setSoc !== undefined) {
        setStateOfCharge(state, params, r.setSoc, state.t === state.t ? state.t : Date.now() / 1000);
        core.log.info(`state of charge set to ${(r.setSoc * 100).toFixed(1)} %`);
      }
    };

    return {
      start() {
        const request = pendingBatteryRequest(c);
        if (request?.rebuild) {
          origin = 'rebuilt from the spool';
          state = newBatteryState(params);
        } else {
          load();
        }
        const fromT = state.t;
        const t0 = Date.now();
        // Readings the state has already taken are skipped by time; a fresh state takes all.
        const visited = fromT === fromT ? core.spool.readRange(Math.floor(fromT * 1000) + 1, Number.MAX_SAFE_INTEGER, step) : core.spool.replay(step);
        core.log.info(`battery state ${origin}${fromT === fromT ? ` as of ${new Date(fromT * 1000).toISOString()}` : ''}; caught up on ${readings} reading(s) from the spool (${visited} record(s), ${Date.now() - t0} ms)`);
        if (request) {
          apply(request);
          save();
          clearBatteryRequest(c);
        } else if (readings > 0 || origin !== 'state file') {
          save();
        }
        if (state.t === state.t) publish(state.t * 1000);
        // The save timer is armed by a reading, not kept running: an idle bridge has nothing
        // new to save and is not woken for it. A failed save is tried again on the same beat.
        const saveLater = (): void => {
          timer = setTimeout(() => {
            timer = undefined;
            save();
            if (saveError) saveLater();
          }, c.battery.save_interval_s * 1000);
          timer.unref();
        };
        unsubscribe = core.onFrame((rec) => {
          if (rec.frame.type !== 'R') return;
          step(rec);
          publish(rec.ts);
          if (!timer) saveLater();
        });
      },
      stop() {
        unsubscribe();
        if (timer) clearTimeout(timer);
        save();
      },
      health() {
        const problems = saveError ? [saveError] : [];
        return {
          problems, origin, state_file: file, readings, sensor_fault: state.sensorFault,
          last_reading: state.t === state.t ? new Date(state.t * 1000).toISOString() : null,
          last_saved: savedT === savedT ? new Date(savedT * 1000).toISOString() : null,
        };
      },
    };
  },
};
