import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { loadRuleSet, parseRuleSet } from '../../src/rules/load.js';
import {
  ACTIONS,
  ALL_TOP_KEYS,
  CHAIN_KEYS,
  CHAIN_TYPES,
  CHAINS,
  CONNTRACK_DEFAULTS,
  CONNTRACK_KEYS,
  CT_STATES,
  CT_STATUSES,
  FAMILIES,
  FW_ACTIONS,
  FW_RULE_KEYS,
  HOOKS,
  ICMPV6_CODES,
  ICMPV6_TYPES,
  ICMP_CODES,
  ICMP_TYPES,
  INTERFACE_KEYS,
  LOG_LEVELS,
  NAT_FLAGS,
  PKT_TYPES,
  POLICIES,
  PROTOS,
  RULE_KEYS,
  SET_KEYS,
  SET_TYPES,
} from '../../src/rules/spec.js';

const ROOT = join(import.meta.dirname, '..', '..');
const schema = JSON.parse(readFileSync(join(ROOT, 'schema', 'fwemu-rules.schema.json'), 'utf8'));

// --- a tiny JSON Schema (2020-12) validator for the subset the schema uses ----

// biome-ignore lint/suspicious/noExplicitAny: a schema node is any JSON value, narrowed where it is read
type S = Record<string, any>;

function resolve(s: S): S {
  if (typeof s.$ref === 'string') {
    const m = /^#\/\$defs\/(.+)$/.exec(s.$ref);
    if (!m || !schema.$defs[m[1]]) throw new Error(`unresolvable $ref ${s.$ref}`);
    const { $ref: _, ...rest } = s;
    return { ...resolve(schema.$defs[m[1]]), ...rest };
  }
  return s;
}

function typeOk(t: string, v: unknown): boolean {
  switch (t) {
    case 'object':
      return typeof v === 'object' && v !== null && !Array.isArray(v);
    case 'array':
      return Array.isArray(v);
    case 'string':
      return typeof v === 'string';
    case 'integer':
      return Number.isInteger(v);
    case 'number':
      return typeof v === 'number';
    case 'boolean':
      return typeof v === 'boolean';
    case 'null':
      return v === null;
    default:
      throw new Error(`unknown type ${t}`);
  }
}

const KNOWN = new Set([
  '$schema',
  '$ref',
  '$defs',
  'title',
  'description',
  'default',
  'type',
  'enum',
  'const',
  'properties',
  'additionalProperties',
  'required',
  'items',
  'minItems',
  'minimum',
  'maximum',
  'pattern',
  'oneOf',
  'anyOf',
  'allOf',
  'if',
  'then',
  'not',
  'dependentSchemas',
  'propertyNames',
]);

/** Returns a list of problems ("path: message"); empty when valid. */
function validate(s0: S, v: unknown, path = '$'): string[] {
  const s = resolve(s0);
  for (const k of Object.keys(s)) if (!KNOWN.has(k)) throw new Error(`validator does not support keyword ${k}`);
  const errs: string[] = [];
  if (s.type !== undefined && !typeOk(s.type, v)) return [`${path}: expected ${s.type}`];
  if (s.enum && !s.enum.some((e: unknown) => e === v)) errs.push(`${path}: ${JSON.stringify(v)} not in enum`);
  if ('const' in s && s.const !== v) errs.push(`${path}: expected const ${JSON.stringify(s.const)}`);
  if (typeof v === 'number') {
    if (s.minimum !== undefined && v < s.minimum) errs.push(`${path}: below minimum`);
    if (s.maximum !== undefined && v > s.maximum) errs.push(`${path}: above maximum`);
  }
  if (typeof v === 'string' && s.pattern && !new RegExp(s.pattern, 'u').test(v))
    errs.push(`${path}: does not match pattern`);
  if (Array.isArray(v)) {
    if (s.minItems !== undefined && v.length < s.minItems) errs.push(`${path}: too few items`);
    if (s.items) v.forEach((x, i) => errs.push(...validate(s.items, x, `${path}[${i}]`)));
  }
  if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    for (const r of s.required ?? []) if (!(r in o)) errs.push(`${path}: missing ${r}`);
    for (const [k, x] of Object.entries(o)) {
      if (s.propertyNames) errs.push(...validate(s.propertyNames, k, `${path}[${JSON.stringify(k)}]`));
      if (s.properties && k in s.properties) errs.push(...validate(s.properties[k], x, `${path}.${k}`));
      else if (s.additionalProperties === false) errs.push(`${path}: unknown property ${k}`);
      else if (typeof s.additionalProperties === 'object')
        errs.push(...validate(s.additionalProperties, x, `${path}.${k}`));
    }
    for (const [k, dep] of Object.entries(s.dependentSchemas ?? {}))
      if (k in o) errs.push(...validate(dep as S, v, path));
  }
  if (s.oneOf) {
    const n = s.oneOf.filter((x: S) => validate(x, v, path).length === 0).length;
    if (n !== 1) errs.push(`${path}: matches ${n} of oneOf`);
  }
  if (s.anyOf && !s.anyOf.some((x: S) => validate(x, v, path).length === 0))
    errs.push(`${path}: matches none of anyOf`);
  for (const x of s.allOf ?? []) errs.push(...validate(x, v, path));
  if (s.not && validate(s.not, v, path).length === 0) errs.push(`${path}: matches what "not" excludes`);
  if (s.if && validate(s.if, v, path).length === 0 && s.then) errs.push(...validate(s.then, v, path));
  return errs;
}

function schemaErrors(text: string): string[] {
  return validate(schema, parseYaml(text));
}

function loaderOk(text: string): boolean {
  try {
    parseRuleSet(text, 'x.yaml');
    return true;
  } catch {
    return false;
  }
}

// -----------------------------------------------------------------------------

describe('schema/fwemu-rules.schema.json', () => {
  it('is draft 2020-12', () => {
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
  });

  it('lists exactly the keys the loader accepts', () => {
    expect(Object.keys(schema.properties)).toEqual([...ALL_TOP_KEYS]);
    expect(Object.keys(schema.$defs.rule.properties)).toEqual([...RULE_KEYS]);
    expect(Object.keys(schema.$defs.fwRule.properties)).toEqual([...FW_RULE_KEYS]);
    expect(Object.keys(schema.$defs.interface.oneOf[1].properties)).toEqual([...INTERFACE_KEYS]);
    expect(Object.keys(schema.$defs.chain.oneOf[1].properties)).toEqual([...CHAIN_KEYS]);
    expect(Object.keys(schema.$defs.set.oneOf[3].properties)).toEqual([...SET_KEYS]);
    for (const d of [
      schema.$defs.fwRule,
      schema.$defs.interface.oneOf[1],
      schema.$defs.chain.oneOf[1],
      schema.$defs.set.oneOf[3],
    ])
      expect(d.additionalProperties).toBe(false);
    expect(Object.keys(schema.properties.conntrack.properties)).toEqual([...CONNTRACK_KEYS]);
    expect(schema.additionalProperties).toBe(false);
    expect(schema.$defs.rule.additionalProperties).toBe(false);
    expect(schema.properties.conntrack.additionalProperties).toBe(false);
  });

  it('has the loader enums and defaults', () => {
    expect(schema.$defs.action.enum).toEqual([...ACTIONS]);
    expect(schema.$defs.rule.properties.proto.enum).toEqual([...PROTOS]);
    expect(schema.$defs.rule.properties.chain.enum).toEqual([...CHAINS]);
    const fw = schema.$defs.fwRule.properties;
    expect(fw.chain.enum).toEqual([...CHAINS]);
    expect(fw.proto.enum).toEqual([...PROTOS]);
    expect(fw.family.enum).toEqual([...FAMILIES]);
    expect(schema.$defs.fwAction.enum).toEqual([...FW_ACTIONS]);
    expect(fw.ct_state.oneOf[0].enum).toEqual([...CT_STATES]);
    expect(fw.ct_status.oneOf[0].enum).toEqual([...CT_STATUSES]);
    expect(fw.pkttype.oneOf[0].enum).toEqual([...PKT_TYPES]);
    expect(fw.nat_flags.oneOf[0].enum).toEqual([...NAT_FLAGS]);
    expect(fw.log.oneOf[2].properties.level.enum).toEqual([...LOG_LEVELS]);
    expect(schema.$defs.hook.enum).toEqual([...HOOKS]);
    const chain = schema.$defs.chain.oneOf[1].properties;
    expect(chain.type.enum).toEqual([...CHAIN_TYPES]);
    expect(chain.policy.enum).toEqual([...POLICIES]);
    expect(schema.$defs.set.oneOf[3].properties.type.enum).toEqual([...SET_TYPES]);
    for (const k of CONNTRACK_KEYS)
      expect(schema.properties.conntrack.properties[k].default, k).toBe(CONNTRACK_DEFAULTS[k]);
    const names = (t: Record<string, number>) => Object.keys(t).sort();
    expect([...schema.$defs.icmpTypeName.enum].sort()).toEqual(
      [...new Set([...names(ICMP_TYPES), ...names(ICMPV6_TYPES)])].sort(),
    );
    expect([...schema.$defs.icmpCodeName.enum].sort()).toEqual(
      [...new Set([...names(ICMP_CODES), ...names(ICMPV6_CODES)])].sort(),
    );
    expect(schema.$defs.icmpTypeNameV4.enum).toEqual(Object.keys(ICMP_TYPES));
    expect(schema.$defs.icmpTypeNameV6.enum).toEqual(Object.keys(ICMPV6_TYPES));
    expect(schema.$defs.icmpCodeNameV4.enum).toEqual(Object.keys(ICMP_CODES));
    expect(schema.$defs.icmpCodeNameV6.enum).toEqual(Object.keys(ICMPV6_CODES));
    const [v4, v6] = schema.$defs.rule.allOf;
    expect(v4.then.properties.type.oneOf[1].$ref).toBe('#/$defs/icmpTypeNameV4');
    expect(v6.then.properties.type.oneOf[1].$ref).toBe('#/$defs/icmpTypeNameV6');
  });

  it('every property has a description', () => {
    const check = (props: Record<string, S>, where: string) => {
      for (const [k, p] of Object.entries(props)) expect(typeof p.description, `${where}.${k}`).toBe('string');
    };
    check(schema.properties, 'top');
    check(schema.$defs.rule.properties, 'rule');
    check(schema.properties.conntrack.properties, 'conntrack');
    check(schema.$defs.fwRule.properties, 'fwRule');
    check(schema.$defs.interface.oneOf[1].properties, 'interface');
    check(schema.$defs.chain.oneOf[1].properties, 'chain');
    check(schema.$defs.set.oneOf[3].properties, 'set');
  });
});

describe('example rule files', () => {
  const dir = join(ROOT, 'rules');
  const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));

  it('include the three documented examples', () => {
    expect(files).toEqual(expect.arrayContaining(['web-server.yaml', 'workstation.yaml', 'dns-resolver.yaml']));
  });

  for (const f of files) {
    it(`${f} validates against the schema, loads without warnings, and points at the schema`, () => {
      const text = readFileSync(join(dir, f), 'utf8');
      expect(schemaErrors(text)).toEqual([]);
      const { ruleset, warnings } = loadRuleSet(join(dir, f));
      expect(warnings).toEqual([]);
      const rules = ruleset.firewall ? ruleset.firewall.chains.flatMap((c) => c.rules) : ruleset.rules;
      expect(rules.length).toBeGreaterThan(0);
      expect(text).toMatch(/^# yaml-language-server: \$schema=\.\.\/schema\/fwemu-rules\.schema\.json$/m);
    });
  }

  it('web-server: tcp dport 8080 only, policy drop, gateway model', () => {
    const { ruleset } = loadRuleSet(join(dir, 'web-server.yaml'));
    expect(ruleset).toMatchObject({ name: 'web-server', policy: 'drop', model: 'gateway', stateful: true });
    expect(ruleset.rules.map((r) => [r.id, r.proto, r.dport, r.action])).toEqual([
      ['web', 'tcp', [{ lo: 8080, hi: 8080 }], 'accept'],
    ]);
  });

  it('workstation: host model, output accept, input drop', () => {
    const { ruleset } = loadRuleSet(join(dir, 'workstation.yaml'));
    expect(ruleset).toMatchObject({ model: 'host', policy: 'drop', outputPolicy: 'accept' });
    expect(ruleset.hostAddrs!.map((c) => c.text)).toEqual(['10.1.0.2', 'fd00:1::2']);
  });

  it('dns-resolver: udp and tcp 53 from the clients, reject telnet', () => {
    const { ruleset } = loadRuleSet(join(dir, 'dns-resolver.yaml'));
    const byId = Object.fromEntries(ruleset.rules.map((r) => [r.id, r]));
    expect(byId['dns-udp'].src!.map((c) => c.text)).toEqual(['10.1.0.0/16', 'fd00:1::/64']);
    expect(byId['dns-tcp'].src!.map((c) => c.text)).toEqual(['10.1.0.0/16', 'fd00:1::/64']);
    expect(byId['no-telnet'].action).toBe('reject');
  });
});

describe('the home-router example', () => {
  const { ruleset } = loadRuleSet(join(ROOT, 'rules', 'home-router.yaml'));
  const f = ruleset.firewall!;

  it('LAN and WAN, the default route out of the WAN', () => {
    expect(
      f.interfaces.map((i) => [i.name, i.addresses.map((a) => `${a.addr.text} ${a.net.text}`), i.defaultRoute]),
    ).toEqual([
      ['lo', ['127.0.0.1 127.0.0.0/8', '::1 ::1'], false],
      ['lan0', ['192.168.1.1 192.168.1.0/24', 'fd00:1::1 fd00:1::/64'], false],
      ['wan0', ['203.0.113.1 203.0.113.0/24'], true],
    ]);
  });

  it('a port forward wan 8080 -> 192.168.1.10:80, masquerade of the LAN out of the WAN', () => {
    const rule = (c: string, i: number) => f.chains.find((x) => x.name === c)!.rules[i];
    expect(rule('prerouting', 0)).toMatchObject({
      iif: ['wan0'],
      proto: 'tcp',
      dport: { ranges: [{ lo: 8080, hi: 8080 }] },
    });
    expect(rule('prerouting', 0).nat!.text).toBe('dnat ip to 192.168.1.10:80');
    expect(rule('postrouting', 0)).toMatchObject({
      oif: ['wan0'],
      family: 4,
      nat: { kind: 'masquerade', text: 'masquerade' },
    });
  });

  it('input and forward drop by policy, drop invalid first, SSH only from the LAN', () => {
    const chains = Object.fromEntries(f.chains.map((c) => [c.name, c]));
    expect([chains.input.policy, chains.forward.policy]).toEqual(['drop', 'drop']);
    expect([
      chains.prerouting.type,
      chains.prerouting.priority,
      chains.postrouting.type,
      chains.postrouting.priority,
    ]).toEqual(['nat', -100, 'nat', 100]);
    for (const c of [chains.input, chains.forward])
      expect(c.rules[0]).toMatchObject({ ctState: ['invalid'], action: 'drop' });
    const ssh = chains.input.rules.filter((r) => r.dport?.ranges.some((p) => p.lo === 22));
    expect(ssh.map((r) => r.iif)).toEqual([['lan0']]);
    expect(chains.input.rules.filter((r) => r.icmp?.types.includes(8)).map((r) => r.id)).toEqual(['ping']);
  });
});

describe('schema and loader agree', () => {
  const cases: [string, string][] = [
    ['minimal', 'rules: []'],
    [
      'full rule',
      'rules:\n  - {id: a, proto: tcp, sport: 1, dport: [80, "8000-8099"], src: 10.0.0.0/8, dst: ["fd00::1"], action: reject, comment: c}',
    ],
    [
      'icmp',
      'rules:\n  - {proto: icmp, type: echo-request}\n  - {proto: icmpv6, type: 135, code: 0}\n  - {proto: icmp, type: 3, code: port-unreachable}',
    ],
    ['host model', 'host: [10.1.0.2]\noutput_policy: drop\nrules:\n  - {chain: output}'],
    ['conntrack', 'conntrack: {tcp_loose: false, max: 0, udp_timeout: 5}\nrules: []'],
    ['missing rules', 'name: x'],
    ['unknown top key', 'rules: []\nfoo: 1'],
    ['unknown rule key', 'rules:\n  - {dprot: 80}'],
    ['bad policy', 'policy: allow\nrules: []'],
    ['bad proto', 'rules:\n  - {proto: gre}'],
    ['port out of range', 'rules:\n  - {proto: tcp, dport: 70000}'],
    ['port without proto', 'rules:\n  - {dport: 80}'],
    ['port with icmp', 'rules:\n  - {proto: icmp, dport: 80}'],
    ['type with tcp', 'rules:\n  - {proto: tcp, type: 8}'],
    ['code without type', 'rules:\n  - {proto: icmp, code: 1}'],
    ['icmpv6 name with icmp', 'rules:\n  - {proto: icmp, type: packet-too-big}'],
    ['bad type name', 'rules:\n  - {proto: icmpv6, type: echo}'],
    ['type > 255', 'rules:\n  - {proto: icmp, type: 256}'],
    ['type list', 'rules:\n  - {proto: icmpv6, type: [nd-neighbor-solicit, 136], code: [0]}'],
    ['empty type list', 'rules:\n  - {proto: icmp, type: []}'],
    ['type list with a bad name', 'rules:\n  - {proto: icmp, type: [echo-request, echo]}'],
    ['type list with an icmpv6 name', 'rules:\n  - {proto: icmp, type: [echo-request, nd-neighbor-solicit]}'],
    ['code list with a bad number', 'rules:\n  - {proto: icmp, type: 3, code: [3, 256]}'],
    ['nested type list', 'rules:\n  - {proto: icmp, type: [[8]]}'],
    ['empty port list', 'rules:\n  - {proto: tcp, dport: []}'],
    ['empty src list', 'rules:\n  - {src: []}'],
    ['address not a string', 'rules:\n  - {src: 5}'],
    ['stateful not bool', 'stateful: "no"\nrules: []'],
    ['unknown conntrack key', 'conntrack: {tcp_lose: 1}\nrules: []'],
    ['negative timeout', 'conntrack: {udp_timeout: -1}\nrules: []'],
    ['bad chain', 'host: 10.1.0.2\nrules:\n  - {chain: prerouting}'],
    ['id with space', 'rules:\n  - {id: "a b"}'],
    ['id with a NUL', 'rules:\n  - {id: "a\\0b"}'],
    ['id with DEL', 'rules:\n  - {id: "a\\x7fb"}'],
    ['id with punctuation and letters from other scripts', 'rules:\n  - {id: "web-8080_é/ü"}'],
    // the firewall model
    [
      'interfaces with simple rules',
      'interfaces:\n  eth0: {addresses: [10.1.0.1/16, "fd00:1::1/64"], networks: 10.3.0.0/16}\n  eth1: {addresses: 10.2.0.1/16, default: true}\n  br0:\npolicy: accept\noutput_policy: drop\nrules:\n  - {iif: "eth*", proto: tcp, dport: 22, chain: input, ct_state: new, limit: "3/minute burst 5 packets"}',
    ],
    [
      'chains, sets and NAT',
      'sets:\n  admins: [10.0.0.1, 10.0.0.5-10.0.0.9]\n  web: [80, "8000-8099"]\n  v6: {type: ipv6_addr, elements: []}\nchains:\n  pre: {hook: prerouting, type: nat, priority: "dstnat + 5", rules: [{proto: tcp, dport: "@web", dnat: "10.0.0.2:8080", nat_flags: persistent}]}\n  post: {hook: postrouting, type: nat, rules: [{oif: eth1, masquerade: true}]}\n  fwd: {hook: forward, policy: drop, rules: [{ct_state: [established, related]}, {ct_status: dnat}, {src: "@admins", jump: ssh}, {proto: tcp, tcp_flags: "syn / syn,ack", action: reject, reject_with: "tcp reset"}, {log: {prefix: "x ", level: info}, counter: true, action: continue}, {pkttype: [broadcast, multicast], action: drop}]}\n  ssh: {rules: [{action: return}]}\n  empty:',
    ],
    ['chains with rules', 'chains: {}\nrules: []'],
    ['chains with policy', 'chains: {}\npolicy: drop'],
    ['sets without interfaces or chains', 'sets: {a: [1]}\nrules: []'],
    ['firewall rule key without the firewall model', 'rules:\n  - {iif: eth0}'],
    ['interface name of 16 bytes', 'interfaces:\n  abcdefghijklmnop: {}\nrules: []'],
    ['interface address not an address', 'interfaces:\n  eth0: {addresses: eth1}\nrules: []'],
    ['unknown interface key', 'interfaces:\n  eth0: {address: 10.0.0.1/8}\nrules: []'],
    ['reject policy beside interfaces', 'interfaces: {}\npolicy: reject\nrules: []'],
    ['unknown chain key', 'chains:\n  a: {hook: input, polcy: drop}'],
    ['priority raw', 'chains:\n  a: {hook: prerouting, priority: raw}'],
    ['priority -201', 'chains:\n  a: {hook: prerouting, priority: -201}'],
    ['policy without hook', 'chains:\n  a: {policy: drop}'],
    ['policy reject', 'chains:\n  a: {hook: input, policy: reject}'],
    ['bad hook', 'chains:\n  a: {hook: ingress}'],
    ['chain: in a rule of a chain', 'chains:\n  a: {hook: input, rules: [{chain: input}]}'],
    ['dport without proto in a chain', 'chains:\n  a: {hook: input, rules: [{dport: 22}]}'],
    ['tcp_flags with udp', 'chains:\n  a: {hook: input, rules: [{proto: udp, tcp_flags: syn}]}'],
    ['bad tcp flag', 'chains:\n  a: {hook: input, rules: [{proto: tcp, tcp_flags: sin}]}'],
    ['jump and goto', 'chains:\n  a: {hook: input, rules: [{jump: b, goto: b}]}\n  b: {}'],
    ['reject_with without reject', 'chains:\n  a: {hook: input, rules: [{reject_with: "icmpx no-route"}]}'],
    ['nat_flags without NAT', 'chains:\n  a: {hook: input, type: nat, rules: [{nat_flags: random}]}'],
    ['bad limit unit', 'chains:\n  a: {hook: input, rules: [{limit: "1/fortnight"}]}'],
    ['bad ct_state', 'chains:\n  a: {hook: input, rules: [{ct_state: est}]}'],
    ['untyped empty set', 'sets: {a: []}\nchains: {}'],
    ['set name starting with a digit', 'sets: {"1a": [1]}\nchains: {}'],
    ['bad action', 'chains:\n  a: {hook: input, rules: [{action: jmp}]}'],
    [
      'masquerade ports',
      'chains:\n  a: {hook: postrouting, type: nat, rules: [{proto: tcp, masquerade: "1024-65535"}]}',
    ],
  ];
  for (const [name, text] of cases) {
    it(name, () => {
      expect(schemaErrors(text).length === 0, `schema: ${schemaErrors(text).join('; ')}`).toBe(loaderOk(text));
    });
  }
});
