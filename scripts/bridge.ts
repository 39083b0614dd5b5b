/**
 * `npm run bridge -- [--config FILE] [flags]`: reads the configuration (file, environment,
 * flags), starts the bridge, and stops it cleanly on SIGINT/SIGTERM (fsyncs the spool,
 * saves cursors, publishes "offline"). A replay source exits once every sink confirmed it.
 */
import fs from 'node:fs';
import path from 'node:path';
// The front door loads the heap policy before any other bridge module (see heap-policy.ts).
import { Bridge, STARTUP_GC_DELAY_MS, collectAfterBusySpells, collectStartupGarbage, createLogger, ENV_CONFIG_FILE, helpText, parseCliArgs, preflightConfig, redactConfig, requestBatteryAction, resolveConfig } from '../bridge/src';
import type { BridgeConfig } from '../bridge/src';

const BUNDLE_DEFAULT = path.join(__dirname, '..', 'bridge', 'dist', 'bridge.js');
/** A configuration is a few KB; anything near this is not one (and is not read into memory). */
const MAX_CONFIG_BYTES = 256 * 1024;
/** Exit status for a configuration or flag that cannot work: the systemd unit does not restart on it. */
const EXIT_BAD_CONFIG = 2;

function version(): string {
  // Set by --build, where package.json is no longer next to the code.
  if (process.env.SOLAR_BRIDGE_BUILD_VERSION) return process.env.SOLAR_BRIDGE_BUILD_VERSION;
  try {
    return (JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

function readConfigFile(file: string): { name: string; text: string } | { error: string } {
  try {
    const st = fs.statSync(file);
    if (st.isDirectory()) return { error: `cannot read config file ${file}: it is a directory` };
    if (st.size > MAX_CONFIG_BYTES) return { error: `config file ${file} is ${st.size} bytes; a configuration is a few KB (at most ${MAX_CONFIG_BYTES})` };
    return { name: file, text: fs.readFileSync(file, 'utf8') };
  } catch (e) {
    return { error: `cannot read config file ${file}: ${(e as Error).message}` };
  }
}

/** The configuration from file, environment and flags, checked against this host; or the messages that say why not. */
async function loadConfig(cli: { configFile?: string; flags: { key: string; value: string; flag: string }[] }): Promise<{ config: BridgeConfig } | { errors: string[]; heading: string }> {
  const file = cli.configFile ?? process.env[ENV_CONFIG_FILE];
  let fileInput: { name: string; text: string } | undefined;
  if (file) {
    const read = readConfigFile(file);
    if ('error' in read) return { errors: [read.error], heading: '' };
    fileInput = read;
  }
  const resolved = resolveConfig({ file: fileInput, env: process.env, flags: cli.flags });
  if (!resolved.ok) return { errors: resolved.errors, heading: 'invalid configuration' };
  const problems = await preflightConfig(resolved.config, resolved.where, process.env);
  if (problems.length > 0) return { errors: problems, heading: 'configuration cannot work on this host' };
  return { config: resolved.config };
}

async function main(): Promise<number> {
  const cli = parseCliArgs(process.argv.slice(2));
  if (!cli.ok) {
    process.stderr.write(`bridge: ${cli.error}\n`);
    return EXIT_BAD_CONFIG;
  }
  if (cli.action === 'help') {
    process.stdout.write(helpText());
    return 0;
  }
  if (cli.action === 'build') return build(cli.outFile ?? BUNDLE_DEFAULT);
  let loaded: Awaited<ReturnType<typeof loadConfig>>;
  try {
    loaded = await loadConfig(cli);
  } catch (e) {
    // No input may end in a stack trace: whatever escaped the checks is still a bad configuration.
    loaded = { errors: [(e as Error).message], heading: 'cannot read the configuration' };
  }
  if ('errors' in loaded) {
    process.stderr.write(loaded.heading
      ? `bridge: ${loaded.heading}:\n${loaded.errors.map((e) => `  - ${e}`).join('\n')}\n`
      : `bridge: ${loaded.errors.join('\n')}\n`);
    return EXIT_BAD_CONFIG;
  }
  const config = loaded.config;
  if (cli.action === 'check') {
    process.stdout.write(JSON.stringify(redactConfig(config), null, 2) + '\n');
    return 0;
  }
  if (cli.battery) {
    if (!config.battery.enabled) {
      process.stderr.write('bridge: --battery-* flags need the battery feature (battery.enabled is false)\n');
      return EXIT_BAD_CONFIG;
    }
    // Left beside the state file for the battery feature's start (also if this start fails).
    try {
      requestBatteryAction(config, cli.battery);
    } catch (e) {
      process.stderr.write(`bridge: cannot leave the battery request beside battery.state_file: ${(e as Error).message}\n`);
      return EXIT_BAD_CONFIG;
    }
  }
  const log = createLogger(config.log.level, config.log.format);
  const bridge = new Bridge({ config, log, version: version() });
  let stopping: Promise<void> | null = null;
  const stop = (why: string): Promise<void> => {
    if (!stopping) {
      log.info(`stopping (${why})`);
      stopping = bridge.stop();
    }
    return stopping;
  };
  process.on('SIGINT', () => void stop('SIGINT').then(() => process.exit(0)));
  process.on('SIGTERM', () => void stop('SIGTERM').then(() => process.exit(0)));
  try {
    await bridge.start();
  } catch (e) {
    log.error(`cannot start: ${(e as Error).message}`);
    await bridge.stop().catch(() => undefined);
    return 1;
  }
  log.info(`bridge ${version()} running`, { device_id: config.device_id, source: config.source.url });
  setTimeout(collectStartupGarbage, STARTUP_GC_DELAY_MS).unref();
  const stopCollecting = collectAfterBusySpells((ms) => log.debug(`full collection after a busy spell, ${ms.toFixed(1)} ms`));
  await bridge.replayDone();
  stopCollecting();
  await stop('replay finished');
  return 0;
}

/**
 * Packages mqtt.js loads at start for what a bridge seldom or never uses: ws (ws:// and
 * wss:// brokers), socks (a SOCKS proxy, which the bridge never sets) and worker-timers
 * (browsers; with its Babel runtime). In the bundle each sits behind a stand-in that
 * loads the real package on first use, so a bridge on mqtt:// or mqtts:// never
 * evaluates them: about 2.7 MB less JavaScript heap. A stand-in forwards exactly what
 * mqtt.js calls (mqtt/build/lib/connect/ws.js, connect/socks.js, get-timer.js).
 */
const LAZY_PACKAGES: { readonly [name: string]: string } = {
  ws: 'function WebSocket(...a) { return new (load())(...a); }\nWebSocket.createWebSocketStream = (...a) => load().createWebSocketStream(...a);\nmodule.exports = WebSocket;',
  socks: 'exports.SocksClient = function SocksClient(...a) { return new (load().SocksClient)(...a); };',
  'worker-timers': "for (const k of ['setInterval', 'clearInterval', 'setTimeout', 'clearTimeout']) exports[k] = (...a) => load()[k](...a);",
};

function lazyPackages(): import('esbuild').Plugin {
  const names = Object.keys(LAZY_PACKAGES);
  return {
    name: 'lazy-packages',
    setup(b) {
      b.onResolve({ filter: new RegExp(`^(${names.join('|')})$`) }, (args) => ({
        path: args.path, namespace: 'lazy-package', pluginData: require.resolve(args.path, { paths: [args.resolveDir] }),
      }));
      b.onLoad({ filter: /.*/, namespace: 'lazy-package' }, (args) => ({
        contents: `let real;\nconst load = () => real || (real = require(${JSON.stringify(args.pluginData)}));\n${LAZY_PACKAGES[args.path]}\n`,
        loader: 'js',
        resolveDir: path.dirname(args.pluginData as string),
      }));
    },
  };
}

/** Where --build puts the bundle's code beside the small file `node` runs (bridge.js -> bridge.body.js). */
function bodyFileOf(outFile: string): string {
  return outFile.replace(/(\.js)?$/, '.body.js');
}

/**
 * What `node` runs: reads the bundle's code in 64 KiB pieces and compiles it as a CommonJS
 * module (the same require, __filename and __dirname as if node had loaded it). Why not
 * let node load the bundle itself: node reads a module into a buffer that doubles from
 * 128 KiB to 2 MiB for the 1.2 MB bundle and then frees it, and glibc, seeing a block that
 * large freed, raises its mmap threshold to 2 MiB and its trim threshold to 4 MiB for the
 * rest of the process. After that every Buffer under 2 MiB (the web page's week of
 * summaries, the spool's and sinks' buffers) comes from the main heap, and up to 4 MiB of
 * it stays resident when free. Read in small pieces, nothing large is freed and glibc
 * keeps its defaults (128 KiB): the malloc heap at one reading a second 7.1-9.2 -> 3.8-5.5
 * MB, the whole process about 2.5-3 MB smaller at 1/s and after 50 readings/s
 * (bridge/README.md, "Performance and memory").
 */
function loaderSource(bodyName: string): string {
  return [
    "'use strict';",
    `// Loads ${bodyName} (the bridge) without one large read buffer; see scripts/bridge.ts, loaderSource().`,
    "const fs = require('node:fs'), path = require('node:path'), vm = require('node:vm'), { createRequire } = require('node:module');",
    `const file = path.join(__dirname, ${JSON.stringify(bodyName)});`,
    'const piece = Buffer.allocUnsafeSlow(64 * 1024);',
    "let code = '';",
    "const fd = fs.openSync(file, 'r');",
    'try { for (let n; (n = fs.readSync(fd, piece, 0, piece.length, null)) > 0;) code += piece.latin1Slice(0, n); } finally { fs.closeSync(fd); }',
    "const run = vm.compileFunction(code, ['exports', 'require', 'module', '__filename', '__dirname'], { filename: file });",
    'code = null;',
    'const body = { exports: {}, filename: file };',
    'run.call(body.exports, body.exports, createRequire(file), body, file, __dirname);',
    '',
  ].join('\n');
}

/**
 * Bundles this entry and the bridge into CommonJS for plain `node`: the code in
 * bridge.body.js and, in the file named, the few lines that load it (loaderSource above).
 * Packages with native parts (serialport, i2c-bus) stay external and resolve from
 * node_modules, so the files must live inside the project (bridge/dist by default) or
 * beside a node_modules.
 */
async function build(outFile: string): Promise<number> {
  const bodyFile = bodyFileOf(outFile);
  // Loaded here only: esbuild is a build tool, not something the running bridge needs.
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const esbuild = require('esbuild') as typeof import('esbuild');
  const result = await esbuild.build({
    entryPoints: [path.join(__dirname, 'bridge.ts')],
    outfile: bodyFile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    sourcemap: 'linked',
    // Whitespace and comments out, names kept (stack traces stay readable): the source is
    // held in memory as a string for the process's life, and comments with non-ASCII
    // characters would make it a two-byte string, twice the size.
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: 'none',
    charset: 'ascii',
    external: ['serialport', '@serialport/*', 'i2c-bus', 'esbuild'],
    plugins: [lazyPackages()],
    define: { 'process.env.SOLAR_BRIDGE_BUILD_VERSION': JSON.stringify(version()) },
    logLevel: 'warning',
  });
  if (result.errors.length > 0) return 1;
  fs.writeFileSync(outFile, loaderSource(path.basename(bodyFile)));
  process.stdout.write(`wrote ${outFile}\nrun it with: node ${path.relative(process.cwd(), outFile)} --config FILE\n`);
  return 0;
}

main().then((code) => { process.exitCode = code; if (code !== 0) process.exit(code); }, (e: Error) => {
  // The message and where it was thrown; a full trace belongs in a bug report, not the journal.
  const at = (e.stack ?? '').split('\n').find((l) => /^\s+at /.test(l))?.trim();
  process.stderr.write(`bridge: fatal: ${e.message}${at ? ` (${at})` : ''}\n`);
  process.exit(1);
});
