/** The NUT server's own counters and gauges, registered on the bridge's /metrics registry. */
import type { Counter, Gauge, MetricsRegistry } from '../metrics/registry';

export interface NutMetrics {
  registry: MetricsRegistry;
  connections: Gauge;
  connectionsTotal: Counter;
  requests: Counter;
  errors: Counter;
  mainsEvents: Counter;
}

export function createNutMetrics(r: MetricsRegistry): NutMetrics {
  return {
    registry: r,
    connections: r.gauge('solar_bridge_nut_connections', 'Open connections to the NUT server.'),
    connectionsTotal: r.counter('solar_bridge_nut_connections_total', 'NUT connections by result: accepted, refused (connection limit), idle (closed after the idle timeout), slow (closed: not reading its answers).'),
    requests: r.counter('solar_bridge_nut_requests_total', 'NUT request lines answered, by command (unknown, unparsable, empty and too_long for bad lines).'),
    errors: r.counter('solar_bridge_nut_errors_total', 'NUT requests answered with ERR, by error word (DATA-STALE, ACCESS-DENIED, UNKNOWN-UPS, ...).'),
    mainsEvents: r.counter('solar_bridge_nut_mains_events_total', 'Mains outages and restorations detected from the readings, by kind.'),
  };
}
