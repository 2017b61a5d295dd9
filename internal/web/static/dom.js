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

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(el) {
  el.replaceChildren();
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
export function confirmDialog({ title, text, action, danger = false }) {
  return new Promise((resolve) => {
    const titleID = id('dialog-title');
    const dialog = h('dialog', { class: 'dialog', 'aria-labelledby': titleID },
      h('form', { method: 'dialog' },
        h('h2', { id: titleID }, title),
        h('p', {}, text),
        h('div', { class: 'actions' },
          h('button', { type: 'submit', value: 'cancel', class: 'secondary', autofocus: true }, 'Cancel'),
          h('button', { type: 'submit', value: 'ok', class: danger ? 'danger' : null }, action))));
    dialog.addEventListener('close', () => {
      resolve(dialog.returnValue === 'ok');
      dialog.remove();
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

export function badge(text, kind) {
  return h('span', { class: `badge badge-${kind}` }, text);
}
