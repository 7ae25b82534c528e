/**
 * The host description: flags, host files and what `ip -j addr` / `ip -j
 * route` print. The JSON under test/fixtures/host/ is the real ip's output
 * in a namespace built by these commands (test/kernel/host-ip-json.test.ts
 * rebuilds it and checks every lookup against the kernel's own):
 *
 *   lan0: 192.168.1.1/24, 192.168.2.1/24, fd00:1::1/64; 10.8.0.0/16 via 192.168.1.254; fd00:8::/48 via fd00:1::fe
 *   wan0: 203.0.113.2/24, 2001:db8:f::2/64; default via 203.0.113.1 and via 2001:db8:f::1
 *   dmz0: 10.0.5.1/24, 10.50.0.1/24 noprefixroute; 172.16.0.0/12 dev dmz0
 *   ptp0: 10.99.0.1 peer 10.99.0.2/30
 *   blackhole 10.66.0.0/16
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { FwInterface } from '../../src/rules/firewall.js';
import { HostBuilder } from '../../src/rules/host/build.js';
import { readHostFlags } from '../../src/rules/host/flags.js';
import { readHostFile } from '../../src/rules/host/host-file.js';
import { readIpAddr, readIpRoute } from '../../src/rules/host/ip-json.js';
import { NO_HOST } from '../../src/rules/host/options.js';
import { HOST_CODES } from '../../src/rules/host/codes.js';
import { BASE_CODES } from '../../src/base/diag.js';
import { RULE_CODES } from '../../src/rules/codes.js';

const FIX = 'test/fixtures/host';
const fixture = (f: string) => readFileSync(`${FIX}/${f}`, 'utf8');

/** Each interface as "addr net" texts, its networks and whether it has the default route. */
function summary(ifs: FwInterface[]): Record<string, { addrs: string[]; nets: string[]; def: boolean }> {
  const out: Record<string, { addrs: string[]; nets: string[]; def: boolean }> = {};
  for (const i of ifs)
    out[i.name] = {
      addrs: i.addresses.filter((a) => !a.addr.text.startsWith('fe80:')).map((a) => `${a.addr.text} ${a.net.text}`),
      nets: i.networks.map((n) => n.text),
      def: i.defaultRoute,
    };
  return out;
}

function diags(b: HostBuilder): string[] {
  return b.diags.map((d) => `${d.file}:${d.line}:${d.col} ${d.severity} ${d.code} ${d.message}`);
}

describe('ip -j addr and ip -j route (real output)', () => {
  it('map to the interfaces the commands made', () => {
    const b = new HostBuilder();
    readIpAddr(fixture('addr.json'), 'addr.json', b);
    readIpRoute(fixture('route.json'), 'route.json', b);
    readIpRoute(fixture('route6.json'), 'route6.json', b);
    const ifs = b.build();
    expect(summary(ifs)).toEqual({
      lo: { addrs: ['127.0.0.1 127.0.0.0/8', '::1 ::1'], nets: [], def: false },
      lan0: {
        addrs: ['192.168.1.1 192.168.1.0/24', '192.168.2.1 192.168.2.0/24', 'fd00:1::1 fd00:1::/64'],
        nets: ['10.8.0.0/16', 'fd00:8::/48'],
        def: false,
      },
      wan0: { addrs: ['203.0.113.2 203.0.113.0/24', '2001:db8:f::2 2001:db8:f::/64'], nets: [], def: true },
      // noprefixroute: the address connects only itself.
      dmz0: { addrs: ['10.0.5.1 10.0.5.0/24', '10.50.0.1 10.50.0.1'], nets: ['172.16.0.0/12'], def: false },
      // A point-to-point address connects its peer's prefix.
      ptp0: { addrs: ['10.99.0.1 10.99.0.0/30'], nets: [], def: false },
    });
    // Each interface also has its link-local address, connected to fe80::/64.
    for (const i of ifs.filter((x) => x.name !== 'lo'))
      expect(i.addresses.some((a) => a.addr.text.startsWith('fe80:') && a.net.text === 'fe80::/64')).toBe(true);
    // The blackhole route is named as left out; nothing else is.
    expect(diags(b)).toEqual([
      expect.stringMatching(
        /^route\.json:\d+:\d+ warning host\.skipped-route route 10\.66\.0\.0\/16 of type blackhole is not modelled/,
      ),
    ]);
  });

  it('read `ip -j route show table all` as the main table (local routes are the addresses)', () => {
    const a = new HostBuilder();
    readIpAddr(fixture('addr.json'), 'addr.json', a);
    readIpRoute(fixture('route.json'), 'route.json', a);
    const b = new HostBuilder();
    readIpAddr(fixture('addr.json'), 'addr.json', b);
    readIpRoute(fixture('route-all.json'), 'route-all.json', b);
    const v4 = (ifs: FwInterface[]) =>
      summary(ifs.map((i) => ({ ...i, networks: i.networks.filter((n) => n.version === 4) })));
    expect(v4(b.build())).toEqual(v4(a.build()));
  });
});

describe('hostile ip -j JSON: positioned errors', () => {
  const cases: [string, string, RegExp][] = [
    ['[{"ifname": "lan0", "addr_info": [', '1:', /YAML syntax error|JSON/i],
    ['{"ifname": "lan0"}', '1:1', /is a JSON list/],
    ['[1]', '1:2', /each interface of ip -j addr is a JSON object, not the number 1/],
    ['[{"ifname": 7}]', '1:13', /"ifname" must be a string/],
    ['[{"ifname": "a b"}]', '1:13', /interface name "a b" contains " "/],
    [
      '[{"ifname": "lan0",\n "addr_info": [{"family": "inet", "local": "10.0.0.300", "prefixlen": 24}]}]',
      '2:44',
      /300 is not an IPv4 address byte/,
    ],
    [
      '[{"ifname": "lan0", "addr_info": [{"family": "inet", "local": "10.0.0.1", "prefixlen": 33}]}]',
      '1:',
      /"prefixlen" must be a whole number 0-32/,
    ],
    [
      '[{"ifname": "lan0", "addr_info": [{"family": "inet6", "local": "10.0.0.1", "prefixlen": 64}]}]',
      '1:',
      /not an inet6 address/,
    ],
    ['[{"ifname": "lan0", "ifname": "lan1"}]', '1:21', /duplicate key "ifname"/],
    [`${'['.repeat(5000)}${']'.repeat(5000)}`, '1:', /deep/],
  ];
  it.each(cases)('%s', (text, at, message) => {
    const b = new HostBuilder();
    readIpAddr(text, 'addr.json', b);
    const errors = b.diags.filter((d) => d.severity === 'error');
    expect(errors.length, diags(b).join('\n')).toBeGreaterThan(0);
    const d = errors[0];
    expect(`${d.line}:${d.col}`).toMatch(new RegExp(`^${at}`));
    expect(d.file).toBe('addr.json');
    expect(d.message).toMatch(message);
  });

  it('a route without an interface, or with a bad prefix', () => {
    const b = new HostBuilder();
    readIpRoute(
      '[{"dst": "10.0.0.0/8"},\n {"dst": "10.0.0.0/33", "dev": "lan0"},\n {"dst": "default", "dev": "wan0", "metric": "x"}]',
      'r.json',
      b,
    );
    expect(diags(b)).toEqual([
      'r.json:1:2 error host.bad-json route 10.0.0.0/8 has no "dev" (the interface it goes out of)',
      expect.stringMatching(/^r\.json:2:10 error host\.bad-json route "10\.0\.0\.0\/33": /),
      'r.json:3:46 error host.bad-json route default: "metric" must be a whole number, not the string "x"',
    ]);
  });
});

describe('--iface and --route', () => {
  it('mean what ip addr add and ip route add mean', () => {
    const b = new HostBuilder();
    readHostFlags(
      {
        ...NO_HOST,
        iface: ['lan0=192.168.1.1/24,fd00:1::1/64', 'wan0=203.0.113.2/24', 'dmz0=', 'lan0=10.1.1.1'],
        route: ['10.8.0.0/16@lan0', 'default@wan0', '198.51.100.0/24@vpn0'],
      },
      b,
    );
    expect(diags(b)).toEqual([]);
    expect(summary(b.build())).toEqual({
      lan0: {
        addrs: ['192.168.1.1 192.168.1.0/24', 'fd00:1::1 fd00:1::/64', '10.1.1.1 10.1.1.1'],
        nets: ['10.8.0.0/16'],
        def: false,
      },
      wan0: { addrs: ['203.0.113.2 203.0.113.0/24'], nets: [], def: true },
      dmz0: { addrs: [], nets: [], def: false },
      vpn0: { addrs: [], nets: ['198.51.100.0/24'], def: false },
    });
  });

  it.each([
    ['iface', 'lan0', /--iface "lan0": write --iface NAME=ADDR\/PREFIX/],
    ['iface', 'lan0=10.0.0.1/33', /prefix/],
    ['iface', 'this-name-is-too-long=10.0.0.1/24', /is 21 bytes long/],
    ['route', '10.0.0.0/8', /--route "10\.0\.0\.0\/8": write PREFIX@NAME/],
    ['route', '10.0.0.1/8@lan0', /has bits set after the \/8 prefix; the network is 10\.0\.0\.0\/8/],
    ['route', 'default@lo', /lo cannot carry the default route/],
  ] as const)('--%s %s is refused', (flag, text, message) => {
    const b = new HostBuilder();
    readHostFlags({ ...NO_HOST, [flag]: [text] }, b);
    b.build();
    expect(b.diags.map((d) => d.message)).toEqual([expect.stringMatching(message)]);
  });

  it('two default routes of one metric on different interfaces are an error; the lower metric wins', () => {
    const b = new HostBuilder();
    readHostFlags({ ...NO_HOST, route: ['default@wan0', 'default@wan1'] }, b);
    b.build();
    expect(b.diags.map((d) => d.code)).toEqual(['host.two-defaults']);
    const c = new HostBuilder();
    readIpRoute(
      '[{"dst":"default","dev":"wlan0","metric":600},{"dst":"default","dev":"eth0","metric":100}]',
      'r.json',
      c,
    );
    expect(
      c
        .build()
        .filter((i) => i.defaultRoute)
        .map((i) => i.name),
    ).toEqual(['eth0']);
    expect(c.diags).toEqual([]);
  });
});

describe('host files', () => {
  it('name their rulesets relative to themselves and describe interfaces and routes', () => {
    const b = new HostBuilder();
    const named = readHostFile(
      'ruleset: [rules.v4, ../v6/rules.v6]\ninterfaces:\n  lan0: { addresses: [192.168.1.1/24, "fd00:1::1/64"] }\n  wan0: { addresses: 203.0.113.2/24, default: true }\n  dmz0:\nroutes: [10.8.0.0/16@lan0]\n',
      'etc/fw/router.host.yaml',
      b,
    );
    expect(diags(b)).toEqual([]);
    // Relative to the host file, and still relative: messages name them as the user would.
    expect(named.map((n) => [n.path, n.pos.line, n.pos.col])).toEqual([
      ['etc/fw/rules.v4', 1, 11],
      ['etc/v6/rules.v6', 1, 21],
    ]);
    expect(summary(b.build())).toEqual({
      lan0: { addrs: ['192.168.1.1 192.168.1.0/24', 'fd00:1::1 fd00:1::/64'], nets: ['10.8.0.0/16'], def: false },
      wan0: { addrs: ['203.0.113.2 203.0.113.0/24'], nets: [], def: true },
      dmz0: { addrs: [], nets: [], def: false },
    });
  });

  it.each([
    ['interfaces: {}\n', '1:1 host.missing-ruleset'],
    ['ruleset: 7\n', '1:10 host.bad-ruleset'],
    ['ruleset: a.nft\nroute: []\n', '2:1 yaml.unknown-key'],
    ['ruleset: a.nft\nroutes: [10.0.0.0/8]\n', '2:10 host.bad-route'],
    ['ruleset: a.nft\ninterfaces:\n  lan0: { addresses: 10.0.0.300/24 }\n', '3:22 rules.bad-address'],
    ['- ruleset: a.nft\n', '1:1 host.not-mapping'],
  ])('%j: %s', (text, at) => {
    const b = new HostBuilder();
    readHostFile(text, 'h.yaml', b);
    expect(b.diags.filter((d) => d.severity === 'error').map((d) => `${d.line}:${d.col} ${d.code}`)[0]).toBe(at);
  });
});

describe('damaged host files and ip -j JSON', () => {
  const KNOWN = new Set([...Object.keys(BASE_CODES), ...Object.keys(RULE_CODES), ...Object.keys(HOST_CODES)]);
  /** Each line dropped, cut in half, or its value replaced by something of another kind. */
  function* damaged(text: string): Generator<string> {
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const l = lines[i];
      for (const v of [
        null,
        l.slice(0, l.length >> 1),
        `${l}\n${l}`,
        l.replace(/:.*$/, ': [1, {a: b}]'),
        l.replace(/"[^"]*"/, '7'),
      ])
        yield [...lines.slice(0, i), ...(v === null ? [] : [v]), ...lines.slice(i + 1)].join('\n');
    }
  }
  it('every problem has a listed code and a place in the file, and nothing throws', () => {
    // Two interfaces (without the fields fwemu passes over) and five routes of the real output, one JSON value a
    // line: the yaml parser takes ~5 ms a file, so the damage is kept to a few hundred files.
    const pretty = (f: string, n: number) => JSON.stringify((JSON.parse(fixture(f)) as unknown[]).slice(0, n), null, 1);
    const inputs: [string, (t: string, b: HostBuilder) => void][] = [
      [
        pretty('addr.json', 2).replace(
          /\n\s*"(mtu|qdisc|operstate|group|txqlen|link_type|broadcast|valid_life_time|preferred_life_time|label|scope)": [^\n]*/g,
          '',
        ),
        (t, b) => readIpAddr(t, 'a.json', b),
      ],
      [pretty('route-all.json', 5), (t, b) => readIpRoute(t, 'r.json', b)],
      [
        'ruleset: [a.nft, b.nft]\ninterfaces:\n  lan0: { addresses: [192.168.1.1/24, "fd00:1::1/64"] }\n  wan0: { addresses: 203.0.113.2/24, default: true }\nroutes: [10.8.0.0/16@lan0, default@wan0]\n',
        (t, b) => {
          readHostFile(t, 'h.yaml', b);
        },
      ],
    ];
    let problems = 0;
    for (const [text, read] of inputs) {
      const whole = new HostBuilder();
      read(text, whole);
      expect(diags(whole).filter((d) => d.includes(' error '))).toEqual([]);
      for (const t of damaged(text)) {
        const b = new HostBuilder();
        read(t, b);
        b.build();
        for (const d of b.diags) {
          problems++;
          expect(KNOWN.has(d.code), `${d.code}: ${d.message}`).toBe(true);
          expect(d.line).toBeGreaterThanOrEqual(1);
          expect(d.col).toBeGreaterThanOrEqual(1);
        }
      }
    }
    expect(problems).toBeGreaterThan(100);
  });
});
