// The console's entry: sign-in, a hash router (#/ and #/jobs/NAME), and a refresh loop that
// polls faster while an operation runs. No framework and no build step: the daemon serves these
// files as they are.
import { api, ApiError, session } from './api.js';
import { confirmStart, restoreDialog, start } from './actions.js';
import { announce, h } from './dom.js';
import { jobPage, loadJob } from './job.js';
import { overview } from './overview.js';

const main = document.getElementById('main');
const nav = document.getElementById('session');
let who = null;
let timer = 0;
let generation = 0;
/** Operations started or seen running, to announce how they ended. */
const watched = new Map();

function showLogin(message) {
  who = null;
  nav.replaceChildren();
  const input = h('input', { id: 'token', type: 'password', autocomplete: 'off', required: true, 'aria-describedby': 'token-hint' });
  const error = h('p', { class: 'error', role: 'alert', hidden: !message }, message ?? '');
  const form = h(
    'form',
    {
      class: 'login',
      onsubmit: async (e) => {
        e.preventDefault();
        session.set(input.value.trim());
        try {
          who = await api('GET', '/whoami');
          location.hash = location.hash || '#/';
          await render(true);
        } catch (err) {
          session.clear();
          error.hidden = false;
          error.textContent = err instanceof ApiError && err.status === 401 ? 'The daemon does not accept that token.' : err.message;
          input.focus();
        }
      },
    },
    h('h1', {}, 'Sign in'),
    h('label', { for: 'token' }, 'API token'),
    input,
    h('p', { class: 'hint', id: 'token-hint' }, 'A token from api.tokens in the daemon\'s config. A viewer token shows everything; an operator token can also start backups, drills and restores. It is kept in this tab only (session storage).'),
    error,
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Sign in')),
  );
  main.replaceChildren(form);
  input.focus();
}

function showSession() {
  nav.replaceChildren(
    h('span', {}, `Signed in as ${who.name} (${who.role})`),
    h('button', { type: 'button', class: 'link', onclick: () => (session.clear(), showLogin()) }, 'Sign out'),
  );
}

async function act(kind, job, snapshots) {
  let body = {};
  if (kind === 'restores') {
    body = await restoreDialog(job, snapshots);
    if (!body) return;
  } else {
    const what = kind === 'backups' ? 'backup' : 'restore drill';
    const ok = await confirmStart(`Start a ${what} of ${job.name}?`, kind === 'backups' ? `A new snapshot of ${job.name} is taken now and stored on ${job.sites.join(', ')}.` : `The newest snapshot of ${job.name} is restored into a scratch target and checked; the report is stored on its sites.`, `Start ${what}`);
    if (!ok) return;
  }
  try {
    const op = await start(kind, job.name, body);
    watched.set(op.id, op.kind);
    if (!location.hash.startsWith('#/jobs/')) location.hash = `#/jobs/${encodeURIComponent(job.name)}`;
    else await render();
  } catch (err) {
    main.prepend(h('p', { class: 'error', role: 'alert' }, `Could not start: ${err.message}`));
  }
}

function announceEnded(operations) {
  for (const op of operations) {
    if (op.state === 'running' || op.state === 'queued') {
      if (!watched.has(op.id)) watched.set(op.id, op.kind);
    } else if (watched.has(op.id)) {
      watched.delete(op.id);
      announce(`${op.kind} of ${op.job} ${op.state}${op.error ? `: ${op.error}` : ''}.`);
    }
  }
}

async function render(moveFocus = false) {
  clearTimeout(timer);
  const mine = ++generation;
  if (!session.token()) return showLogin();
  if (document.querySelector('dialog[open]')) {
    // Never redraw under an open dialog; try again shortly.
    timer = setTimeout(render, 1000);
    return;
  }
  let next = 10_000;
  try {
    who ??= await api('GET', '/whoami');
    showSession();
    const m = /^#\/jobs\/(.+)$/.exec(location.hash);
    let content;
    if (m) {
      const d = await loadJob(decodeURIComponent(m[1]));
      announceEnded(d.operations);
      if (d.operations.some((o) => o.state === 'running' || o.state === 'queued')) next = 1000;
      content = jobPage(d, who, act);
    } else {
      const data = await api('GET', '/jobs');
      if (data.jobs.some((j) => j.running.length > 0)) next = 2000;
      content = overview(data, who, act);
    }
    if (mine !== generation) return;
    const focused = document.activeElement?.id;
    main.replaceChildren(...[content].flat(Infinity).filter((n) => n !== null && n !== undefined));
    if (moveFocus) main.querySelector('h1')?.focus();
    else if (focused) document.getElementById(focused)?.focus();
  } catch (err) {
    if (mine !== generation) return;
    if (err instanceof ApiError && err.status === 401) return showLogin('The daemon no longer accepts this token: sign in again.');
    main.replaceChildren(h('h1', { tabindex: '-1' }, 'Cannot load'), h('p', { class: 'error', role: 'alert' }, err.message), h('p', {}, 'Retrying every 5 seconds.'));
    next = 5000;
  }
  timer = setTimeout(render, next);
}

window.addEventListener('hashchange', () => render(true));
render(true);
