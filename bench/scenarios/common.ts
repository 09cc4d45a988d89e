/** What every benchmark scenario shares: a row of the results table and a few helpers. */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Measured } from '../measure.ts';

export interface Row {
  scenario: string;
  lifeboat: Measured;
  reference: Measured;
  referenceName: string;
  /** Bytes processed, for a rate column. */
  bytes: number;
  /** What the row is judged by; a row with neither is shown for comparison only. */
  target: { ratio?: number; rssBytes?: number };
  /** Lifeboat's wall time over the reference's in each round (the two ran back to back). */
  paired?: number[];
}

/**
 * Each round's ratio. The table's ratio is of the medians; on a machine whose speed drifts from
 * one minute to the next (a shared VM: the same reference moved by 40–70% within a run), the
 * ratios of runs made back to back show how much of a row's ratio is that drift.
 */
export function pairedRatios(ours: Measured[], reference: Measured[]): number[] {
  return ours.map((m, i) => m.wall / reference[i]!.wall);
}

export const root = join(import.meta.dirname, '..', '..');
/** Lifeboat as users run it (its own launcher, with this Node first on PATH). */
export const lifeboatCmd = `PATH="${dirname(process.execPath)}:$PATH" "${root}/bin/lifeboat"`;

export function median(ms: Measured[]): Measured {
  const mid = <T>(xs: T[]): T => xs[Math.floor(xs.length / 2)]!;
  return {
    wall: mid(ms.map((m) => m.wall).sort((a, b) => a - b)),
    cpu: mid(ms.map((m) => m.cpu).sort((a, b) => a - b)),
    peakRssBytes: Math.max(...ms.map((m) => m.peakRssBytes)),
  };
}

/** A workspace with an age key pair and a config file written from `yaml` (encryption added). */
export async function benchWorkspace(yaml: (recipient: string) => string): Promise<{ dir: string; config: string; recipient: string; identity: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'lifeboat-bench-'));
  const identity = join(dir, 'id.txt');
  execFileSync('age-keygen', ['-o', identity], { stdio: 'ignore' });
  const recipient = execFileSync('age-keygen', ['-y', identity]).toString().trim();
  const config = join(dir, 'lifeboat.yaml');
  await writeFile(config, `encryption:\n  recipients: [${recipient}]\n  identityFile: ./id.txt\n${yaml(recipient)}`);
  return { dir, config, recipient, identity };
}

/** Both sides of one round, alternating which goes first so that neither always meets the warmer caches. */
export async function alternate(round: number, ours: () => Promise<Measured>, reference: () => Promise<Measured>, into: { ours: Measured[]; reference: Measured[] }): Promise<void> {
  if (round % 2 === 0) {
    into.ours.push(await ours());
    into.reference.push(await reference());
  } else {
    into.reference.push(await reference());
    into.ours.push(await ours());
  }
}

/**
 * Empties an fs site of its snapshots but keeps its repository marker, so that every measured
 * backup goes to an initialized repository, as every backup after a site's first does (restic's
 * repositories are likewise initialized outside the timing).
 */
export async function emptySite(dir: string): Promise<void> {
  await rm(join(dir, 'jobs'), { recursive: true, force: true });
}

/** Several sides of one round, each round starting one later in the list (as alternate() does for two). */
export async function rotate(round: number, sides: [() => Promise<Measured>, Measured[]][]): Promise<void> {
  for (let k = 0; k < sides.length; k++) {
    const [run, into] = sides[(round + k) % sides.length]!;
    into.push(await run());
  }
}

/** The payload file of a job's newest snapshot on an fs site (for references that read it as stock tools would). */
export async function latestPayload(site: string, job: string): Promise<string> {
  const dir = join(site, 'jobs', job, 'snapshots');
  const snap = join(dir, (await readdir(dir)).sort().at(-1)!);
  return join(snap, (await readdir(snap)).find((n) => n.startsWith('payload'))!);
}

/**
 * Reads a directory's files so that they are in the page cache, before each side of a backup
 * round: on a VM that hands free memory back to its host, a tree read a minute ago may be partly
 * gone from the cache again (tar was seen waiting on the disk in a D1 backup). Through a pipe:
 * GNU tar does not read the files' contents when its archive is /dev/null itself.
 */
export function warmTree(dir: string): void {
  execFileSync('sh', ['-c', `tar -cf - -C "${dir}" . | cat > /dev/null`]);
}

/**
 * Reads files once so that they are in the page cache. fs sites write payloads around the page
 * cache (O_DIRECT), so a payload just stored is on disk only; the restores compare pipelines,
 * and whichever side ran first would otherwise also pay for reading it from disk.
 */
export function warm(...files: string[]): void {
  execFileSync('cat', files, { stdio: ['ignore', 'ignore', 'inherit'] });
}

