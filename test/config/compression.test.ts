import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { generateIdentity } from '../../src/crypto/keys.ts';
import { ConfigError, parseConfig } from '../../src/config/load.ts';

const recipient = generateIdentity().recipient;

function load(jobBody: string, defaults = ''): ReturnType<typeof parseConfig> {
  const text = `encryption:\n  recipients: [${recipient}]\nsites:\n  a: { type: fs, path: ./a }\n${defaults}jobs:\n  j:\n    source: { type: files, paths: [./d] }\n${jobBody}`;
  return parseConfig(text, join(tmpdir(), 'lifeboat.yaml'), { env: {} });
}

describe('config: compression', () => {
  it('threads are auto unless a number is given, in the job or its defaults', () => {
    expect(load('').jobs.get('j')).toMatchObject({ compressionLevel: 3, compressionThreads: 'auto' });
    expect(load('    compression: { threads: 3 }\n').jobs.get('j')).toMatchObject({ compressionLevel: 3, compressionThreads: 3 });
    expect(load('', 'defaults:\n  compression: { level: 5, threads: 2 }\n').jobs.get('j')).toMatchObject({ compressionLevel: 5, compressionThreads: 2 });
    expect(load('    compression: { threads: auto }\n').jobs.get('j')!.compressionThreads).toBe('auto');
  });

  it('refuses a thread count that is not a positive integer, naming where', () => {
    for (const bad of ['0', '1.5', 'many']) {
      try {
        load(`    compression: { threads: ${bad} }\n`);
        expect.unreachable();
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        expect((err as ConfigError).issues.map((i) => i.path).join(' ')).toContain('jobs.j.compression.threads');
      }
    }
  });
});
