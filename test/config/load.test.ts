import { mkdtemp, rm, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateIdentity } from '../../src/crypto/keys.ts';
import { ConfigError, parseConfig, loadConfig } from '../../src/config/load.ts';

const recipient = generateIdentity().recipient;
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lifeboat-config-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

function config(body: string): string {
  return `encryption:
  recipients: [${recipient}]
sites:
  a: { type: fs, path: ./site-a }
  b: { type: fs, path: ./site-b }
${body}`;
}

const job = `jobs:
  docs:
    source: { type: files, paths: [./data] }
    schedule: "0 * * * *"
`;

function issuesOf(text: string, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    parseConfig(text, join(dir ?? '/tmp', 'lifeboat.yaml'), { env });
  } catch (err) {
    if (err instanceof ConfigError) return err.issues.map((i) => `${i.line}:${i.col} ${i.path}: ${i.message}`);
    throw err;
  }
  return [];
}

describe('config: a valid file', () => {
  it('resolves paths against the config folder and merges defaults into jobs', () => {
    const cfg = parseConfig(config(`defaults:\n  minSites: 1\n  retention: { keepLast: 3 }\n${job}`), join(dir, 'lifeboat.yaml'), { env: {} });
    const j = cfg.jobs.get('docs')!;
    expect(j.sites).toEqual(['a', 'b']);
    expect(j.minSites).toBe(1);
    expect(j.retention).toEqual({ keepLast: 3 });
    expect(j.source).toMatchObject({ type: 'files', paths: [join(dir, 'data')] });
    expect(cfg.sites.get('a')).toMatchObject({ type: 'fs', path: join(dir, 'site-a') });
  });

  it('resolves ${env:} and ${file:} references', async () => {
    await writeFile(join(dir, 'secret'), 's3cr3t\n');
    const text = config(job).replace(
      '  b: { type: fs, path: ./site-b }',
      '  b: { type: s3, bucket: bk, endpoint: "http://127.0.0.1:1", accessKeyId: "${env:KEY_ID}", secretAccessKey: "${file:./secret}" }',
    );
    const cfg = parseConfig(text, join(dir, 'lifeboat.yaml'), { env: { KEY_ID: 'AKID' } });
    expect(cfg.sites.get('b')).toMatchObject({ accessKeyId: 'AKID', secretAccessKey: 's3cr3t' });
  });
});

describe('config: every error names file, line, column and path', () => {
  it('a YAML syntax error', () => {
    expect(issuesOf('sites: [a\njobs: {')[0]).toMatch(/^\d+:\d+ \(yaml\): YAML syntax error/);
  });

  it('an unknown key, suggesting the nearest valid one', () => {
    const issues = issuesOf(config(job.replace('schedule:', 'schedul:')));
    expect(issues).toEqual(['9:5 jobs.docs.schedul: unknown key "schedul" (did you mean "schedule"?)']);
  });

  it('an unknown key inside a source, suggesting from that source type', () => {
    const issues = issuesOf(config(job.replace('paths: [./data]', 'paths: [./data], exclud: ["*.tmp"]')));
    expect(issues).toEqual(['8:45 jobs.docs.source.exclud: unknown key "exclud" (did you mean "exclude"?)']);
  });

  it('a missing environment variable', () => {
    const text = config(job).replace('  b: { type: fs, path: ./site-b }', '  b: { type: s3, bucket: x, secretAccessKey: "${env:NOPE_SECRET}" }');
    expect(issuesOf(text)).toEqual(['5:46 sites.b.secretAccessKey: environment variable NOPE_SECRET is not set']);
  });

  it('a reference that cannot be resolved is reported once, not again by the checks of its value', () => {
    const text = config(job)
      .replace(`recipients: [${recipient}]`, 'recipients: ["${env:NOPE_RECIPIENT}"]')
      .replace('schedule: "0 * * * *"', 'schedule: "${env:NOPE_SCHEDULE}"');
    expect(issuesOf(text)).toEqual([
      '2:16 encryption.recipients[0]: environment variable NOPE_RECIPIENT is not set',
      '9:15 jobs.docs.schedule: environment variable NOPE_SCHEDULE is not set',
    ]);
  });

  it('an unreadable secret file', async () => {
    const text = config(job).replace('  b: { type: fs, path: ./site-b }', '  b: { type: s3, bucket: x, secretAccessKey: "${file:./missing-secret}" }');
    expect(issuesOf(text)[0]).toMatch(/^5:46 sites\.b\.secretAccessKey: cannot read secret file .*missing-secret: file not found$/);
    if (process.getuid?.() !== 0) {
      await writeFile(join(dir, 'locked'), 'x');
      await chmod(join(dir, 'locked'), 0);
      const locked = text.replace('missing-secret', 'locked');
      expect(issuesOf(locked)[0]).toMatch(/permission denied/);
    }
  });

  it('an inline secret', () => {
    const text = config(job).replace('  b: { type: fs, path: ./site-b }', '  b: { type: s3, bucket: x, secretAccessKey: hunter2 }');
    const issues = issuesOf(text);
    expect(issues).toEqual(['5:46 sites.b.secretAccessKey: a secret must be a ${env:NAME} or ${file:PATH} reference, never the secret itself']);
    expect(issues.join()).not.toContain('hunter2');
  });

  it('paths of one files job that a restore could not keep apart, or that would be stored twice', () => {
    const issues = issuesOf(config(job.replace('paths: [./data]', 'paths: [./x/data, ./y/data, ./x/data/sub, ./z/../x/data, /]')));
    expect(issues).toEqual([
      '8:46 jobs.docs.source.paths[1]: "./y/data" would be stored as "data/", as paths[0] "./x/data" is: a restore could not keep them apart. Back them up in separate jobs, or list their common parent folder with include patterns',
      '8:56 jobs.docs.source.paths[2]: "./x/data/sub" is inside paths[0] "./x/data": its files would be stored twice; list only the outer folder',
      '8:70 jobs.docs.source.paths[3]: "./z/../x/data" is the same folder as paths[0] "./x/data": list it once',
      '8:85 jobs.docs.source.paths[4]: "/" is the filesystem\'s root, which cannot be one of several paths (each is stored under its folder\'s name): give it a job of its own',
    ]);
    // One path is stored at the archive's root, whatever its name; folders of different names side by side are fine.
    // (The whole filesystem holds this test's sites, in the temporary folder: left out.)
    const tmpTop = relative('/', dir).split('/')[0]!;
    expect(issuesOf(config(job.replace('paths: [./data]', `paths: [/], exclude: [${tmpTop}]`)))).toEqual([]);
    expect(issuesOf(config(job.replace('paths: [./data]', 'paths: [./x/data, ./x/data-2, ./y/logs]')))).toEqual([]);
  });

  it('a files job whose folder holds an fs site, unless an exclude pattern leaves the site out', () => {
    const holding = (source: string): string[] =>
      issuesOf(`encryption:\n  recipients: [${recipient}]\nsites:\n  a: { type: fs, path: ./srv/backups/a }\n  b: { type: fs, path: ./elsewhere }\njobs:\n  docs:\n    source: ${source}\n`);
    expect(holding('{ type: files, paths: [./srv] }')).toEqual([
      `8:36 jobs.docs.source.paths[0]: "./srv" holds site "a" (${join(dir, 'srv', 'backups', 'a')}): every backup would store the ones before it; move the site, or add exclude: ["backups/a"]`,
    ]);
    expect(holding('{ type: files, paths: [./srv, ./etc] }')[0]).toMatch(/paths\[0\]: "\.\/srv" holds site "a" .*add exclude: \["srv\/backups\/a"\]$/);
    expect(holding('{ type: files, paths: [./srv/backups/a] }')[0]).toMatch(/holds site "a" .*; move the site out of it$/);
    expect(holding('{ type: files, paths: [./srv], exclude: [backups] }')).toEqual([]);
    expect(holding('{ type: files, paths: [./srv, ./etc], exclude: ["srv/backups/*"] }')).toEqual([]);
    expect(holding('{ type: files, paths: [./srv/data] }')).toEqual([]);
    expect(holding('{ type: files, paths: [/] }')[0]).toMatch(/paths\[0\]: "\/" holds site "a" .*add exclude: \[".*srv\/backups\/a"\]$/);
  });

  it('a job naming an unknown site', () => {
    const issues = issuesOf(config(job.replace('    schedule', '    sites: [a, c]\n    schedule')));
    expect(issues).toEqual(['9:16 jobs.docs.sites[1]: unknown site "c" (did you mean "a"?)']);
  });

  it('an invalid cron expression', () => {
    const issues = issuesOf(config(job.replace('"0 * * * *"', '"61 * * * *"')));
    expect(issues[0]).toMatch(/^9:15 jobs\.docs\.schedule: invalid cron expression "61 \* \* \* \*"/);
  });

  it('an invalid age recipient', () => {
    const issues = issuesOf(config(job).replace(recipient, 'age1notakey'));
    expect(issues[0]).toMatch(/^2:16 encryption\.recipients\[0\]: invalid age recipient/);
  });

  it('duplicate names', () => {
    const issues = issuesOf(config(job).replace('  b: { type: fs, path: ./site-b }', '  a: { type: fs, path: ./site-c }'));
    expect(issues).toEqual(['5:3 (yaml): duplicate key "a": each name may appear only once']);
  });

  it('two sites at the same location', () => {
    const issues = issuesOf(config(job).replace('./site-b', './site-a'));
    expect(issues).toEqual(['5:3 sites.b: site "b" is the same location as site "a"']);
  });

  it('a site inside the folder of another', () => {
    const issues = issuesOf(config(job).replace('./site-b', './site-a/b'));
    expect(issues).toEqual([`5:3 sites.b: site "b" (${join(dir, 'site-a/b')}) is inside the folder of site "a" (${join(dir, 'site-a')}): give each site a folder of its own`]);
    // A folder that only starts with the other's name is beside it.
    expect(issuesOf(config(job).replace('./site-b', './site-a-b'))).toEqual([]);
  });

  it('an S3 prefix under another site\'s in the same bucket', () => {
    const s3 = (prefix: string, bucket = 'backups'): string => `{ type: s3, endpoint: "https://s3.example.net", region: r, bucket: ${bucket}, prefix: "${prefix}" }`;
    const sites = (b: string): string => config(job).replace('{ type: fs, path: ./site-a }', s3('lifeboat')).replace('{ type: fs, path: ./site-b }', b);
    expect(issuesOf(sites(s3('lifeboat/dc2')))).toEqual(['5:3 sites.b: site "b" (prefix "lifeboat/dc2/") is inside site "a" (prefix "lifeboat/") in bucket backups: give each site a prefix that no other site\'s contains']);
    expect(issuesOf(sites(s3('lifeboat-dc2')))).toEqual([]);
    expect(issuesOf(sites(s3('lifeboat/dc2', 'other')))).toEqual([]);
  });

  it('an S3 endpoint with credentials in it, without echoing them', () => {
    const issues = issuesOf(config(job).replace('{ type: fs, path: ./site-b }', '{ type: s3, endpoint: "https://key:s3cr3t@s3.example.net", bucket: x }'));
    expect(issues).toEqual(['5:28 sites.b.endpoint: must not hold a user name or password: give the credentials as accessKeyId and secretAccessKey (${env:…} or ${file:…} references)']);
    expect(issues.join('\n')).not.toContain('s3cr3t');
  });

  it('a value of the wrong type', () => {
    const issues = issuesOf(config(job.replace('    schedule', '    compression: { level: high }\n    schedule')));
    expect(issues).toEqual(['9:27 jobs.docs.compression.level: Invalid input: expected number, received string']);
  });

  it('minSites larger than the site list', () => {
    const issues = issuesOf(config(job.replace('    schedule', '    minSites: 3\n    schedule')));
    expect(issues).toEqual(['9:15 jobs.docs.minSites: minSites is 3 but the job has only 2 site(s)']);
  });

  it('a missing required key and an unknown source type', () => {
    expect(issuesOf(config('jobs:\n  x: { schedule: "* * * * *" }\n'))).toEqual(['7:6 jobs.x: missing required key "source"']);
    expect(issuesOf(config('jobs:\n  x: { source: { type: oracle } }\n'))[0]).toMatch(/^7:24 jobs\.x\.source\.type: unknown source type/);
  });

  it('a config file that does not exist', async () => {
    await expect(loadConfig(join(dir, 'nope.yaml'))).rejects.toThrow(/nope\.yaml \(file\): cannot read the config file: file not found/);
  });

  it('collects several errors in one pass', () => {
    const text = config(job.replace('schedule:', 'schedul:')).replace('./site-b', './site-a');
    expect(issuesOf(text).length).toBeGreaterThanOrEqual(1);
  });
});
