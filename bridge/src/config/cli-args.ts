/**
 * Command-line flags of `npm run bridge`. Pure: returns what to do, or an error that
 * names the flag. Flags for the common keys map onto config keys and win over the file
 * and the environment.
 */

export interface FlagSpec {
  flag: string;
  key: string;
  arg: string;
  help: string;
}

export const SETTING_FLAGS: readonly FlagSpec[] = [
  { flag: '--source', key: 'source.url', arg: 'URL', help: 'tcp://HOST:PORT, serial:/dev/ttyACM0 (or /dev/...), file:CAPTURE or - for stdin' },
  { flag: '--baud', key: 'source.baud', arg: 'N', help: 'serial baud rate (default 115200)' },
  { flag: '--mqtt', key: 'mqtt.url', arg: 'URL', help: 'broker, e.g. mqtt://localhost:1883 or mqtts://host:8883' },
  { flag: '--mqtt-username', key: 'mqtt.username', arg: 'NAME', help: 'broker user name' },
  { flag: '--mqtt-password', key: 'mqtt.password', arg: 'SECRET', help: 'broker password (prefer SOLAR_BRIDGE_MQTT_PASSWORD: flags show in ps)' },
  { flag: '--base-topic', key: 'mqtt.base_topic', arg: 'TOPIC', help: 'topic prefix (default solar/<device-id>)' },
  { flag: '--influx-url', key: 'influx.url', arg: 'URL', help: 'InfluxDB (or VictoriaMetrics) base URL, e.g. http://localhost:8086' },
  { flag: '--influx-api', key: 'influx.api', arg: 'v1|v2', help: 'v2: /api/v2/write (InfluxDB 2/3, 1.8+, VictoriaMetrics); v1: /write (InfluxDB 1.x)' },
  { flag: '--influx-db', key: 'influx.db', arg: 'DB', help: 'database (api v1)' },
  { flag: '--influx-rp', key: 'influx.rp', arg: 'RP', help: 'retention policy (api v1, default: the database default)' },
  { flag: '--influx-bucket', key: 'influx.bucket', arg: 'BUCKET', help: 'bucket (api v2; "db/rp" for InfluxDB 1.8)' },
  { flag: '--influx-org', key: 'influx.org', arg: 'ORG', help: 'organisation (api v2)' },
  { flag: '--influx-token', key: 'influx.token', arg: 'TOKEN', help: 'API token (api v2; prefer SOLAR_BRIDGE_INFLUX_TOKEN)' },
  { flag: '--spool', key: 'spool.dir', arg: 'DIR', help: 'spool directory (default ./spool)' },
  { flag: '--device-id', key: 'device_id', arg: 'ID', help: 'this monitor\'s id in topics, tags and Home Assistant (default solar-cluster)' },
  { flag: '--http', key: 'http.listen', arg: 'HOST:PORT', help: '/healthz and /metrics (default 127.0.0.1:9108; "" turns it off)' },
  { flag: '--log-level', key: 'log.level', arg: 'LEVEL', help: 'debug, info, warn or error' },
  { flag: '--log-format', key: 'log.format', arg: 'FORMAT', help: 'text or json' },
];

/** One-shot battery state changes carried out when the bridge starts (see bridge/README.md, "Battery state"). */
export interface BatteryStartRequest {
  rebuild?: boolean;
  newBank?: boolean;
  /** 0..1 */
  setSoc?: number;
}

export type CliResult =
  | { ok: true; action: 'help' }
  | { ok: true; action: 'build'; outFile?: string }
  | { ok: true; action: 'run' | 'check'; configFile?: string; flags: { key: string; value: string; flag: string }[]; battery?: BatteryStartRequest }
  | { ok: false; error: string };

export function parseCliArgs(argv: readonly string[]): CliResult {
  const flags: { key: string; value: string; flag: string }[] = [];
  let configFile: string | undefined;
  let action: 'run' | 'check' = 'run';
  let battery: BatteryStartRequest | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') return { ok: true, action: 'help' };
    if (a === '--build') {
      const next = argv[i + 1];
      return { ok: true, action: 'build', outFile: next !== undefined && !next.startsWith('--') ? next : undefined };
    }
    if (a === '--check') {
      action = 'check';
      continue;
    }
    if (a === '--battery-rebuild' || a === '--battery-new-bank') {
      battery = { ...battery, [a === '--battery-rebuild' ? 'rebuild' : 'newBank']: true };
      continue;
    }
    const eq = a.indexOf('=');
    const name = a.startsWith('--') && eq > 0 ? a.slice(0, eq) : a;
    const takeValue = (): string | null => {
      if (eq > 0 && a.startsWith('--')) return a.slice(eq + 1);
      // `--source --mqtt URL` is a forgotten value, not a source named "--mqtt".
      if (i + 1 >= argv.length || argv[i + 1].startsWith('--')) return null;
      return argv[++i];
    };
    if (!name.startsWith('-')) return { ok: false, error: `unexpected argument ${JSON.stringify(a)}: every setting is a flag (--source URL, --config FILE; see --help)` };
    if (name === '--config' || name === '-c') {
      const v = takeValue();
      if (v === null || v === '') return { ok: false, error: `${name} needs a file name` };
      configFile = v;
      continue;
    }
    if (name === '--battery-set-soc') {
      const v = takeValue();
      const pct = v === null || v.trim() === '' ? NaN : Number(v.trim().replace(/%$/, ''));
      if (!(pct >= 0 && pct <= 100)) return { ok: false, error: `${name} needs a state of charge in % (0..100), got ${v === null ? 'nothing' : JSON.stringify(v)}` };
      battery = { ...battery, setSoc: pct / 100 };
      continue;
    }
    const spec = SETTING_FLAGS.find((f) => f.flag === name);
    if (!spec) return { ok: false, error: `unknown flag ${name} (see --help)` };
    const v = takeValue();
    if (v === null) return { ok: false, error: `${name} needs a value: ${spec.arg} (one starting with -- as ${name}=VALUE)` };
    flags.push({ key: spec.key, value: v, flag: name });
  }
  return battery ? { ok: true, action, configFile, flags, battery } : { ok: true, action, configFile, flags };
}

export function helpText(): string {
  const width = Math.max(...SETTING_FLAGS.map((f) => f.flag.length + f.arg.length + 1));
  const lines = SETTING_FLAGS.map((f) => `  ${(f.flag + ' ' + f.arg).padEnd(width)}  ${f.help}`);
  return [
    'solar-cluster bridge: MCU frames (serial, TCP, replay) -> durable spool -> MQTT and InfluxDB',
    '',
    'usage: npm run bridge -- [--config FILE] [flags]',
    '',
    `  ${'--config FILE'.padEnd(width)}  YAML configuration (see bridge/config.example.yaml); also SOLAR_BRIDGE_CONFIG`,
    ...lines,
    `  ${'--check'.padEnd(width)}  validate the configuration, print it (secrets masked) and exit`,
    `  ${'--battery-set-soc PCT'.padEnd(width)}  at start, set the battery's state of charge (e.g. 100 on a charged bank)`,
    `  ${'--battery-new-bank'.padEnd(width)}  at start, forget the learned capacity and history (new batteries; set battery.capacity_ah`,
    `  ${''.padEnd(width)}  first); state of charge 100 % unless --battery-set-soc says otherwise`,
    `  ${'--battery-rebuild'.padEnd(width)}  at start, rebuild the battery state from the spool (after changing battery.* settings)`,
    `  ${'--build [FILE]'.padEnd(width)}  write the bridge as a JavaScript file (default bridge/dist/bridge.js) to run`,
    `  ${''.padEnd(width)}  with plain node, its code beside it in FILE.body.js: what a service should run`,
    `  ${''.padEnd(width)}  (ts-node alone costs ~100 MB of RAM)`,
    `  ${'--help'.padEnd(width)}  this text`,
    '',
    'Precedence: flags > environment > file > defaults. Every setting has an environment',
    'variable: SOLAR_BRIDGE_ + its path in upper case with _ between parts, e.g.',
    'SOLAR_BRIDGE_MQTT_PASSWORD, SOLAR_BRIDGE_SPOOL_MAX_BYTES, SOLAR_BRIDGE_INFLUX_TOKEN.',
    '',
    'Examples:',
    '  npm run bridge -- --source tcp://ts7670.lan:7000 --mqtt mqtt://localhost:1883',
    '  npm run bridge -- --source /dev/ttyACM0 --influx-url http://localhost:8086 --influx-api v1 --influx-db solar',
    '  npm run bridge -- --config /etc/solar-bridge.yaml',
    '',
    'Exit status: 0 after a clean stop (SIGINT/SIGTERM) or a finished replay; 2 on a flag or',
    'configuration that cannot work, each problem named with its key and where it was set',
    '(file:line:column, variable or flag): bad values, URLs, ports, listen addresses that are',
    'not this host\'s, missing files, directories that cannot be written (--check finds the',
    'same); 1 on a failure at run time (e.g. the spool directory locked by another bridge).',
  ].join('\n') + '\n';
}
