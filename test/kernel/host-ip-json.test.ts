/**
 * `--ip-addr` / `--ip-route` against the kernel's own view: a namespace is
 * given interfaces, addresses and routes with the real `ip`; what `ip -j
 * addr` and `ip -j route` print there is read into the model's interfaces,
 * and for every probe address the model's route lookup (RouteTable) must
 * name the interface `ip route get` names (or say "own address" where the
 * kernel answers type local). The namespaces are this process's and are
 * deleted afterwards.
 */
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCidr } from '../../src/rules/cidr.js';
import { HostBuilder } from '../../src/rules/host/build.js';
import { readIpAddr, readIpRoute } from '../../src/rules/host/ip-json.js';
import { hostInterfaces } from '../../src/rules/import/load-rules.js';
import { NO_IF, RouteTable } from '../../src/rules/route.js';

const NS = `fwemu-h4-${process.pid}`;
const PEER = `${NS}p`;

function sh(args: string[], input?: string): string {
  const r = spawnSync('ip', args, { encoding: 'utf8', input });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

const SETUP = [
  'link set lo up',
  'addr add 192.168.1.1/24 dev lan0',
  'addr add 192.168.2.1/24 dev lan0',
  'addr add fd00:1::1/64 dev lan0 nodad',
  'addr add 203.0.113.2/24 dev wan0',
  'addr add 2001:db8:f::2/64 dev wan0 nodad',
  'addr add 10.0.5.1/24 dev dmz0',
  'addr add 10.50.0.1/24 dev dmz0 noprefixroute',
  'addr add 10.99.0.1 peer 10.99.0.2/30 dev ptp0',
  'route add default via 203.0.113.1 dev wan0',
  'route add default via 2001:db8:f::1 dev wan0',
  'route add 10.8.0.0/16 via 192.168.1.254 dev lan0',
  'route add 172.16.0.0/12 dev dmz0',
  'route add 10.8.3.0/24 via 10.0.5.254 dev dmz0',
  'route add fd00:8::/48 via fd00:1::fe dev lan0',
];

const PROBES = [
  '192.168.1.1',
  '192.168.1.77',
  '192.168.2.9',
  '192.168.3.1',
  '203.0.113.2',
  '203.0.113.200',
  '10.0.5.1',
  '10.0.5.3',
  '10.50.0.1',
  '10.50.0.7',
  '10.99.0.1',
  '10.99.0.2',
  '10.99.0.3',
  '10.99.0.5',
  '10.8.1.1',
  '10.8.3.1',
  '172.16.4.4',
  '172.32.0.1',
  '8.8.8.8',
  '127.0.0.1',
  '127.1.2.3',
  'fd00:1::1',
  'fd00:1::99',
  'fd00:8:0:1::1',
  'fd00:9::1',
  '2001:db8:f::2',
  '2001:db8:f::3',
  '2001:4860::8888',
  '::1',
];

const skip = process.getuid?.() !== 0 || spawnSync('ip', ['-V']).status !== 0;

describe.skipIf(skip)('ip -j addr / ip -j route against the kernel', () => {
  beforeAll(() => {
    spawnSync('ip', ['netns', 'del', NS]);
    spawnSync('ip', ['netns', 'del', PEER]);
    sh(['netns', 'add', NS]);
    sh(['netns', 'add', PEER]);
    for (const i of ['lan0', 'wan0', 'dmz0', 'ptp0']) {
      sh(['-n', NS, 'link', 'add', i, 'type', 'veth', 'peer', 'name', `${i}p`, 'netns', PEER]);
      sh(['-n', NS, 'link', 'set', i, 'up']);
      sh(['-n', PEER, 'link', 'set', `${i}p`, 'up']);
    }
    sh(['-n', NS, '-batch', '-'], `${SETUP.join('\n')}\n`);
  });
  afterAll(() => {
    spawnSync('ip', ['netns', 'del', NS]);
    spawnSync('ip', ['netns', 'del', PEER]);
  });

  it('every probe leaves by the interface ip route get names', () => {
    const b = new HostBuilder();
    readIpAddr(sh(['-n', NS, '-j', 'addr']), 'addr.json', b);
    readIpRoute(sh(['-n', NS, '-j', 'route']), 'route.json', b);
    readIpRoute(sh(['-n', NS, '-6', '-j', 'route']), 'route6.json', b);
    const ifs = hostInterfaces(b, [], { file: 'addr.json', line: 1, col: 1 });
    expect(b.diags.filter((d) => d.severity === 'error')).toEqual([]);
    const rt = new RouteTable(ifs);
    const ours: string[] = [];
    const kernel: string[] = [];
    for (const p of PROBES) {
      const c = parseCidr(p);
      if (!c.ok) throw new Error(p);
      const [w0, w1, w2, w3] = c.cidr.words;
      const own = rt.isOwn(c.cidr.version, w0, w1, w2, w3);
      const ix = rt.lookup(c.cidr.version, w0, w1, w2, w3);
      ours.push(`${p} ${own ? 'own' : ix === NO_IF ? 'unreachable' : rt.names[ix]}`);
      const r = spawnSync('ip', ['-n', NS, '-j', 'route', 'get', p], { encoding: 'utf8' });
      if (r.status !== 0) kernel.push(`${p} unreachable`);
      else {
        const [route] = JSON.parse(r.stdout) as { type?: string; dev: string }[];
        kernel.push(`${p} ${route.type === 'local' ? 'own' : route.dev}`);
      }
    }
    expect(ours).toEqual(kernel);
  });
});
