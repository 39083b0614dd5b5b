/**
 * The reference the bridge's running cost is measured against (issue 16): a bare Node-RED
 * flow, `tcp in` (client, one message per line) -> `mqtt out` (QoS 1), no disk, no database.
 * Node-RED is far too big to be a dependency of every install, so the benchmark installs a
 * pinned version on first use into a git-ignored cache beside this file, and runs it with a
 * generated flows.json and settings.js in a temporary user directory, editor and HTTP off,
 * everything on loopback.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ManagedProcess, waitFor } from '../helpers/services';

/** The newest 4.x: Node-RED 5 needs Node >= 22.9, this project supports Node 20. */
export const NODE_RED_VERSION = '4.1.15';
const CACHE = path.join(__dirname, '.node-red');
const RED_JS = path.join(CACHE, 'node_modules', 'node-red', 'red.js');

/** Installs Node-RED into the cache unless the pinned version is already there; returns red.js. */
export function ensureNodeRed(): string {
  const pkg = path.join(CACHE, 'node_modules', 'node-red', 'package.json');
  const have = fs.existsSync(pkg) ? (JSON.parse(fs.readFileSync(pkg, 'utf8')) as { version: string }).version : '';
  if (have === NODE_RED_VERSION) return RED_JS;
  console.log(`installing node-red@${NODE_RED_VERSION} into ${CACHE} (once)`);
  fs.mkdirSync(CACHE, { recursive: true });
  const r = spawnSync('npm', ['install', '--prefix', CACHE, '--no-audit', '--no-fund', '--no-save', '--omit=dev', `node-red@${NODE_RED_VERSION}`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== 0) throw new Error(`npm install node-red@${NODE_RED_VERSION} failed (status ${r.status}): ${r.stderr.slice(-2000)}`);
  return RED_JS;
}

export interface FlowOptions {
  /** Where the line stream is served (the bridge's TCP source, the same server). */
  sourcePort: number;
  brokerPort: number;
  /** Where each line is published, QoS 1, not retained. */
  topic: string;
}

/** flows.json: one TCP client reading lines, one MQTT publisher, one broker connection. */
export function flowsJson(o: FlowOptions): object[] {
  return [
    { id: 'flow1', type: 'tab', label: 'bench', disabled: false },
    { id: 'broker1', type: 'mqtt-broker', name: 'bench broker', broker: '127.0.0.1', port: String(o.brokerPort), clientid: '', autoConnect: true, usetls: false, protocolVersion: '4', keepalive: '60', cleansession: true, autoUnsubscribe: true },
    {
      id: 'tcpin1', type: 'tcp in', z: 'flow1', name: 'mcu', server: 'client', host: '127.0.0.1', port: String(o.sourcePort),
      datamode: 'stream', datatype: 'utf8', newline: '\\n', topic: '', trim: true, base64: false, tls: '', wires: [['mqttout1']],
    },
    { id: 'mqttout1', type: 'mqtt out', z: 'flow1', name: 'publish', topic: o.topic, qos: '1', retain: 'false', broker: 'broker1', wires: [] },
  ];
}

function settingsJs(userDir: string): string {
  const s = {
    userDir,
    flowFile: 'flows.json',
    credentialSecret: false,
    // No editor, no HTTP endpoints: the flow alone, the least Node-RED can cost.
    httpAdminRoot: false,
    httpNodeRoot: false,
    disableEditor: true,
    uiHost: '127.0.0.1',
    diagnostics: { enabled: false, ui: false },
    runtimeState: { enabled: false, ui: false },
    telemetry: { enabled: false, updateNotification: false },
    logging: { console: { level: 'info', metrics: false, audit: false } },
  };
  return `module.exports = ${JSON.stringify(s, null, 2)};\n`;
}

/** Starts Node-RED with the flow; resolves once its MQTT connection is up. */
export async function startNodeRed(userDir: string, o: FlowOptions, logFile: string): Promise<ManagedProcess> {
  const redJs = ensureNodeRed();
  fs.mkdirSync(userDir, { recursive: true });
  fs.writeFileSync(path.join(userDir, 'flows.json'), JSON.stringify(flowsJson(o), null, 2));
  fs.writeFileSync(path.join(userDir, 'settings.js'), settingsJs(userDir));
  const proc = new ManagedProcess(process.execPath, [redJs, '--userDir', userDir, '--settings', path.join(userDir, 'settings.js')], { cwd: userDir, logFile });
  await waitFor(() => {
    if (!proc.running) throw new Error(`node-red exited: ${proc.output().slice(-2000)}`);
    return /Connected to broker/.test(proc.output());
  }, { timeoutMs: 60000, what: 'node-red to start its flow and connect to the broker', detail: () => proc.output().slice(-2000) });
  return proc;
}
