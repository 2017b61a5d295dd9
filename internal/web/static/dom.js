// Small helpers to build the page with DOM calls only: text always goes in
// as text, never as HTML, so names, URLs and response bodies cannot inject
// markup.

// h builds an element: h('a', {href: '#/'}, 'text', child, ...). Attributes
// starting with "on" are listeners; class, dataset-free attributes are set
// as attributes; false, null and undefined values are left out.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

const SVG = 'http://www.w3.org/2000/svg';

export function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

function setAttrs(el, attrs) {
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith('on') && typeof value === 'function') {
      el.addEventListener(name.slice(2), value);
    } else if (name === 'value' && 'value' in el) {
      el.value = value;
    } else if (name === 'checked' || name === 'selected') {
      el[name] = Boolean(value);
    } else {
      el.setAttribute(name, value === true ? '' : String(value));
    }
  }
}

// append adds children; each string goes in a <bdi> of its own. Names, ids
// and URLs come from whoever published or configured them and may hold
// bidi controls (U+202E and the like) that would reorder the text around
// them: "· delivery 12" shown reversed after an event id. A <bdi> keeps
// their effect, and the direction of right-to-left text, inside its own
// text. So a message that names something takes the name as a child of its
// own: h('p', {}, 'Delete ', name, '?'), not a template string. An option
// holds plain text only: there each string goes between the isolate marks
// FSI and PDI (U+2068, U+2069), which do in text what <bdi> does. A
// textarea's text is its value, and SVG's text is hookd's own: as they are.
function append(el, children) {
  const wrap = el.namespaceURI === SVG || el.localName === 'textarea' ? asText
    : el.localName === 'option' ? betweenMarks : inBdi;
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : wrap(String(c)));
  }
}

const asText = (s) => s;
const betweenMarks = (s) => `\u2068${s}\u2069`;
const inBdi = (s) => h('bdi', {}, document.createTextNode(s));

export function clear(el) {
  el.replaceChildren();
  return el;
}

// fill replaces el's children, as h() takes them.
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let uid = 0;
// id returns an id unique in the page, for label and aria references.
export function id(prefix = 'f') {
  uid += 1;
  return `${prefix}-${uid}`;
}

// Times -------------------------------------------------------------------

const absolute = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
const clock = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });

export function formatTime(iso) {
  return absolute.format(new Date(iso));
}

export function formatClock(date) {
  return clock.format(date);
}

export function relative(iso, now = Date.now()) {
  const s = Math.round((now - new Date(iso).getTime()) / 1000);
  const future = s < 0;
  const a = Math.abs(s);
  let text;
  if (a < 5) return future ? 'in a moment' : 'just now';
  if (a < 60) text = `${a} s`;
  else if (a < 3600) text = `${Math.floor(a / 60)} min`;
  else if (a < 86400) text = `${Math.floor(a / 3600)} h`;
  else text = `${Math.floor(a / 86400)} d`;
  return future ? `in ${text}` : `${text} ago`;
}

// timeEl shows a time as "3 min ago", with the exact time in a tooltip and
// for assistive technology.
export function timeEl(iso, { exact = false } = {}) {
  return h('time', { datetime: iso, title: `${formatTime(iso)} (${iso})` },
    exact ? formatTime(iso) : relative(iso));
}

export function formatDuration(ms) {
  if (ms < 1000) return `${ms} ms`;
  return `${(ms / 1000).toFixed(ms < 10000 ? 2 : 1)} s`;
}

export function plural(n, one, many = one + 's') {
  return `${n} ${n === 1 ? one : many}`;
}

// Messages ----------------------------------------------------------------

// notice shows a message in the page's status region, read out by screen
// readers; kind is "info", "success" or "error".
export function notice(message, kind = 'info') {
  const region = document.getElementById('notices');
  if (!region) return;
  const item = h('div', { class: `notice notice-${kind}`, role: kind === 'error' ? 'alert' : null },
    h('p', {}, message),
    h('button', { type: 'button', class: 'link', 'aria-label': 'Dismiss message', onclick: () => item.remove() }, 'Dismiss'));
  region.replaceChildren(item);
}

export function clearNotices() {
  const region = document.getElementById('notices');
  if (region) region.replaceChildren();
}

// errorBox is a page-level error with a way to try again.
export function errorBox(title, err, retry) {
  return h('div', { class: 'state state-error', role: 'alert' },
    h('h2', {}, title),
    h('p', {}, err && err.message ? err.message : String(err)),
    retry ? h('button', { type: 'button', onclick: retry }, 'Try again') : null);
}

export function emptyState(title, text, ...actions) {
  return h('div', { class: 'state' }, h('h2', {}, title), h('p', {}, text), actions.length ? h('p', {}, actions) : null);
}

// confirmDialog asks a question in a modal <dialog>; it resolves true when
// the action button is chosen. The browser traps focus and closes on Esc.
// dismiss names the button that does nothing. With typeToConfirm, the
// action stays disabled until that exact text is typed: for what cannot be
// undone.
export function confirmDialog({ title, text, action, danger = false, typeToConfirm = null, dismiss = 'Cancel' }) {
  return new Promise((resolve) => {
    const titleID = id('dialog-title');
    const ok = h('button', { type: 'submit', value: 'ok', class: danger ? 'danger' : null, disabled: typeToConfirm !== null }, action);
    let typed = null;
    if (typeToConfirm !== null) {
      const inputID = id('dialog-confirm');
      const input = h('input', {
        type: 'text', id: inputID, autocomplete: 'off', spellcheck: 'false',
        oninput: () => { ok.disabled = input.value !== typeToConfirm; },
        // Enter confirms only once the text matches; it never picks Cancel
        // (the form's first button). The dialog closes on the key's release,
        // so that the press does not go on to the button that gets the focus
        // back and open the dialog again.
        onkeydown: (e) => {
          if (e.key === 'Enter') e.preventDefault();
        },
        onkeypress: (e) => {
          if (e.key === 'Enter') e.preventDefault();
        },
        onkeyup: (e) => {
          if (e.key === 'Enter' && !ok.disabled) dialog.close('ok');
        },
      });
      typed = h('div', { class: 'field' },
        h('label', { for: inputID }, 'Type ', h('code', {}, typeToConfirm), ' to confirm'), input);
    }
    const dialog = h('dialog', { class: 'dialog', 'aria-labelledby': titleID },
      h('form', { method: 'dialog' },
        h('h2', { id: titleID }, title),
        h('p', {}, text),
        typed,
        h('div', { class: 'actions' },
          h('button', { type: 'submit', value: 'cancel', class: 'secondary', autofocus: typed === null }, dismiss),
          ok)));
    dialog.addEventListener('close', () => {
      resolve(dialog.returnValue === 'ok');
      dialog.remove();
    });
    document.body.append(dialog);
    dialog.showModal();
    if (typed) typed.querySelector('input').focus();
  });
}

export function badge(text, kind) {
  return h('span', { class: `badge badge-${kind}` }, text);
}

// tabList builds WAI-ARIA tabs over one panel that holds children: choices
// are [key, label] pairs; the arrow keys, Home and End move between them.
// onSelect(key) runs when another tab is chosen.
export function tabList({ label, choices, selected, onSelect }, ...children) {
  const panelID = id('tab-panel');
  const keys = choices.map(([key]) => key);
  const buttons = new Map();
  let current = selected;
  const choose = (key) => {
    if (key === current) return;
    current = key;
    sync();
    onSelect(key);
  };
  for (const [key, text] of choices) {
    buttons.set(key, h('button', {
      type: 'button', role: 'tab', id: id(`tab-${key}`), 'aria-controls': panelID,
      onclick: () => choose(key),
      onkeydown: (e) => {
        const i = keys.indexOf(key);
        const target = {
          ArrowRight: keys[(i + 1) % keys.length], ArrowLeft: keys[(i - 1 + keys.length) % keys.length],
          Home: keys[0], End: keys[keys.length - 1],
        }[e.key];
        if (!target) return;
        e.preventDefault();
        choose(target);
        buttons.get(target).focus();
      },
    }, text));
  }
  const panel = h('div', { role: 'tabpanel', id: panelID, tabindex: '0' }, ...children);
  function sync() {
    for (const [key, button] of buttons) {
      button.setAttribute('aria-selected', String(key === current));
      button.tabIndex = key === current ? 0 : -1;
    }
    panel.setAttribute('aria-labelledby', buttons.get(current).id);
  }
  sync();
  return {
    list: h('div', { role: 'tablist', 'aria-label': label, class: 'tabs' }, [...buttons.values()]),
    panel,
    button: (key) => buttons.get(key),
  };
}

// newerOlderPager fills nav with the buttons of a log read latest first,
// a page at a time: go(n) opens page n; older says whether one follows.
export function newerOlderPager(nav, pageNo, older, go) {
  if (pageNo === 1 && !older) {
    nav.replaceChildren();
    return;
  }
  nav.replaceChildren(
    h('button', { type: 'button', class: 'secondary small', disabled: pageNo === 1, onclick: () => go(pageNo - 1) }, '← Newer'),
    h('span', { class: 'muted' }, `Page ${pageNo}`),
    h('button', { type: 'button', class: 'secondary small', disabled: !older, onclick: () => go(pageNo + 1) }, 'Older →'));
}
