/**
 * The layering rule of src: a module imports only from its own folder or
 * from a layer of lower rank. Equal rank means peers that know nothing of
 * each other (rules and conntrack are both fed by packet and both read by
 * the engine; neither imports the other). The pipeline reads bottom-up:
 *
 *   base → capture, packet → rules, conntrack → engine, export, synth
 *        → report → run → policy → cli, api
 *
 * (Data flows from capture to packet, but the decoder needs only the link
 * types, which live in base: capture and packet are peers.)
 *
 * Every import counts: `import type` (a type is a dependency of the design
 * even when the compiler erases it), re-exports, `import()` expressions and
 * types, and a worker started by `new URL('x.js', import.meta.url)`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { parseAst } from 'vite';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../cli/run.js';

/** Rank of each layer: src/<folder>/ is layer <folder>; src/index.ts (the library's entry) is `api`. */
const RANK: Record<string, number> = {
  // diagnostics, errors and exit codes, input and output files, text escaping, YAML nodes, link types, sysctl settings
  base: 0,
  // capture files (pcap, pcapng) and wire formats (frames, IP packets): peers, so a decoder knows nothing of files
  capture: 1,
  packet: 1,
  // the rule language, and the connection tracker: peers
  rules: 2,
  conntrack: 2,
  // the verdict per packet; nftables/iptables export of a rule set; scenario → packets
  engine: 3,
  export: 3,
  synth: 3,
  // text, jsonl and conntrack -L lines
  report: 4,
  // the session above engine and report: the replay spread over worker threads
  run: 5,
  // expectations and the `fwemu test` runner (replays scenarios, explains verdicts)
  policy: 6,
  // the commands, and the library's entry point
  cli: 7,
  api: 7,
};

/** The layer of a path relative to the repository ("src/engine/engine.ts" → "engine"), or null outside the table. */
function layerOf(file: string): string | null {
  const parts = file.split('/');
  if (parts[0] !== 'src') return null;
  const layer = parts.length === 2 ? (parts[1] === 'index.ts' ? 'api' : null) : parts[1];
  return layer !== null && layer in RANK ? layer : null;
}

interface Import {
  /** The importing file, relative to the repository. */
  file: string;
  line: number;
  /** The specifier as written. */
  spec: string;
  /** The imported source file, relative to the repository. */
  target: string;
}

const MODULE_EXT = /\.(bundle\.mjs|mjs|js)$/;

/** Every relative import of a TypeScript source: declarations, re-exports, import() and import types, and workers by URL. */
function importsOf(file: string, text: string): Import[] {
  const out: Import[] = [];
  const add = (spec: unknown, at: number): void => {
    if (typeof spec !== 'string' || !/^\.\.?\//.test(spec)) return;
    // Compiled beside its source: dist/x/y.js (or the bundle y.bundle.mjs) is src/x/y.ts.
    const target = posix.normalize(posix.join(posix.dirname(file), spec)).replace(MODULE_EXT, '.ts');
    out.push({ file, line: text.slice(0, at).split('\n').length, spec, target });
  };
  const literals = (n: unknown, found: { value: unknown; start: number }[]): void => {
    if (n === null || typeof n !== 'object') return;
    const node = n as Record<string, unknown> & { type?: string; value?: unknown; start: number };
    if (node.type === 'Literal' && typeof node.value === 'string') found.push({ value: node.value, start: node.start });
    for (const k of Object.keys(node)) if (typeof node[k] === 'object') literals(node[k], found);
  };
  const walk = (n: unknown): void => {
    if (n === null || typeof n !== 'object') return;
    if (Array.isArray(n)) {
      for (const x of n) walk(x);
      return;
    }
    const node = n as Record<string, unknown> & { type?: string; start: number };
    switch (node.type) {
      case 'ImportDeclaration':
      case 'ExportNamedDeclaration':
      case 'ExportAllDeclaration':
      case 'ImportExpression': {
        const s = node.source as { type: string; value: unknown; start: number } | null;
        if (s?.type === 'Literal') add(s.value, s.start);
        break;
      }
      case 'TSImportType': {
        // (oxc's ESTree calls the string `source`, typescript-estree `argument`, wrapped in a TSLiteralType.)
        const a = (node.source ?? node.argument) as {
          type: string;
          value?: unknown;
          literal?: { value: unknown; start: number };
          start: number;
        };
        if (a.type === 'Literal') add(a.value, a.start);
        else if (a.literal !== undefined) add(a.literal.value, a.literal.start);
        break;
      }
      case 'NewExpression': {
        // new URL('../x/worker.js', import.meta.url): a module loaded by path (a worker's entry).
        const callee = node.callee as { type: string; name?: string };
        const args = node.arguments as { type: string; start: number; end: number }[];
        if (
          callee.type === 'Identifier' &&
          callee.name === 'URL' &&
          args.length === 2 &&
          text.slice(args[1].start, args[1].end) === 'import.meta.url'
        ) {
          const found: { value: unknown; start: number }[] = [];
          literals(args[0], found);
          for (const l of found) if (typeof l.value === 'string' && MODULE_EXT.test(l.value)) add(l.value, l.start);
        }
        break;
      }
    }
    for (const k of Object.keys(node)) if (typeof node[k] === 'object') walk(node[k]);
  };
  walk(parseAst(text, { lang: 'ts' } as Parameters<typeof parseAst>[1]));
  return out;
}

/** One sentence per import that breaks the rule (or leaves the table). */
function violations(imports: Import[]): string[] {
  const out: string[] = [];
  for (const imp of imports) {
    const at = `${imp.file}:${imp.line} imports '${imp.spec}'`;
    const from = layerOf(imp.file);
    const to = layerOf(imp.target);
    if (from === null)
      out.push(`${at}: ${imp.file} is in no layer (add its folder to RANK in test/architecture/layers.test.ts)`);
    else if (to === null) out.push(`${at}: ${imp.target} is in no layer (outside src, or a folder missing from RANK)`);
    else if (from !== to && RANK[to] >= RANK[from]) {
      const why = RANK[to] === RANK[from] ? 'peers do not import each other' : 'a layer imports only lower ones';
      out.push(`${at}: layer ${from} (rank ${RANK[from]}) imports layer ${to} (rank ${RANK[to]}); ${why}`);
    }
  }
  return out;
}

function srcFiles(): string[] {
  return readdirSync(join(ROOT, 'src'), { recursive: true })
    .map(String)
    .filter((f) => f.endsWith('.ts'))
    .map((f) => `src/${f.split('\\').join('/')}`)
    .sort();
}

describe('layers of src', () => {
  it('the scan finds every kind of import, and nothing else', () => {
    const text = [
      "import type { A } from '../capture/types.js';",
      "import { b, type C } from './b.js';",
      "export { d } from '../report/d.js';",
      "export * from '../base/e.js';",
      "// import { x } from '../cli/x.js'; (a comment is not an import)",
      'const s = \'from "../cli/y.js"\';',
      "const g = await import('../run/g.js');",
      "type H = import('../policy/h.js').H;",
      "import 'node:fs';",
      "import { parse } from 'yaml';",
      "const w = new URL(import.meta.url.endsWith('.bundle.mjs') ? '../run/w.bundle.mjs' : '../run/w.js', import.meta.url);",
      "const p = new URL('../../package.json', import.meta.url);",
    ].join('\n');
    const found = importsOf('src/engine/x.ts', text).map((i) => `${i.line}: ${i.target}`);
    expect(found).toEqual([
      '1: src/capture/types.ts',
      '2: src/engine/b.ts',
      '3: src/report/d.ts',
      '4: src/base/e.ts',
      '7: src/run/g.ts',
      '8: src/policy/h.ts',
      '11: src/run/w.ts',
      '11: src/run/w.ts',
    ]);
  });

  it('an import upward, or between peers, is named with both layers', () => {
    const text =
      "import { a } from '../report/a.js';\nimport type { S } from '../conntrack/types.js';\nimport { v } from '../base/text-escape.js';\nimport { e } from './engine.js';\n";
    expect(violations(importsOf('src/engine/x.ts', text))).toEqual([
      "src/engine/x.ts:1 imports '../report/a.js': layer engine (rank 3) imports layer report (rank 4); a layer imports only lower ones",
    ]);
    expect(violations(importsOf('src/rules/x.ts', text))).toEqual([
      "src/rules/x.ts:1 imports '../report/a.js': layer rules (rank 2) imports layer report (rank 4); a layer imports only lower ones",
      "src/rules/x.ts:2 imports '../conntrack/types.js': layer rules (rank 2) imports layer conntrack (rank 2); peers do not import each other",
    ]);
    expect(violations(importsOf('src/newfolder/x.ts', "import { v } from '../base/text-escape.js';\n"))).toEqual([
      "src/newfolder/x.ts:1 imports '../base/text-escape.js': src/newfolder/x.ts is in no layer (add its folder to RANK in test/architecture/layers.test.ts)",
    ]);
  });

  it('no file of src imports a higher layer or a peer', () => {
    const files = srcFiles();
    expect(files.length).toBeGreaterThan(50);
    const imports = files.flatMap((f) => importsOf(f, readFileSync(join(ROOT, f), 'utf8')));
    // Sanity: the scan sees the imports that exist (the engine imports the packet layer's types).
    expect(imports.some((i) => i.file === 'src/engine/engine.ts' && i.target === 'src/packet/types.ts')).toBe(true);
    expect(violations(imports)).toEqual([]);
  });

  it('every import names a file that exists', () => {
    const files = new Set(srcFiles());
    const missing = srcFiles()
      .flatMap((f) => importsOf(f, readFileSync(join(ROOT, f), 'utf8')))
      .filter((i) => !files.has(i.target))
      .map((i) => `${i.file}:${i.line} imports '${i.spec}', but ${i.target} does not exist`);
    expect(missing).toEqual([]);
  });
});
