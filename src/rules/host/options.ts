/**
 * The host description as the command line gives it (issue 18): the
 * firewall's addresses and routes, which a ruleset does not hold.
 */

/** The host flags, as typed; each may be given several times. */
export interface HostOptions {
  /** `--iface NAME=ADDR/PREFIX[,ADDR/PREFIX...]`: own addresses on NAME, and the networks they connect. */
  iface: string[];
  /** `--route PREFIX@NAME`, `--route default@NAME`. */
  route: string[];
  /** `--ip-addr F`: files holding what `ip -j addr` printed on the firewall. */
  ipAddr: string[];
  /** `--ip-route F`: files holding what `ip -j route` (and `ip -6 -j route`) printed. */
  ipRoute: string[];
}

/** No host flags. */
export const NO_HOST: HostOptions = Object.freeze({
  iface: [],
  route: [],
  ipAddr: [],
  ipRoute: [],
}) as HostOptions;

/** Whether any host flag was given. */
export function hostGiven(h: HostOptions): boolean {
  return h.iface.length + h.route.length + h.ipAddr.length + h.ipRoute.length > 0;
}
