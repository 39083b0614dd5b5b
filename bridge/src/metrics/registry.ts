/**
 * Counters and gauges with labels, rendered in the Prometheus text exposition format
 * (version 0.0.4). Gauges that mirror state elsewhere (spool size, queue depth) are read
 * through collect callbacks at scrape time instead of being pushed on every change.
 */

export type Labels = { [name: string]: string };

interface Family {
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  values: Map<string, { labels: Labels; value: number }>;
}

function labelKey(labels: Labels): string {
  // Fast paths for the per-frame calls: no labels, or one (no sort, no key array).
  let n = 0;
  let only = '';
  for (const k in labels) {
    if (++n > 1) break;
    only = k;
  }
  if (n === 0) return '';
  if (n === 1) return only + '\u0000' + labels[only] + '\u0001';
  const keys = Object.keys(labels).sort();
  let s = '';
  for (const k of keys) s += k + '\u0000' + labels[k] + '\u0001';
  return s;
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

const NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

/** One value of a family, kept by its owner: no label key to build per update. */
type Entry = { labels: Labels; value: number };

function entryOf(family: Family, labels: Labels): Entry {
  const key = labelKey(labels);
  let e = family.values.get(key);
  if (!e) {
    e = { labels: { ...labels }, value: 0 };
    family.values.set(key, e);
  }
  return e;
}

/**
 * One label set of a counter, for a caller that updates it per frame. The series appears
 * at its first inc(), as with Counter.inc.
 */
export class CounterCell {
  private entry: Entry | null = null;
  constructor(private readonly family: Family, private readonly labels: Labels) {}
  inc(by = 1): void {
    (this.entry ??= entryOf(this.family, this.labels)).value += by;
  }
}

/** One label set of a gauge, for a caller that sets it per frame; appears at its first set(). */
export class GaugeCell {
  private entry: Entry | null = null;
  constructor(private readonly family: Family, private readonly labels: Labels) {}
  set(value: number): void {
    (this.entry ??= entryOf(this.family, this.labels)).value = value;
  }
}

export class Counter {
  constructor(private readonly family: Family) {}
  /** The counter of one label set, to update without looking it up each time. */
  cell(labels: Labels = {}): CounterCell {
    return new CounterCell(this.family, { ...labels });
  }
  inc(labels: Labels = {}, by = 1): void {
    entryOf(this.family, labels).value += by;
  }
  get(labels: Labels = {}): number {
    return this.family.values.get(labelKey(labels))?.value ?? 0;
  }
  /** Sum over every label set (e.g. rejected lines of any reason). */
  total(): number {
    let sum = 0;
    for (const v of this.family.values.values()) sum += v.value;
    return sum;
  }
  /** For a total kept elsewhere (e.g. by the spool), copied in at scrape time. */
  mirror(total: number, labels: Labels = {}): void {
    entryOf(this.family, labels).value = total;
  }
}

export class Gauge {
  constructor(private readonly family: Family) {}
  /** The gauge of one label set, to set without looking it up each time. */
  cell(labels: Labels = {}): GaugeCell {
    return new GaugeCell(this.family, { ...labels });
  }
  set(value: number, labels: Labels = {}): void {
    entryOf(this.family, labels).value = value;
  }
  get(labels: Labels = {}): number {
    return this.family.values.get(labelKey(labels))?.value ?? 0;
  }
}

export class MetricsRegistry {
  private readonly families = new Map<string, Family>();
  private readonly collectors: Array<() => void> = [];

  private family(name: string, help: string, type: Family['type']): Family {
    if (!NAME_RE.test(name)) throw new Error(`bad metric name ${name}`);
    if (this.families.has(name)) throw new Error(`metric ${name} registered twice`);
    const f: Family = { name, help, type, values: new Map() };
    this.families.set(name, f);
    return f;
  }

  counter(name: string, help: string): Counter {
    return new Counter(this.family(name, help, 'counter'));
  }

  gauge(name: string, help: string): Gauge {
    return new Gauge(this.family(name, help, 'gauge'));
  }

  /** Runs before every render, to refresh gauges from their source of truth. */
  onCollect(fn: () => void): void {
    this.collectors.push(fn);
  }

  render(): string {
    for (const c of this.collectors) c();
    let out = '';
    for (const f of this.families.values()) {
      out += `# HELP ${f.name} ${escapeHelp(f.help)}\n# TYPE ${f.name} ${f.type}\n`;
      for (const { labels, value } of f.values.values()) {
        const keys = Object.keys(labels);
        const l = keys.length === 0 ? '' : '{' + keys.map((k) => `${k}="${escapeLabel(labels[k])}"`).join(',') + '}';
        out += `${f.name}${l} ${formatValue(value)}\n`;
      }
    }
    return out;
  }
}
