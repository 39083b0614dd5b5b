/**
 * The page: fills the Now cards, the charts, the events and (with a token) the controls
 * from the bridge's /api/…, and keeps them live over server-sent events. When the stream
 * drops (the bridge restarting), it says so and the browser reconnects every second; a
 * different bridge process on reconnect means the charts are fetched again.
 */
import 'uplot/dist/uPlot.min.css';
import './app.css';
import { BatteryValues, ChartData, PageState, ReadingState, WebEvent, getJson } from './api';
import { Charts } from './charts';
import { Controls } from './controls';
import { bytes, clock, duration, num } from './format';

const $ = <T extends HTMLElement = HTMLElement>(sel: string): T => document.querySelector(sel) as T;

function field(name: string, text: string): HTMLElement {
  const el = $(`[data-field="${name}"]`);
  el.textContent = text;
  return el;
}

function showWhen(name: string, show: boolean): void {
  document.querySelectorAll<HTMLElement>(`[data-when="${name}"]`).forEach((e) => { e.hidden = !show; });
}

let state: PageState | null = null;
let receivedAt = 0;
let range = '24h';
let instance: string | null = null;
const charts = new Charts($('#charts'));
const controls = new Controls();

function renderReading(r: ReadingState | null): void {
  if (!r) return;
  document.body.dataset.readingTs = String(r.timestamp_ms);
  field('battery-voltage', num(r.battery.voltage, 3));
  field('battery-current', num(r.battery.current, 3));
  field('battery-power', num(r.battery.power, 1));
  field('load-power', num(r.load.power, 1));
  field('load-current', num(r.load.current, 3));
  field('load-voltage', num(r.load.voltage, 3));
  field('solar-voltage', num(r.solar.voltage, 2));
  showWhen('solar-a', r.solar.current !== undefined);
  showWhen('solar-w', r.solar.power !== undefined);
  field('solar-current', num(r.solar.current, 3));
  field('solar-power', num(r.solar.power, 1));
  const t = state?.thresholds;
  const sv = r.solar.voltage;
  const known = sv !== null && sv !== undefined && t && t.sdn !== undefined && t.sup !== undefined;
  const sun = field('sun', !known ? '–' : sv >= t.sup ? 'up' : sv <= t.sdn ? 'down' : 'dawn or dusk');
  sun.title = known ? `sun down below ${t.sdn} V, up above ${t.sup} V (the MCU's thresholds)` : '';
  const onoff = field('charger-state', r.charger.state);
  onoff.dataset.on = String(r.charger.on);
  field('charger-reason', r.charger.reason_words).dataset.token = r.charger.reason;
  field('charger-mode', r.charger.mode_words).dataset.token = r.charger.mode;
  const exp = r.charger.force_expires_ms;
  showWhen('expiry', r.charger.mode !== 'auto');
  field('force-expiry', exp ? `${clock(exp)} (in ${duration((exp - Date.now()) / 1000)})` : 'asking the MCU…');
  const f = field('faults', r.faults.words.length ? r.faults.words.join('; ') : 'none');
  f.dataset.bad = String(r.faults.words.length > 0);
}

function renderAge(): void {
  if (!state?.reading) {
    field('age', 'no reading yet');
    return;
  }
  // The bridge said how old the reading was; the page's clock adds the time since.
  const age = state.reading.age_s + (Date.now() - receivedAt) / 1000;
  const el = field('age', `${duration(age)} ago`);
  el.title = clock(state.reading.timestamp_ms);
  el.dataset.bad = String(age > 30);
}

function renderHealth(s: PageState): void {
  const h = s.health;
  const link = field('link', h.source.up ? 'up' : 'DOWN');
  link.dataset.bad = String(!h.source.up);
  link.title = h.source.description ?? '';
  const sinks = Object.entries(h.sinks);
  const sk = field('sinks', sinks.length === 0 ? 'none configured' : sinks.map(([n, v]) => `${n} ${v.connected ? 'ok' : 'DOWN'}${v.pending_records > 0 ? ` (${v.pending_records} waiting)` : ''}`).join(', '));
  sk.dataset.bad = String(sinks.some(([, v]) => !v.connected));
  field('spool', h.spool ? `${bytes(h.spool.bytes)} in ${h.spool.segments} segment${h.spool.segments === 1 ? '' : 's'}` : '–');
  showWhen('nut', s.nut_clients !== null);
  field('nut', String(s.nut_clients ?? ''));
  renderBattery(s.battery);
  field('version', `bridge ${s.version}`);
}

const has = <T>(v: T | null | undefined): v is T => v !== null && v !== undefined;

/** The estimator's figures; each line only when the estimator gives it. */
function renderBattery(b: BatteryValues | null): void {
  showWhen('soc', has(b?.battery_soc));
  field('soc', num(b?.battery_soc, 0));
  field('soc-uncertainty', has(b?.battery_soc_uncertainty) ? ` ± ${num(b.battery_soc_uncertainty, 0)}` : '');
  // No time to go while charging or idle: the state says why.
  const ttg = b?.battery_time_to_go_s;
  const ttgState = b?.battery_time_to_go_state;
  showWhen('ttg', has(ttg) || has(ttgState));
  field('time-to-go', has(ttg) ? duration(ttg) : ttgState ?? '–');
  showWhen('alone', has(b?.battery_runtime_alone_s));
  field('runtime-alone', has(b?.battery_runtime_alone_s) ? duration(b.battery_runtime_alone_s) : '–');
  showWhen('health', has(b?.battery_health));
  field('battery-health', num(b?.battery_health, 0));
  const lasts = b?.night_lasts;
  const margin = b?.night_margin_ah;
  showWhen('night', has(lasts));
  const night = field('night', !has(lasts) ? '–' : lasts
    ? `lasts${has(margin) ? ` (${num(margin, 1)} Ah spare)` : ''}`
    : `runs out${has(margin) ? ` (${num(Math.abs(margin), 1)} Ah short)` : ''}`);
  night.dataset.bad = String(lasts === false);
}

function render(s: PageState): void {
  state = s;
  receivedAt = Date.now();
  renderReading(s.reading);
  renderHealth(s);
  renderAge();
  controls.update(s);
  charts.setThresholds(s.thresholds);
}

async function loadCharts(): Promise<void> {
  const width = Math.min(4000, Math.max(200, Math.round($('#charts').clientWidth)));
  charts.show(await getJson<ChartData>(`/api/chart?range=${range}&width=${width}`));
}

function renderEvents(list: WebEvent[]): void {
  const ol = $('#events');
  ol.textContent = '';
  if (list.length === 0) {
    const li = document.createElement('li');
    li.className = 'empty';
    li.textContent = 'No events in the last week.';
    ol.append(li);
  }
  for (const e of list.slice(0, 50)) ol.append(eventItem(e));
}

function eventItem(e: WebEvent): HTMLLIElement {
  const li = document.createElement('li');
  li.dataset.kind = e.kind;
  const time = document.createElement('time');
  time.dateTime = new Date(e.ts).toISOString();
  time.textContent = clock(e.ts);
  const text = document.createElement('span');
  text.textContent = e.text;
  li.append(time, text);
  return li;
}

function notice(text: string | null, kind = 'warn'): void {
  const n = $('#notice');
  n.hidden = text === null;
  n.textContent = text ?? '';
  n.dataset.kind = kind;
}

function setLink(s: 'live' | 'reconnecting' | 'connecting'): void {
  const el = $('#link');
  el.dataset.state = s;
  el.textContent = s === 'live' ? 'Live' : s === 'reconnecting' ? 'Reconnecting…' : 'Connecting…';
}

let chartTimer = 0;
function connect(): void {
  const es = new EventSource('/api/live');
  let lost = false;
  es.addEventListener('hello', (ev) => {
    const h = JSON.parse((ev as MessageEvent).data) as { instance: string };
    const restarted = instance !== null && h.instance !== instance;
    instance = h.instance;
    setLink('live');
    if (lost || restarted) {
      notice(restarted ? 'Reconnected: the bridge restarted. Live again.' : 'Reconnected. Live again.', 'ok');
      setTimeout(() => notice(null), 6000);
      refreshAll().catch(retryLater);
    }
    lost = false;
  });
  es.addEventListener('state', (ev) => {
    const s = JSON.parse((ev as MessageEvent).data) as PageState;
    render(s);
    if (s.reading && !charts.add(s.reading)) {
      clearTimeout(chartTimer);
      chartTimer = window.setTimeout(() => loadCharts().catch(retryLater), 500);
    }
  });
  es.addEventListener('event', (ev) => {
    const e = JSON.parse((ev as MessageEvent).data) as WebEvent;
    const ol = $('#events');
    ol.querySelector('.empty')?.remove();
    ol.prepend(eventItem(e));
    while (ol.children.length > 50) ol.lastElementChild!.remove();
  });
  es.onerror = () => {
    // EventSource retries by itself (every second: the bridge sends retry: 1000).
    lost = true;
    setLink('reconnecting');
    notice('Lost the connection to the bridge. Reconnecting…');
  };
}

/** A fetch that failed because the bridge went away: the live stream's reconnect fetches again. */
function retryLater(e: Error): void {
  console.warn(`bridge request failed (${e.message}); the reconnect will load it again`);
}

async function refreshAll(): Promise<void> {
  const [s, ev] = await Promise.all([getJson<PageState>('/api/state'), getJson<{ events: WebEvent[] }>('/api/events')]);
  render(s);
  renderEvents(ev.events);
  await loadCharts();
}

document.querySelectorAll<HTMLButtonElement>('[data-range]').forEach((b) => {
  b.addEventListener('click', () => {
    range = b.dataset.range!;
    document.querySelectorAll<HTMLButtonElement>('[data-range]').forEach((o) => o.setAttribute('aria-pressed', String(o === b)));
    loadCharts().catch(retryLater);
  });
});
setInterval(renderAge, 1000);
refreshAll().catch((e: Error) => notice(`Could not load the page's data: ${e.message}`)).finally(connect);
