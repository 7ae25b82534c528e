/**
 * NAT in the conntrack layer, as Linux's nf_nat does it
 * (net/netfilter/nf_nat_core.c, nf_nat_proto.c): a flow's translation is
 * decided once, on its first packet, by altering the entry's REPLY tuple to
 * invert(translated original); every later packet of either direction is
 * rewritten from the entry's tuples. The engine decides WHICH rule applies;
 * this file decides the resulting tuple and does the rewriting.
 *
 * API (every function takes the CtResult of ConntrackTable.process/track):
 *
 *   natSetup(r, manip, range): boolean
 *       nf_nat_setup_info(). For r's NEW, unconfirmed entry, before
 *       confirm(): NatManip.DST at prerouting/output (dnat, redirect),
 *       NatManip.SRC at postrouting/input (snat, masquerade; masquerade is
 *       snat to the egress interface's address, the lead picks it). Both may
 *       apply to one entry (DST first, then SRC sees the DNATed tuple).
 *       Keeps the packet's address/port when the result is unique and in the
 *       range, else picks one as get_unique_tuple() does (below). Sets
 *       CtStatus.SRC_NAT/DST_NAT when the reply tuple changed, and
 *       SRC_NAT_DONE/DST_NAT_DONE always. Returns whether the resulting reply
 *       tuple is free. When it is not (no free port in the range, or a DNAT
 *       to one port whose reply tuple another entry holds), the entry keeps
 *       it, as the kernel: after a DST manip the SRC manip at postrouting
 *       (a rule or the null binding) may still move the source port; after
 *       the SRC manip, confirm() refuses the entry and sets r.drop (the
 *       kernel's insert_failed: the packet is dropped after the rules
 *       accepted it), so the engine should drop the packet when natSetup or
 *       natNullBinding at postrouting/input returns false. Calling it for a
 *       confirmed entry does nothing (true), as the kernel; calling it twice
 *       for one manip throws (the kernel WARNs and drops).
 *   natNullBinding(r, manip): boolean
 *       nf_nat_alloc_null_binding(): a NEW flow passing a NAT hook where no
 *       NAT rule decided. The kernel registers all four NAT hooks of a family
 *       as soon as any nat chain exists, so call it at every NAT hook the
 *       packet passes without a NAT decision (prerouting/output: DST,
 *       postrouting/input: SRC). It keeps the address and may move the
 *       source port when the reply tuple is already in use (a masqueraded
 *       flow took it).
 *   natInitialized(r, manip): boolean
 *       nf_nat_initialized(): was the manip decided (a rule or the null
 *       binding)? The kernel consults the nat chains only for ct state new
 *       AND an undecided manip (nf_nat_inet_fn): a retransmitted SYN, or an
 *       RST before any reply (both state new), skips them; do the same.
 *   natApply(r, manip, t): boolean
 *       nf_nat_packet(), per packet at each NAT hook: rewrites the packet
 *       tuple `t` in place (the caller fills it from the packet: addresses,
 *       sport/dport, for ICMP sport = echo id) and says whether it changed
 *       anything. DST at prerouting/output: DNAT of an original packet,
 *       de-SNAT of a reply; SRC at postrouting/input: SNAT of an original,
 *       de-DNAT of a reply. No allocation. Not for RELATED (use natIcmpError).
 *   natTarget(r, out): CtTuple
 *       The tuple the packet leaves with after both hooks: invert(reply) for
 *       the original direction, invert(original) for a reply. No allocation.
 *   natIcmpError(r, manip, icmpType, outer, inner): NatIcmpValue
 *       nf_nat_icmp_reply_translation() / nf_nat_icmpv6_reply_translation(),
 *       for a RELATED ICMP error at each NAT hook: `outer` holds the error's
 *       own addresses (ports unused), `inner` the quoted packet's tuple; both
 *       are rewritten in place. DROP for a redirect about a NATed flow (the
 *       kernel drops those).
 *
 *   natPacketTuple(p, out) / natQuotedTuple(p, out): CtTuple
 *       Fill the tuple these functions take from a decoded packet (ports;
 *       ICMP: sport = echo id, dport = type << 8 | code) or from an ICMP
 *       error's quoted packet, as conntrack itself reads them. No allocation.
 *
 * Status bits (CtStatus.SRC_NAT, DST_NAT, *_DONE; CT_NAT_MASK) are in
 * entry.status for `ct status snat/dnat` matches. The reply tuple of a NATed
 * entry is stored (CtStore.nat, one small record beside the entry record),
 * so CtEntry.reply, conntrack -L, lookups and events all show the altered one.
 *
 * get_unique_tuple(), for the record (kernel 6.x):
 *  1. SRC only (and no random flag): keep the tuple if its source is in the
 *     range and its reply is unused; if not in the range, reuse the mapping of
 *     an existing entry with the same source address/port/protocol
 *     (find_appropriate_src, the newest such entry first) if in range and free.
 *  2. find_best_ips_proto: the address is the range's only one, or one chosen
 *     by jhash2 of the source (and destination, unless `persistent`)
 *     address, reproduced exactly here.
 *  3. keep the port if in range and free (or the range is one port), else
 *     nf_nat_l4proto_unique_tuple: search the port range (unspecified: 1-511,
 *     600-1023 or 1024-65535 after the original port's class; ICMP ids
 *     0-65535; DNAT without ports never changes the port) for a free one.
 *
 * Known differences (deliberate; the kernel's choice is random):
 * - Port/id search start: the kernel starts at min + (get_random_u16() %
 *   range size) (since 5.x; before, a per-protocol rover), tries up to 128,
 *   then restarts at new random offsets with 64, 32, 16, 8 attempts. fwemu
 *   starts at the current port itself when it is in the range (else at the
 *   range's start) and goes up, wrapping in the range; the later rounds
 *   (64, 32, 16, 8 attempts) start at offsets hashed from the tuple and the
 *   round instead of random ones, so that a crowded stretch of ports does
 *   not make the search fail where the kernel's would succeed. So a clash
 *   of 40000 gives 40001 here, a random port (e.g. 8560, 26167) there.
 * - `random`/`fully-random` flags: the kernel picks a random port for every
 *   flow, clash or not; fwemu keeps the port when it is free and in range.
 * - nf_nat_used_tuple_new's exception for a reverse-direction race of two CPUs
 *   cannot happen in a serial replay; no PROTO_OFFSET ranges (iptables
 *   `--to-destination a:1000-2000/3000`); GRE keys are not translated
 *   (fwemu tracks GRE with keys 0, as without the PPTP helper); no NAT helpers
 *   (ftp, sip...), no sequence adjustment.
 *
 * Files: this one (the API), nat-types.ts (manips, flags, ranges),
 * nat-core.ts (nf_nat_setup_info, get_unique_tuple, the by-source index),
 * nat-ips.ts (find_best_ips_proto, jhash2), nat-packet.ts (per packet and
 * ICMP errors, nf_nat_proto.c).
 */
import { CtTuple, H_STATUS, S16, type CtStore } from './entry.js';
import { natIcmpErrorAt, natPacketAt, natTargetAt } from './nat-packet.js';
import { NatIcmp, NatManip, type NatIcmpValue, type NatManipValue, type NatRange } from './nat-types.js';
import type { CtResult } from './result.js';
import type { ConntrackTable } from './table.js';
import { CtStatus } from './types.js';

export { natPacketTuple, natQuotedTuple } from './nat-packet.js';
export {
  natFlags,
  NatFlag,
  NatIcmp,
  NatManip,
  type NatIcmpValue,
  type NatManipValue,
  type NatRange,
} from './nat-types.js';

// r's entry record, set by resolve(): the table's store, or a detached view's copy (an entry an RST
// deleted still translates its packet, as the kernel's skb keeps its ct). Module scratch: no allocation.
let rst: CtStore | null = null;
let rslot = -1;
const tmp = new CtTuple();

function resolve(r: CtResult): boolean {
  const e = r.entryView;
  if (e === undefined) {
    if (r.entrySlot < 0 || r.table === null) return false;
    rst = r.table.natStore;
    rslot = r.entrySlot;
    return true;
  }
  if (e === null) return false;
  rst = e.st;
  rslot = e.slot;
  return true;
}

function tableOf(r: CtResult): ConntrackTable {
  if (r.table === null) throw new Error('NAT needs a result from ConntrackTable.process/track');
  return r.table;
}

/** nf_nat_setup_info(): translate r's new entry (see the top of this file). */
export function natSetup(r: CtResult, manip: NatManipValue, range: NatRange): boolean {
  return tableOf(r).natSetupSlot(r, manip, range);
}

/** nf_nat_alloc_null_binding(): a NAT hook passed without a NAT rule. */
export function natNullBinding(r: CtResult, manip: NatManipValue): boolean {
  return tableOf(r).natSetupSlot(r, manip, null);
}

/** nf_nat_initialized(): was `manip` decided for r's entry (a rule or the null binding)? */
export function natInitialized(r: CtResult, manip: NatManipValue): boolean {
  if (!resolve(r)) return false;
  const done = manip === NatManip.SRC ? CtStatus.SRC_NAT_DONE : CtStatus.DST_NAT_DONE;
  return (rst!.u16[rslot * S16 + H_STATUS] & done) !== 0;
}

/** nf_nat_packet(): rewrite the packet tuple `t` at a NAT hook; true when something changed. Not for RELATED. */
export function natApply(r: CtResult, manip: NatManipValue, t: CtTuple): boolean {
  if (r.isRelated || !resolve(r)) return false;
  return natPacketAt(rst!, rslot, r.reply ? 1 : 0, manip, t, tmp);
}

/** The tuple r's packet leaves with after every NAT hook, into `out` (unchanged when r has no entry). */
export function natTarget(r: CtResult, out: CtTuple): CtTuple {
  if (!resolve(r)) return out;
  return natTargetAt(rst!, rslot, r.reply ? 1 : 0, out, tmp);
}

/** nf_nat_icmp_reply_translation(): rewrite a RELATED ICMP error's outer addresses and quoted tuple. */
export function natIcmpError(
  r: CtResult,
  manip: NatManipValue,
  icmpType: number,
  outer: CtTuple,
  inner: CtTuple,
): NatIcmpValue {
  if (!r.isRelated || !resolve(r)) return NatIcmp.UNCHANGED;
  return natIcmpErrorAt(rst!, rslot, r.reply ? 1 : 0, manip, icmpType, outer, inner, tmp);
}
