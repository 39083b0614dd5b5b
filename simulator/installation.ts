/**
 * The simulated hardware wired together on one virtual clock: the plant, two INA219
 * register models on I2C1 at hardware/'s addresses with hardware/'s shunts, the solar
 * divider into the ADC pin, and the REMOTE driver on the MCU's pin, around an Espruino
 * MCU running the firmware bundle. What happens over time is simulation.ts's business.
 */
import { I2C_BUS, INA219_CHANNELS, MCU_BOARD, REMOTE_DRIVER, SOLAR_INPUT } from '../hardware';
import { SolarAdc } from './adc';
import { EspruinoMcu, PinDrive, SerialName } from './espruino-shim';
import { FlashStorage } from './flash-storage';
import { VirtualI2cBus } from './i2c-bus';
import { Ina219Errors, Ina219Model, SensorGrade, sampleIna219BErrors } from './ina219-model';
import { Plant, PlantStart } from './plant';
import type { PlantParams } from './plant-params';
import { deriveSeed, seededRandom } from './random';
import type { SensorName } from './scenarios';

/** Base voltage at which Q2 of the REMOTE driver (a 2N3904) starts to conduct. */
const Q2_TURN_ON_V = 0.65;
/** An STM32 GPIO's weak pull-up, roughly. */
const STM32_PULLUP_OHMS = 40000;
/** A high pin sits at the MCU's 3.3 V rail, the rail its ADC also refers to. */
const PIN_HIGH_V = MCU_BOARD.adcReferenceV;

/** Charger ON unless the pin pushes Q2's base past its turn-on voltage (hardware/REMOTE_DRIVER). */
export function remoteChargerOn(drive: PinDrive): boolean {
  const d = REMOTE_DRIVER;
  // The pin feeds Q2's base through rBaseQ2 against rPulldownQ2.
  const divider = d.rBaseQ2 + d.rPulldownQ2;
  const pinV = drive === 'high' ? PIN_HIGH_V : drive === 'pullup' ? PIN_HIGH_V * divider / (STM32_PULLUP_OHMS + divider) : 0;
  const baseV = pinV * d.rPulldownQ2 / divider;
  return baseV < Q2_TURN_ON_V;
}

export interface InstallationOptions {
  params: PlantParams;
  start: PlantStart;
  seed: number;
  /** What the INA219s' fixed errors are drawn within: the datasheet's limits (default) or its typical figures. */
  sensorGrade?: SensorGrade;
  firmware: { code: string; filename?: string };
  /** A JSON file that holds the MCU's flash between runs. */
  storagePath?: string;
  strictApi?: boolean;
  /** Everything the MCU writes on a serial device. */
  onOutput(device: SerialName, data: string): void;
}

export class Installation {
  readonly clock = { now: 0 };
  readonly plant: Plant;
  readonly bus = new VirtualI2cBus();
  readonly sensors: Record<SensorName, Ina219Model>;
  /** Each chip's fixed errors, drawn once per run inside the INA219B limits (or typical figures). */
  readonly sensorErrors = {} as Record<SensorName, Ina219Errors>;
  readonly adc: SolarAdc;
  readonly storage: FlashStorage;
  readonly mcu: EspruinoMcu;

  constructor(options: InstallationOptions) {
    const seed = options.seed;
    this.plant = new Plant(options.params, options.start, seed);
    this.adc = new SolarAdc(options.params.adc, seededRandom(deriveSeed(seed, 'adc')));
    this.plant.panelLoadOhm = this.adc.loadOhm;

    const clock = () => this.clock.now;
    const chip = (name: SensorName) => {
      const spec = INA219_CHANNELS[name];
      const random = seededRandom(deriveSeed(seed, 'ina219-' + name));
      const errors = sampleIna219BErrors(random, options.sensorGrade);
      this.sensorErrors[name] = errors;
      const model = new Ina219Model({ shuntOhms: spec.shunt.ohms, clock, errors, random });
      this.bus.attach(spec.address, model);
      return model;
    };
    this.sensors = { battery: chip('battery'), load: chip('load') };
    this.updateSensors();

    this.storage = new FlashStorage(options.storagePath);
    if (SOLAR_INPUT.kind !== 'adc') throw new Error('simulator: only the ADC solar input is wired');
    const solarPin = SOLAR_INPUT.pin;
    this.mcu = new EspruinoMcu({
      code: options.firmware.code,
      filename: options.firmware.filename,
      clock: this.clock,
      storage: this.storage,
      strict: options.strictApi,
      seed: deriveSeed(seed, 'mcu'),
      wiring: {
        i2c1: { bus: this.bus, scl: I2C_BUS.scl, sda: I2C_BUS.sda },
        analogRead: (pin) => {
          if (pin !== solarPin) throw new Error(`analogRead(${pin}): nothing is wired to ${pin} in the simulator (the solar divider is on ${solarPin})`);
          return this.adc.read(this.plant.truth.panelV);
        },
        pinsChanged: () => this.plant.setRemote(remoteChargerOn(this.mcu.pinDrive(REMOTE_DRIVER.pin))),
      },
      onOutput: options.onOutput,
    });
  }

  /** Moves the plant and the clock to `t` and shows the sensors the plant's new state. */
  advance(t: number): void {
    if (t <= this.clock.now) return;
    this.plant.advanceTo(t);
    this.clock.now = t;
    this.updateSensors();
  }

  private updateSensors(): void {
    const truth = this.plant.truth;
    this.sensors.battery.setInputs(truth.batteryA, truth.batteryV);
    this.sensors.load.setInputs(truth.loadA, truth.loadV);
  }
}
