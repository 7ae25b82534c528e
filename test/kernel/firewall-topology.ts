/**
 * A rule file's interfaces (the loader's Firewall, src/rules/firewall.ts)
 * as the kernel oracle's `interfaces` option: the bridge the conformance
 * suite needs to load a firewall-model rule file's topology into the
 * firewall namespace.
 */
import type { Firewall } from '../../src/rules/firewall.js';
import type { KernelInterfaces } from './topology.js';

/** `lo` is left out: every namespace has it, with 127.0.0.1/8 and ::1. */
export function kernelInterfaces(fw: Firewall): KernelInterfaces {
  const out: KernelInterfaces = {};
  for (const i of fw.interfaces) {
    if (i.name === 'lo') continue;
    out[i.name] = {
      addresses: i.addresses.map((a) => `${a.addr.text.split('/')[0]}/${a.net.prefix}`),
      networks: i.networks.map((n) => (n.text.includes('/') ? n.text : `${n.text}/${n.prefix}`)),
      ...(i.defaultRoute ? { default: true } : {}),
    };
  }
  return out;
}
