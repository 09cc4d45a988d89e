/**
 * `${env:NAME}` and `${file:PATH}` references in config values, resolved at load time so that
 * secrets never sit inline in the YAML. A reference may stand alone or inside a longer string
 * (`postgres://${env:DB_USER}@db:5432/app`). File references are read as UTF-8 with one trailing
 * newline removed; relative paths resolve against the config file's folder.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileErrorReason } from '../errors.ts';

const REFERENCE = /\$\{(env|file):([^}]*)\}/g;

export function hasReference(value: string): boolean {
  return new RegExp(REFERENCE.source).test(value);
}

/** Whether the whole value is exactly one reference (required for secret fields). */
export function isWholeReference(value: string): boolean {
  return /^\$\{(env|file):[^}]+\}$/.test(value);
}

export type ResolveResult = { ok: true; value: string } | { ok: false; message: string };

export function resolveReferences(value: string, env: NodeJS.ProcessEnv, baseDir: string): ResolveResult {
  let failure: string | undefined;
  const out = value.replace(REFERENCE, (_m, kind: string, arg: string) => {
    if (failure !== undefined) return '';
    if (arg === '') {
      failure = `empty \${${kind}:} reference`;
      return '';
    }
    if (kind === 'env') {
      const v = env[arg];
      if (v === undefined) failure = `environment variable ${arg} is not set`;
      return v ?? '';
    }
    const path = resolve(baseDir, arg);
    try {
      return readFileSync(path, 'utf8').replace(/\r?\n$/, '');
    } catch (err) {
      failure = `cannot read secret file ${path}: ${fileErrorReason(err)}`;
      return '';
    }
  });
  return failure === undefined ? { ok: true, value: out } : { ok: false, message: failure };
}
