// The webhooks list: a page of webhooks with their live queue figures and
// last run, searched, filtered by project and state, and sorted by hookd
// (the list's query parameters), all kept in the address. It refreshes
// every few seconds.

import { api } from './api.js';
import { circuitBadge } from './circuit.js';
import { badge, emptyState, errorBox, h, id, plural, relative, timeEl } from './dom.js';

const REFRESH_MS = 5000;
const PER_PAGE = 25;
const SEARCH_DELAY_MS = 250;
// The list names projects by their titles without reading the registry
// whole (it may hold 100,000 projects): the titles of its first page, and
// of each other project a webhook shown has, looked up once.
const FIRST_TITLES = 100;
export const NO_PROJECT = '-'; // the project filter value for webhooks of every project

// SORTS are the orders the list offers, by the API's sort value.
const SORTS = [
  ['', 'Oldest first'],
  ['-id', 'Newest first'],
  ['name', 'Name, A to Z'],
  ['-name', 'Name, Z to A'],
  ['-last_run_at', 'Latest run first'],
];

export function renderList(page, query) {
  page.title('Webhooks');
  const filter = {
    project: query.get('project') || '',
    state: query.get('state') || '',
    search: query.get('q') || '',
    sort: SORTS.some(([v]) => v === query.get('sort')) ? query.get('sort') : '',
    page: Math.max(1, parseInt(query.get('page') || '1', 10) || 1),
  };
  const titles = new Map(); // project id -> title, for the projects the registry named
  const lookedUp = new Set(); // project ids asked for already, found or not
  let titlesReady = false; // the first page of titles is in
  let timer = null;
  let searchTimer = null;

  const projectID = id('filter-project');
  const stateID = id('filter-state');
  const searchID = id('filter-search');
  const sortID = id('filter-sort');
  const projectSelect = h('select', { id: projectID, name: 'project', onchange: () => apply() });
  const stateSelect = h('select', { id: stateID, name: 'state', onchange: () => apply() },
    h('option', { value: '' }, 'Enabled and disabled'),
    h('option', { value: 'enabled' }, 'Enabled'),
    h('option', { value: 'disabled' }, 'Disabled'),
    h('option', { value: 'failing' }, 'Failing (latest attempt failed)'),
    h('option', { value: 'circuit_open' }, 'Circuit open'));
  stateSelect.value = filter.state;
  const searchInput = h('input', {
    type: 'search', id: searchID, name: 'q', value: filter.search, autocomplete: 'off', spellcheck: 'false',
    placeholder: 'Name, URL or id',
    oninput: () => {
      clearTimeout(searchTimer);
      searchTimer = setTimeout(() => apply(), SEARCH_DELAY_MS);
    },
  });
  const sortSelect = h('select', { id: sortID, name: 'sort', onchange: () => apply() },
    SORTS.map(([value, label]) => h('option', { value }, label)));
  sortSelect.value = filter.sort;
  const status = h('p', { class: 'muted list-status', 'aria-live': 'polite' });
  const body = h('div', { class: 'list-body' }, h('p', { class: 'loading' }, 'Loading webhooks…'));
  const pager = h('nav', { class: 'pager', 'aria-label': 'Webhook pages' });

  // apply reads the filters into the address (without a new history
  // entry) and loads their first page, or pageNo.
  function apply(pageNo = 1) {
    clearTimeout(searchTimer);
    filter.project = projectSelect.value;
    filter.state = stateSelect.value;
    filter.search = searchInput.value.trim();
    filter.sort = sortSelect.value;
    filter.page = pageNo;
    const q = new URLSearchParams();
    if (filter.project) q.set('project', filter.project);
    if (filter.state) q.set('state', filter.state);
    if (filter.search) q.set('q', filter.search);
    if (filter.sort) q.set('sort', filter.sort);
    if (filter.page > 1) q.set('page', String(filter.page));
    const qs = q.toString();
    history.replaceState(null, '', `#/webhooks${qs ? '?' + qs : ''}`);
    load();
  }

  const seen = new Set();
  let optionsKey = null;
  // fillProjects lists the projects of the webhooks shown so far and the
  // one chosen, by title when it is known; it rebuilds the options only
  // when they change, so a refresh does not disturb someone choosing one.
  function fillProjects(extra) {
    for (const pid of extra) if (pid) seen.add(pid);
    if (filter.project && filter.project !== NO_PROJECT) seen.add(filter.project);
    lookUpTitles();
    const entries = [...seen].map((pid) => [pid, titles.get(pid) ?? null])
      .sort((a, b) => (a[1] || a[0]).localeCompare(b[1] || b[0]));
    const key = JSON.stringify(entries);
    if (key === optionsKey) return;
    optionsKey = key;
    const options = [h('option', { value: '' }, 'All projects'), h('option', { value: NO_PROJECT }, 'No project (any project’s events)')];
    for (const [pid, title] of entries) options.push(h('option', { value: pid }, title ? [title, ' (', pid, ')'] : pid));
    projectSelect.replaceChildren(...options);
    projectSelect.value = filter.project;
  }

  // lookUpTitles asks the registry once for each project seen whose title
  // the first page did not give; one that is not registered keeps its id.
  function lookUpTitles() {
    if (!titlesReady) return;
    const missing = [...seen].filter((pid) => !titles.has(pid) && !lookedUp.has(pid));
    if (missing.length === 0) return;
    for (const pid of missing) lookedUp.add(pid);
    Promise.all(missing.map((pid) => api.getProject(pid).catch(() => null))).then((found) => {
      if (!page.alive) return;
      for (const p of found) if (p) titles.set(p.id, p.title);
      showTitles();
    });
  }

  // showTitles puts the titles known now in the options and the table.
  function showTitles() {
    fillProjects([]);
    if (shownList) show(shownList, circuits);
  }

  const projectTitle = (pid) => titles.get(pid) ?? null;

  async function load() {
    clearTimeout(timer);
    if (document.hidden && body.querySelector('table, .state')) {
      // Nobody is looking: check again later.
      timer = setTimeout(load, REFRESH_MS);
      return;
    }
    try {
      const opts = { search: filter.search, sort: filter.sort };
      if (filter.project === NO_PROJECT) opts.noProject = true;
      else if (filter.project) opts.project = filter.project;
      if (filter.state === 'enabled' || filter.state === 'disabled') opts.disabled = filter.state === 'disabled';
      else if (filter.state) opts.health = filter.state;
      const { webhooks: list, total } = await api.listWebhooks(opts, filter.page, PER_PAGE);
      if (!page.alive) return;
      const pages = Math.max(1, Math.ceil(total / PER_PAGE));
      if (filter.page > pages) {
        // The list shrank under this page: show its last page.
        apply(pages);
        return;
      }
      fillProjects(list.map((w) => w.project_id));
      const circuits = await loadCircuits(list);
      if (!page.alive) return;
      show(list, circuits);
      renderPager(total, pages);
      const first = (filter.page - 1) * PER_PAGE + 1;
      status.textContent = `${total > list.length ? `${first}–${first + list.length - 1} of ` : ''}${plural(total, 'webhook')} · live, updated ${new Date().toLocaleTimeString()}`;
    } catch (err) {
      if (!page.alive || err.status === 401) return;
      shownKey = null;
      shownList = null;
      body.replaceChildren(errorBox('Could not load the webhooks', err, load));
      pager.replaceChildren();
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
  let shownList = null;
  let circuits = {};
  function show(list, latestCircuits) {
    shownList = list;
    circuits = latestCircuits;
    const key = JSON.stringify([filter, list, [...titles], circuits]);
    if (key === shownKey) {
      for (const t of body.querySelectorAll('time')) t.textContent = relative(t.dateTime);
      return;
    }
    shownKey = key;
    const focused = document.activeElement?.closest?.('tr[data-webhook-id]')?.dataset.webhookId;
    body.replaceChildren(list.length ? table(list) : empty());
    if (focused) body.querySelector(`tr[data-webhook-id="${focused}"] a`)?.focus();
  }

  function renderPager(total, pages) {
    if (pages <= 1) {
      pager.replaceChildren();
      return;
    }
    const focused = pager.contains(document.activeElement) ? document.activeElement.dataset.go : null;
    const go = (n, label, dir) => h('button', {
      type: 'button', class: 'secondary small', 'data-go': dir, disabled: n < 1 || n > pages,
      onclick: () => { apply(n); body.scrollIntoView({ block: 'start' }); },
    }, label);
    pager.replaceChildren(
      go(1, '« First', 'first'),
      go(filter.page - 1, '← Previous', 'prev'),
      h('span', { class: 'muted' }, `Page ${filter.page} of ${pages}`),
      go(filter.page + 1, 'Next →', 'next'),
      go(pages, 'Last »', 'last'));
    if (focused) {
      const again = pager.querySelector(`[data-go="${focused}"]`);
      (again && !again.disabled ? again : pager.querySelector('button:not(:disabled)'))?.focus();
    }
  }

  function empty() {
    if (filter.search) {
      return emptyState('No webhook matches this search',
        `Nothing has “${filter.search}” in its name or URL, or as its id.`,
        h('a', { href: '#/webhooks', class: 'button secondary' }, 'Clear the search and filters'));
    }
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
        h('th', { scope: 'col', class: 'col-name' }, 'Name'),
        h('th', { scope: 'col', class: 'col-url' }, 'URL'),
        h('th', { scope: 'col', class: 'col-project' }, 'Project'),
        h('th', { scope: 'col', class: 'col-state' }, 'State'),
        h('th', { scope: 'col', class: 'num col-num' }, 'Events'),
        h('th', { scope: 'col', class: 'num col-num' }, h('abbr', { title: 'Deliveries waiting for their first attempt or in flight' }, 'Queue')),
        h('th', { scope: 'col', class: 'num col-num' }, h('abbr', { title: 'Deliveries waiting for a retry' }, 'Retry queue')),
        h('th', { scope: 'col', class: 'col-run' }, 'Last run'))),
      h('tbody', {}, list.map(row))));
  }

  function row(w) {
    const run = w.latest_run;
    const circuit = circuitBadge(circuits[w.id]);
    // Long names and URLs are cut to their cell; the full text shows on
    // hover (title) and, for keyboard users, on focus (style.css).
    return h('tr', { 'data-webhook-id': w.id },
      h('th', { scope: 'row', class: 'name' }, h('a', { href: `#/webhooks/${w.id}`, class: 'truncate', title: w.name }, w.name)),
      h('td', { class: 'url', 'data-label': 'URL' }, h('div', { class: 'url-cell' }, h('span', { class: 'method' }, w.http_method),
        h('span', { class: 'truncate', title: w.http_url, tabindex: '0' }, w.http_url))),
      h('td', { class: 'project', 'data-label': 'Project' }, w.project_id === null
        ? h('span', { class: 'muted' }, 'Any project')
        : (projectTitle(w.project_id)
          ? h('span', { class: 'truncate', title: `${projectTitle(w.project_id)} (${w.project_id})` }, projectTitle(w.project_id))
          : h('code', { class: 'truncate', title: w.project_id }, w.project_id))),
      h('td', { 'data-label': 'State' }, w.disabled ? badge('Disabled', 'off') : badge('Enabled', 'on'),
        circuit ? [' ', circuit] : ''),
      h('td', { class: 'num', 'data-label': 'Events' }, String(w.trigger_events.length)),
      h('td', { class: 'num', 'data-label': 'Queue' }, String(w.queue_length)),
      h('td', { class: 'num', 'data-label': 'Retry queue' }, w.retry_queue_length ? h('strong', {}, String(w.retry_queue_length)) : '0'),
      h('td', { class: 'run', 'data-label': 'Last run' }, run
        ? [run.status === 'success' ? badge('Success', 'ok') : badge('Failed', 'fail'), ' ',
          run.http_status ? `HTTP ${run.http_status} · ` : '', timeEl(run.created_at)]
        : h('span', { class: 'muted' }, 'Never run')));
  }

  page.main.replaceChildren(
    h('div', { class: 'page-head' },
      h('h1', {}, 'Webhooks'),
      h('a', { href: '#/webhooks/new', class: 'button' }, 'New webhook')),
    h('form', { class: 'filters', role: 'search', 'aria-label': 'Search and filter webhooks', onsubmit: (e) => { e.preventDefault(); apply(); } },
      h('div', { class: 'field inline' }, h('label', { for: searchID }, 'Search'), searchInput),
      h('div', { class: 'field inline' }, h('label', { for: projectID }, 'Project'), projectSelect),
      h('div', { class: 'field inline' }, h('label', { for: stateID }, 'State'), stateSelect),
      h('div', { class: 'field inline' }, h('label', { for: sortID }, 'Sort'), sortSelect),
      status),
    body,
    pager);
  fillProjects([]);
  page.focus();

  api.listProjects({ limit: FIRST_TITLES }).catch(() => []).then((list) => {
    if (!page.alive) return;
    for (const p of list) titles.set(p.id, p.title);
    titlesReady = true;
    showTitles();
  });
  load();
  return () => {
    clearTimeout(timer);
    clearTimeout(searchTimer);
  };
}
