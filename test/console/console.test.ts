// The on-call console end to end: a real daemon serving it, driven in headless Chromium (Debian's
// chromium, through playwright-core). Screenshots of the main pages are written beside this file
// and linked from the README.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/ceph.ts';
import { workspace, type Workspace } from '../helpers/fixture.ts';

const CHROMIUM = '/usr/bin/chromium';
const bin = join(import.meta.dirname, '..', '..', 'bin', 'lifeboat');
const shots = join(import.meta.dirname, 'screenshots');
const VIEWER = 'viewer-token-ab12';
const OPERATOR = 'operator-token-cd34';
const sha = (t: string): string => createHash('sha256').update(t).digest('hex');

let ws: Workspace;
let port: number;
let daemon: ChildProcess;
let browser: Browser;
const logs: string[] = [];
const base = (): string => `http://127.0.0.1:${port}`;

async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen: ${logs.join('').slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface AxeResult {
  violations: { id: string; help: string; nodes: { target: string[] }[] }[];
}

/**
 * WCAG 2.1 A and AA violations that axe-core finds on the page as it is now (labels, contrast,
 * roles, keyboard traps among them). axe is evaluated through the DevTools protocol, which the
 * page's Content-Security-Policy does not govern; the page itself still loads nothing but its own.
 */
async function accessibilityViolations(page: Page): Promise<string[]> {
  await page.evaluate(await readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8'));
  const result = await page.evaluate(() => {
    const g = globalThis as unknown as { document: unknown; axe: { run: (ctx: unknown, o: object) => Promise<AxeResult> } };
    return g.axe.run(g.document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
  });
  return result.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
}

/** A new tab signed in with `token`, collecting every request and every console error. */
async function signedIn(token: string): Promise<{ page: Page; requests: string[]; errors: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const requests: string[] = [];
  const errors: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${base()}/`);
  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Recovery status' }).waitFor();
  return { page, requests, errors };
}

describe.skipIf(!existsSync(CHROMIUM))('on-call console (headless Chromium)', () => {
  beforeAll(async () => {
    ws = await workspace();
    port = await freePort();
    await mkdir(join(ws.dir, 'data'));
    await writeFile(join(ws.dir, 'data', 'a.txt'), 'alpha\n');
    const cfg = [
      `encryption:\n  recipients: [${ws.recipient}]\n  identityFile: ./identity.txt`,
      'sites:\n  a: { type: fs, path: ./site-a }\n  b: { type: fs, path: ./site-b }',
      `api:\n  listen: "127.0.0.1:${port}"\n  tokens:\n    - { name: dash, role: viewer, sha256: ${sha(VIEWER)} }\n    - { name: oncall, role: operator, sha256: ${sha(OPERATOR)} }`,
      'defaults:\n  sites: [a, b]',
      'jobs:',
      '  docs:\n    source: { type: files, paths: [./data] }\n    schedule: "0 0 1 1 *"\n    objectives: { rpo: 1d, rto: 1h }',
      '    drill:\n      target: { type: directory }\n      checks:\n        - { file: a.txt, minSize: 6 }',
      // A dump that always fails: the job never gets a snapshot, so its RPO is breached.
      '  ledger:\n    source: { type: command, dump: [sh, -c, "echo cannot reach the ledger >&2; exit 3"], restore: [cat] }\n    schedule: "0 0 1 1 *"\n    objectives: { rpo: 1h }',
    ].join('\n');
    await writeFile(join(ws.dir, 'console.yaml'), `${cfg}\n`);
    daemon = spawn(process.execPath, [bin, 'daemon', '-c', 'console.yaml'], { cwd: ws.dir, stdio: ['ignore', 'pipe', 'pipe'] });
    daemon.stdout!.on('data', (b: Buffer) => logs.push(b.toString()));
    daemon.stderr!.on('data', (b: Buffer) => logs.push(b.toString()));
    await until('the daemon becoming ready', async () => (await fetch(`${base()}/readyz`).catch(() => undefined))?.status === 200);
    // Both jobs catch up at start: docs commits, ledger fails.
    await until('the catch-up runs', () => logs.join('').includes('backup committed') && logs.join('').includes('ledger'));
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'],
    });
    await mkdir(shots, { recursive: true });
  });

  // A failed test shows the daemon's errors (a drill that failed says why only there).
  afterEach((ctx) => {
    if (ctx.task.result?.state === 'fail') process.stderr.write(`daemon errors:\n${logs.join('').split('\n').filter((l) => l.includes('"level":50') && !l.includes('"ledger"')).join('\n')}\n`);
  });

  afterAll(async () => {
    await browser?.close();
    if (daemon && daemon.exitCode === null) {
      daemon.kill('SIGTERM');
      await once(daemon, 'exit');
    }
    await ws?.cleanup();
  });

  it('is served with a strict content security policy and no inline script', async () => {
    const res = await fetch(`${base()}/console/`);
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).toContain("frame-ancestors 'none'");
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    const html = await res.text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/\son[a-z]+=/);
    expect(html).not.toMatch(/https?:\/\//);
    expect((await fetch(`${base()}/console/../../package.json`)).status).toBe(404);
    expect((await fetch(`${base()}/`, { redirect: 'manual' })).headers.get('location')).toBe('/console/');
  });

  it('refuses a wrong token with a clear message, and forgets the token on sign-out', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${base()}/`);
    await page.getByLabel('API token').waitFor();
    expect(await accessibilityViolations(page)).toEqual([]);
    await page.getByLabel('API token').fill('not-a-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('does not accept that token');
    await page.getByLabel('API token').fill(VIEWER);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('Signed in as dash (viewer)').waitFor();
    expect(await page.evaluate(() => sessionStorage.getItem('lifeboat.token'))).toBe(VIEWER);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API token').waitFor();
    expect(await page.evaluate(() => sessionStorage.getItem('lifeboat.token'))).toBeNull();
    // The audit is real: an input without a label, and faint text, are reported. (The colour is
    // set through the CSSOM: the policy refuses inline style attributes.)
    await page.evaluate(() => {
      const g = globalThis as unknown as { document: { body: { insertAdjacentHTML: (where: string, html: string) => void; lastElementChild: { style: { color: string } } } } };
      g.document.body.insertAdjacentHTML('beforeend', '<input type="text"><p>faint</p>');
      g.document.body.lastElementChild.style.color = '#ccc';
    });
    expect((await accessibilityViolations(page)).map((v) => v.split(':')[0])).toEqual(expect.arrayContaining(['label', 'color-contrast']));
    await context.close();
  });

  it('shows the job past its RPO as breached, in words and an icon, not colour alone; a viewer has no buttons', async () => {
    const { page, requests, errors } = await signedIn(VIEWER);
    const ledger = page.locator('tr[data-job="ledger"]');
    await expect.poll(() => ledger.textContent()).toContain('✖Breached');
    expect(await ledger.textContent()).toContain('no committed snapshot');
    expect(await ledger.textContent()).toMatch(/last backup failed: .*cannot reach the ledger/);
    // Worst first.
    expect(await page.locator('tbody tr').first().getAttribute('data-job')).toBe('ledger');
    const docs = page.locator('tr[data-job="docs"]');
    expect(await docs.locator('td').nth(1).textContent()).toMatch(/✔.* old/);
    expect(await page.getByRole('button', { name: /Back up now|Run drill/ }).count()).toBe(0);
    expect(await accessibilityViolations(page)).toEqual([]);
    await page.screenshot({ path: join(shots, 'status-viewer.png'), fullPage: true });

    await page.getByRole('link', { name: 'docs' }).click();
    await page.getByRole('heading', { name: 'Snapshots' }).waitFor();
    expect(await page.getByRole('button', { name: /Back up now|Run drill|Restore/ }).count()).toBe(0);
    expect(await page.getByRole('group', { name: 'Actions' }).count()).toBe(0);
    // Nothing is fetched from any other origin, and the policy blocked nothing.
    expect(requests.filter((u) => !u.startsWith(base()))).toEqual([]);
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('lets an operator start a drill and watch it finish', async () => {
    const { page, errors } = await signedIn(OPERATOR);
    await page.locator('tr[data-job="docs"]').getByRole('link', { name: 'docs' }).click();
    // The overview has a "Run drill" button of its own: click the job page's, once it is drawn
    // (a click on the overview's as it is replaced lands on nothing).
    await page.getByRole('heading', { name: 'Snapshots' }).waitFor();
    await page.getByRole('button', { name: 'Run drill' }).click();
    const dialog = page.getByRole('dialog');
    expect(await dialog.textContent()).toContain('Start a restore drill of docs?');
    await dialog.getByRole('button', { name: 'Start restore drill' }).click();
    const row = page.locator('tr[data-operation]').filter({ hasText: 'drill' }).first();
    await row.waitFor();
    await expect.poll(() => row.getAttribute('data-state'), { timeout: 60_000 }).toBe('succeeded');
    expect(await row.textContent()).toContain('passed');
    await expect.poll(() => page.locator('#announce').textContent()).toBe('drill of docs succeeded.');
    // The drill history shows the report with the check's observation, and the snapshot is now verified.
    const history = page.locator('table', { has: page.getByRole('columnheader', { name: 'Checks' }) });
    await expect.poll(() => history.textContent()).toContain('observed');
    await expect.poll(() => page.locator('table', { has: page.getByRole('columnheader', { name: 'Drill-verified' }) }).textContent()).toContain('verified');
    await page.screenshot({ path: join(shots, 'job-after-drill.png'), fullPage: true });
    expect(await accessibilityViolations(page)).toEqual([]);
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('works from the keyboard alone: tab to an action, confirm with Enter, Escape cancels', async () => {
    const { page } = await signedIn(OPERATOR);
    await page.goto(`${base()}/console/#/jobs/docs`);
    await page.getByRole('heading', { name: 'Snapshots' }).waitFor();
    const focusedId = (): Promise<string | undefined> => page.evaluate(() => (globalThis as unknown as { document: { activeElement?: { id: string } } }).document.activeElement?.id);
    for (let i = 0; i < 40 && (await focusedId()) !== 'act-restore'; i++) await page.keyboard.press('Tab');
    expect(await focusedId()).toBe('act-restore');
    await page.keyboard.press('Enter');
    await page.getByRole('dialog').waitFor();
    expect(await focusedId()).toBe('restore-snapshot');
    await page.keyboard.press('Escape');
    await expect.poll(() => page.getByRole('dialog').count()).toBe(0);
    expect(await focusedId()).toBe('act-restore');
    await page.keyboard.press('Shift+Tab');
    expect(await focusedId()).toBe('act-drill');
    const drills = page.locator('tr[data-operation]').filter({ hasText: 'drill' });
    const before = await drills.count();
    await page.keyboard.press('Enter');
    await page.getByRole('dialog').waitFor();
    await page.keyboard.press('Enter');
    await expect.poll(() => drills.count()).toBe(before + 1);
    await expect.poll(() => drills.first().getAttribute('data-state'), { timeout: 60_000 }).toBe('succeeded');
    await page.context().close();
  });

  it('asks an operator to confirm a restore with the target repeated, then runs it', async () => {
    const { page, errors } = await signedIn(OPERATOR);
    await page.goto(`${base()}/console/#/jobs/docs`);
    await page.getByRole('button', { name: 'Restore…' }).click();
    const target = join(ws.dir, 'restored');
    await page.getByLabel('Restore into').fill(target);
    expect(await accessibilityViolations(page)).toEqual([]);
    await page.getByRole('button', { name: 'Review…' }).click();
    expect(await page.locator('#restore-confirm-target').textContent()).toBe(target);
    await page.screenshot({ path: join(shots, 'restore-confirm.png') });
    expect(await accessibilityViolations(page)).toEqual([]);
    await page.getByRole('button', { name: `Restore into ${target}` }).click();
    const row = page.locator('tr[data-operation]').filter({ hasText: 'restore' }).first();
    await expect.poll(() => row.getAttribute('data-state'), { timeout: 60_000 }).toBe('succeeded');
    expect(await readFile(join(target, 'a.txt'), 'utf8')).toBe('alpha\n');
    // Going back from the confirmation keeps what was entered; cancelling sends nothing.
    await page.getByRole('button', { name: 'Restore…' }).click();
    await page.getByLabel('Restore into').fill('postgres://app:hunter2@db/x');
    await page.getByRole('button', { name: 'Review…' }).click();
    expect(await page.locator('#restore-confirm-target').textContent()).toBe('postgres://app:•••@db/x');
    await page.getByRole('dialog').getByRole('button', { name: 'Back', exact: true }).click();
    expect(await page.getByLabel('Restore into').inputValue()).toBe('postgres://app:hunter2@db/x');
    await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();
    expect(await page.getByRole('dialog').count()).toBe(0);
    expect(await page.locator('tr[data-operation]').filter({ hasText: 'restore' }).count()).toBe(1);
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('shows which sites hold each snapshot, so a missing copy stands out', async () => {
    const snapshots = join(ws.dir, 'site-b', 'jobs', 'docs', 'snapshots');
    const [id] = await readdir(snapshots);
    await rm(join(snapshots, id!), { recursive: true });
    const { page } = await signedIn(VIEWER);
    await page.goto(`${base()}/console/#/jobs/docs`);
    const table = page.locator('table', { has: page.getByRole('columnheader', { name: 'On b' }) });
    const row = table.locator('tr', { hasText: id! });
    await row.waitFor();
    expect(await row.textContent()).toMatch(/✔held.*▲missing/);
    await page.context().close();
  });
});
