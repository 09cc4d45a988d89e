// Dump tools run under coreutils' stdbuf with a 1 MiB stdout buffer when stdbuf and the tool are
// there, and as they are otherwise (so that a missing tool still fails with its own message).
import { buffer } from 'node:stream/consumers';
import { describe, expect, it } from 'vitest';
import { withBufferedStdout } from '../../src/sources/buffered-stdout.ts';
import { findExecutable } from '../../src/sources/executable.ts';
import { spawnProducer } from '../../src/sources/child.ts';

const stdbuf = findExecutable('stdbuf', process.env.PATH ?? '');

describe('buffered stdout', () => {
  it('finds a command on PATH as exec would, and a path with a slash as it is', () => {
    expect(findExecutable('sh', '/nonexistent:/bin:/usr/bin')).toMatch(/\/sh$/);
    expect(findExecutable('lifeboat-no-such-command', process.env.PATH ?? '')).toBeUndefined();
    expect(findExecutable('/bin/sh', '')).toBe('/bin/sh');
    expect(findExecutable('/nonexistent/sh', '/bin')).toBeUndefined();
  });

  it.skipIf(!stdbuf)('runs the tool under stdbuf, which gives its stdout a 1 MiB buffer and passes its output through unchanged', async () => {
    const spec = withBufferedStdout({ cmd: 'sh', args: ['-c', 'env; seq 1 300000'], what: 'sh (test)' });
    expect(spec.cmd).toBe(stdbuf);
    expect(spec.args.slice(0, 3)).toEqual(['--output=1M', '--', 'sh']);
    const p = spawnProducer(spec, new AbortController().signal);
    const [out] = await Promise.all([buffer(p.stream), p.done]);
    const lines = out.toString().split('\n');
    // stdbuf's preloaded library reads its setting from the environment it gives the tool.
    expect(lines).toContain('_STDBUF_O=1048576');
    const numbers = lines.filter((l) => /^\d+$/.test(l));
    expect(numbers.length).toBe(300000);
    expect(numbers.every((l, i) => l === String(i + 1))).toBe(true);
  });

  it.skipIf(!stdbuf)('keeps the exit status and stderr of a tool that fails', async () => {
    const p = spawnProducer(withBufferedStdout({ cmd: 'sh', args: ['-c', 'echo partial; echo "no such database" >&2; exit 3'], what: 'sh (test)' }), new AbortController().signal);
    await expect(Promise.all([buffer(p.stream), p.done])).rejects.toThrow(/sh \(test\) exited with status 3: no such database/);
  });

  it('leaves the spec alone without stdbuf, or when the tool is not there', () => {
    const spec = { cmd: 'sh', args: ['-c', 'true'], what: 'sh (test)' };
    expect(withBufferedStdout(spec, null)).toBe(spec);
    const missing = { cmd: 'lifeboat-no-such-command', args: [], what: 'missing (test)' };
    expect(withBufferedStdout(missing, stdbuf ?? '/usr/bin/stdbuf')).toBe(missing);
  });
});
