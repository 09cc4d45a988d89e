/**
 * Errors. Every error Lifeboat raises on purpose is a LifeboatError: a stable `code` that scripts
 * and metrics can rely on, a message that says what is wrong and what to do, and `permanent`,
 * which tells a retry wrapper not to try again (bad credentials, a corrupt snapshot) as opposed to
 * a passing fault (a connection reset).
 */
export type ErrorCode =
  | 'CONFIG_INVALID'
  | 'USAGE'
  | 'KEY_INVALID'
  | 'DECRYPT_NO_MATCH'
  | 'DECRYPT_HEADER'
  | 'DECRYPT_HMAC'
  | 'DECRYPT_PAYLOAD'
  | 'SITE_UNREACHABLE'
  | 'SITE_AUTH'
  | 'SITE_ERROR'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'DUMP_FAILED'
  | 'RESTORE_FAILED'
  | 'INTEGRITY'
  | 'BACKUP_FAILED'
  | 'ABORTED';

export class LifeboatError extends Error {
  readonly code: ErrorCode;
  readonly permanent: boolean;

  constructor(code: ErrorCode, message: string, opts: { permanent?: boolean; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'LifeboatError';
    this.code = code;
    this.permanent = opts.permanent ?? true;
  }
}

export function isLifeboatError(err: unknown, code?: ErrorCode): err is LifeboatError {
  return err instanceof LifeboatError && (code === undefined || err.code === code);
}

/** Why a file could not be read, in words: "file not found", "permission denied", … */
export function fileErrorReason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === 'ENOENT') return 'file not found';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'it is a directory';
  return describeError(err);
}

/** A message fit for a user: never a stack trace. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/** The error code list grows here; sites use these. */
export function siteError(site: string, code: ErrorCode, reason: string, opts: { permanent?: boolean; cause?: unknown } = {}): LifeboatError {
  return new LifeboatError(code, `site "${site}": ${reason}`, opts);
}
