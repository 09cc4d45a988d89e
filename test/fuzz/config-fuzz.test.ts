// Config fuzzing: thousands of mutations of a rich, valid config. Each one loads, or is refused with
// located messages (FILE:LINE:COL path: message) — never a crash, never a stack trace. Seeded, so a
// failure names the case that reproduces it.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config/load.ts';
import { generateIdentity } from '../../src/crypto/keys.ts';
import { workspace, type Workspace } from '../helpers/fixture.ts';
import { prng } from '../helpers/prng.ts';
import { execFileP } from '../helpers/streams.ts';
import { writeFile } from 'node:fs/promises';

const CASES = 1500;
let ws: Workspace;
let base: string;

const NASTY = ['', '~', 'null', '[]', '{}', '-1', '0', '1e309', '"\\u0000"', '${env:NOPE}', '${file:/nonexistent}', '${env:}', '&a', '*a', '!!binary AA==', '"\u202e"', 'yes', '? x', '- - -', '"a"\n  b: c', '0x1F', '1:2', "'", '"', '|', '>-', '#', '%YAML 1.2', '@', '`', '\t'];

function mutate(text: string, rnd: () => number): string {
  const lines = text.split('\n');
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const n = 1 + Math.floor(rnd() * 3);
  for (let i = 0; i < n; i++) {
    const at = Math.floor(rnd() * lines.length);
    const line = lines[at] ?? '';
    switch (Math.floor(rnd() * 9)) {
      case 0: // drop a line
        lines.splice(at, 1);
        break;
      case 1: // duplicate a line
        lines.splice(at, 0, line);
        break;
      case 2: // replace a value
        lines[at] = line.includes(':') ? `${line.slice(0, line.indexOf(':') + 1)} ${pick(NASTY)}` : pick(NASTY);
        break;
      case 3: // change indentation
        lines[at] = rnd() < 0.5 ? ` ${line}` : line.replace(/^ /, '');
        break;
      case 4: // misspell a key
        lines[at] = line.replace(/([a-z])([a-z])/, '$2$1');
        break;
      case 5: // flip a character
        if (line.length > 0) {
          const c = Math.floor(rnd() * line.length);
          lines[at] = line.slice(0, c) + String.fromCharCode(32 + Math.floor(rnd() * 95)) + line.slice(c + 1);
        }
        break;
      case 6: // truncate the document
        lines.length = Math.max(1, at);
        break;
      case 7: // a number where text was, or text where a number was
        lines[at] = line.replace(/\d+/, 'many').replace(/"[^"]*"/, '42');
        break;
      default: // an unknown key
        lines.splice(at, 0, `${line.match(/^\s*/)![0]}surprise${Math.floor(rnd() * 100)}: 1`);
    }
  }
  return lines.join('\n');
}

beforeAll(async () => {
  ws = await workspace();
  const id = generateIdentity();
  await writeFile(join(ws.dir, 'recipients.txt'), `${id.recipient}\n`);
  base = `encryption:
  recipientsFile: ./recipients.txt
  identityFile: ./identity.txt
sites:
  local: { type: fs, path: ./site-a, maxUploads: 2 }
  dc2:
    type: s3
    endpoint: "http://127.0.0.1:9000"
    bucket: backups
    prefix: lifeboat/
    forcePathStyle: true
    accessKeyId: "\${env:FUZZ_KEY}"
    secretAccessKey: "\${env:FUZZ_SECRET}"
    partSizeMiB: 16
api:
  listen: 127.0.0.1:9464
  tokens:
    - { name: oncall, role: operator, sha256: "${'a'.repeat(64)}" }
daemon: { shutdownGrace: 30s, concurrency: 2, retries: 3, retryDelay: 1m, leaseTtl: 2m }
defaults:
  sites: [local, dc2]
  minSites: 1
  retention: { keepLast: 7, keepDaily: 14 }
jobs:
  uploads:
    source: { type: files, paths: [./data], exclude: ["**/*.tmp"] }
    schedule: "0 */6 * * *"
    objectives: { rpo: 6h, rto: 30m }
    notify:
      - { type: ping, url: "https://hc.example/ping/x" }
    drill:
      schedule: "0 4 * * *"
      target: { type: directory }
      checks:
        - { file: index.json, minSize: 1 }
        - { glob: "*.pdf", minCount: 1 }
  app-db:
    source:
      type: postgres
      url: postgres://backup@db.internal:5432/app
      password: "\${env:FUZZ_DB}"
      globals: true
    schedule: "0 * * * *"
    timezone: Europe/Berlin
    drill:
      target: { type: postgres, url: "postgres://drill@scratch.internal:5432/postgres" }
      checks:
        - { name: orders, sql: "SELECT count(*) FROM orders", expect: { min: 1 } }
        - { freshness: { table: orders, column: created_at }, within: 2h }
  shop:
    source: { type: mysql, url: "mysql://backup@db.internal:3306/shop", password: "\${env:FUZZ_DB}" }
  cache:
    source: { type: command, dump: [redis-cli, --rdb, "-"] }
`;
});
afterAll(() => ws?.cleanup());

const env = { FUZZ_KEY: 'k', FUZZ_SECRET: 's', FUZZ_DB: 'p' };
const located = /^\S+(:\d+:\d+)? \S.*: .+$/;

describe('config fuzzing', () => {
  it('the unmutated document loads', () => {
    const c = parseConfig(base, join(ws.dir, 'lifeboat.yaml'), { env });
    expect(c.jobs.size).toBe(4);
  });

  it(`${CASES} mutated documents each load or fail with located messages, never a crash`, () => {
    const outcomes = { loaded: 0, refused: 0 };
    for (let seed = 1; seed <= CASES; seed++) {
      const text = mutate(base, prng(seed));
      try {
        parseConfig(text, join(ws.dir, 'lifeboat.yaml'), { env });
        outcomes.loaded++;
      } catch (err) {
        if (!(err instanceof ConfigError)) throw new Error(`case ${seed}: ${String(err)}\n--- document ---\n${text}`, { cause: err });
        for (const line of err.message.split('\n')) {
          if (!located.test(line) || /\n\s+at |TypeError|undefined/.test(line)) throw new Error(`case ${seed}: unlocated or odd message: ${line}\n--- document ---\n${text}`);
        }
        outcomes.refused++;
      }
    }
    expect(outcomes.loaded + outcomes.refused).toBe(CASES);
    expect(outcomes.refused).toBeGreaterThan(CASES / 2);
  });

  it('the CLI answers a broken config with exit 2 and no stack trace', async () => {
    for (const seed of [7, 77, 777]) {
      await writeFile(join(ws.dir, `fuzz-${seed}.yaml`), mutate(base, prng(seed)).replace('recipientsFile: ./recipients.txt', 'recipientsFile: ./missing.txt'));
      const r = await execFileP(process.execPath, [join(import.meta.dirname, '..', '..', 'bin', 'lifeboat'), 'config', 'check', '-c', join(ws.dir, `fuzz-${seed}.yaml`)], { env: { ...process.env, ...env } }).catch((e: { code: number; stderr: string }) => e);
      expect((r as { code: number }).code).toBe(2);
      expect((r as { stderr: string }).stderr).not.toMatch(/\n\s+at /);
    }
  });
});
