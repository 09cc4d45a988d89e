import { describe, it, expect } from 'vitest';
import { main } from '../../src/cli/main.ts';

describe('cli', () => {
  it('prints help', async () => {
    expect(await main(['--help'])).toBe(0);
  });
});
