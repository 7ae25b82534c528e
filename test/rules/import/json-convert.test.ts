/**
 * nft JSON -> the nft importer's AST, by hand-written case: each kind of
 * object, statement and expression of libnftables-json(5), the commands
 * `nft -j -f` applies (checked against what nft itself made of them in a
 * namespace, noted per case), positions, and errors for JSON without
 * nft's shape.
 */
import { describe, expect, it } from 'vitest';
import type { Rule, Ruleset, Stmt } from '../../../src/rules/import/nft/ast.js';
import { parseNftJson } from '../../../src/rules/import/json/index.js';

/** The AST without positions and the texts of statements, rules and declarations: what they mean. */
function bare(x: unknown): unknown {
  if (Array.isArray(x)) return x.map(bare);
  if (x !== null && typeof x === 'object') {
    const kind = (x as { kind?: string }).kind;
    const keepText = kind === 'symbol' || kind === 'unsupported';
    return Object.fromEntries(
      Object.entries(x)
        .filter(([k]) => k !== 'pos' && (k !== 'text' || keepText))
        .map(([k, v]) => [k, bare(v)]),
    );
  }
  return x;
}

const TABLE = '{"table": {"family": "inet", "name": "t"}}';
const CHAIN = '{"chain": {"family": "inet", "table": "t", "name": "c"}}';

function ruleJson(exprs: string, family = 'inet'): string {
  return `{"nftables": [{"table": {"family": "${family}", "name": "t"}}, {"chain": {"family": "${family}", "table": "t", "name": "c"}}, {"rule": {"family": "${family}", "table": "t", "chain": "c", "expr": [${exprs}]}}]}`;
}

function parsed(text: string): Ruleset {
  const r = parseNftJson(text, 'r.json');
  expect(r.diagnostics.filter((d) => d.code !== 'json.iptables-nft')).toEqual([]);
  return r.ruleset!;
}

function rule(exprs: string, family = 'inet'): Rule {
  return parsed(ruleJson(exprs, family)).tables[0].chains[0].rules[0];
}

function stmts(exprs: string, family = 'inet'): unknown {
  return bare(rule(exprs, family).stmts);
}

const sym = (text: string) => ({ kind: 'symbol', text, quoted: false });
const payload = (protocol: string, field: string) => ({ kind: 'payload', protocol, field });
const match = (left: unknown, op: string, right: unknown) => ({ kind: 'match', left, op, right });
const verdict = (v: string, target: string | null = null) => ({ kind: 'verdict', verdict: v, target });

describe('nft JSON to the nft AST: statements and expressions', () => {
  it('match: payload, op == and !=, and "in" as nft text\'s implicit operator', () => {
    expect(
      stmts(
        '{"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 22}}, {"match": {"op": "!=", "left": {"payload": {"protocol": "ip", "field": "saddr"}}, "right": "10.0.0.1"}}, {"match": {"op": "in", "left": {"ct": {"key": "state"}}, "right": ["established", "related"]}}, {"accept": null}',
      ),
    ).toEqual([
      match(payload('tcp', 'dport'), '==', sym('22')),
      match(payload('ip', 'saddr'), '!=', sym('10.0.0.1')),
      match({ kind: 'ct', key: 'state', dir: null }, 'implicit', {
        kind: 'list',
        items: [sym('established'), sym('related')],
      }),
      verdict('accept'),
    ]);
  });

  it('comparisons < > <= >=', () => {
    const ops = ['<', '>', '<=', '>='];
    const json = ops
      .map((op) => `{"match": {"op": "${op}", "left": {"payload": {"protocol": "ip", "field": "ttl"}}, "right": 5}}`)
      .join(', ');
    expect(stmts(json)).toEqual(ops.map((op) => match(payload('ip', 'ttl'), op, sym('5'))));
  });

  it('meta, ct with a direction, fib with its flags and a boolean result', () => {
    expect(
      stmts(
        '{"match": {"op": "==", "left": {"meta": {"key": "iifname"}}, "right": "eth*"}}, {"match": {"op": "==", "left": {"ct": {"key": "saddr", "dir": "original"}}, "right": "10.0.0.1"}}, {"match": {"op": "==", "left": {"fib": {"result": "oif", "flags": ["saddr", "iif"]}}, "right": false}}, {"match": {"op": "!=", "left": {"fib": {"result": "type", "flags": "daddr"}}, "right": "local"}}',
      ),
    ).toEqual([
      match({ kind: 'meta', key: 'iifname' }, '==', sym('eth*')),
      match({ kind: 'ct', key: 'saddr', dir: 'original' }, '==', sym('10.0.0.1')),
      match({ kind: 'fib', flags: ['saddr', 'iif'], result: 'oif' }, '==', sym('missing')),
      match({ kind: 'fib', flags: ['daddr'], result: 'type' }, '!=', sym('local')),
    ]);
  });

  it('values: prefix, range, anonymous set (with ranges and prefixes in it), concat, set reference', () => {
    expect(
      stmts(
        '{"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}}, "right": {"prefix": {"addr": "10.0.0.0", "len": 8}}}}, {"match": {"op": "==", "left": {"payload": {"protocol": "udp", "field": "sport"}}, "right": {"range": [1024, 65535]}}}, {"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": {"set": [22, {"range": [8000, 8080]}]}}}, {"match": {"op": "==", "left": {"concat": [{"payload": {"protocol": "ip", "field": "saddr"}}, {"meta": {"key": "l4proto"}}]}, "right": "@svc"}}',
      ),
    ).toEqual([
      match(payload('ip', 'saddr'), '==', { kind: 'prefix', addr: sym('10.0.0.0'), len: 8 }),
      match(payload('udp', 'sport'), '==', { kind: 'range', lo: sym('1024'), hi: sym('65535') }),
      match(payload('tcp', 'dport'), '==', {
        kind: 'set',
        elems: [
          { key: sym('22'), value: null },
          { key: { kind: 'range', lo: sym('8000'), hi: sym('8080') }, value: null },
        ],
      }),
      match({ kind: 'concat', parts: [payload('ip', 'saddr'), { kind: 'meta', key: 'l4proto' }] }, '==', {
        kind: 'setref',
        name: 'svc',
      }),
    ]);
  });

  it('binops: tcp flags & mask == value, meta mark & mask', () => {
    expect(
      stmts(
        '{"match": {"op": "==", "left": {"&": [{"payload": {"protocol": "tcp", "field": "flags"}}, ["syn", "ack"]]}, "right": "syn"}}, {"match": {"op": "==", "left": {"&": [{"meta": {"key": "mark"}}, 65280]}, "right": 256}}',
      ),
    ).toEqual([
      match(
        {
          kind: 'binop',
          op: '&',
          left: payload('tcp', 'flags'),
          right: { kind: 'list', items: [sym('syn'), sym('ack')] },
        },
        '==',
        sym('syn'),
      ),
      match({ kind: 'binop', op: '&', left: { kind: 'meta', key: 'mark' }, right: sym('65280') }, '==', sym('256')),
    ]);
  });

  it('verdicts: accept drop continue return jump goto', () => {
    for (const v of ['accept', 'drop', 'continue', 'return']) expect(stmts(`{"${v}": null}`)).toEqual([verdict(v)]);
    expect(stmts('{"jump": {"target": "x"}}')).toEqual([verdict('jump', 'x')]);
    expect(stmts('{"goto": {"target": "y"}}')).toEqual([verdict('goto', 'y')]);
  });

  it('vmap: anonymous, with verdicts as data, and named', () => {
    expect(
      stmts(
        '{"vmap": {"key": {"ct": {"key": "state"}}, "data": {"set": [["established", {"accept": null}], ["invalid", {"drop": null}], ["new", {"jump": {"target": "in_new"}}]]}}}',
      ),
    ).toEqual([
      {
        kind: 'vmap',
        key: { kind: 'ct', key: 'state', dir: null },
        map: {
          kind: 'set',
          elems: [
            { key: sym('established'), value: { kind: 'verdict', verdict: 'accept', target: null } },
            { key: sym('invalid'), value: { kind: 'verdict', verdict: 'drop', target: null } },
            { key: sym('new'), value: { kind: 'verdict', verdict: 'jump', target: 'in_new' } },
          ],
        },
      },
    ]);
    expect(stmts('{"vmap": {"key": {"payload": {"protocol": "tcp", "field": "dport"}}, "data": "@ports"}}')).toEqual([
      { kind: 'vmap', key: payload('tcp', 'dport'), map: { kind: 'setref', name: 'ports' } },
    ]);
  });

  it('counter (anonymous and named), log, limit (default and bytes, over, named)', () => {
    expect(
      stmts(
        '{"counter": {"packets": 5, "bytes": 300}}, {"counter": "cnt"}, {"log": {"prefix": "in: ", "level": "info", "group": 2}}, {"log": null}, {"limit": {"rate": 3, "per": "minute", "burst": 2}}, {"limit": {"rate": 10, "rate_unit": "mbytes", "per": "second", "burst": 1, "burst_unit": "mbytes", "inv": true}}, {"limit": "lim"}',
      ),
    ).toEqual([
      { kind: 'counter', name: null },
      { kind: 'counter', name: 'cnt' },
      { kind: 'log', prefix: 'in: ', level: 'info', group: 2 },
      { kind: 'log', prefix: null, level: null, group: null },
      {
        kind: 'limit',
        rate: 3,
        per: 'minute',
        rateUnit: 'packets',
        burst: 2,
        burstUnit: 'packets',
        over: false,
        name: null,
      },
      {
        kind: 'limit',
        rate: 10,
        per: 'second',
        rateUnit: 'mbytes',
        burst: 1,
        burstUnit: 'mbytes',
        over: true,
        name: null,
      },
      {
        kind: 'limit',
        rate: 0,
        per: 'second',
        rateUnit: 'packets',
        burst: null,
        burstUnit: 'packets',
        over: false,
        name: 'lim',
      },
    ]);
  });

  it("reject: the family's default as plain reject (as nft lists it), others with type and code", () => {
    const r = (json: string, family: string) => stmts(json, family);
    const dflt = { kind: 'reject', type: null, code: null };
    // (nft -j lists a plain `reject` in inet as icmpx port-unreachable, in ip as icmp port-unreachable)
    expect(r('{"reject": {"type": "icmpx", "expr": "port-unreachable"}}', 'inet')).toEqual([dflt]);
    expect(r('{"reject": {"type": "icmp", "expr": "port-unreachable"}}', 'ip')).toEqual([dflt]);
    expect(r('{"reject": {"type": "icmpv6", "expr": "port-unreachable"}}', 'ip6')).toEqual([dflt]);
    expect(r('{"reject": null}', 'inet')).toEqual([dflt]);
    expect(r('{"reject": {"type": "icmp", "expr": "port-unreachable"}}', 'inet')).toEqual([
      { kind: 'reject', type: 'icmp', code: 'port-unreachable' },
    ]);
    expect(r('{"reject": {"type": "tcp reset"}}', 'inet')).toEqual([{ kind: 'reject', type: 'tcp reset', code: null }]);
    expect(r('{"reject": {"type": "icmpx", "expr": "admin-prohibited"}}', 'inet')).toEqual([
      { kind: 'reject', type: 'icmpx', code: 'admin-prohibited' },
    ]);
  });

  it('nat: snat/dnat with family, address, port, range, prefix, map; masquerade and redirect with ports and flags', () => {
    expect(
      stmts(
        '{"dnat": {"family": "ip", "addr": "192.168.1.10", "port": 8443}}, {"dnat": {"family": "ip6", "addr": "fd00::5", "port": 80}}, {"dnat": {"family": "ip", "addr": {"prefix": {"addr": "192.168.1.30", "len": 31}}, "port": {"range": [6000, 6010]}}}, {"snat": {"family": "ip", "addr": {"range": ["203.0.113.1", "203.0.113.9"]}, "flags": "fully-random"}}, {"masquerade": null}, {"masquerade": {"port": {"range": [1024, 2048]}, "flags": ["random", "persistent"]}}, {"redirect": {"port": 8080}}, {"redirect": null}',
      ),
    ).toEqual([
      { kind: 'nat', type: 'dnat', family: 'ip', addr: sym('192.168.1.10'), port: sym('8443'), flags: [] },
      { kind: 'nat', type: 'dnat', family: 'ip6', addr: sym('fd00::5'), port: sym('80'), flags: [] },
      {
        kind: 'nat',
        type: 'dnat',
        family: 'ip',
        addr: { kind: 'prefix', addr: sym('192.168.1.30'), len: 31 },
        port: { kind: 'range', lo: sym('6000'), hi: sym('6010') },
        flags: [],
      },
      {
        kind: 'nat',
        type: 'snat',
        family: 'ip',
        addr: { kind: 'range', lo: sym('203.0.113.1'), hi: sym('203.0.113.9') },
        port: null,
        flags: ['fully-random'],
      },
      { kind: 'nat', type: 'masquerade', family: null, addr: null, port: null, flags: [] },
      {
        kind: 'nat',
        type: 'masquerade',
        family: null,
        addr: null,
        port: { kind: 'range', lo: sym('1024'), hi: sym('2048') },
        flags: ['random', 'persistent'],
      },
      { kind: 'nat', type: 'redirect', family: null, addr: null, port: sym('8080'), flags: [] },
      { kind: 'nat', type: 'redirect', family: null, addr: null, port: null, flags: [] },
    ]);
    expect(
      stmts(
        '{"snat": {"addr": {"map": {"key": {"payload": {"protocol": "ip", "field": "saddr"}}, "data": {"set": [[{"prefix": {"addr": "10.0.0.0", "len": 24}}, "203.0.113.6"]]}}}}}, {"dnat": {"addr": {"map": {"key": {"payload": {"protocol": "tcp", "field": "dport"}}, "data": "@fwd"}}}}',
        'ip',
      ),
    ).toEqual([
      {
        kind: 'nat',
        type: 'snat',
        family: null,
        addr: {
          kind: 'map',
          key: payload('ip', 'saddr'),
          map: {
            kind: 'set',
            elems: [{ key: { kind: 'prefix', addr: sym('10.0.0.0'), len: 24 }, value: sym('203.0.113.6') }],
          },
        },
        port: null,
        flags: [],
      },
      {
        kind: 'nat',
        type: 'dnat',
        family: null,
        addr: { kind: 'map', key: payload('tcp', 'dport'), map: { kind: 'setref', name: 'fwd' } },
        port: null,
        flags: [],
      },
    ]);
  });

  it('mangle: meta mark set a value and a bitwise update; notrack', () => {
    expect(
      stmts(
        '{"mangle": {"key": {"meta": {"key": "mark"}}, "value": 1}}, {"mangle": {"key": {"meta": {"key": "mark"}}, "value": {"|": [{"&": [{"meta": {"key": "mark"}}, 4294902527]}, 512]}}}, {"notrack": null}',
      ),
    ).toEqual([
      { kind: 'mangle', key: { kind: 'meta', key: 'mark' }, value: sym('1') },
      {
        kind: 'mangle',
        key: { kind: 'meta', key: 'mark' },
        value: {
          kind: 'binop',
          op: '|',
          left: { kind: 'binop', op: '&', left: { kind: 'meta', key: 'mark' }, right: sym('4294902527') },
          right: sym('512'),
        },
      },
      { kind: 'notrack' },
    ]);
  });

  it('statements outside the model, named as the AST names them', () => {
    const json = [
      '{"quota": {"val": 10, "val_unit": "mbytes", "inv": true}}',
      '{"quota": "q1"}',
      '{"flow": {"op": "add", "flowtable": "@ft"}}',
      '{"queue": {"num": 1, "flags": ["bypass"]}}',
      '{"dup": {"addr": "10.0.0.1"}}',
      '{"fwd": {"dev": "eth1"}}',
      '{"tproxy": {"port": 1}}',
      '{"synproxy": {"mss": 1460}}',
      '{"set": {"op": "update", "elem": {"payload": {"protocol": "ip", "field": "saddr"}}, "set": "@s"}}',
      '{"set": {"op": "add", "elem": {"payload": {"protocol": "ip", "field": "saddr"}}, "set": "@s"}}',
      '{"set": {"op": "delete", "elem": {"payload": {"protocol": "ip", "field": "saddr"}}, "set": "@s"}}',
      '{"map": {"op": "add", "elem": {"payload": {"protocol": "ip", "field": "saddr"}}, "data": 1, "map": "@m"}}',
      '{"meter": {"name": "m", "key": {"payload": {"protocol": "ip", "field": "saddr"}}, "stmt": {"limit": {"rate": 1, "per": "second"}}}}',
      '{"xt": {"type": "target", "name": "TCPMSS"}}',
      '{"last": null}',
      '{"ct count": {"val": 10, "inv": true}}',
      '{"frobnicate": null}',
    ];
    expect((stmts(json.join(', ')) as Stmt[]).map((s) => (s.kind === 'other' ? s.name : s.kind))).toEqual([
      'quota',
      'quota',
      'flow add',
      'queue',
      'dup',
      'fwd',
      'tproxy',
      'synproxy',
      'set update',
      'set add',
      'set delete',
      'set add',
      'meter',
      'xt',
      'last',
      'connlimit',
      'unknown',
    ]);
  });

  it('ct helper, ct timeout, ct expectation and secmark are `KEY set VALUE`, as nft text writes them', () => {
    expect(
      stmts(
        '{"ct helper": "ftp"}, {"ct timeout": "t"}, {"ct expectation": "e"}, {"secmark": "s"}, {"ct helper": {"map": {"key": {"payload": {"protocol": "udp", "field": "dport"}}, "data": {"set": [[69, "tftp-69"]]}}}}',
      ),
    ).toEqual([
      { kind: 'mangle', key: { kind: 'ct', key: 'helper', dir: null }, value: sym('ftp') },
      { kind: 'mangle', key: { kind: 'ct', key: 'timeout', dir: null }, value: sym('t') },
      { kind: 'mangle', key: { kind: 'ct', key: 'expectation', dir: null }, value: sym('e') },
      { kind: 'mangle', key: { kind: 'meta', key: 'secmark' }, value: sym('s') },
      {
        kind: 'mangle',
        key: { kind: 'ct', key: 'helper', dir: null },
        value: {
          kind: 'map',
          key: payload('udp', 'dport'),
          map: { kind: 'set', elems: [{ key: sym('69'), value: sym('tftp-69') }] },
        },
      },
    ]);
  });

  it('xt statements (iptables-nft) are OtherStmt xt, as the text parser gives them; one warning per file', () => {
    const r = parseNftJson(
      ruleJson('{"xt": {"type": "match", "name": "conntrack"}}, {"xt": {"type": "target", "name": "REJECT"}}'),
      'r.json',
    );
    const st = r.ruleset!.tables[0].chains[0].rules[0].stmts;
    expect(st.map((x) => [x.kind, x.kind === 'other' ? x.name : null, x.text])).toEqual([
      ['other', 'xt', 'xt match "conntrack"'],
      ['other', 'xt', 'xt target "REJECT"'],
    ]);
    expect(r.diagnostics.map((d) => [d.severity, d.code])).toEqual([['warning', 'json.iptables-nft']]);
  });

  it('newer nft\'s forms (1.0.7 on): operands of | in one array, op "!", fib result "check", inner headers', () => {
    const r = rule(
      '{"match": {"left": {"&": [{"payload": {"field": "flags", "protocol": "tcp"}}, {"|": ["fin", "syn", "rst"]}]}, "op": "==", "right": "syn"}}, {"match": {"left": {"payload": {"field": "flags", "protocol": "tcp"}}, "op": "!", "right": "syn"}}, {"match": {"left": {"fib": {"flags": ["daddr"], "result": "check"}}, "op": "==", "right": true}}, {"match": {"left": {"payload": {"field": "saddr", "protocol": "ip", "tunnel": "vxlan"}}, "op": "==", "right": "10.0.0.1"}}, {"match": {"left": {"payload": {"field": "vni", "protocol": "geneve", "tunnel": "geneve"}}, "op": "==", "right": 10}}',
    );
    const flags = payload('tcp', 'flags');
    const or = (a: unknown, b: unknown) => ({ kind: 'binop', op: '|', left: a, right: b });
    expect(bare(r.stmts)).toEqual([
      match(
        { kind: 'binop', op: '&', left: flags, right: or(or(sym('fin'), sym('syn')), sym('rst')) },
        '==',
        sym('syn'),
      ),
      match({ kind: 'binop', op: '&', left: flags, right: sym('syn') }, '==', sym('0')),
      match({ kind: 'fib', flags: ['daddr'], result: 'oif' }, '==', sym('exists')),
      match({ kind: 'unsupported', name: 'vxlan ip', text: 'vxlan ip saddr' }, '==', sym('10.0.0.1')),
      match({ kind: 'unsupported', name: 'geneve vni', text: 'geneve vni' }, '==', sym('10')),
    ]);
    expect(r.stmts.map((s) => s.text)).toEqual([
      'tcp flags syn / fin,syn,rst',
      'tcp flags & syn == 0',
      'fib daddr oif exists',
      'vxlan ip saddr 10.0.0.1',
      'geneve vni 10',
    ]);
  });

  it('expressions outside the model are named, with their text', () => {
    const r = rule(
      '{"match": {"op": "==", "left": {"socket": {"key": "transparent"}}, "right": 1}}, {"match": {"op": "<", "left": {"rt": {"key": "mtu"}}, "right": 1500}}, {"match": {"op": "==", "left": {"numgen": {"mode": "inc", "mod": 2, "offset": 0}}, "right": 0}}, {"match": {"op": "==", "left": {"payload": {"base": "nh", "offset": 16, "len": 8}}, "right": 1}}, {"match": {"op": "==", "left": {"tcp option": {"name": "maxseg", "field": "size"}}, "right": 1460}}, {"match": {"op": "==", "left": {"osf": {"key": "name"}}, "right": "Linux"}}',
    );
    const lefts = r.stmts.map((s) =>
      s.kind === 'match' && s.left.kind === 'unsupported' ? [s.left.name, s.left.text] : null,
    );
    expect(lefts).toEqual([
      ['socket transparent', 'socket transparent'],
      ['rt mtu', 'rt mtu'],
      ['numgen', 'numgen inc mod 2'],
      ['raw payload @nh', '@nh,16,8'],
      ['tcp option', 'tcp option maxseg size'],
      ['osf', 'osf name'],
    ]);
  });

  it('a statement keeps its text, and a rule its one-line text with the comment', () => {
    const text = ruleJson(
      '{"match": {"op": "==", "left": {"meta": {"key": "iifname"}}, "right": "lo"}}, {"accept": null}',
    ).replace('"expr"', '"comment": "loopback", "expr"');
    const r = parsed(text).tables[0].chains[0].rules[0];
    expect(r.text).toBe('iifname "lo" accept comment "loopback"');
    expect(r.comment).toBe('loopback');
    expect(r.stmts.map((s) => s.text)).toEqual(['iifname "lo"', 'accept']);
  });
});

describe('nft JSON to the nft AST: texts stay one line', () => {
  it('a rule whose strings hold line breaks and escape sequences keeps its text on one visible line', () => {
    const text = ruleJson(
      '{"match": {"op": "==", "left": {"meta": {"key": "iifname"}}, "right": "e\\u001b[2Jx"}}, {"log": {"prefix": "a\\nb"}}, {"accept": null}',
    ).replace('"expr"', '"comment": "one\\rtwo\\u2028three", "expr"');
    const r = parsed(text).tables[0].chains[0].rules[0];
    expect(r.text).toBe('iifname "e\\x1b[2Jx" log prefix "a\\nb" accept comment "one\\rtwo\\u2028three"');
    expect(r.stmts.map((s) => s.text)).toEqual(['iifname "e\\x1b[2Jx"', 'log prefix "a\\nb"', 'accept']);
    // the values themselves are kept as given (the builder compares interface names byte for byte)
    const m = r.stmts[0];
    expect(m.kind === 'match' && m.right.kind === 'symbol' && m.right.text).toBe('e\u001b[2Jx');
  });
});

describe('nft JSON to the nft AST: tables, chains, sets, objects', () => {
  it('tables, base chains (type, hook, prio, policy, devices) and user chains', () => {
    const rs = parsed(
      `{"nftables": [{"metainfo": {"version": "1.0.6", "release_name": "x", "json_schema_version": 1}}, ${TABLE}, {"chain": {"family": "inet", "table": "t", "name": "in", "handle": 1, "type": "filter", "hook": "input", "prio": 0, "policy": "drop"}}, {"chain": {"family": "inet", "table": "t", "name": "pre", "type": "nat", "hook": "prerouting", "prio": -100, "policy": "accept"}}, ${CHAIN}, {"table": {"family": "netdev", "name": "n"}}, {"chain": {"family": "netdev", "table": "n", "name": "ing", "type": "filter", "hook": "ingress", "prio": 0, "dev": "eth0", "policy": "accept"}}]}`,
    );
    expect(bare(rs)).toEqual({
      tables: [
        {
          family: 'inet',
          name: 't',
          flags: [],
          comment: null,
          sets: [],
          flowtables: [],
          objects: [],
          chains: [
            {
              name: 'in',
              base: { type: 'filter', hook: 'input', priority: { name: null, offset: 0 }, policy: 'drop', devices: [] },
              comment: null,
              rules: [],
            },
            {
              name: 'pre',
              base: {
                type: 'nat',
                hook: 'prerouting',
                priority: { name: null, offset: -100 },
                policy: 'accept',
                devices: [],
              },
              comment: null,
              rules: [],
            },
            { name: 'c', base: null, comment: null, rules: [] },
          ],
        },
        {
          family: 'netdev',
          name: 'n',
          flags: [],
          comment: null,
          sets: [],
          flowtables: [],
          objects: [],
          chains: [
            {
              name: 'ing',
              base: {
                type: 'filter',
                hook: 'ingress',
                priority: { name: null, offset: 0 },
                policy: 'accept',
                devices: ['eth0'],
              },
              comment: null,
              rules: [],
            },
          ],
        },
      ],
    });
  });

  it('a priority given by name, as nft -j -f also reads it', () => {
    const rs = parsed(
      `{"nftables": [${TABLE}, {"chain": {"family": "inet", "table": "t", "name": "a", "type": "filter", "hook": "input", "prio": "filter + 10"}}, {"chain": {"family": "inet", "table": "t", "name": "b", "type": "nat", "hook": "prerouting", "prio": "dstnat"}}]}`,
    );
    expect(rs.tables[0].chains.map((c) => [c.base!.priority.name, c.base!.priority.offset, c.base!.policy])).toEqual([
      ['filter', 10, null],
      ['dstnat', 0, null],
    ]);
  });

  it('sets and maps: types, flags, elements (prefix, range, concat, elem with timeout), map data, extras', () => {
    const rs = parsed(
      `{"nftables": [${TABLE}, {"set": {"family": "inet", "name": "lan4", "table": "t", "type": "ipv4_addr", "flags": ["interval"], "elem": [{"range": ["10.0.0.10", "10.0.0.20"]}, "172.16.0.1", {"prefix": {"addr": "192.168.1.0", "len": 24}}]}}, {"set": {"family": "inet", "name": "blocked", "table": "t", "type": "ipv4_addr", "size": 65535, "flags": ["timeout"], "timeout": 3600, "elem": [{"elem": {"val": "198.51.100.7", "timeout": 600, "expires": 598}}]}}, {"set": {"family": "inet", "name": "svc", "table": "t", "type": ["ipv4_addr", "inet_proto", "inet_service"], "elem": [{"concat": ["192.168.1.5", "tcp", 22]}]}}, {"map": {"family": "inet", "name": "fwd4", "table": "t", "type": "inet_service", "map": "ipv4_addr . inet_service", "elem": [[8080, {"concat": ["192.168.1.10", 80]}]]}}, {"map": {"family": "inet", "name": "pm", "table": "t", "type": "inet_service", "map": "verdict", "elem": [[22, {"jump": {"target": "ssh"}}]]}}, {"set": {"family": "inet", "name": "empty", "table": "t", "type": "ipv6_addr"}}]}`,
    );
    expect(bare(rs.tables[0].sets)).toEqual([
      {
        name: 'lan4',
        isMap: false,
        keyType: ['ipv4_addr'],
        keyTypeof: null,
        dataType: null,
        flags: ['interval'],
        elements: [
          { key: { kind: 'range', lo: sym('10.0.0.10'), hi: sym('10.0.0.20') }, value: null },
          { key: sym('172.16.0.1'), value: null },
          { key: { kind: 'prefix', addr: sym('192.168.1.0'), len: 24 }, value: null },
        ],
        extra: [],
        comment: null,
      },
      {
        name: 'blocked',
        isMap: false,
        keyType: ['ipv4_addr'],
        keyTypeof: null,
        dataType: null,
        flags: ['timeout'],
        elements: [{ key: sym('198.51.100.7'), value: null }],
        extra: ['timeout 1h', 'size 65535'],
        comment: null,
      },
      {
        name: 'svc',
        isMap: false,
        keyType: ['ipv4_addr', 'inet_proto', 'inet_service'],
        keyTypeof: null,
        dataType: null,
        flags: [],
        elements: [{ key: { kind: 'concat', parts: [sym('192.168.1.5'), sym('tcp'), sym('22')] }, value: null }],
        extra: [],
        comment: null,
      },
      {
        name: 'fwd4',
        isMap: true,
        keyType: ['inet_service'],
        keyTypeof: null,
        dataType: 'ipv4_addr . inet_service',
        flags: [],
        elements: [{ key: sym('8080'), value: { kind: 'concat', parts: [sym('192.168.1.10'), sym('80')] } }],
        extra: [],
        comment: null,
      },
      {
        name: 'pm',
        isMap: true,
        keyType: ['inet_service'],
        keyTypeof: null,
        dataType: 'verdict',
        flags: [],
        elements: [{ key: sym('22'), value: { kind: 'verdict', verdict: 'jump', target: 'ssh' } }],
        extra: [],
        comment: null,
      },
      {
        name: 'empty',
        isMap: false,
        keyType: ['ipv6_addr'],
        keyTypeof: null,
        dataType: null,
        flags: [],
        elements: [],
        extra: [],
        comment: null,
      },
    ]);
  });

  it('a set declared by typeof (nft >= 1.0.7: "type": {"typeof": ...}), a meter, element statements', () => {
    const rs = parsed(
      `{"nftables": [${TABLE}, {"set": {"family": "inet", "name": "s", "table": "t", "type": {"typeof": {"concat": [{"payload": {"protocol": "ip", "field": "saddr"}}, {"payload": {"protocol": "tcp", "field": "dport"}}]}}, "elem": [{"concat": ["10.0.0.1", 22]}], "stmt": [{"counter": null}]}}, {"map": {"family": "inet", "name": "m", "table": "t", "type": {"typeof": {"meta": {"key": "iifname"}}}, "map": "verdict"}}, {"meter": {"family": "inet", "name": "flood", "table": "t", "type": "ipv4_addr", "flags": ["dynamic"]}}]}`,
    );
    expect(bare(rs.tables[0].sets.map((s) => [s.name, s.keyType, s.keyTypeof, s.dataType, s.extra]))).toEqual([
      ['s', [], [payload('ip', 'saddr'), payload('tcp', 'dport')], null, ['counter']],
      ['m', [], [{ kind: 'meta', key: 'iifname' }], 'verdict', []],
      ['flood', ['ipv4_addr'], null, null, []],
    ]);
  });

  it('add element appends to a set given before', () => {
    const rs = parsed(
      `{"nftables": [${TABLE}, {"set": {"family": "inet", "name": "s", "table": "t", "type": "inet_service", "elem": [22]}}, {"add": {"element": {"family": "inet", "table": "t", "name": "s", "elem": [80, 443]}}}]}`,
    );
    expect(bare(rs.tables[0].sets[0].elements)).toEqual(
      [22, 80, 443].map((p) => ({ key: sym(String(p)), value: null })),
    );
  });

  it('flowtables and stateful objects, each with a one-line text', () => {
    const rs = parsed(
      `{"nftables": [${TABLE}, {"flowtable": {"family": "inet", "name": "ft", "table": "t", "hook": "ingress", "prio": 0, "dev": ["eth0", "eth1"]}}, {"counter": {"family": "inet", "name": "c1", "table": "t", "packets": 0, "bytes": 0}}, {"quota": {"family": "inet", "name": "q1", "table": "t", "bytes": 104857600, "used": 0, "inv": true}}, {"limit": {"family": "inet", "name": "l1", "table": "t", "rate": 10, "per": "second", "burst": 5}}, {"ct helper": {"family": "inet", "name": "ftp", "table": "t", "type": "ftp", "protocol": "tcp", "l3proto": "inet"}}]}`,
    );
    const t = rs.tables[0];
    expect(t.flowtables.map((f) => [f.name, f.text])).toEqual([
      ['ft', 'flowtable ft { hook ingress priority 0; devices = { eth0, eth1 }; }'],
    ]);
    expect(t.objects.map((o) => [o.kind, o.name, o.text])).toEqual([
      // as nft lists them (kinds.nft, ct_helpers.nft in the test data)
      ['counter', 'c1', 'counter c1 { packets 0 bytes 0 }'],
      ['quota', 'q1', 'quota q1 { over 100 mbytes }'],
      ['limit', 'l1', 'limit l1 { rate 10/second }'],
      ['ct helper', 'ftp', 'ct helper ftp { type "ftp" protocol tcp l3proto inet }'],
    ]);
  });
});

describe('nft JSON to the nft AST: the commands nft -j -f applies', () => {
  const add = (port: number, extra = '', cmd = 'add') =>
    `{"${cmd}": {"rule": {"family": "inet", "table": "t", "chain": "c"${extra}, "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": ${port}}}, {"accept": null}]}}}`;
  const ports = (rs: Ruleset) => rs.tables[0].chains[0].rules.map((r) => r.text);

  it('add appends, insert prepends, and index places after (add) or before (insert) that rule', () => {
    // nft 1.0.6 in a namespace listed this sequence as 3, 4, 5, 1, 2
    const rs = parsed(
      `{"nftables": [{"flush": {"ruleset": null}}, {"add": ${TABLE}}, {"add": ${CHAIN}}, ${add(1)}, ${add(2)}, ${add(3, '', 'insert')}, ${add(4, ', "index": 0')}, ${add(5, ', "index": 2', 'insert')}]}`,
    );
    expect(ports(rs)).toEqual([3, 4, 5, 1, 2].map((p) => `tcp dport ${p} accept`));
  });

  it("a listing's rule handles are their own: replace and delete find them, add by handle places after", () => {
    const listed = (port: number, handle: number) =>
      `{"rule": {"family": "inet", "table": "t", "chain": "c", "handle": ${handle}, "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": ${port}}}, {"accept": null}]}}`;
    const rs = parsed(
      `{"nftables": [${TABLE}, ${CHAIN}, ${listed(1, 7)}, ${listed(2, 9)}, ${listed(3, 11)}, ${add(4, ', "handle": 9')}, ${add(5, ', "handle": 11', 'replace')}, {"delete": {"rule": {"family": "inet", "table": "t", "chain": "c", "handle": 7}}}]}`,
    );
    expect(ports(rs)).toEqual([2, 4, 5].map((p) => `tcp dport ${p} accept`));
  });

  it('flush and delete of tables, chains and sets; rename of a chain; list and reset change nothing', () => {
    const rs = parsed(
      `{"nftables": [${TABLE}, ${CHAIN}, ${add(1)}, {"add": {"table": {"family": "ip", "name": "gone"}}}, {"set": {"family": "inet", "name": "s", "table": "t", "type": "inet_service", "elem": [22]}}, {"set": {"family": "inet", "name": "s2", "table": "t", "type": "inet_service"}}, {"flush": {"chain": {"family": "inet", "table": "t", "name": "c"}}}, ${add(2)}, {"flush": {"set": {"family": "inet", "table": "t", "name": "s"}}}, {"delete": {"set": {"family": "inet", "table": "t", "name": "s2"}}}, {"delete": {"table": {"family": "ip", "name": "gone"}}}, {"rename": {"chain": {"family": "inet", "table": "t", "name": "c", "newname": "d"}}}, {"list": {"ruleset": null}}, {"reset": {"counters": null}}]}`,
    );
    expect(rs.tables.map((t) => t.name)).toEqual(['t']);
    expect(rs.tables[0].chains.map((c) => c.name)).toEqual(['d']);
    expect(ports(rs)).toEqual(['tcp dport 2 accept']);
    expect(rs.tables[0].sets.map((s) => [s.name, s.elements.length])).toEqual([['s', 0]]);
  });

  it('a second add of a chain changes its policy and keeps its rules', () => {
    const base = (policy: string) =>
      `{"add": {"chain": {"family": "inet", "table": "t", "name": "c", "type": "filter", "hook": "input", "prio": 0, "policy": "${policy}"}}}`;
    const rs = parsed(`{"nftables": [${TABLE}, ${base('accept')}, ${add(1)}, ${base('drop')}]}`);
    expect(rs.tables[0].chains[0].base!.policy).toBe('drop');
    expect(ports(rs)).toEqual(['tcp dport 1 accept']);
  });
});

describe('nft JSON to the nft AST: positions and errors', () => {
  it("gives each node its JSON value's line and column, a rule the place of its object in the list", () => {
    const text = `{"nftables": [\n ${TABLE},\n ${CHAIN},\n {"rule": {"family": "inet", "table": "t", "chain": "c", "expr": [\n   {"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 22}},\n   {"drop": null}]}}\n]}`;
    const rs = parsed(text);
    const t = rs.tables[0];
    expect(t.pos).toEqual({ file: 'r.json', line: 2, col: 12 });
    expect(t.chains[0].pos).toEqual({ file: 'r.json', line: 3, col: 12 });
    const r = t.chains[0].rules[0];
    expect(r.pos).toEqual({ file: 'r.json', line: 4, col: 2 });
    expect(r.text).toBe('tcp dport 22 drop');
    const m = r.stmts[0];
    expect(m.pos).toEqual({ file: 'r.json', line: 5, col: 4 });
    const line5 = text.split('\n')[4];
    expect(m.kind === 'match' && [m.left.pos.col, m.right.pos.col]).toEqual([
      line5.indexOf('{"payload"') + 1,
      line5.indexOf('22') + 1,
    ]);
    expect(r.stmts[1].pos).toEqual({ file: 'r.json', line: 6, col: 4 });
  });

  const errorOf = (text: string): string => {
    const r = parseNftJson(text, 'r.json');
    const d = r.diagnostics.find((x) => x.severity === 'error');
    return d === undefined ? 'no error' : `${d.line}:${d.col} ${d.code} ${d.message}`;
  };

  // [text, where the error points (the first place this occurs), code and message]
  it.each([
    [
      '[1, 2]',
      '[1',
      'json.not-nftables this is JSON, but not nftables JSON: nft writes {"nftables": [...]} (nft -j list ruleset)',
    ],
    [
      '{"nftables": {}}',
      '{"n',
      'json.not-nftables this is JSON, but not nftables JSON: nft writes {"nftables": [...]} (nft -j list ruleset)',
    ],
    [
      '{"nftables": [1]}',
      '1]',
      'json.bad-value an item of "nftables" must be an object with one key (like {"rule": {...}}), not the number 1',
    ],
    [
      '{"nftables": [{"metainfo": {"json_schema_version": 2}}]}',
      '2}',
      'json.schema-version json_schema_version 2 is newer than the 1 fwemu reads; the JSON may mean what fwemu cannot know',
    ],
    [
      `{"nftables": [${CHAIN}]}`,
      '{"family"',
      'json.reference a chain names table inet "t", which no "table" object before it creates',
    ],
    [
      `{"nftables": [${TABLE}, {"rule": {"family": "inet", "table": "t", "chain": "x", "expr": []}}]}`,
      '"x"',
      'json.reference a rule names chain "x", which table inet "t" does not have before it',
    ],
    [
      '{"nftables": [{"table": {"family": "ipx", "name": "t"}}]}',
      '"ipx"',
      'json.bad-value family "ipx" of a table is not one of ip, ip6, inet, arp, bridge, netdev',
    ],
    [
      '{"nftables": [{"table": {"family": "ip", "name": 7}}]}',
      '7',
      'json.bad-value "name" of a table must be a string, not the number 7',
    ],
    [
      `{"nftables": [${TABLE}, {"chain": {"family": "inet", "table": "t", "name": "c", "type": "filter", "hook": "input"}}]}`,
      '{"family": "inet", "table"',
      'json.missing base chain "c" needs "type", "hook" and "prio" together',
    ],
    [
      `{"nftables": [${TABLE}, {"chain": {"family": "inet", "table": "t", "name": "c", "type": "filter", "hook": "input", "prio": 0, "policy": "reject"}}]}`,
      '"reject"',
      'json.bad-value policy "reject" of base chain "c" is not accept or drop',
    ],
    [
      `{"nftables": [${TABLE}, {"chain": {"family": "inet", "table": "t", "name": "c", "type": "filter", "hook": "input", "prio": "soon"}}]}`,
      '"soon"',
      'json.bad-value "prio" must be a whole number or a priority name like "filter + 10", not the string "soon"',
    ],
    [
      ruleJson('{"match": {"op": "~", "left": {"meta": {"key": "mark"}}, "right": 1}}'),
      '"~"',
      'json.bad-value match operator "~" is not one of == in != < > <= >=',
    ],
    [
      ruleJson('{"match": {"op": "==", "left": {"meta": {"key": "mark"}}}}'),
      '{"op"',
      'json.missing a match needs "left", "right" and "op"',
    ],
    [
      ruleJson('"accept"'),
      '"accept"',
      'json.bad-value a statement must be an object with one key (like {"accept": null}), not the string "accept"',
    ],
    [ruleJson('{"jump": {"to": "x"}}'), '{"to"', 'json.missing "jump" has no "target"'],
    [
      ruleJson('{"match": {"op": "==", "left": {"meta": {"key": "mark"}}, "right": null}}'),
      'null',
      'json.bad-value null where nft wants a value',
    ],
    [
      '{"nftables": [{"frob": {}}]}',
      '{"frob"',
      'json.unknown "frob" is not an nftables JSON object (table, chain, rule, set, map, meter, element, flowtable, counter, quota, limit, ct helper, ct timeout, ct expectation, secmark, synproxy) nor a command (add, create, insert, replace, delete, flush, rename, list, reset)',
    ],
    [`{"nftables": [{"insert": ${TABLE}}]}`, '{"table"', 'json.bad-command insert takes a rule, not "table"'],
    ['{"nftables": [}', '}', 'json.syntax an array opened at 1:14 is not closed by ]; found "}"'],
  ])('reports %s', (text, needle, want) => {
    expect(text).toContain(needle);
    expect(errorOf(text)).toBe(`1:${text.indexOf(needle) + 1} ${want}`);
  });
});
