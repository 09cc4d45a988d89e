/**
 * What the restore data path's worker thread and the thread that started it say to each other.
 * Plain data only (structured clone): key objects and file handles travel as themselves, errors
 * as their code and message.
 */
import type { KeyObject } from 'node:crypto';
import { LifeboatError, describeError, type ErrorCode } from '../../errors.ts';
import type { CipherMessage } from './cipher-feed.ts';

export interface Expectation {
  readonly bytes: number;
  readonly sha256: string;
  /** The error message's start when the bytes do not match. */
  readonly what: string;
}

/** A vetting step for the plaintext before any consumer sees it (a tar stream's members). */
export interface Vetting {
  readonly kind: 'tar';
  readonly what: string;
}

export interface IdentityData {
  readonly privateKey: KeyObject;
  readonly recipient: { readonly text: string; readonly publicKey: KeyObject; readonly raw: Uint8Array };
}

export interface WorkerJob {
  readonly identities: readonly IdentityData[];
  readonly cipher: Expectation;
  readonly plain: Expectation;
  readonly vet?: Vetting;
  /** The Unix socket the plaintext is written to. */
  readonly out: string;
}

export interface SerializedError {
  readonly code?: ErrorCode;
  readonly message: string;
  readonly permanent?: boolean;
}

export type FromWorker =
  /** The worker's stream took one more piece of the ciphertext (cipher-feed.ts). */
  | { readonly type: 'took' }
  | { readonly type: 'progress'; readonly bytes: number }
  /** Every byte verified and written; the plaintext socket is ended. */
  | { readonly type: 'done' }
  /**
   * The stream failed. The plaintext socket stays open — the worker waits to be terminated — so
   * that a consumer is killed before it could mistake the socket's end for a whole stream.
   */
  | { readonly type: 'error'; readonly error: SerializedError };

/** The ciphertext, piece by piece (cipher-feed.ts). */
export type ToWorker = CipherMessage;

export function serializeError(err: unknown): SerializedError {
  if (err instanceof LifeboatError) return { code: err.code, message: err.message, permanent: err.permanent };
  return { message: describeError(err) };
}

/** A LifeboatError again when it was one; otherwise a plain Error with the message. */
export function reviveError(e: SerializedError): Error {
  return e.code ? new LifeboatError(e.code, e.message, { permanent: e.permanent ?? true }) : new Error(e.message);
}
