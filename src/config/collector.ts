/**
 * Collects every problem found in a config document, each located as FILE:LINE:COL path, and the
 * small checks that several parts of the loader share (cron expressions, time zones).
 */
import { validateDetailed } from 'node-cron';
import type { Document, LineCounter } from 'yaml';
import { formatPath, locate, type PathSegment } from './locate.ts';

export interface ConfigIssue {
  readonly file: string;
  readonly line?: number;
  readonly col?: number;
  readonly path: string;
  readonly message: string;
}

export class Collector {
  readonly issues: ConfigIssue[] = [];
  readonly file: string;
  private readonly doc: Document;
  private readonly lines: LineCounter;
  /** Paths whose value could not be resolved: what later checks say about them is noise. */
  private readonly unresolved = new Set<string>();
  constructor(file: string, doc: Document, lines: LineCounter) {
    this.file = file;
    this.doc = doc;
    this.lines = lines;
  }
  add(path: readonly PathSegment[], message: string, atKey = false): void {
    const pos = locate(this.doc, this.lines, path, atKey);
    const p = formatPath(path);
    if (this.unresolved.has(p)) return;
    // One line per issue: a key or value quoted in the message may hold line breaks.
    const text = message.replace(/\r?\n/g, '\\n');
    if (this.issues.some((i) => i.path === p && i.message === text)) return;
    this.issues.push({ file: this.file, line: pos?.line, col: pos?.col, path: p, message: text });
  }

  /** Reports a value that could not be resolved (a reference), and nothing more about it. */
  unresolvable(path: readonly PathSegment[], message: string): void {
    this.add(path, message);
    this.unresolved.add(formatPath(path));
  }
}


export function checkCron(expr: string, path: PathSegment[], c: Collector): void {
  const v = validateDetailed(expr);
  if (v.valid) return;
  const detail = v.errors.map((e) => e.message).join('; ');
  c.add(path, `invalid cron expression ${JSON.stringify(expr)}${detail ? `: ${detail}` : ''}`);
}

export function checkTimezone(tz: string, path: PathSegment[], c: Collector): void {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
  } catch {
    c.add(path, `unknown time zone ${JSON.stringify(tz)} (use an IANA name such as UTC or Europe/Berlin)`);
  }
}
