// Activity charts of hookd's stats (GET .../stats): the attempts of a
// window, bucket by bucket, exactly as the server counted them.

import { formatClock, h, id, plural, svg } from './dom.js';

function niceMax(n) {
  if (n <= 4) return 4;
  const step = 10 ** Math.floor(Math.log10(n / 4));
  for (const m of [1, 2, 2.5, 5, 10]) {
    if (Math.ceil(n / (step * m)) <= 4) return Math.ceil(n / (step * m)) * step * m;
  }
  return n;
}

// buckets turns an API activity into [{start, ok, failed}], start in ms.
function buckets(a) {
  const from = Date.parse(a.from);
  const width = a.bucket_seconds * 1000;
  return a.succeeded.map((ok, i) => ({ start: from + i * width, end: from + (i + 1) * width, ok, failed: a.failed[i] }));
}

// perMinute shows a rate a minute with the digits it needs.
export function perMinute(n) {
  if (n === 0) return '0';
  if (n < 0.01) return 'under 0.01';
  return String(n >= 10 ? Math.round(n) : n.toFixed(n >= 1 ? 1 : 2));
}

// activityChart draws an activity as stacked bars: deliveries at the
// bottom, failed attempts on top. A table of the same figures is one click
// away. title names the window ("last 24 hours"), per its bucket ("hour").
function activityChart(a, { title, per, tickEvery }) {
  const list = buckets(a);
  const W = 1100, H = 190, left = 34, right = 6, top = 8, bottom = 24;
  const plotW = W - left - right, plotH = H - top - bottom;
  const max = niceMax(Math.max(1, ...list.map((b) => b.ok + b.failed)));
  const y = (v) => top + plotH - (v / max) * plotH;
  const slot = plotW / list.length;
  const barW = Math.max(2, slot - Math.min(4, slot / 4));
  const titleID = id('chart-title');
  const descID = id('chart-desc');
  const label = (b) => `${formatClock(new Date(b.start))}–${formatClock(new Date(b.end))}`;
  const summary = `${plural(a.total_succeeded, 'successful delivery', 'successful deliveries')} and ${plural(a.total_failed, 'failed attempt')} in the ${title}.`;

  const grid = [];
  for (let i = 0; i <= 4; i++) {
    const v = (max / 4) * i;
    grid.push(svg('line', { x1: left, x2: W - right, y1: y(v), y2: y(v), class: 'grid' }));
    grid.push(svg('text', { x: left - 6, y: y(v) + 4, class: 'axis', 'text-anchor': 'end' }, Number.isInteger(v) ? String(v) : v.toFixed(1)));
  }
  const bars = list.map((b, i) => {
    const x = left + i * slot + (slot - barW) / 2;
    return svg('g', {},
      svg('title', {}, `${label(b)}: ${b.ok} delivered, ${b.failed} failed`),
      svg('rect', { x: left + i * slot, y: top, width: slot, height: plotH, class: 'hover' }),
      b.ok ? svg('rect', { x, y: y(b.ok), width: barW, height: y(0) - y(b.ok), class: 'bar-ok' }) : null,
      b.failed ? svg('rect', { x, y: y(b.ok + b.failed), width: barW, height: y(b.ok) - y(b.ok + b.failed), class: 'bar-fail' }) : null);
  });
  const ticks = list.map((b, i) => (i % tickEvery === 0
    ? svg('text', { x: left + i * slot + slot / 2, y: H - 6, class: 'axis', 'text-anchor': 'middle' }, formatClock(new Date(b.start)))
    : null));

  const busy = list.filter((b) => b.ok || b.failed);
  return h('figure', { class: 'chart' },
    svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-labelledby': `${titleID} ${descID}` },
      svg('title', { id: titleID }, `Deliveries and failures per ${per}, ${title}`),
      svg('desc', { id: descID }, summary),
      grid, bars, ticks),
    h('figcaption', {},
      h('span', { class: 'legend legend-ok' }, `Delivered: ${a.total_succeeded}`),
      h('span', { class: 'legend legend-fail' }, `Failed attempts: ${a.total_failed}`),
      h('span', { class: 'muted' }, `${perMinute(a.succeeded_per_minute)} delivered and ${perMinute(a.failed_per_minute)} failed a minute`)),
    h('details', { class: 'chart-table' },
      h('summary', {}, 'Show as a table'),
      busy.length
        ? h('table', {},
          h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, per === 'hour' ? 'Hour' : 'Minute'), h('th', { scope: 'col', class: 'num' }, 'Delivered'), h('th', { scope: 'col', class: 'num' }, 'Failed attempts'))),
          h('tbody', {}, busy.map((b) => h('tr', {},
            h('th', { scope: 'row' }, label(b)),
            h('td', { class: 'num' }, String(b.ok)), h('td', { class: 'num' }, String(b.failed))))))
        : h('p', { class: 'muted' }, `No attempt in the ${title}.`)));
}

// dayChart and hourChart are the two windows of the stats.
export const dayChart = (stats) => activityChart(stats.last_day, { title: 'last 24 hours', per: 'hour', tickEvery: 4 });
export const hourChart = (stats) => activityChart(stats.last_hour, { title: 'last hour', per: 'minute', tickEvery: 10 });
