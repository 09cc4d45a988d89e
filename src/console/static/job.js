// A job's page: its sites, snapshots (drill-verified or not), drill history with every check's
// observation, and its recent operations with live progress.
import { api, enc } from './api.js';
import { badge, bytes, duration, h, time } from './dom.js';
import { drillCell, recoveryPointCell, sitesList } from './overview.js';

export async function loadJob(name) {
  const [jobs, snaps, drills, ops] = await Promise.all([
    api('GET', '/jobs'),
    api('GET', `/jobs/${enc(name)}/snapshots`),
    api('GET', `/jobs/${enc(name)}/drills`),
    api('GET', `/operations?job=${enc(name)}&limit=20`),
  ]);
  const job = jobs.jobs.find((j) => j.name === name);
  return { now: Date.parse(jobs.now), job, snapshots: snaps.snapshots, problems: [...snaps.problems, ...drills.problems], drills: drills.drills, operations: ops.operations };
}

const STATE = { queued: 'unknown', running: 'at-risk', succeeded: 'ok', failed: 'breached' };

function progress(op) {
  const p = op.progress ?? { bytes: 0 };
  if (op.state !== 'running') return op.state === 'queued' ? 'waiting' : bytes(p.bytes);
  const phase = p.phase ? `${p.phase}: ` : '';
  if (p.totalBytes) {
    const pct = Math.min(100, Math.round((p.bytes / p.totalBytes) * 100));
    return [h('progress', { max: String(p.totalBytes), value: String(p.bytes), 'aria-label': `${op.kind} progress` }), ` ${phase}${pct}% of ${bytes(p.totalBytes)}`];
  }
  return `${phase}${bytes(p.bytes)}`;
}

function outcome(op) {
  if (op.state === 'failed') return h('span', {}, op.error ?? 'failed');
  const r = op.result;
  if (!r || op.state !== 'succeeded') return '';
  if (r.skipped) return `skipped: ${r.skipped}`;
  if (op.kind === 'backup') return `snapshot ${r.snapshotId}, on ${(r.committed ?? []).join(', ')}${r.failed?.length ? `; failed on ${r.failed.map((f) => f.site).join(', ')}` : ''}`;
  if (op.kind === 'restore') return `snapshot ${r.snapshotId} from ${r.site} in ${duration(r.seconds)}`;
  if (op.kind === 'drill') return `${r.outcome}: snapshot ${r.snapshotId ?? '—'}, recovery ${duration(r.recoveryTimeSeconds)}`;
  return '';
}

function checksList(report) {
  return h(
    'ul',
    { class: 'checks' },
    report.checks.map((c) => h('li', {}, badge(c.passed ? 'ok' : 'breached', c.passed ? 'passed' : 'failed'), ` ${c.name}: observed ${c.observed}`, h('small', { class: 'muted' }, ` (expected ${c.expected})`))),
  );
}

function table(caption, headers, rows, empty) {
  if (rows.length === 0) return h('p', { class: 'muted' }, empty);
  return h('table', {}, h('caption', {}, caption), h('thead', {}, h('tr', {}, headers.map((t) => h('th', { scope: 'col' }, t)))), h('tbody', {}, rows));
}

export function jobPage(d, who, act) {
  const { job, now } = d;
  if (!job) return [h('h1', { tabindex: '-1' }, 'No such job'), h('p', {}, h('a', { href: '#/' }, 'Back to all jobs'))];
  const operator = who.role === 'operator';
  const verified = new Map(d.drills.filter((r) => r.outcome === 'passed' && r.snapshotId).map((r) => [r.snapshotId, r]));
  return [
    h('p', {}, h('a', { href: '#/' }, '← All jobs')),
    h('h1', { tabindex: '-1' }, `${job.name} `, badge(job.status.level)),
    h(
      'table',
      { class: 'facts' },
      h(
        'tbody',
        {},
        h('tr', {}, h('th', { scope: 'row' }, 'Source'), h('td', {}, job.source)),
        h('tr', {}, h('th', { scope: 'row' }, 'Recovery point'), h('td', {}, recoveryPointCell(job, now))),
        h('tr', {}, h('th', { scope: 'row' }, 'Verified recovery point'), h('td', {}, job.drill?.verifiedRecoveryPoint ? time(job.drill.verifiedRecoveryPoint, now) : 'none verified')),
        h('tr', {}, h('th', { scope: 'row' }, 'Last drill'), h('td', {}, drillCell(job, now))),
        h('tr', {}, h('th', { scope: 'row' }, 'Next backup'), h('td', {}, job.schedule ? [time(job.nextRun, now), ' ', h('code', {}, job.schedule)] : 'no schedule')),
        h(
          'tr',
          {},
          h('th', { scope: 'row' }, 'Last backup'),
          h(
            'td',
            {},
            job.lastBackup
              ? [badge(STATE[job.lastBackup.state], job.lastBackup.state), ' ', time(job.lastBackup.finishedAt, now), job.lastBackup.error ? [h('br'), h('small', {}, job.lastBackup.error)] : null]
              : h('span', { class: 'muted' }, 'none since the daemon started'),
          ),
        ),
        h('tr', {}, h('th', { scope: 'row' }, 'Sites'), h('td', {}, sitesList(job), h('small', {}, `committed on at least ${job.minSites} site${job.minSites === 1 ? '' : 's'} counts`))),
      ),
    ),
    operator
      ? h(
          'div',
          { class: 'actions', role: 'group', 'aria-label': 'Actions' },
          h('button', { type: 'button', id: 'act-backup', onclick: () => act('backups', job) }, 'Back up now'),
          job.drill ? h('button', { type: 'button', id: 'act-drill', onclick: () => act('drills', job) }, 'Run drill') : null,
          h('button', { type: 'button', id: 'act-restore', disabled: d.snapshots.length === 0, onclick: () => act('restores', job, d.snapshots) }, 'Restore…'),
        )
      : null,
    d.problems.length ? h('div', { class: 'error', role: 'alert' }, h('strong', {}, 'Problems reading the sites: '), d.problems.join('; ')) : null,
    h('h2', { id: 'ops' }, 'Recent operations'),
    table(
      'Started here since the daemon last started, newest first',
      ['Operation', 'State', 'Why', 'Queued', 'Progress', 'Result'],
      d.operations.map((op) =>
        h(
          'tr',
          { 'data-operation': op.id, 'data-state': op.state },
          h('td', {}, op.kind),
          h('td', {}, badge(STATE[op.state] ?? 'unknown', op.state)),
          h('td', {}, op.reason),
          h('td', {}, time(op.queuedAt, now)),
          h('td', {}, progress(op)),
          h('td', {}, outcome(op)),
        ),
      ),
      'No operations since the daemon started.',
    ),
    h('h2', {}, 'Snapshots'),
    table(
      'Committed snapshots, newest first, and which sites hold a copy',
      ['Snapshot', 'Captured', 'Size (source → stored)', ...job.sites.map((site) => `On ${site}`), 'Drill-verified'],
      d.snapshots.map((s) =>
        h(
          'tr',
          {},
          h('td', {}, h('code', {}, s.id)),
          h('td', {}, time(s.createdAt, now)),
          h('td', {}, `${bytes(s.sourceBytes)} → ${bytes(s.storedBytes)}`),
          job.sites.map((site) => h('td', {}, s.sites.includes(site) ? badge('ok', 'held') : badge('at-risk', 'missing'))),
          h('td', {}, verified.has(s.id) ? badge('ok', `verified ${new Date(verified.get(s.id).finishedAt).toISOString().slice(0, 16).replace('T', ' ')} UTC`) : h('span', { class: 'muted' }, 'not drilled')),
        ),
      ),
      'No committed snapshot on any site.',
    ),
    h('h2', {}, 'Drill history'),
    table(
      'Drill reports from the sites, newest first',
      ['Finished', 'Outcome', 'Snapshot', 'Recovery time', 'Checks'],
      d.drills.map((r) =>
        h(
          'tr',
          {},
          h('td', {}, time(r.finishedAt, now)),
          h('td', {}, badge(r.outcome === 'passed' ? 'ok' : r.outcome === 'slow' ? 'at-risk' : 'breached', r.outcome), r.error ? [h('br'), h('small', {}, r.error)] : null),
          h('td', {}, r.snapshotId ? h('code', {}, r.snapshotId) : '—', r.site ? h('small', {}, ` from ${r.site}`) : null),
          h('td', {}, r.recoveryTimeSeconds === undefined ? '—' : duration(r.recoveryTimeSeconds), r.rtoObjectiveSeconds ? h('small', {}, ` of ${duration(r.rtoObjectiveSeconds)}`) : null),
          h('td', {}, checksList(r)),
        ),
      ),
      job.drill ? 'No drill has run yet.' : 'This job has no drill section in its config.',
    ),
  ];
}
