// The status page: every job at a glance, worst first.
import { badge, duration, h, time } from './dom.js';

const RANK = { breached: 0, 'at-risk': 1, unknown: 2, ok: 3, none: 4 };

function reasons(job) {
  const s = job.status;
  const out = [];
  if (s.rpo.level === 'breached') out.push(job.recoveryPoint ? 'recovery point older than the RPO' : 'no committed snapshot');
  else if (s.rpo.level === 'at-risk') out.push('recovery point near the RPO');
  if (s.rto.level === 'breached') out.push('recovery time over the RTO');
  else if (s.rto.level === 'at-risk') out.push('recovery time near the RTO');
  else if (s.rto.level === 'unknown') out.push('recovery time not measured yet');
  if (s.drill === 'breached') out.push('last drill failed');
  else if (s.drill === 'at-risk') out.push('last drill was slow');
  if (job.lastBackup?.state === 'failed') out.push(`last backup failed: ${job.lastBackup.error ?? 'no reason given'}`);
  return out;
}

export function recoveryPointCell(job, now) {
  const rpo = job.status.rpo;
  const text = rpo.ageSeconds === null ? 'no snapshot' : `${duration(rpo.ageSeconds)} old`;
  return [badge(rpo.level === 'none' ? 'unknown' : rpo.level, text), h('br'), h('small', {}, rpo.objectiveSeconds === null ? 'no RPO objective' : `objective ${duration(rpo.objectiveSeconds)}`), job.recoveryPoint ? [h('br'), h('small', {}, 'captured ', time(job.recoveryPoint, now))] : null];
}

export function drillCell(job, now) {
  if (!job.drill) return h('span', { class: 'muted' }, 'no drill configured');
  const last = job.drill.last;
  const next = job.drill.schedule ? h('small', {}, 'next ', time(job.drill.nextRun, now)) : h('small', {}, 'no drill schedule');
  if (!last) return [badge('unknown', 'no drill yet'), h('br'), next];
  const rto = job.status.rto;
  const level = last.outcome === 'failed' ? 'breached' : last.outcome === 'slow' ? 'at-risk' : 'ok';
  return [
    badge(level, last.outcome),
    h('br'),
    h('small', {}, last.recoveryTimeSeconds === null ? 'no recovery time' : `recovery ${duration(last.recoveryTimeSeconds)}${rto.objectiveSeconds === null ? '' : ` of ${duration(rto.objectiveSeconds)} RTO`}`),
    h('br'),
    h('small', {}, time(last.finishedAt, now)),
  ];
}

export function sitesList(job) {
  return h(
    'ul',
    { class: 'sites' },
    job.siteStates.map((s) => {
      const down = s.reachable === false;
      const err = s.lastError;
      return h(
        'li',
        {},
        badge(down ? 'breached' : err ? 'at-risk' : s.reachable === null ? 'unknown' : 'ok', `${s.site}: ${down ? 'unreachable' : s.snapshots === null ? 'not read yet' : `${s.snapshots} snapshot${s.snapshots === 1 ? '' : 's'}`}`),
        err ? h('small', { class: 'muted', title: err.message }, ` last error (${err.operation}): ${err.message.length > 120 ? `${err.message.slice(0, 120)}…` : err.message}`) : null,
      );
    }),
  );
}

export function overview(data, who, act) {
  const now = Date.parse(data.now);
  const jobs = [...data.jobs].sort((a, b) => RANK[a.status.level] - RANK[b.status.level] || a.name.localeCompare(b.name));
  const count = (level) => jobs.filter((j) => j.status.level === level).length;
  const operator = who.role === 'operator';
  return [
    h('h1', { tabindex: '-1' }, 'Recovery status'),
    h(
      'ul',
      { class: 'summary', 'aria-label': 'Summary' },
      ['breached', 'at-risk', 'unknown', 'ok', 'none'].filter((l) => count(l) > 0).map((l) => h('li', {}, badge(l, `${count(l)} ${l === 'none' ? 'without objectives' : l === 'unknown' ? 'not measured' : l === 'ok' ? 'OK' : l}`))),
    ),
    h(
      'table',
      {},
      h('caption', {}, `${jobs.length} job${jobs.length === 1 ? '' : 's'}, worst first. Updated `, time(data.now, now), '.'),
      h(
        'thead',
        {},
        h('tr', {}, ['Job', 'Status', 'Recovery point (RPO)', 'Verified recovery point', 'Last drill (RTO)', 'Next backup', 'Sites', ...(operator ? ['Actions'] : [])].map((t) => h('th', { scope: 'col' }, t))),
      ),
      h(
        'tbody',
        {},
        jobs.map((j) =>
          h(
            'tr',
            { 'data-job': j.name },
            h('th', { scope: 'row' }, h('a', { href: `#/jobs/${encodeURIComponent(j.name)}` }, j.name), h('br'), h('small', {}, j.source)),
            h('td', {}, badge(j.status.level), reasons(j).map((r) => [h('br'), h('small', {}, r)])),
            h('td', {}, recoveryPointCell(j, now)),
            h('td', {}, j.drill?.verifiedRecoveryPoint ? time(j.drill.verifiedRecoveryPoint, now) : h('span', { class: 'muted' }, 'none verified')),
            h('td', {}, drillCell(j, now)),
            h('td', {}, j.schedule ? time(j.nextRun, now) : h('span', { class: 'muted' }, 'no schedule'), j.schedule ? [h('br'), h('small', {}, h('code', {}, j.schedule))] : null),
            h('td', {}, sitesList(j)),
            operator
              ? h(
                  'td',
                  {},
                  h(
                    'div',
                    { class: 'actions' },
                    h('button', { type: 'button', id: `backup-${j.name}`, onclick: () => act('backups', j) }, 'Back up now'),
                    j.drill ? h('button', { type: 'button', id: `drill-${j.name}`, onclick: () => act('drills', j) }, 'Run drill') : null,
                  ),
                )
              : null,
          ),
        ),
      ),
    ),
  ];
}
