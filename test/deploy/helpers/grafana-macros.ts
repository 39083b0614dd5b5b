/**
 * What Grafana does to a dashboard query before its InfluxDB data source sends it, for the
 * macros and variable syntaxes these dashboards use, and a reader of which measurements,
 * fields and channels a query touches (to compare the InfluxQL and Flux dashboards).
 */

export interface GrafanaContext {
  fromMs: number;
  toMs: number;
  /** $__interval as Grafana writes it (e.g. "1m") and in ms. */
  interval: string;
  intervalMs: number;
  vars: { [name: string]: string };
}

/**
 * InfluxQL: $timeFilter → `time >= Xms and time <= Yms` (what Grafana's InfluxDB data source
 * writes), $__interval_ms, $__interval, then template variables as $name, ${name} and
 * [[name]]. Anything still starting with `$` afterwards is a macro or variable this
 * expansion does not know, and Grafana would have left it in the query too: that throws.
 */
export function expandInfluxQL(query: string, c: GrafanaContext): string {
  let q = query
    .split('$timeFilter').join(`time >= ${c.fromMs}ms and time <= ${c.toMs}ms`)
    .split('$__interval_ms').join(String(c.intervalMs))
    .split('$__interval').join(c.interval);
  q = q.replace(/\$\{(\w+)\}|\[\[(\w+)\]\]|\$(\w+)/g, (whole, a?: string, b?: string, d?: string) => {
    const name = (a ?? b ?? d) as string;
    if (!(name in c.vars)) throw new Error(`query uses ${whole}, which is neither a macro expanded here nor a variable given (${Object.keys(c.vars).join(', ')}): ${query}`);
    return c.vars[name];
  });
  if (q.includes('$')) throw new Error(`unexpanded $ left in ${q}`);
  return q;
}

export interface QueryRefs {
  measurements: string[];
  fields: string[];
  channels: string[];
}

const uniqSorted = (xs: string[]): string[] => [...new Set(xs)].sort();

function all(re: RegExp, text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(re)) out.push(m[1]);
  return out;
}

/**
 * InfluxQL as these dashboards write it: FROM "m", functions of "field", "channel" = 'c'.
 * A function of a name some SELECT defines with AS is of a subquery's column, not a field.
 */
export function influxqlRefs(q: string): QueryRefs {
  const aliases = new Set(all(/AS "([^"]+)"/g, q));
  return {
    measurements: uniqSorted(all(/FROM "(\w+)"/g, q)),
    fields: uniqSorted(all(/\w+\("(\w+)"\)/g, q).filter((f) => !aliases.has(f))),
    channels: uniqSorted(all(/"channel" = '(\w+)'/g, q)),
  };
}

/** Flux as these dashboards write it: r._measurement == "m", r._field == "f", r.channel == "c". */
export function fluxRefs(q: string): QueryRefs {
  return {
    measurements: uniqSorted(all(/r\._measurement == "(\w+)"/g, q)),
    fields: uniqSorted(all(/r\._field == "(\w+)"/g, q)),
    channels: uniqSorted(all(/r\.channel == "(\w+)"/g, q)),
  };
}
