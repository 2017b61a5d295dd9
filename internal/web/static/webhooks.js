// The webhooks list: every webhook with its live queue figures and last
// run, filtered by project and state. It refreshes every few seconds.

import { api } from './api.js';
import { circuitBadge } from './circuit.js';
import { badge, emptyState, errorBox, h, id, plural, relative, timeEl } from './dom.js';

const REFRESH_MS = 5000;
export const NO_PROJECT = '-'; // the project filter value for webhooks of every project

export function renderList(page, query) {
  page.title('Webhooks');
  const filter = { project: query.get('project') || '', state: query.get('state') || '' };
  let projects = [];
  let timer = null;

  const projectID = id('filter-project');
  const stateID = id('filter-state');
  const projectSelect = h('select', { id: projectID, name: 'project', onchange: apply });
  const stateSelect = h('select', { id: stateID, name: 'state', onchange: apply },
    h('option', { value: '' }, 'Enabled and disabled'),
    h('option', { value: 'enabled' }, 'Enabled'),
    h('option', { value: 'disabled' }, 'Disabled'));
  stateSelect.value = filter.state;
  const status = h('p', { class: 'muted list-status' });
  const body = h('div', { class: 'list-body' }, h('p', { class: 'loading' }, 'Loading webhooks…'));

  function apply() {
    const q = new URLSearchParams();
    if (projectSelect.value) q.set('project', projectSelect.value);
    if (stateSelect.value) q.set('state', stateSelect.value);
    const qs = q.toString();
    // Keep the address in step with the filters without a new history entry.
    history.replaceState(null, '', `#/webhooks${qs ? '?' + qs : ''}`);
    filter.project = projectSelect.value;
    filter.state = stateSelect.value;
    load();
  }

  const seen = new Set();
  let optionsKey = null;
  // fillProjects lists the registered projects and any other project id a
  // webhook has; it rebuilds the options only when they change, so a
  // refresh does not disturb someone choosing one.
  function fillProjects(extra) {
    for (const pid of extra) if (pid) seen.add(pid);
    if (filter.project && filter.project !== NO_PROJECT) seen.add(filter.project);
    const known = new Map(projects.map((p) => [p.id, p.title]));
    for (const pid of seen) if (!known.has(pid)) known.set(pid, null);
    const entries = [...known].sort((a, b) => (a[1] || a[0]).localeCompare(b[1] || b[0]));
    const key = JSON.stringify(entries);
    if (key === optionsKey) return;
    optionsKey = key;
    const options = [h('option', { value: '' }, 'All projects'), h('option', { value: NO_PROJECT }, 'No project (any project’s events)')];
    for (const [pid, title] of entries) options.push(h('option', { value: pid }, title ? `${title} (${pid})` : pid));
    projectSelect.replaceChildren(...options);
    projectSelect.value = filter.project;
  }

  const projectTitle = (pid) => {
    const p = projects.find((x) => x.id === pid);
    return p ? p.title : null;
  };

  async function load() {
    clearTimeout(timer);
    if (document.hidden && body.querySelector('table, .state')) {
      // Nobody is looking: check again later.
      timer = setTimeout(load, REFRESH_MS);
      return;
    }
    try {
      const opts = {};
      if (filter.project && filter.project !== NO_PROJECT) opts.project = filter.project;
      if (filter.state) opts.disabled = filter.state === 'disabled';
      let list = await api.listWebhooks(opts);
      if (!page.alive) return;
      if (filter.project === NO_PROJECT) list = list.filter((w) => w.project_id === null);
      fillProjects(list.map((w) => w.project_id));
      const circuits = await loadCircuits(list);
      if (!page.alive) return;
      show(list, circuits);
      status.textContent = `${plural(list.length, 'webhook')} · live, updated ${new Date().toLocaleTimeString()}`;
    } catch (err) {
      if (!page.alive || err.status === 401) return;
      shownKey = null;
      body.replaceChildren(errorBox('Could not load the webhooks', err, load));
      status.textContent = '';
    }
    timer = setTimeout(load, REFRESH_MS);
  }

  // loadCircuits reads the circuits that may be open: only a webhook whose last attempt failed
  // can have one, so a healthy list costs no request. A circuit that cannot be read is not shown.
  async function loadCircuits(list) {
    const suspects = list.filter((w) => !w.disabled && w.latest_run?.status === 'failed');
    const circuits = await Promise.all(suspects.map((w) => api.getCircuit(w.id).catch(() => null)));
    return Object.fromEntries(suspects.map((w, i) => [w.id, circuits[i]]));
  }

  // show renders the list when it (or a project title, or a circuit) changed; otherwise only the
  // relative times move, so a refresh never takes the focus from a keyboard user.
  let shownKey = null;
  let circuits = {};
  function show(list, latestCircuits) {
    circuits = latestCircuits;
    const key = JSON.stringify([filter, list, projects, circuits]);
    if (key === shownKey) {
      for (const t of body.querySelectorAll('time')) t.textContent = relative(t.dateTime);
      return;
    }
    shownKey = key;
    const focused = document.activeElement?.closest?.('tr[data-webhook-id]')?.dataset.webhookId;
    body.replaceChildren(list.length ? table(list) : empty());
    if (focused) body.querySelector(`tr[data-webhook-id="${focused}"] a`)?.focus();
  }

  function empty() {
    if (filter.project || filter.state) {
      return emptyState('No webhook matches these filters',
        'Try another project or state, or clear the filters.',
        h('a', { href: '#/webhooks', class: 'button secondary' }, 'Clear filters'));
    }
    return emptyState('No webhooks yet',
      'A webhook sends the events you choose to a URL of yours. Create one to start receiving deliveries.',
      h('a', { href: '#/webhooks/new', class: 'button' }, 'Create a webhook'));
  }

  function table(list) {
    return h('div', { class: 'table-wrap' }, h('table', { class: 'webhooks' },
      h('caption', { class: 'visually-hidden' }, 'Webhooks, with their queues and last run'),
      h('thead', {}, h('tr', {},
        h('th', { scope: 'col' }, 'Name'),
        h('th', { scope: 'col' }, 'URL'),
        h('th', { scope: 'col' }, 'Project'),
        h('th', { scope: 'col' }, 'State'),
        h('th', { scope: 'col', class: 'num' }, 'Events'),
        h('th', { scope: 'col', class: 'num' }, h('abbr', { title: 'Deliveries waiting for their first attempt or in flight' }, 'Queue')),
        h('th', { scope: 'col', class: 'num' }, h('abbr', { title: 'Deliveries waiting for a retry' }, 'Retry queue')),
        h('th', { scope: 'col' }, 'Last run'))),
      h('tbody', {}, list.map(row))));
  }

  function row(w) {
    const run = w.latest_run;
    const circuit = circuitBadge(circuits[w.id]);
    return h('tr', { 'data-webhook-id': w.id },
      h('th', { scope: 'row' }, h('a', { href: `#/webhooks/${w.id}` }, w.name)),
      h('td', { class: 'url' }, h('span', { class: 'method' }, w.http_method), ' ', h('span', { title: w.http_url }, w.http_url)),
      h('td', { class: 'project' }, w.project_id === null
        ? h('span', { class: 'muted' }, 'Any project')
        : (projectTitle(w.project_id) ? h('span', { title: w.project_id }, projectTitle(w.project_id)) : h('code', {}, w.project_id))),
      h('td', {}, w.disabled ? badge('Disabled', 'off') : badge('Enabled', 'on'),
        circuit ? [' ', circuit] : ''),
      h('td', { class: 'num' }, String(w.trigger_events.length)),
      h('td', { class: 'num' }, String(w.queue_length)),
      h('td', { class: 'num' }, w.retry_queue_length ? h('strong', {}, String(w.retry_queue_length)) : '0'),
      h('td', { class: 'run' }, run
        ? [run.status === 'success' ? badge('Success', 'ok') : badge('Failed', 'fail'), ' ',
          run.http_status ? `HTTP ${run.http_status} · ` : '', timeEl(run.created_at)]
        : h('span', { class: 'muted' }, 'Never run')));
  }

  page.main.replaceChildren(
    h('div', { class: 'page-head' },
      h('h1', {}, 'Webhooks'),
      h('a', { href: '#/webhooks/new', class: 'button' }, 'New webhook')),
    h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter webhooks', onsubmit: (e) => e.preventDefault() },
      h('div', { class: 'field inline' }, h('label', { for: projectID }, 'Project'), projectSelect),
      h('div', { class: 'field inline' }, h('label', { for: stateID }, 'State'), stateSelect),
      status),
    body);
  fillProjects([]);
  page.focus();

  api.listProjects().then((list) => {
    if (!page.alive) return;
    projects = list;
    fillProjects([]);
    load(); // show the projects' titles in the table too
  }).catch(() => {});
  load();
  return () => clearTimeout(timer);
}
