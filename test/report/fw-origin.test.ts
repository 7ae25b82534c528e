/**
 * Imported rules in reports: the reason names the line a rule came from
 * ("rule at FILE:LINE (`TEXT`)"), the JSON line carries an origin member,
 * and `check` lists the as-written text, inert rules and ignored
 * statements. The origin's text is the user's: a control character in it
 * must not break the line (visible()'s escapes, JSON's).
 */
import { describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/engine.js';
import { rawRecord } from '../support/raw-record.js';
import { decodePacket, newDecodedPacket } from '../../src/packet/decode.js';
import { buildIpPacket, type PacketSpec } from '../../src/packet/encode.js';
import { replayJsonLine } from '../../src/report/json-line.js';
import { replayJson } from '../../src/report/replay-text.js';
import { explain } from '../../src/report/reason.js';
import { firewallLines } from '../../src/rules/fw-describe.js';
import { parseRuleSet } from '../../src/rules/load.js';

const YAML = `
interfaces:
  lan0: { addresses: 192.168.1.1/24 }
  wan0: { addresses: 203.0.113.1/24, default: true }
chains:
  input:
    hook: input
    policy: drop
    rules:
      - { proto: tcp, dport: 22, action: drop }
      - { proto: tcp, dport: 80, action: accept }
`;

function setup(text: string) {
  const { ruleset } = parseRuleSet(YAML, 'fw.yaml');
  const fw = ruleset.firewall!;
  const [ssh, web] = fw.chains[0].rules;
  ssh.origin = { file: '/etc/nftables.conf', line: 23, col: 5, text };
  ssh.not = ['src'];
  ssh.src = { cidrs: [], ranges: [], set: 'lan' };
  web.inert = 'the rule never matches (--lenient: "-m recent" is not modelled)';
  web.ignored = ['tcp option maxseg size set rt mtu'];
  fw.chains[0].table = 'inet filter';
  fw.chains[0].origin = { file: '/etc/nftables.conf', line: 20, col: 3, text: 'chain input {' };
  return { ruleset, fw };
}

function run(text: string, spec: PacketSpec) {
  const { ruleset } = setup(text);
  ruleset.firewall!.chains[0].rules[0].src = null;
  ruleset.firewall!.chains[0].rules[0].not = undefined;
  const engine = new Engine(ruleset);
  const ip = buildIpPacket(spec);
  const rec = rawRecord(ip);
  const p = decodePacket(ip, 0, ip.length, rec.linkType, rec.direction, newDecodedPacket(), ip.length);
  const r = engine.process(rec, p)!;
  return {
    reason: explain(r, p, engine.compiled),
    json: replayJsonLine(r, p, rec, engine),
    ref: replayJson(r, p, rec, engine),
  };
}

const ssh = {
  ip: { src: '198.51.100.9', dst: '203.0.113.1' },
  tcp: { sport: 4000, dport: 22, flags: 'S' },
} as PacketSpec;

describe('a rule with an origin', () => {
  it('is named by its file, line and text in the reason', () => {
    const { reason } = run('tcp dport 22 ip saddr != @lan drop', ssh);
    expect(reason).toBe(
      'dropped: new tcp to port 22 matches rule at /etc/nftables.conf:23 (`tcp dport 22 ip saddr != @lan drop`) in chain input (in wan0, to the firewall)',
    );
  });

  it('the JSON line has an origin member with the text as written', () => {
    const { json, ref } = run('tcp dport 22 drop', ssh);
    const o = JSON.parse(json);
    expect(o.origin).toEqual({ file: '/etc/nftables.conf', line: 23, col: 5, text: 'tcp dport 22 drop' });
    // The fast writer and the reference object agree, member order included.
    expect(json).toBe(JSON.stringify(ref));
  });

  it('control characters in the text are escaped, never break the line', () => {
    const { reason, json } = run('drop\n\u001b[31m\u202e', ssh);
    expect(reason).not.toMatch(/[\n\u001b\u202e]/);
    expect(reason).toContain('drop\\n\\x1b[31m\\u202e');
    expect(json).not.toMatch(/[\n\u001b\u202e]/);
    expect(JSON.parse(json).origin.text).toBe('drop\n\u001b[31m\u202e');
  });

  it('a YAML rule keeps its id and position, and the JSON line has no origin', () => {
    const { ruleset } = parseRuleSet(YAML, 'fw.yaml');
    const engine = new Engine(ruleset);
    expect(engine).toBeDefined();
    const { json } = run('x', { ...ssh, tcp: { sport: 4000, dport: 80, flags: 'S' } } as PacketSpec);
    expect(JSON.parse(json)).not.toHaveProperty('origin');
  });
});

describe('check lists', () => {
  it('the table, origins, negation, the as-written text, inert rules and ignored statements', () => {
    const { fw } = setup('tcp dport 22 ip saddr != @lan\tdrop');
    const lines = firewallLines(fw);
    expect(lines).toContain(
      '  chain input (table inet filter, filter, hook input, priority 0), policy drop: (/etc/nftables.conf:20)',
    );
    expect(lines).toContain('      1  input-1  tcp src != @lan dport 22 drop  (/etc/nftables.conf:23)');
    expect(lines).toContain('                as written: tcp dport 22 ip saddr != @lan\\tdrop');
    expect(lines).toContain('                inert: the rule never matches (--lenient: "-m recent" is not modelled)');
    expect(lines).toContain(
      '                ignored: tcp option maxseg size set rt mtu (accepted and left out: it never changes a verdict)',
    );
  });
});
