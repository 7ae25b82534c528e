/**
 * `--iface NAME=ADDR/PREFIX[,ADDR/PREFIX...]` and `--route PREFIX@NAME` /
 * `--route default@NAME`: the host description typed on the command line.
 * An address means what `ip addr add ADDR/PREFIX dev NAME` means: the
 * firewall's own address, and the network it connects (the prefix); an
 * address without a prefix connects only itself, as ip's /32 or /128.
 */
import { diag, type SourcePos } from '../../base/diag.js';
import { parseCidr } from '../cidr.js';
import { ifNameProblem } from '../fw-read.js';
import type { HostBuilder } from './build.js';
import type { HostOptions } from './options.js';
import { parseIfAddress } from './if-address.js';

/** Where flags are, in positions: the command line has no lines; the column is the flag's place among its kind (1-based). */
export const COMMAND_LINE = '<command line>';

/** Reads the flags into `b`; each problem is a diagnostic naming the flag as typed. */
export function readHostFlags(h: HostOptions, b: HostBuilder): void {
  h.iface.forEach((text, i) => iface(text, { file: COMMAND_LINE, line: 1, col: i + 1 }, b));
  h.route.forEach((text, i) => route(text, { file: COMMAND_LINE, line: 1, col: h.iface.length + i + 1 }, b));
}

function bad(b: HostBuilder, pos: SourcePos, flag: string, text: string, why: string, code: string): void {
  b.diags.push(diag(pos.file, pos.line, pos.col, `${flag} ${JSON.stringify(text)}: ${why}`, code));
}

function iface(text: string, pos: SourcePos, b: HostBuilder): void {
  const eq = text.indexOf('=');
  const help =
    'write --iface NAME=ADDR/PREFIX[,ADDR/PREFIX...], like --iface lan0=192.168.1.1/24,fd00:1::1/64 (the addresses `ip addr` shows on NAME)';
  if (eq <= 0) {
    bad(b, pos, '--iface', text, help, 'host.bad-route');
    return;
  }
  const name = text.slice(0, eq).trim();
  const problem = ifNameProblem(name, false);
  if (problem !== null) {
    bad(b, pos, '--iface', text, `interface name ${JSON.stringify(name)} ${problem}`, 'rules.bad-interface-name');
    return;
  }
  const list = text.slice(eq + 1).trim();
  if (list === '') {
    // An interface without addresses: it exists (rules match its name) and connects nothing.
    b.iface(name, pos);
    return;
  }
  for (const item of list.split(',')) {
    const a = parseIfAddress(item.trim());
    if ('error' in a) bad(b, pos, '--iface', text, `${a.error}; ${help}`, 'rules.bad-address');
    else b.address(name, a, pos);
  }
}

function route(text: string, pos: SourcePos, b: HostBuilder): void {
  const r = parseRoute(text);
  if ('error' in r) {
    bad(b, pos, '--route', text, r.error, 'host.bad-route');
    return;
  }
  if (r.net === null) b.defaultRoute(r.name, 0, pos, `--route ${text}`);
  else if (r.name === 'lo') bad(b, pos, '--route', text, 'packets are never routed out of lo', 'host.bad-route');
  else b.network(r.name, r.net, pos);
}

/** `PREFIX@NAME` or `default@NAME`: the network (null for the default route) and the interface. */
export function parseRoute(text: string): { net: import('../types.js').Cidr | null; name: string } | { error: string } {
  const help = 'write PREFIX@NAME (10.8.0.0/16@lan0: that network is reached through lan0) or default@NAME';
  const at = text.lastIndexOf('@');
  if (at <= 0) return { error: help };
  const name = text.slice(at + 1).trim();
  const problem = ifNameProblem(name, false);
  if (problem !== null) return { error: `interface name ${JSON.stringify(name)} ${problem}` };
  const prefix = text.slice(0, at).trim();
  if (prefix === 'default') return { net: null, name };
  const c = parseCidr(prefix);
  if (!c.ok) return { error: `${c.error}; ${help}` };
  if (c.hostBits)
    return { error: `${prefix} has bits set after the /${c.cidr.prefix} prefix; the network is ${c.cidr.text}` };
  return { net: c.cidr, name };
}
