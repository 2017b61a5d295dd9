// A webhook's circuit breaker, shown only while it holds deliveries back.

import { badge, h } from './dom.js';

// circuitBadge is a badge for an open or half open circuit, with the time of
// its next probe; null while the circuit is closed.
export function circuitBadge(c) {
  if (!c || c.state === 'closed') return null;
  const probe = c.next_probe_at ? new Date(c.next_probe_at).toLocaleTimeString() : '';
  const open = c.state === 'open';
  const el = badge(open ? 'Circuit open' : 'Circuit half open', 'circuit');
  el.title = open
    ? `${c.consecutive_failures} failed attempts in a row: deliveries wait until one probe at ${probe}`
    : 'A probe attempt is out: its success sends the waiting deliveries';
  return h('span', { class: 'circuit' }, el, ' ',
    h('span', { class: 'muted' }, open ? `next probe ${probe}` : 'probing'));
}
