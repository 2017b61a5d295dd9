// The 24-hour activity chart, counted in the browser from the success and
// failed logs (read 100 entries a page, newest first, until they are older
// than the window).

import { api } from './api.js';
import { formatClock, h, id, plural, svg } from './dom.js';

const HOUR = 3600 * 1000;
const PER_PAGE = 100;
const MAX_PAGES = 30; // per log: 3,000 attempts; more are left out and said so

// loadActivity counts a webhook's attempts per hour over the last 24 hours:
// the current hour and the 23 before it.
export async function loadActivity(webhookID, now = Date.now()) {
  const start = Math.floor(now / HOUR) * HOUR - 23 * HOUR;
  const collect = async (kind) => {
    const times = [];
    for (let page = 1; page <= MAX_PAGES; page++) {
      const list = await api.log(webhookID, kind, page, PER_PAGE);
      let older = false;
      for (const e of list) {
        const t = Date.parse(e.created_at);
        if (t >= start) times.push(t); else older = true;
      }
      if (older || list.length < PER_PAGE) return { times, capped: false };
    }
    return { times, capped: true };
  };
  const [ok, failed] = await Promise.all([collect('success'), collect('failed')]);
  const buckets = Array.from({ length: 24 }, (_, i) => ({ start: start + i * HOUR, ok: 0, failed: 0 }));
  const put = (t, key) => {
    const i = Math.floor((t - start) / HOUR);
    if (i >= 0 && i < 24) buckets[i][key]++;
  };
  ok.times.forEach((t) => put(t, 'ok'));
  failed.times.forEach((t) => put(t, 'failed'));
  return { buckets, ok: ok.times.length, failed: failed.times.length, capped: ok.capped || failed.capped };
}

function niceMax(n) {
  if (n <= 4) return 4;
  const step = 10 ** Math.floor(Math.log10(n / 4));
  for (const m of [1, 2, 2.5, 5, 10]) {
    if (Math.ceil(n / (step * m)) <= 4) return Math.ceil(n / (step * m)) * step * m;
  }
  return n;
}

const hourLabel = (t) => formatClock(new Date(t));

// activityChart draws the counts as stacked bars: deliveries at the bottom,
// failed attempts on top. A table of the same figures is one click away.
export function activityChart(a) {
  const W = 1100, H = 190, left = 34, right = 6, top = 8, bottom = 24;
  const plotW = W - left - right, plotH = H - top - bottom;
  const max = niceMax(Math.max(1, ...a.buckets.map((b) => b.ok + b.failed)));
  const y = (v) => top + plotH - (v / max) * plotH;
  const slot = plotW / 24;
  const barW = Math.max(2, slot - 4);
  const titleID = id('chart-title');
  const descID = id('chart-desc');
  const summary = `${plural(a.ok, 'successful delivery', 'successful deliveries')} and ${plural(a.failed, 'failed attempt')} in the last 24 hours${a.capped ? ' (at least: the busiest hours were not all read)' : ''}.`;

  const grid = [];
  for (let i = 0; i <= 4; i++) {
    const v = (max / 4) * i;
    grid.push(svg('line', { x1: left, x2: W - right, y1: y(v), y2: y(v), class: 'grid' }));
    grid.push(svg('text', { x: left - 6, y: y(v) + 4, class: 'axis', 'text-anchor': 'end' }, Number.isInteger(v) ? String(v) : v.toFixed(1)));
  }
  const bars = a.buckets.map((b, i) => {
    const x = left + i * slot + (slot - barW) / 2;
    const label = `${hourLabel(b.start)}–${hourLabel(b.start + HOUR)}: ${b.ok} delivered, ${b.failed} failed`;
    return svg('g', {},
      svg('title', {}, label),
      svg('rect', { x: left + i * slot, y: top, width: slot, height: plotH, class: 'hover' }),
      b.ok ? svg('rect', { x, y: y(b.ok), width: barW, height: y(0) - y(b.ok), class: 'bar-ok' }) : null,
      b.failed ? svg('rect', { x, y: y(b.ok + b.failed), width: barW, height: y(b.ok) - y(b.ok + b.failed), class: 'bar-fail' }) : null);
  });
  const ticks = a.buckets.map((b, i) => (i % 4 === 0
    ? svg('text', { x: left + i * slot + slot / 2, y: H - 6, class: 'axis', 'text-anchor': 'middle' }, hourLabel(b.start))
    : null));

  const busy = a.buckets.filter((b) => b.ok || b.failed);
  return h('figure', { class: 'chart' },
    svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-labelledby': `${titleID} ${descID}` },
      svg('title', { id: titleID }, 'Deliveries and failures per hour, last 24 hours'),
      svg('desc', { id: descID }, summary),
      grid, bars, ticks),
    h('figcaption', {},
      h('span', { class: 'legend legend-ok' }, `Delivered: ${a.ok}`),
      h('span', { class: 'legend legend-fail' }, `Failed attempts: ${a.failed}`),
      h('span', { class: 'muted' }, a.capped ? 'Counts are a lower bound.' : '')),
    h('details', { class: 'chart-table' },
      h('summary', {}, 'Show as a table'),
      busy.length
        ? h('table', {},
          h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Hour'), h('th', { scope: 'col', class: 'num' }, 'Delivered'), h('th', { scope: 'col', class: 'num' }, 'Failed attempts'))),
          h('tbody', {}, busy.map((b) => h('tr', {},
            h('th', { scope: 'row' }, `${hourLabel(b.start)}–${hourLabel(b.start + HOUR)}`),
            h('td', { class: 'num' }, String(b.ok)), h('td', { class: 'num' }, String(b.failed))))))
        : h('p', { class: 'muted' }, 'No attempt in the last 24 hours.')));
}
