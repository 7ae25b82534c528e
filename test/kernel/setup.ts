/**
 * The kernel oracle's setup files: the `ip -batch` files, shell scripts and
 * nft rulesets that build the two namespaces of a run (the classic c/s legs
 * or the firewall model's named ones), written before anything runs.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KernelRunOptions } from './harness.js';
import { type Cidr, DUP, type Leg, legBatch } from './topology.js';

/** MACs of the classic legs' two ends (fw's and the outer namespace's). */
export const MAC = {
  fwC: '02:00:00:00:0c:01',
  xC: '02:00:00:00:0c:02',
  fwS: '02:00:00:00:05:01',
  xS: '02:00:00:00:05:02',
};
// fw's own addresses and fake next hops: 198.18.0.0/15 (benchmarking) and a
// ULA prefix, chosen to be unlikely in captures. Packets to these are local to fw.
const FW_ADDR = { c4: '198.18.255.253', s4: '198.18.255.254', c6: 'fdff:fffe::c', s6: 'fdff:fffe::5' };
const HOP = { c4: '198.18.255.1', s4: '198.18.255.2', c6: 'fe80::c:2', s6: 'fe80::5:2' };
/** Host model: packet marks of the capture's packets sent by the host, and of the copies of accepted input packets. */
const HOST_MARK = { injected: '0x66', copy: '0x67' };
/** The mark of the copies of accepted input packets (the harness lets them through output chains). */
export const COPY_MARK = HOST_MARK.copy;

function sysctlName(k: string): string {
  return k.includes('.') ? k : `net.netfilter.${k}`;
}

/**
 * Write the setup files into `dir` and return the path of an `ip -batch`
 * file that builds everything: process spawns cost ~20-40 ms each on a
 * small VM, so setup is one `ip` that forks one shell per namespace.
 */
export function writeSetup(
  F: string,
  X: string,
  clientNets: Cidr[],
  clientNetText: string[],
  dir: string,
  opts: KernelRunOptions,
  legs: Leg[] | null,
): string {
  const legNames = legs ? legs.map((l) => l.name) : ['c', 's'];
  const procSys = (name: string, value: number | string) => {
    // (A name with '/' is a path already: interface names may hold dots.)
    const path = `/proc/sys/${name.includes('/') ? name : name.replace(/\./g, '/')}`;
    return `[ -w ${path} ] || { echo "no such sysctl: ${name}" >&2; exit 1; }; echo ${value} > ${path}`;
  };
  const fwSys: Array<[string, number]> = [];
  for (const d of ['all', 'default', ...legNames]) {
    fwSys.push(
      [`net/ipv6/conf/${d}/accept_dad`, 0],
      [`net/ipv6/conf/${d}/accept_ra`, 0],
      [`net/ipv6/conf/${d}/router_solicitations`, 0],
    );
    fwSys.push([`net/ipv4/conf/${d}/rp_filter`, 0], [`net/ipv4/conf/${d}/send_redirects`, 0]);
  }
  fwSys.push(
    // A host that does not forward (no forward rules) does not join ff02::2, all routers.
    ['net.ipv6.conf.all.forwarding', opts.hostAddrs && !opts.hostForwards && !legs ? 0 : 1],
    ['net.ipv4.ip_forward', 1],
    ['net.netfilter.nf_conntrack_checksum', 0],
    // fw's ICMP errors (reject, port unreachables) unlimited: the kernel rate
    // limits them per destination and per netns on the wall clock, so a
    // replay's timing would decide whether an answer shows (fwemu models the
    // verdict, not the limit). ratemask 0: no per-peer limit for ICMPv4;
    // ICMPv6 ratelimit 0 ms; the shared budget well above any replay.
    ['net.ipv4.icmp_ratemask', 0],
    ['net.ipv6.icmp.ratelimit', 0],
    ['net.ipv4.icmp_msgs_per_sec', 1000000],
    ['net.ipv4.icmp_msgs_burst', 1000000],
  );
  // Firewall model: the stack's own answers to what fw took in (RSTs for
  // closed ports, port unreachables, echo replies) carry the mark of the
  // packet they answer, so they can be told from what nft reject sends.
  if (legs) fwSys.push(['net.ipv4.fwmark_reflect', 1], ['net.ipv6.fwmark_reflect', 1]);
  const userSys = Object.entries(opts.sysctls ?? {}).map(([k, v]) => {
    if (!/^[\w.-]+$/.test(k) || !/^[\w.-]+$/.test(String(v))) throw new Error(`kernel harness: bad sysctl ${k}=${v}`);
    return [sysctlName(k), v] as [string, number | string];
  });
  const fwBatch = legs
    ? [
        'link set lo up',
        ...legBatch(legs),
        ...(opts.hostAddrs ?? []).map((a) =>
          a.includes(':') ? `addr add ${a}/128 dev lo` : `addr add ${a}/32 dev lo`,
        ),
      ]
    : [
        'link set lo up',
        'link set c up',
        'link set s up',
        `addr add ${FW_ADDR.c4}/32 dev c`,
        `addr add ${FW_ADDR.s4}/32 dev s`,
        `addr add ${FW_ADDR.c6}/128 dev c nodad`,
        `addr add ${FW_ADDR.s6}/128 dev s nodad`,
        `neigh replace ${HOP.c4} lladdr ${MAC.xC} dev c nud permanent`,
        `neigh replace ${HOP.s4} lladdr ${MAC.xS} dev s nud permanent`,
        `neigh replace ${HOP.c6} lladdr ${MAC.xC} dev c nud permanent`,
        `neigh replace ${HOP.s6} lladdr ${MAC.xS} dev s nud permanent`,
        ...clientNets.map((c, i) =>
          c.v === 4
            ? `route replace ${clientNetText[i]} via ${HOP.c4} dev c onlink`
            : `route replace ${clientNetText[i]} via ${HOP.c6} dev c`,
        ),
        `route replace 0.0.0.0/0 via ${HOP.s4} dev s onlink`,
        `route replace ::/0 via ${HOP.s6} dev s`,
        ...(opts.hostAddrs ?? []).map((a) =>
          a.includes(':') ? `addr add ${a}/128 dev lo` : `addr add ${a}/32 dev lo`,
        ),
        // A real host's IPv6 addresses are on its link, which joins their
        // solicited-node groups (ff02::1:ffXX:XXXX) there: neighbour solicitations
        // arrive on c or s. (The address stays on lo as well, as the one to route by.)
        ...(opts.hostAddrs ?? [])
          .filter((a) => a.includes(':'))
          .flatMap((a) => [
            `addr add ${a}/128 dev c nodad noprefixroute`,
            `addr add ${a}/128 dev s nodad noprefixroute`,
          ]),
        // The copies of accepted input packets (nft dup) are sent to their own
        // destination, the host's address, as the next hop: out of c, to x.
        ...(opts.hostAddrs ?? []).map((a) => `neigh replace ${a} lladdr ${MAC.xC} dev c nud permanent`),
      ];
  writeFileSync(join(dir, 'fw.batch'), fwBatch.join('\n') + '\n');
  let ruleset = opts.nftRuleset.endsWith('\n') ? opts.nftRuleset : opts.nftRuleset + '\n';
  if (opts.hostAddrs || legs) {
    // The copies that show an input packet was accepted must not meet the policy's own output rules.
    ruleset = ruleset.replace(
      /(type filter hook output priority [^;]+; policy \w+;\n)/g,
      `$1    meta mark ${HOST_MARK.copy} accept\n`,
    );
  }
  writeFileSync(join(dir, 'ruleset.nft'), ruleset);
  // Host model: copy accepted input packets out (after every filter chain),
  // and silence the host's own stack (RSTs, echo replies, ...) before
  // conntrack sees what it sends; the packets injected for the capture carry
  // their own mark, the copies are untracked.
  writeFileSync(
    join(dir, 'host.nft'),
    legs
      ? firewallModelNft(legs[0].name)
      : opts.hostAddrs
        ? [
            // (dup exists in the ip and ip6 families only.)
            'table ip fwemu_host4 {',
            `  chain seen { type filter hook input priority 100; meta mark ${HOST_MARK.copy} return; meta mark set ${HOST_MARK.copy} dup to ${HOP.c4} device "c"; }`,
            '}',
            'table ip6 fwemu_host6 {',
            // (A copy sent to a group the host joined loops back in, mark kept: not copied again.)
            `  chain seen { type filter hook input priority 100; meta mark ${HOST_MARK.copy} return; meta mark set ${HOST_MARK.copy} dup to ${HOP.c6} device "c"; }`,
            '}',
            'table inet fwemu_host {',
            `  chain quiet { type filter hook output priority -400; meta mark ${HOST_MARK.injected} accept; ct state untracked accept; drop; }`,
            '}',
            '',
          ].join('\n')
        : '',
  );
  // The probe bounce (see replay.py), loaded after the user's ruleset so a
  // `flush ruleset` in it cannot remove it.
  writeFileSync(
    join(dir, 'probe.nft'),
    [
      'table netdev fwemu_probe {',
      ...legNames.map(
        (n, i) =>
          `  chain l${i} { type filter hook ingress device "${n}" priority -1000; ether type 0x88b5 fwd to "${n}"; }`,
      ),
      '}',
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(dir, 'main.nft'),
    `include "${dir}/ruleset.nft"\ninclude "${dir}/probe.nft"\ninclude "${dir}/host.nft"\n`,
  );
  writeFileSync(
    join(dir, 'fw.sh'),
    [
      ...fwSys.map(([k, v]) => procSys(k, v)),
      `ip -batch ${dir}/fw.batch`,
      // One nft process (each costs ~80 ms here): the user's ruleset, then the probe table.
      `${nftCd(opts)}nft -f ${dir}/main.nft || { echo "(while loading the nft ruleset)" >&2; exit 1; }`,
      ...originalLoad(opts, dir),
      ...userSys.map(([k, v]) => procSys(k, v)),
      '',
    ].join('\n'),
  );
  // The outer namespace must never answer anything: no IPv6, no addresses,
  // and every frame dropped at ingress (AF_PACKET taps see frames before the
  // netdev ingress hook, so replay.py still sees them).
  writeFileSync(
    join(dir, 'x.nft'),
    [
      'table netdev x {',
      ...legNames.map((n, i) => `  chain l${i} { type filter hook ingress device "${n}" priority 0; policy drop; }`),
      '}',
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(dir, 'x.sh'),
    [
      ...['all', 'default', ...legNames].map((d) => procSys(`net/ipv6/conf/${d}/disable_ipv6`, 1)),
      ...legNames.map((n) => `ip link set ${n} up`),
      `nft -f ${dir}/x.nft`,
      '',
    ].join('\n'),
  );
  const link = (n: string, fwMac: string, xMac: string) =>
    `link add ${n} netns ${F} address ${fwMac} mtu 65535 type veth peer name ${n} netns ${X} address ${xMac} mtu 65535`;
  writeFileSync(
    join(dir, 'setup.batch'),
    [
      `netns add ${F}`,
      `netns add ${X}`,
      ...(legs
        ? legs.map((l) => link(l.name, l.fwMac, l.xMac))
        : [link('c', MAC.fwC, MAC.xC), link('s', MAC.fwS, MAC.xS)]),
      '',
    ].join('\n'),
  );
  return join(dir, 'setup.batch');
}

/** `cd DIR && ` when the original nft ruleset's relative includes need its directory. */
function nftCd(opts: KernelRunOptions): string {
  const d = opts.original?.nftDir;
  if (d === undefined) return '';
  if (!/^[\w./-]+$/.test(d)) throw new Error(`kernel harness: an nft directory the shell line cannot hold: ${d}`);
  return `cd ${d} && `;
}

/**
 * fw.sh lines that load an original ruleset (KernelRunOptions.original) with
 * its own tool, after the harness's tables (which none of them flushes).
 */
function originalLoad(opts: KernelRunOptions, dir: string): string[] {
  const o = opts.original;
  if (!o) return [];
  const lines: string[] = [];
  for (const n of o.nfacct ?? []) {
    if (!/^[\w.-]+$/.test(n)) throw new Error(`kernel harness: bad nfacct name ${n}`);
    lines.push(`nfacct add ${n}`);
  }
  const load = (text: string | undefined, file: string, cmd: string) => {
    if (text === undefined) return;
    writeFileSync(join(dir, file), text);
    lines.push(`${cmd} ${dir}/${file} || { echo "(while loading ${file} with ${cmd.split(' ')[0]})" >&2; exit 1; }`);
  };
  load(o.nftJson, 'ruleset.json', 'nft -j -f');
  load(o.iptables, 'rules.v4', 'iptables-restore');
  load(o.ip6tables, 'rules.v6', 'ip6tables-restore');
  return lines;
}

/**
 * Firewall model: nft's copy of every packet fw takes in (after every
 * filter chain) goes out of the first leg to the DUP next hop, whose MAC
 * tells replay.py; and fw's own stack is kept silent: at output priority
 * -400, before conntrack, what it sends in answer to a packet it took in
 * carries that packet's mark (fwmark_reflect), and so does nothing that
 * nft reject sends (a reject happens before the copy chain sets the mark),
 * so rejects and ICMP errors about forwarded packets still show. MLD and
 * ND are the stack talking on its own.
 */
function firewallModelNft(firstLeg: string): string {
  // Priority 200: after the input hook's NAT (srcnat, 100), so a packet's copy is as the socket gets
  // it (a reply to a flow the firewall's output DNATed, de-NATed), and after the rule file's filter
  // chains (input chains above 200 would be seen after the copy).
  const seen = (hop: string) =>
    `  chain seen { type filter hook input priority 200; meta mark ${HOST_MARK.copy} return; meta mark set ${HOST_MARK.copy} dup to ${hop} device "${firstLeg}"; }`;
  return [
    'table ip fwemu_host4 {',
    seen(DUP.to4),
    '}',
    'table ip6 fwemu_host6 {',
    seen(DUP.to6),
    '}',
    'table inet fwemu_host {',
    '  chain quiet {',
    '    type filter hook output priority -400;',
    `    meta mark ${HOST_MARK.injected} accept`,
    '    ct state untracked accept',
    `    meta mark ${HOST_MARK.copy} drop`,
    '    icmpv6 type { 130, 131, 132, 133, 134, 135, 136, 137, 143 } drop',
    '  }',
    '}',
    '',
  ].join('\n');
}
