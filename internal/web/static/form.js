// Create and edit a webhook: its fields, trigger events, headers and users.
// Everything goes through the public API; a validation error it answers is
// shown next to the field it names.

import { api, shortMessage } from './api.js';
import { errorBox, fill, h, id } from './dom.js';
import { eventPicker } from './events-picker.js';

const KINDS = [
  ['plain', 'Plain'],
  ['hidden', 'Hidden'],
  ['hmac', 'HMAC'],
];

const kindOf = (hdr) => (hdr.is_hmac ? 'hmac' : hdr.hidden ? 'hidden' : 'plain');

// The project field suggests projects of the registry as the user types:
// a registry may hold 100,000 of them, so it asks for a few at a time.
const SUGGESTIONS = 20;
const SUGGEST_DELAY_MS = 200;
const MAX_PROJECT_TITLE = 255; // hookd.MaxProjectTitle: a longer text is in no title (nor id)

export function renderForm(page, webhookID) {
  page.title(webhookID ? 'Edit webhook' : 'New webhook');
  page.main.replaceChildren(h('p', { class: 'loading' }, 'Loading…'));
  (webhookID ? api.getWebhook(webhookID) : Promise.resolve(null)).then((webhook) => {
    if (page.alive) build(page, webhook);
  }).catch((err) => {
    if (!page.alive || err.status === 401) return;
    page.main.replaceChildren(
      h('h1', {}, 'Edit webhook'),
      errorBox(err.status === 404 ? 'This webhook does not exist' : 'Could not load the webhook', err,
        err.status === 404 ? null : () => renderForm(page, webhookID)),
      h('p', {}, h('a', { href: '#/webhooks' }, 'Back to the webhooks')));
  });
}

function build(page, webhook) {
  let current = webhook; // the webhook as stored, once it exists
  const fields = {}; // API parameter name -> {input, error}

  // field wraps an input with its label, hint and error slot.
  function field(name, label, input, hint) {
    const inputID = input.id || id(name);
    input.id = inputID;
    const errorID = `${inputID}-error`;
    const hintID = hint ? `${inputID}-hint` : null;
    const error = h('p', { class: 'field-error', id: errorID, hidden: true });
    input.setAttribute('aria-describedby', [errorID, hintID].filter(Boolean).join(' '));
    fields[name] = { input, error };
    return h('div', { class: 'field', 'data-field': name },
      h('label', { for: inputID }, label), input,
      hint ? h('p', { class: 'hint', id: hintID }, hint) : null, error);
  }

  const name = h('input', { type: 'text', name: 'name', autocomplete: 'off', value: webhook?.name ?? '' });
  const url = h('input', { type: 'url', name: 'http_url', autocomplete: 'off', spellcheck: 'false', value: webhook?.http_url ?? '', placeholder: 'https://example.com/hooks/mediapocket' });
  const method = h('select', { name: 'http_method' }, ['POST', 'PUT', 'PATCH'].map((m) => h('option', { value: m }, m)));
  method.value = webhook?.http_method ?? 'POST';
  const project = h('input', {
    type: 'text', name: 'project_id', autocomplete: 'off', spellcheck: 'false', autocapitalize: 'off',
    value: webhook?.project_id ?? '', placeholder: 'Any project',
    oninput: () => {
      showProject();
      clearTimeout(suggestTimer);
      suggestTimer = setTimeout(suggestProjects, SUGGEST_DELAY_MS);
    },
    // Suggestions are there from the first click, before any typing.
    onfocus: () => {
      if (suggestion === 0) suggestProjects();
    },
  });
  const projectSuggestions = h('datalist', { id: id('project-suggestions') });
  project.setAttribute('list', projectSuggestions.id);
  const projectNote = h('p', { class: 'hint', id: id('project-note'), 'aria-live': 'polite' });
  const projectTitles = new Map(); // project id -> title, or null when it is not in the registry
  let suggestTimer = null;
  let suggestion = 0; // the latest request's number: an older answer is dropped

  // showProject names the project typed when its title is known.
  function showProject() {
    const title = projectTitles.get(project.value.trim());
    if (title === undefined) projectNote.replaceChildren();
    else if (title === null) fill(projectNote, 'Not in hookd’s registry: the webhook keeps this project until you change it.');
    else fill(projectNote, 'Project “', title, '”.');
  }

  // suggestProjects offers the projects whose title or id holds the text
  // typed, their title with their id.
  async function suggestProjects() {
    if (!page.alive) return;
    const q = project.value.trim();
    const asked = ++suggestion;
    let found = [];
    if (q.length <= MAX_PROJECT_TITLE) {
      try {
        found = await api.listProjects({ q, limit: SUGGESTIONS });
      } catch {
        return; // the suggestions offered stay
      }
    }
    if (asked !== suggestion || !page.alive) return;
    for (const p of found) projectTitles.set(p.id, p.title);
    projectSuggestions.replaceChildren(...found.map((p) => h('option', { value: p.id }, p.title, ' (', p.id, ')')));
    showProject();
  }

  // The webhook's own project may have left the registry since: it is
  // still shown, and kept (saveAll leaves an unchanged project out).
  if (webhook?.project_id) {
    api.getProject(webhook.project_id).then((p) => projectTitles.set(p.id, p.title), (err) => {
      if (err.status === 404) projectTitles.set(webhook.project_id, null);
    }).then(() => {
      if (page.alive) showProject();
    });
  }
  const enabledID = id('enabled');
  const enabled = h('input', { type: 'checkbox', id: enabledID, name: 'enabled', checked: webhook ? !webhook.disabled : true });
  fields.disabled = { input: enabled, error: h('p', { class: 'field-error', hidden: true }) };

  const picker = eventPicker(webhook?.trigger_events ?? []);
  const eventsError = h('p', { class: 'field-error', id: id('events-error'), hidden: true });
  fields.trigger_events = { input: { focus: picker.focus, setAttribute() {}, removeAttribute() {} }, error: eventsError };

  // Headers ---------------------------------------------------------------
  const headerRows = [];
  const deletedHeaders = [];
  const headerList = h('div', { class: 'header-rows' });
  const addHeaderButton = h('button', { type: 'button', class: 'secondary small', onclick: () => addHeaderRow(null, true) }, 'Add header');

  function addHeaderRow(hdr, focus = false) {
    const n = headerRows.length + 1;
    const row = {
      id: hdr?.id ?? null,
      orig: hdr ? { key: hdr.header_key, value: hdr.header_value, kind: kindOf(hdr) } : null,
    };
    row.key = h('input', { type: 'text', id: id('header-key'), autocomplete: 'off', spellcheck: 'false', value: hdr?.header_key ?? '', placeholder: 'X-Token' });
    row.value = h('input', {
      type: 'text', id: id('header-value'), autocomplete: 'off', spellcheck: 'false',
      value: hdr && hdr.header_value !== null ? hdr.header_value : '',
      placeholder: hdr && hdr.header_value === null ? 'hidden: leave empty to keep it' : 'value',
    });
    row.kind = h('select', { id: id('header-kind') }, KINDS.map(([v, l]) => h('option', { value: v }, l)));
    row.kind.value = row.orig ? row.orig.kind : 'plain';
    row.error = h('p', { class: 'field-error', id: id('header-error'), hidden: true });
    for (const input of [row.key, row.value, row.kind]) input.setAttribute('aria-describedby', row.error.id);
    const remove = h('button', {
      type: 'button', class: 'secondary small', onclick: () => {
        if (row.id) deletedHeaders.push(row.id);
        headerRows.splice(headerRows.indexOf(row), 1);
        row.el.remove();
        addHeaderButton.focus();
      },
    }, 'Remove', h('span', { class: 'visually-hidden' }, ` header ${n}`));
    row.el = h('div', { class: 'header-row' },
      h('div', {}, h('label', { for: row.key.id, class: 'visually-hidden' }, `Header ${n} name`), row.key),
      h('div', {}, h('label', { for: row.value.id, class: 'visually-hidden' }, `Header ${n} value`), row.value),
      h('div', {}, h('label', { for: row.kind.id, class: 'visually-hidden' }, `Header ${n} kind`), row.kind),
      h('div', {}, remove),
      row.error);
    headerRows.push(row);
    headerList.append(row.el);
    if (focus) row.key.focus();
  }
  for (const hdr of webhook?.webhook_headers ?? []) addHeaderRow(hdr);

  // Users -----------------------------------------------------------------
  const users = (webhook?.webhook_users ?? []).map((u) => ({ id: u.id, userID: String(u.user_id) }));
  const deletedUsers = [];
  const userList = h('ul', { class: 'chips', 'aria-label': 'Users of this webhook' });
  const userInput = h('input', { type: 'text', inputmode: 'numeric', autocomplete: 'off', placeholder: 'e.g. 42', onkeydown: (e) => {
    if (e.key === 'Enter') {
      e.preventDefault();
      addUser();
    }
  } });
  const usersField = field('user_id', 'Add a user id', userInput);
  const usersError = fields.user_id.error;

  function renderUsers() {
    userList.replaceChildren(...users.map((u) => h('li', { class: 'chip' },
      `User ${u.userID}`, u.id ? null : h('span', { class: 'muted' }, ' (not saved yet)'),
      h('button', {
        type: 'button', class: 'link', 'aria-label': `Remove user ${u.userID}`, onclick: () => {
          if (u.id) deletedUsers.push(u.id);
          users.splice(users.indexOf(u), 1);
          renderUsers();
          userInput.focus();
        },
      }, '×'))));
    userList.hidden = users.length === 0;
    usersEmpty.hidden = users.length > 0;
  }
  const usersEmpty = h('p', { class: 'muted' }, 'No users: the webhook receives matching events of every user.');
  function addUser() {
    const v = userInput.value.trim();
    clearError(fields.user_id);
    if (v === '') return;
    if (users.some((u) => u.userID === v)) {
      showError(fields.user_id, `User ${v} is already in the list.`);
      return;
    }
    users.push({ id: null, userID: v });
    userInput.value = '';
    renderUsers();
  }

  // Errors ----------------------------------------------------------------
  const summary = h('div', { class: 'notice notice-error', role: 'alert', tabindex: '-1', hidden: true });

  function showError(f, message) {
    f.error.textContent = shortMessage(message);
    f.error.hidden = false;
    f.input.setAttribute('aria-invalid', 'true');
    f.input.focus();
  }
  function clearError(f) {
    f.error.hidden = true;
    f.error.textContent = '';
    f.input.removeAttribute('aria-invalid');
  }
  function clearErrors() {
    summary.hidden = true;
    for (const f of Object.values(fields)) clearError(f);
    for (const r of headerRows) {
      r.error.hidden = true;
      for (const i of [r.key, r.value, r.kind]) i.removeAttribute('aria-invalid');
    }
  }
  function fail(text, err) {
    summary.replaceChildren(h('p', {}, text, ' ', h('strong', {}, shortMessage(err.message))));
    summary.hidden = false;
  }

  // Saving ----------------------------------------------------------------
  const heading = h('h1', {}, webhook ? ['Edit ', webhook.name] : 'New webhook');
  const submit = h('button', { type: 'submit' }, webhook ? 'Save changes' : 'Create webhook');

  async function save(ev) {
    ev.preventDefault();
    addUser(); // a user id typed but not added yet counts
    if (!fields.user_id.error.hidden) return;
    clearErrors();
    submit.disabled = true;
    submit.textContent = 'Saving…';
    const created = !current;
    try {
      await saveAll(created);
      if (!page.alive) return;
      page.navigate(`#/webhooks/${current.id}`, { message: created ? ['Webhook “', current.name, '” created.'] : 'Changes saved.' });
    } catch (thrown) {
      const step = thrown && thrown.err ? thrown : { err: thrown instanceof Error ? thrown : new Error(String(thrown)), show: () => summary.focus() };
      if (!page.alive || step.err.status === 401) return;
      submit.disabled = false;
      submit.textContent = current ? 'Save changes' : 'Create webhook';
      if (created && current) {
        // The webhook exists now: saving again must update it.
        history.replaceState(null, '', `#/webhooks/${current.id}/edit`);
        fill(heading, 'Edit ', current.name);
        page.title('Edit webhook');
      }
      const prefix = created && current ? 'The webhook was created, but not all of it was saved:' : 'Not saved:';
      fail(prefix, step.err);
      step.show();
    }
  }

  // saveAll runs the API calls in order; a failure is thrown as {err, show}
  // where show puts the message next to the field it concerns.
  async function saveAll(create) {
    const body = {
      name: name.value,
      http_url: url.value.trim(),
      http_method: method.value,
      trigger_events: picker.values(),
      disabled: !enabled.checked,
    };
    // hookd refuses a project that is not in the registry whenever it is
    // given: one that left it since stays the webhook's while unchanged.
    const projectID = project.value.trim() || null;
    if (create || projectID !== current.project_id) body.project_id = projectID;
    try {
      current = create ? await api.createWebhook(body) : await api.updateWebhook(current.id, body);
    } catch (err) {
      throw { err, show: () => {
        const f = err.field ? fields[err.field] : (err.message === 'project not found' ? fields.project_id : null);
        if (f) showError(f, err.status === 404 ? 'This project is not in hookd\'s registry.' : err.message);
        else summary.focus();
      } };
    }
    const wid = current.id;
    for (const hid of [...deletedHeaders]) {
      try {
        await api.deleteHeader(wid, hid);
      } catch (err) {
        if (err.status !== 404) throw { err, show: () => addHeaderButton.focus() };
      }
      deletedHeaders.splice(deletedHeaders.indexOf(hid), 1);
    }
    for (const row of headerRows) {
      const key = row.key.value.trim();
      const value = row.value.value;
      const kind = row.kind.value;
      const flags = { hidden: kind === 'hidden', is_hmac: kind === 'hmac' };
      const rowFail = (err) => ({ err, show: () => {
        row.error.textContent = shortMessage(err.message);
        row.error.hidden = false;
        const target = err.field === 'header_value' ? row.value : err.field === 'header_key' ? row.key : row.kind;
        target.setAttribute('aria-invalid', 'true');
        target.focus();
      } });
      if (!row.id) {
        if (key === '' && value === '') continue; // an empty new row is ignored
        try {
          const saved = await api.addHeader(wid, { header_key: key, header_value: value, ...flags });
          row.id = saved.id;
          row.orig = { key: saved.header_key, value: saved.hidden || saved.is_hmac ? null : saved.header_value, kind: kindOf(saved) };
        } catch (err) {
          throw rowFail(err);
        }
        continue;
      }
      const change = {};
      if (key !== row.orig.key) change.header_key = key;
      if (row.orig.value === null ? value !== '' : value !== row.orig.value) change.header_value = value;
      if (kind !== row.orig.kind) Object.assign(change, flags);
      if (Object.keys(change).length === 0) continue;
      try {
        const saved = await api.updateHeader(wid, row.id, change);
        row.orig = { key: saved.header_key, value: saved.hidden || saved.is_hmac ? null : saved.header_value, kind: kindOf(saved) };
      } catch (err) {
        throw rowFail(err);
      }
    }
    for (const uid of [...deletedUsers]) {
      try {
        await api.deleteUser(wid, uid);
      } catch (err) {
        if (err.status !== 404) throw { err, show: () => showError(fields.user_id, err.message) };
      }
      deletedUsers.splice(deletedUsers.indexOf(uid), 1);
    }
    for (const u of users) {
      if (u.id) continue;
      try {
        const saved = await api.addUser(wid, u.userID);
        u.id = saved.id;
      } catch (err) {
        throw { err, show: () => { renderUsers(); showError(fields.user_id, err.message); } };
      }
    }
  }

  const projectField = field('project_id', 'Project', project,
    'Only events of this project. Type part of its title or id to find it in the registry; leave empty for every project.');
  fields.project_id.error.before(projectNote, projectSuggestions);
  project.setAttribute('aria-describedby', `${project.getAttribute('aria-describedby')} ${projectNote.id}`);

  const cancelHref = webhook ? `#/webhooks/${webhook.id}` : '#/webhooks';
  const form = h('form', { class: 'webhook-form', novalidate: true, onsubmit: save },
    summary,
    h('section', { class: 'card', 'aria-labelledby': 'sec-delivery' },
      h('h2', { id: 'sec-delivery' }, 'Delivery'),
      h('div', { class: 'grid-2' },
        field('name', 'Name', name),
        field('http_method', 'HTTP method', method),
        h('div', { class: 'span-2' }, field('http_url', 'URL', url, 'Where hookd sends each matching event. http or https.')),
        projectField,
        h('div', { class: 'field checkbox-field' },
          enabled, h('label', { for: enabledID }, 'Enabled'),
          h('p', { class: 'hint' }, 'A disabled webhook receives nothing; its queued deliveries wait and go out once it is enabled again.')))),
    h('section', { class: 'card', 'aria-labelledby': 'sec-events' },
      h('h2', { id: 'sec-events' }, 'Trigger events'),
      h('p', { class: 'hint' }, 'The events this webhook receives. Choose at least one.'),
      eventsError,
      picker.el),
    h('section', { class: 'card', 'aria-labelledby': 'sec-headers' },
      h('h2', { id: 'sec-headers' }, 'Headers'),
      h('p', { class: 'hint' }, 'Sent with every delivery. The value of a hidden header is never shown again once saved; ',
        'an HMAC header carries the hex HMAC-SHA256 of the body, keyed with its value.'),
      h('div', { class: 'header-row header-head', 'aria-hidden': 'true' },
        h('span', {}, 'Name'), h('span', {}, 'Value'), h('span', {}, 'Kind'), h('span', {})),
      headerList,
      h('p', {}, addHeaderButton)),
    h('section', { class: 'card', 'aria-labelledby': 'sec-users' },
      h('h2', { id: 'sec-users' }, 'Users'),
      h('p', { class: 'hint' }, 'Only events caused by these users are delivered.'),
      usersEmpty, userList,
      h('div', { class: 'add-user' }, usersField, h('button', { type: 'button', class: 'secondary', onclick: addUser }, 'Add user'))),
    h('div', { class: 'actions sticky-actions' }, submit, h('a', { href: cancelHref, class: 'button secondary' }, 'Cancel')));

  renderUsers();
  page.main.replaceChildren(
    h('nav', { class: 'breadcrumbs', 'aria-label': 'Breadcrumb' },
      h('a', { href: '#/webhooks' }, 'Webhooks'), ' / ',
      webhook ? [h('a', { href: `#/webhooks/${webhook.id}` }, webhook.name), ' / '] : null,
      h('span', { 'aria-current': 'page' }, webhook ? 'Edit' : 'New')),
    heading, form);
  page.focus();
}
