// The trigger event picker: the 123 events of the catalog grouped by
// family, with a search box and "select all" per family.

import { EVENT_FAMILIES, EVENT_NAMES } from './events.js';
import { h, id } from './dom.js';

const normalise = (s) => s.trim().toUpperCase().replace(/[\s-]+/g, '_');

export function eventPicker(initial = []) {
  const selected = new Set(initial);
  const searchID = id('event-search');
  const total = h('p', { class: 'picker-count', 'aria-live': 'polite' });
  const noMatch = h('p', { class: 'muted', hidden: true });
  const search = h('input', {
    type: 'search', id: searchID, autocomplete: 'off', spellcheck: 'false',
    placeholder: 'e.g. ASSET_ADDED or comment', oninput: () => { filter(); update(); },
  });

  const families = EVENT_FAMILIES.map((fam) => {
    const boxes = fam.events.map((name) => {
      const boxID = id('event');
      const cb = h('input', {
        type: 'checkbox', id: boxID, name: 'trigger_events', value: name, checked: selected.has(name),
        onchange: () => {
          if (cb.checked) selected.add(name); else selected.delete(name);
          update();
        },
      });
      return { name, cb, item: h('li', {}, cb, h('label', { for: boxID }, name)) };
    });
    const counter = h('span', { class: 'family-count' });
    const toggleText = h('span', {});
    const toggle = h('button', {
      type: 'button', class: 'small secondary',
      onclick: () => {
        const visible = boxes.filter((b) => !b.item.hidden);
        const all = visible.every((b) => b.cb.checked);
        for (const b of visible) {
          b.cb.checked = !all;
          if (all) selected.delete(b.name); else selected.add(b.name);
        }
        update();
      },
    }, toggleText, h('span', { class: 'visually-hidden' }, ` in ${fam.label}`));
    const el = h('fieldset', { class: 'family', 'data-family': fam.id },
      h('legend', {}, fam.label, ' ', counter),
      h('div', { class: 'family-tools' }, toggle),
      h('ul', { class: 'event-grid' }, boxes.map((b) => b.item)));
    return { fam, boxes, counter, toggle, toggleText, el };
  });

  function filter() {
    const q = normalise(search.value);
    let shown = 0;
    for (const f of families) {
      let n = 0;
      for (const b of f.boxes) {
        b.item.hidden = q !== '' && !b.name.includes(q) && !f.fam.label.toUpperCase().includes(q);
        if (!b.item.hidden) n++;
      }
      f.el.hidden = n === 0;
      shown += n;
    }
    noMatch.hidden = shown > 0;
    noMatch.textContent = `No event matches “${search.value.trim()}”.`;
  }

  function update() {
    const searching = search.value.trim() !== '';
    total.textContent = `${selected.size} of ${EVENT_NAMES.length} events selected`;
    for (const f of families) {
      const n = f.boxes.filter((b) => b.cb.checked).length;
      f.counter.textContent = `(${n} of ${f.boxes.length})`;
      const visible = f.boxes.filter((b) => !b.item.hidden);
      const all = visible.length > 0 && visible.every((b) => b.cb.checked);
      f.toggleText.textContent = all
        ? (searching ? `Clear ${visible.length} shown` : 'Clear all')
        : (searching ? `Select ${visible.length} shown` : 'Select all');
    }
  }

  filter();
  update();

  const el = h('div', { class: 'picker' },
    h('div', { class: 'picker-head' },
      h('div', { class: 'field inline' }, h('label', { for: searchID }, 'Search events'), search),
      total),
    noMatch,
    h('div', { class: 'families' }, families.map((f) => f.el)));

  return {
    el,
    // values lists the selected events in the catalog's order.
    values: () => EVENT_NAMES.filter((n) => selected.has(n)),
    focus: () => (families.flatMap((f) => f.boxes).find((b) => !b.item.hidden)?.cb || search).focus(),
  };
}
