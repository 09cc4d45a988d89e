/**
 * Restore targets that are URLs. A files or sqlite snapshot restores into a path, and a URL given
 * instead must be refused rather than become a folder named `postgres:`. A URL is named in the
 * message by its scheme and host only: a user may have typed a password into it.
 */

/** Whether `text` is a URL (`scheme://…`) rather than a path. */
export function isUrlTarget(text: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(text);
}

/** A URL target for a message, without its user, password, path or query: `a URL (postgres://db.example:5432/…)`. */
export function describeUrlTarget(text: string): string {
  try {
    const u = new URL(text);
    const rest = u.pathname.length > 1 || u.search || u.hash ? '/…' : '';
    return `a URL (${u.protocol}//${u.host}${rest})`;
  } catch {
    return 'a URL';
  }
}

/** How a wrong target is named in a "restores into X, not Y" message. */
export function describeTarget(text: string): string {
  return isUrlTarget(text) ? describeUrlTarget(text) : `"${text}"`;
}

/**
 * A target as given, for logs and messages: a URL loses its password and its query (where
 * connection secrets such as `sslpassword` go); a path stays as it is.
 */
export function redactTarget(text: string): string {
  if (!isUrlTarget(text)) return text;
  try {
    const u = new URL(text);
    u.password = '';
    u.search = '';
    u.hash = '';
    return u.href;
  } catch {
    return describeUrlTarget(text);
  }
}
