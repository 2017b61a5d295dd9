// A webhook's delivery settings: hookd's own (the settings sub-resource,
// beside MediaPocket's webhook object), shown with their defaults and
// changed with a small form. A validation error the API answers is shown
// next to the field it names, as in the webhook form.

import { api, shortMessage } from './api.js';
import { confirmDialog, errorBox, h, id, notice } from './dom.js';

// textControl is a one-line input whose text goes to hookd as typed (hookd
// checks it and names what is wrong); empty is the default, null.
function textControl(name, inputmode) {
  return () => {
    const input = h('input', { type: 'text', inputmode, name, id: id(name), autocomplete: 'off', spellcheck: 'false', placeholder: 'default' });
    return {
      el: input,
      inputs: [input],
      labelFor: input.id,
      read: () => (input.value.trim() === '' ? null : input.value.trim()),
      write: (v) => { input.value = v === null ? '' : String(v); },
      focus: () => input.focus(),
    };
  };
}

// filterControl edits a payload filter, a CEL expression. A refusal names
// the line and column of the first error: the caret goes there.
function filterControl() {
  const input = h('textarea', {
    name: 'filter', id: id('filter'), rows: 3, autocomplete: 'off', spellcheck: 'false',
    placeholder: 'data.kind == "video" && user_id == 7',
  });
  return {
    el: input,
    inputs: [input],
    labelFor: input.id,
    read: () => (input.value.trim() === '' ? null : input.value.trim()),
    write: (v) => { input.value = v === null ? '' : v; },
    focus: (err) => {
      input.focus();
      const at = err && /line (\d+), column (\d+)/.exec(err.message);
      if (!at) return;
      const lines = input.value.split('\n');
      const line = Math.min(Number(at[1]), lines.length);
      const offset = lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0) + Number(at[2]) - 1;
      input.setSelectionRange(offset, offset);
    },
  };
}

// LANES are the orderings a webhook may ask for, but "data.<field>", with
// what each means.
const LANES = [
  ['webhook', 'One lane for the whole webhook'],
  ['project_id', 'One lane per project'],
  ['user_id', 'One lane per user'],
  ['event', 'One lane per event name'],
];
const DATA = 'data.';

// orderingControl chooses an ordering: none, one of LANES, or a field of
// the event's data, typed beside the choice.
function orderingControl() {
  const select = h('select', { name: 'ordering', id: id('ordering') },
    h('option', { value: '' }, 'No ordering'),
    LANES.map(([value, label]) => h('option', { value }, label)),
    h('option', { value: 'data' }, 'One lane per value of a field of data'));
  const fieldID = id('ordering-field');
  const field = h('input', { type: 'text', name: 'ordering_field', id: fieldID, autocomplete: 'off', spellcheck: 'false', placeholder: 'order_id' });
  const fieldRow = h('div', { class: 'field inline ordering-field' },
    h('label', { for: fieldID }, 'Field of data'), h('span', { class: 'prefix' }, h('code', {}, DATA), field));
  const sync = () => { fieldRow.hidden = select.value !== 'data'; };
  select.addEventListener('change', () => {
    sync();
    if (select.value === 'data') field.focus();
  });
  sync();
  return {
    el: h('div', { class: 'ordering' }, select, fieldRow),
    inputs: [select, field],
    labelFor: select.id,
    read: () => {
      if (select.value === '') return null;
      return select.value === 'data' ? DATA + field.value.trim() : select.value;
    },
    write: (v) => {
      const isData = v !== null && v.startsWith(DATA);
      if (v !== null && !isData && !LANES.some(([value]) => value === v)) {
        select.append(h('option', { value: v }, v)); // one this UI does not know yet
      }
      select.value = v === null ? '' : isData ? 'data' : v;
      field.value = isData ? v.slice(DATA.length) : '';
      sync();
    },
    focus: () => (select.value === 'data' ? field : select).focus(),
  };
}

function describeOrdering(v) {
  if (v === null) return 'none';
  if (v.startsWith(DATA)) return `one lane per value of ${v}`;
  const lane = LANES.find(([value]) => value === v);
  return lane ? lane[1].replace(/^One/, 'one') : v;
}

// FIELDS are the settings, by API name: a label, what null means, a hint,
// the control that edits it and how a value reads.
const FIELDS = [
  {
    name: 'max_in_flight', label: 'Attempts at once', byDefault: 'default (a quarter of the workers, at least 1)',
    hint: 'The most attempts to this webhook at the same time, across every hookd process: a whole number from 1 to 1000. Empty: the default.',
    control: textControl('max_in_flight', 'numeric'),
  },
  {
    name: 'max_per_second', label: 'Attempts per second', byDefault: 'default (no cap)',
    hint: 'The most attempts to this webhook a second, across every hookd process: a number from 0.001 to 10000 (0.5 is one every 2 seconds). Empty: no cap.',
    control: textControl('max_per_second', 'decimal'),
  },
  {
    name: 'filter', label: 'Filter', byDefault: 'none (every event it subscribes to)', code: true,
    hint: 'A CEL expression over event, project_id, user_id and data that an event must make true to be delivered, e.g. data.size > 5 && "urgent" in data.tags. An error in it counts as false. hookd checks it when saved. Empty: no filter.',
    control: filterControl,
  },
  {
    name: 'ordering', label: 'Ordering', byDefault: 'none (deliveries go out as they come)', describe: describeOrdering,
    hint: 'In order, deliveries go out one at a time per lane, in the order hookd accepted their events, and each waits until the one before it succeeded or failed for good: a failing delivery holds up its lane. It applies to the events accepted from now on.',
    control: orderingControl,
  },
];

const shown = (value) => (value === null ? '' : String(value));

export function settingsCard(page, webhookID) {
  const card = h('section', { class: 'card', 'aria-labelledby': 'sec-settings' });
  const heading = h('h2', { id: 'sec-settings' }, 'Delivery settings');
  let current = null; // the settings as stored

  const values = h('dl', { class: 'summary' });
  const fields = {}; // API name -> {control, error}
  const result = h('p', { class: 'hint', 'aria-live': 'polite' });
  const submit = h('button', { type: 'submit' }, 'Save settings');
  const form = h('form', { novalidate: true, onsubmit: save },
    FIELDS.map(({ name, label, hint, control: make }) => {
      const control = make();
      const error = h('p', { class: 'field-error', id: `${control.labelFor}-error`, hidden: true });
      const hintEl = h('p', { class: 'hint', id: `${control.labelFor}-hint` }, hint);
      for (const input of control.inputs) input.setAttribute('aria-describedby', `${error.id} ${hintEl.id}`);
      fields[name] = { control, error };
      return h('div', { class: 'field', 'data-setting': name }, h('label', { for: control.labelFor }, label), control.el, hintEl, error);
    }),
    h('div', { class: 'actions' }, submit),
    result);

  // describe says what a value means, in the summary and the confirmation.
  const describe = ({ byDefault, describe: words }, value) => {
    if (value === null) return byDefault;
    return words ? words(value) : String(value);
  };

  function render(settings) {
    current = settings;
    values.replaceChildren(...FIELDS.flatMap((f) => [
      h('dt', {}, f.label),
      h('dd', {}, settings[f.name] === null
        ? h('span', { class: 'muted' }, f.byDefault)
        : f.code ? h('code', { class: 'break' }, settings[f.name]) : describe(f, settings[f.name])),
    ]));
    for (const { name } of FIELDS) fields[name].control.write(settings[name] ?? null);
  }

  function clearErrors() {
    result.textContent = '';
    for (const f of Object.values(fields)) {
      f.error.hidden = true;
      f.error.textContent = '';
      for (const input of f.control.inputs) input.removeAttribute('aria-invalid');
    }
  }

  async function save(ev) {
    ev.preventDefault();
    clearErrors();
    // Only what changed is sent: empty is the default (null); the text goes
    // as typed, for hookd to check and name what is wrong.
    const change = {};
    for (const { name } of FIELDS) {
      const value = fields[name].control.read();
      if (shown(value) !== shown(current[name] ?? null)) change[name] = value;
    }
    const changed = FIELDS.filter(({ name }) => name in change);
    if (changed.length === 0) {
      result.textContent = 'Nothing to save: the settings are as shown.';
      return;
    }
    const list = changed.map((f) => `${f.label}: ${describe(f, change[f.name])}`).join('; ');
    const ok = await confirmDialog({
      title: 'Change the delivery settings?',
      text: `${list}. The new settings apply to the next attempts of this webhook, in every hookd process.`,
      action: 'Save settings',
    });
    if (!ok || !page.alive) return;
    submit.disabled = true;
    try {
      render(await api.updateSettings(webhookID, change));
      notice('Delivery settings saved.', 'success');
    } catch (err) {
      if (!page.alive || err.status === 401) return;
      const f = err.field ? fields[err.field] : null;
      if (f) {
        f.error.textContent = shortMessage(err.message);
        f.error.hidden = false;
        for (const input of f.control.inputs) input.setAttribute('aria-invalid', 'true');
        f.control.focus(err);
      } else {
        result.textContent = `Not saved: ${shortMessage(err.message)}`;
      }
    } finally {
      submit.disabled = false;
    }
  }

  async function load() {
    card.replaceChildren(heading, h('p', { class: 'loading' }, 'Loading the settings…'));
    try {
      render(await api.getSettings(webhookID));
    } catch (err) {
      if (!page.alive || err.status === 401) return;
      card.replaceChildren(heading, errorBox('Could not load the delivery settings', err, load));
      return;
    }
    if (!page.alive) return;
    card.replaceChildren(heading,
      h('p', { class: 'hint' }, 'How hard hookd may press this receiver, so that a slow one never holds up the other webhooks, and whether its deliveries keep their order.'),
      values, form);
  }

  load();
  return card;
}
