/**
 * Turns AWS SDK errors into LifeboatErrors that name the site and say what to do. Credentials and
 * signatures are permanent failures (retrying cannot help); network faults and 5xx are transient.
 */
import { LifeboatError, describeError, siteError } from '../../errors.ts';

interface SdkError {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  $fault?: 'client' | 'server';
}

const AUTH = new Set(['SignatureDoesNotMatch', 'InvalidAccessKeyId', 'AccessDenied', 'InvalidToken', 'ExpiredToken', 'CredentialsProviderError']);
const NETWORK = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'TimeoutError']);

export function isNotFound(err: unknown): boolean {
  const e = err as SdkError;
  return e?.name === 'NotFound' || e?.name === 'NoSuchKey' || e?.$metadata?.httpStatusCode === 404 && e?.name !== 'NoSuchBucket';
}

export function classifyS3Error(site: string, what: string, err: unknown): LifeboatError {
  if (err instanceof LifeboatError) return err;
  const e = (err ?? {}) as SdkError;
  // HEAD responses carry no error document: the SDK then names the error "Unknown" or "403".
  const name = e.name && e.name !== 'Unknown' && !/^\d+$/.test(e.name) ? e.name : '';
  const status = e.$metadata?.httpStatusCode;
  if (name === 'NoSuchKey' || name === 'NotFound') return siteError(site, 'NOT_FOUND', `${what}: not found`);
  if (name === 'PreconditionFailed' || status === 412) return siteError(site, 'CONFLICT', `${what}: already exists`);
  if (AUTH.has(name) || status === 403) {
    return siteError(site, 'SITE_AUTH', `${what}: access denied (${name || `HTTP ${status}`}): check the site's accessKeyId and secretAccessKey`, { cause: err });
  }
  if (name === 'NoSuchBucket') return siteError(site, 'SITE_ERROR', `${what}: the bucket does not exist`, { cause: err });
  if (NETWORK.has(e.code ?? '') || NETWORK.has(name) || (status === undefined && /ECONN|socket hang up|timed? ?out/i.test(e.message ?? ''))) {
    return siteError(site, 'SITE_UNREACHABLE', `${what}: cannot reach the endpoint (${e.code ?? (name || describeError(err))})`, { permanent: false, cause: err });
  }
  const transient = e.$fault === 'server' || (status !== undefined && status >= 500);
  return siteError(site, 'SITE_ERROR', `${what}: ${name || 'error'}${status ? ` (HTTP ${status})` : ''}: ${describeError(err).slice(0, 300)}`, {
    permanent: !transient,
    cause: err,
  });
}
