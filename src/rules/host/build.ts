/**
 * The host description gathered from every source (`--iface`, `--route`,
 * `--ip-addr`, `--ip-route`, a host file's interfaces: and routes:) into
 * the model's interfaces (firewall.ts FwInterface): own addresses with the
 * networks they connect, networks routed out of an interface, the default
 * route.
 *
 * The sources add up (an `--iface` may add an address to what `ip -j addr`
 * gave); an address given twice counts once. One interface carries the
 * default route in the model: of several, the lowest metric wins, as in
 * the kernel's route lookup; two of equal metric on different interfaces
 * are an error (the kernel would spread flows between them, which fwemu
 * does not model).
 */
import { diag, type Diagnostic, type SourcePos } from '../../base/diag.js';
import { formatPos } from '../../base/diag.js';
import type { FwInterface, IfAddress } from '../firewall.js';
import type { Cidr } from '../types.js';

/** One interface as the host description has it so far. */
interface HostIface {
  name: string;
  addresses: IfAddress[];
  networks: Cidr[];
  pos: SourcePos;
}

interface DefaultRoute {
  name: string;
  metric: number;
  pos: SourcePos;
  /** How the source names it in a message ("--route default@wan0", "route.json:3:5"). */
  from: string;
}

function sameCidr(a: Cidr, b: Cidr): boolean {
  return a.version === b.version && a.prefix === b.prefix && a.words.every((w, i) => w === b.words[i]);
}

export class HostBuilder {
  private readonly ifaces = new Map<string, HostIface>();
  private defaults: DefaultRoute[] = [];
  /** Problems found by the sources, positioned in their files (flags: "<command line>"). */
  readonly diags: Diagnostic[] = [];
  /** Whether any source described anything. */
  given = false;

  /** The interface `name`, created (without addresses) when new. */
  iface(name: string, pos: SourcePos): HostIface {
    this.given = true;
    let i = this.ifaces.get(name);
    if (i === undefined) {
      i = { name, addresses: [], networks: [], pos };
      this.ifaces.set(name, i);
    }
    return i;
  }

  address(name: string, a: IfAddress, pos: SourcePos): void {
    const i = this.iface(name, pos);
    if (!i.addresses.some((x) => sameCidr(x.addr, a.addr) && sameCidr(x.net, a.net))) i.addresses.push(a);
  }

  network(name: string, net: Cidr, pos: SourcePos): void {
    const i = this.iface(name, pos);
    if (!i.networks.some((n) => sameCidr(n, net))) i.networks.push(net);
  }

  defaultRoute(name: string, metric: number, pos: SourcePos, from: string): void {
    this.iface(name, pos);
    this.defaults.push({ name, metric, pos, from });
  }

  /** Names of the interfaces described. */
  names(): string[] {
    return [...this.ifaces.keys()];
  }

  /**
   * The interfaces described, in the order first named (lo included when
   * described: its addresses add to the built-in ones), and the one that
   * carries the default route. Records an error for equal defaults.
   */
  build(): FwInterface[] {
    let chosen: DefaultRoute | null = null;
    for (const d of this.defaults) {
      if (chosen === null || d.metric < chosen.metric) chosen = d;
    }
    if (chosen !== null) {
      const tie = this.defaults.find((d) => d !== chosen && d.metric === chosen.metric && d.name !== chosen.name);
      if (tie !== undefined)
        this.diags.push(
          diag(
            tie.pos.file,
            tie.pos.line,
            tie.pos.col,
            `default routes out of ${tie.name} (${tie.from}) and out of ${chosen.name} (${chosen.from}, ${formatPos(chosen.pos)}) with the same metric ${chosen.metric}; fwemu models one default route: leave one out, or give them different metrics`,
            'host.two-defaults',
          ),
        );
      if (chosen.name === 'lo')
        this.diags.push(
          diag(
            chosen.pos.file,
            chosen.pos.line,
            chosen.pos.col,
            'lo cannot carry the default route; give the interface towards the upstream router',
            'host.bad-route',
          ),
        );
    }
    return [...this.ifaces.values()].map((i) => ({
      name: i.name,
      addresses: i.addresses,
      // A connected network is routed already (ip -j route lists it too): not repeated as a network.
      networks: i.name === 'lo' ? [] : i.networks.filter((n) => !i.addresses.some((a) => sameCidr(a.net, n))),
      defaultRoute: chosen !== null && chosen.name === i.name,
      pos: i.pos,
    }));
  }
}
