/**
 * File-name wildcards as glob(3) expands them for nft's `include
 * "/etc/nftables.d/*.nft"`: `*`, `?` and `[...]` within one path segment,
 * never matching a leading dot or a `/`; the regular files matched, sorted
 * by name. Cold path: a ruleset's includes.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** At most this many files from one pattern (a ruleset's includes are bounded further by their reader). */
const MAX_MATCHES = 4096;

const WILD = /[*?[]/;

/** The regular files `pattern` names, sorted; [] when none (not an error, as in nft). */
export function globFiles(pattern: string): string[] {
  const abs = pattern.startsWith('/');
  const segs = pattern.split('/').filter((s) => s !== '');
  let dirs = [abs ? '/' : '.'];
  for (let i = 0; i < segs.length; i++) {
    const seg = segs[i];
    const last = i === segs.length - 1;
    const next: string[] = [];
    for (const d of dirs) {
      if (!WILD.test(seg)) {
        next.push(join(d, seg));
        continue;
      }
      const re = segmentRegExp(seg);
      let names: string[];
      try {
        names = readdirSync(d);
      } catch {
        continue;
      }
      for (const n of names.sort()) if (re.test(n)) next.push(join(d, n));
      if (next.length > MAX_MATCHES) break;
    }
    dirs = last ? next : next.filter(isDir);
  }
  const out = dirs.filter(isFile).map((f) => (abs || pattern.startsWith('./') ? f : f.replace(/^\.\//, '')));
  return out.slice(0, MAX_MATCHES).sort();
}

/** One segment's wildcards as a RegExp; a leading dot must be matched literally, as glob(3) requires. */
function segmentRegExp(seg: string): RegExp {
  let re = '';
  for (let i = 0; i < seg.length; i++) {
    const ch = seg[i];
    if (ch === '*') re += '[^/]*';
    else if (ch === '?') re += '[^/]';
    else if (ch === '[') {
      const end = seg.indexOf(']', i + 2);
      if (end < 0) re += '\\[';
      else {
        let body = seg.slice(i + 1, end);
        if (body.startsWith('!')) body = `^${body.slice(1)}`;
        re += `[${body.replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else re += ch.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^(?!\\.)${re}$`);
}

function isDir(p: string): boolean {
  return statSync(p, { throwIfNoEntry: false })?.isDirectory() ?? false;
}

function isFile(p: string): boolean {
  return statSync(p, { throwIfNoEntry: false })?.isFile() ?? false;
}
