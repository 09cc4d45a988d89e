/**
 * Maps a path in the parsed document (`['jobs', 'app-db', 'schedule']`) back to a line and column
 * of the YAML source, and suggests the nearest valid key for a typo.
 */
import { isMap, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';

export type PathSegment = string | number;

export interface Position {
  line: number;
  col: number;
}

/**
 * The position of the value at `path`, or of its key when `atKey` is set. Falls back to the deepest
 * node that exists, so that a missing key points at the map that lacks it.
 */
export function locate(doc: Document, lines: LineCounter, path: readonly PathSegment[], atKey = false): Position | undefined {
  let node: unknown = doc.contents;
  let best: Node | undefined = (node as Node | null) ?? undefined;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i];
    const last = i === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((p) => (isScalar(p.key) ? p.key.value : p.key) === seg);
      if (!pair) break;
      if (last && atKey && pair.key && (pair.key as Node).range) {
        best = pair.key as Node;
        break;
      }
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number') {
      node = node.items[seg];
    } else {
      break;
    }
    if (node && (node as Node).range) best = node as Node;
    else break;
  }
  const offset = best?.range?.[0];
  if (offset === undefined) return undefined;
  return lines.linePos(offset);
}

export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const seg of path) {
    // A key that is not a plain name (YAML allows mappings as keys) is quoted, on one line.
    const name = typeof seg === 'string' && !/^[\w.-]+$/.test(seg) ? JSON.stringify(seg.length > 40 ? `${seg.slice(0, 40)}…` : seg) : seg;
    out += typeof name === 'number' ? `[${name}]` : out === '' ? name : `.${name}`;
  }
  return out === '' ? '(top level)' : out;
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length]!;
}

/** The closest candidate, if it is close enough to be a plausible typo. */
export function nearest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = distance(word, c);
    if (d < bestD) {
      best = c;
      bestD = d;
    }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}
