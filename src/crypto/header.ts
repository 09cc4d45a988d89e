/**
 * The age v1 header: a version line, one stanza per recipient, and a MAC line.
 *
 *     age-encryption.org/v1
 *     -> X25519 <share>          a stanza: "-> " type and arguments,
 *     <base64 body>              then its body in lines of 64 columns, ending with a shorter line
 *     --- <base64 HMAC>          HMAC-SHA-256 of everything before the space, keyed from the file key
 *
 * Parsing is strict, as the spec asks: canonical unpadded base64, LF line endings, visible ASCII
 * arguments. Any deviation is a header failure, so that a re-encoded header always MACs the same.
 */
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { LifeboatError } from '../errors.ts';

export const VERSION_LINE = 'age-encryption.org/v1';
const COLUMNS = 64;

export interface Stanza {
  readonly type: string;
  readonly args: string[];
  readonly body: Buffer;
}

export interface ParsedHeader {
  readonly stanzas: Stanza[];
  /** The header bytes the MAC covers: everything up to and including the final "---". */
  readonly macInput: Buffer;
  readonly mac: Buffer;
}

export function headerError(reason: string): LifeboatError {
  return new LifeboatError('DECRYPT_HEADER', `not a valid age file: ${reason}`);
}

const BASE64_RE = /^[A-Za-z0-9+/]*$/;

/** Decodes canonical unpadded base64, or returns undefined. */
export function decodeBase64(text: string): Buffer | undefined {
  if (!BASE64_RE.test(text) || text.length % 4 === 1) return undefined;
  const bytes = Buffer.from(text, 'base64');
  return encodeBase64(bytes) === text ? bytes : undefined;
}

export function encodeBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64').replace(/=+$/, '');
}

function isArgument(arg: string): boolean {
  if (arg.length === 0) return false;
  for (let i = 0; i < arg.length; i++) {
    const c = arg.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

/** Parses a complete header (ending with the MAC line's LF). */
export function parseHeader(bytes: Buffer): ParsedHeader {
  const text = bytes.toString('latin1');
  const lines = text.split('\n');
  if (lines.pop() !== '') throw headerError('the header does not end with a newline');
  if (lines[0] !== VERSION_LINE) throw headerError(`unsupported version line "${(lines[0] ?? '').slice(0, 40)}"`);
  const stanzas: Stanza[] = [];
  let i = 1;
  while (i < lines.length) {
    const line = lines[i] ?? '';
    if (line.startsWith('---')) break;
    if (!line.startsWith('-> ')) throw headerError(`line ${i + 1} is neither a stanza nor the MAC line`);
    const args = line.slice(3).split(' ');
    if (!args.every(isArgument)) throw headerError(`line ${i + 1} has an empty or invalid stanza argument`);
    const [type, ...rest] = args as [string, ...string[]];
    i++;
    const chunks: Buffer[] = [];
    for (;;) {
      const bodyLine = lines[i];
      if (bodyLine === undefined) throw headerError('a stanza has no final short body line');
      const decoded = bodyLine.length <= COLUMNS ? decodeBase64(bodyLine) : undefined;
      if (decoded === undefined) throw headerError(`line ${i + 1} is not a canonical base64 body line`);
      chunks.push(decoded);
      i++;
      if (bodyLine.length < COLUMNS) break;
    }
    stanzas.push({ type, args: rest, body: Buffer.concat(chunks) });
  }
  if (i !== lines.length - 1) throw headerError('the MAC line is missing or not last');
  const macLine = lines[i] ?? '';
  if (!macLine.startsWith('--- ')) throw headerError('the MAC line is malformed');
  const mac = decodeBase64(macLine.slice(4));
  if (mac === undefined || mac.length !== 32) throw headerError('the header MAC is not 32 bytes of canonical base64');
  if (stanzas.length === 0) throw headerError('the header has no recipient stanza');
  const macInput = bytes.subarray(0, bytes.length - macLine.length - 1 + 3);
  return { stanzas, macInput, mac };
}

function headerMacKey(fileKey: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', fileKey, Buffer.alloc(0), 'header', 32));
}

export function verifyHeaderMac(header: ParsedHeader, fileKey: Buffer): boolean {
  const expected = createHmac('sha256', headerMacKey(fileKey)).update(header.macInput).digest();
  return timingSafeEqual(expected, header.mac);
}

/** Encodes stanzas and the MAC line into a complete header. */
export function encodeHeader(stanzas: Stanza[], fileKey: Buffer): Buffer {
  let text = `${VERSION_LINE}\n`;
  for (const s of stanzas) {
    text += `-> ${[s.type, ...s.args].join(' ')}\n`;
    const b64 = encodeBase64(s.body);
    for (let off = 0; ; off += COLUMNS) {
      const line = b64.slice(off, off + COLUMNS);
      text += `${line}\n`;
      if (line.length < COLUMNS) break;
    }
  }
  text += '---';
  const mac = createHmac('sha256', headerMacKey(fileKey)).update(text, 'latin1').digest();
  return Buffer.from(`${text} ${encodeBase64(mac)}\n`, 'latin1');
}
