// What an operator can start: a backup, a drill, a restore. Each goes through a dialog that says
// what will happen (for a restore, the target, repeated) before anything is sent.
import { api, enc } from './api.js';
import { announce, h, maskTarget } from './dom.js';

/** Shows a modal dialog built by `build(close)`; resolves with what `close` was called with. */
function modal(labelId, build) {
  return new Promise((resolve) => {
    const dialog = h('dialog', { 'aria-labelledby': labelId });
    // Focus goes back where it was (by id: a refresh may have redrawn that button meanwhile).
    const opener = document.activeElement?.id;
    const close = (value) => {
      dialog.close();
      dialog.remove();
      if (opener) document.getElementById(opener)?.focus();
      resolve(value);
    };
    dialog.addEventListener('cancel', (e) => {
      e.preventDefault();
      close(null);
    });
    dialog.append(build(close, dialog));
    document.body.append(dialog);
    dialog.showModal();
  });
}

export function confirmStart(title, text, confirmLabel) {
  return modal('confirm-title', (close) =>
    h(
      'form',
      { method: 'dialog', onsubmit: (e) => (e.preventDefault(), close(true)) },
      h('h2', { id: 'confirm-title' }, title),
      h('p', {}, text),
      h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, confirmLabel), h('button', { type: 'button', onclick: () => close(null) }, 'Cancel')),
    ),
  );
}

const OPTIONS = {
  files: [['force', 'Replace what the target folder already holds (--force)']],
  sqlite: [['force', 'Overwrite an existing file (--force)']],
  postgres: [
    ['clean', 'Drop and re-create objects in a non-empty database (--clean)'],
    ['noOwner', 'Do not restore object owners (--no-owner)'],
  ],
  mysql: [['clean', 'Restore into a non-empty database (--clean)']],
  command: [],
};

const TARGET_HINT = {
  files: 'an empty or new folder on the daemon host, e.g. /srv/restore/docs',
  sqlite: 'a file path on the daemon host, e.g. /srv/restore/app.db',
  postgres: 'a database URL, e.g. postgres://user@db-host:5432/restored (created when missing)',
  mysql: 'a database URL, e.g. mysql://root@db-host:3306/restored',
  command: 'what the job\'s restore command expects',
};

/** The restore dialog: choose, then confirm with the target repeated. Resolves with the request or null. */
export function restoreDialog(job, snapshots) {
  return modal('restore-title', (close, dialog) => {
    const snapshot = h('select', { id: 'restore-snapshot' }, snapshots.map((s, i) => h('option', { value: s.id }, `${s.id}${i === 0 ? ' (newest)' : ''} — on ${s.sites.join(', ')}`)));
    const target = h('input', { id: 'restore-target', type: 'text', required: true, autocomplete: 'off', spellcheck: 'false', 'aria-describedby': 'restore-target-hint' });
    const site = h('select', { id: 'restore-site' }, h('option', { value: '' }, 'any site that holds it (in config order)'), job.sites.map((s) => h('option', { value: s }, s)));
    const checks = (OPTIONS[job.source] ?? []).map(([key, text]) => ({ key, box: h('input', { type: 'checkbox', id: `restore-${key}` }), text }));
    const error = h('p', { class: 'error', role: 'alert', hidden: true });
    const choose = h(
      'form',
      {
        onsubmit: (e) => {
          e.preventDefault();
          if (target.value.trim() === '') {
            error.hidden = false;
            error.textContent = 'Enter where to restore to.';
            target.focus();
            return;
          }
          review();
        },
      },
      h('h2', { id: 'restore-title' }, `Restore ${job.name}`),
      h('label', { for: 'restore-snapshot' }, 'Snapshot'),
      snapshot,
      h('label', { for: 'restore-target' }, 'Restore into'),
      target,
      h('p', { class: 'hint', id: 'restore-target-hint' }, `${TARGET_HINT[job.source] ?? 'a target of the kind the source expects'}. Restoring into the job's own source is refused.`),
      h('label', { for: 'restore-site' }, 'From site'),
      site,
      checks.map((c) => h('label', { class: 'check', for: `restore-${c.key}` }, c.box, c.text)),
      error,
      h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Review…'), h('button', { type: 'button', onclick: () => close(null) }, 'Cancel')),
    );
    const review = () => {
      const request = { snapshot: snapshot.value, target: target.value.trim() };
      if (site.value) request.site = site.value;
      for (const c of checks) if (c.box.checked) request[c.key] = true;
      const shown = maskTarget(request.target);
      const confirm = h(
        'form',
        { onsubmit: (e) => (e.preventDefault(), close(request)) },
        h('h2', { id: 'restore-title' }, 'Confirm the restore'),
        h('p', {}, `Snapshot ${request.snapshot} of ${job.name}${request.site ? `, from site ${request.site}` : ''}, will be written into:`),
        h('p', { class: 'target', id: 'restore-confirm-target' }, shown),
        checks.filter((c) => c.box.checked).length ? h('p', {}, `With: ${checks.filter((c) => c.box.checked).map((c) => c.text).join('; ')}.`) : null,
        h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'danger' }, `Restore into ${shown}`), h('button', { type: 'button', onclick: () => show(choose) }, 'Back')),
      );
      show(confirm);
    };
    const show = (form) => {
      dialog.replaceChildren(form);
      (form.querySelector('input, select') ?? form.querySelector('button')).focus();
    };
    return choose;
  });
}

const VERB = { backups: 'Backup', drills: 'Drill', restores: 'Restore' };

/** POSTs the request; announces and returns the operation, or throws the API's error. */
export async function start(kind, job, body) {
  const { operation } = await api('POST', `/jobs/${enc(job)}/${kind}`, body ?? {});
  announce(`${VERB[kind]} of ${job} started (operation ${operation.id}).`);
  return operation;
}
