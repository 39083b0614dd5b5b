/**
 * Real services for integration tests, each started on free loopback ports in its own
 * temp directory and stopped (or killed, for fault tests) by the test:
 *
 *   const broker = await MosquittoService.start();          // broker.url, .stop(), .kill(), .restart()
 *   const influx = await Influxd1Service.start();            // influx.url, .createDatabase(), .query()
 *   const vm = await VictoriaMetricsService.start();         // vm.url, .export('{__name__=~"power_.*"}')
 *   const pty = await PtyPair.start();                       // pty.a (MCU side), pty.b (host side)
 *   const mcu = await LineServer.start();                    // mcu.url = tcp://127.0.0.1:PORT, .send()
 *   ... finally: await broker.dispose(); ...
 */
export { MosquittoService } from './mosquitto';
export type { MosquittoOptions } from './mosquitto';
export { Influxd1Service } from './influxdb1';
export type { InfluxSeries } from './influxdb1';
export { VictoriaMetricsService } from './victoria-metrics';
export type { VmSeries } from './victoria-metrics';
export { PtyPair } from './socat-pty';
export { LineServer } from './line-server';
export { makeTestPki } from './tls-certs';
export type { TestPki } from './tls-certs';
export { ManagedProcess } from './managed-process';
export { freePort, canConnect } from './free-port';
export { makeTempDir, removeDir } from './temp-dir';
export { waitFor, sleep } from './wait-for';
export { HttpFaultProxy } from './http-fault-proxy';
export type { Fault, ProxiedRequest } from './http-fault-proxy';
