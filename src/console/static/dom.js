// Building the page from data without innerHTML: every value from the API becomes a text node, so
// a job name or an error message can never turn into markup.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

export function duration(seconds) {
  if (seconds === null || seconds === undefined) return '—';
  if (seconds < 10) return `${seconds.toFixed(1)} s`;
  const s = Math.round(seconds);
  if (s < 90) return `${s} s`;
  const m = Math.round(s / 60);
  if (m < 90) return `${m} min`;
  const hours = Math.floor(m / 60);
  if (hours < 48) return m % 60 === 0 ? `${hours} h` : `${hours} h ${m % 60} min`;
  return hours % 24 === 0 ? `${hours / 24} d` : `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

/** An absolute time, with its distance from now as the visible text and the time itself on hover. */
export function time(iso, now = Date.now()) {
  if (!iso) return h('span', { class: 'muted' }, 'never');
  const t = Date.parse(iso);
  const d = (t - now) / 1000;
  const text = Math.abs(d) < 5 ? 'just now' : d < 0 ? `${duration(-d)} ago` : `in ${duration(d)}`;
  return h('time', { datetime: iso, title: new Date(t).toString() }, text);
}

export function bytes(n) {
  if (n === null || n === undefined) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(i === 0 || v >= 100 ? 0 : 1)} ${units[i]}`;
}

const LEVELS = {
  ok: ['✔', 'OK'],
  'at-risk': ['▲', 'At risk'],
  breached: ['✖', 'Breached'],
  unknown: ['?', 'Not measured'],
  none: ['–', 'No objective'],
};

/** A status as icon, word and colour together (never colour alone). */
export function badge(level, text) {
  const [icon, word] = LEVELS[level] ?? LEVELS.unknown;
  return h('span', { class: `badge level-${level}` }, h('span', { 'aria-hidden': 'true' }, icon), text ?? word);
}

export function levelWord(level) {
  return (LEVELS[level] ?? LEVELS.unknown)[1];
}

/** A database URL with its password hidden, for showing a target back to the user. */
export function maskTarget(target) {
  return target.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@\s]*):[^@/\s]*@/i, '$1:•••@');
}

export function announce(text) {
  const el = document.getElementById('announce');
  if (el) el.textContent = text;
}
