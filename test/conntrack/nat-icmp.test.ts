/**
 * ICMP errors about NATed flows (nf_nat_icmp_reply_translation,
 * nf_nat_icmpv6_reply_translation): the quoted packet is put back as its
 * sender's side saw it and the error is addressed to the inside host (or
 * from the outside address). Expected values worked out by hand: at a hook
 * of manip M, for an error travelling in direction dir, the quoted packet
 * gets manip !M from tuple[!dir], the outer header manip M from
 * invert(tuple[!dir]), when the entry has the NAT bit of M (swapped for the
 * reply direction).
 */
import { describe, expect, it } from 'vitest';
import { NatIcmp } from '../../src/conntrack/index.js';
import { Driver, icmp, icmpError, tcp, udp } from './helpers.js';
import { forward, forwardError, range } from './nat-helpers.js';

const A = '192.168.1.10';
const B = '192.168.1.20';
const F = '203.0.113.1';
const S = '198.51.100.10';
const C = '198.51.100.77';
const R = '198.51.100.1'; // a router on the way
const masq = { snat: range(F) };

describe('ICMP errors about translated flows', () => {
  it('fragmentation needed for a masqueraded flow goes to the inside host, quoting its own packet', () => {
    const d = new Driver();
    forward(d, tcp(`${B}:40000 > ${S}:80`, 'S', { seq: 1 }), masq);
    forward(d, tcp(`${A}:40000 > ${S}:80`, 'S', { seq: 1 }), masq); // leaves as F:40001
    const e = forwardError(
      d,
      icmpError(`${R} > ${F}`, { type: 3, code: 4 }, { proto: 'tcp', flow: `${F}:40001 > ${S}:80` }),
    );
    expect([e.state, e.reply]).toEqual(['related', true]);
    // prerouting (DST) undoes the SNAT: inner source, outer destination.
    expect([e.pre, e.post]).toEqual([NatIcmp.CHANGED, NatIcmp.UNCHANGED]);
    expect(e.out).toBe(`${R} > ${A} | ${A}:40000 > ${S}:80`);
  });

  it('port unreachable from a port-forwarded server leaves from the public address, quoting the public port', () => {
    const d = new Driver();
    forward(d, udp(`${C}:5555 > ${F}:53`), { dnat: range(A, '5353') });
    const e = forwardError(
      d,
      icmpError(`${A} > ${C}`, { type: 3, code: 3 }, { proto: 'udp', flow: `${C}:5555 > ${A}:5353` }),
    );
    expect([e.state, e.reply, e.pre, e.post]).toEqual(['related', true, NatIcmp.UNCHANGED, NatIcmp.CHANGED]);
    expect(e.out).toBe(`${F} > ${C} | ${C}:5555 > ${F}:53`);
  });

  it('an error from the inside host about a reply (original direction) leaves from the outside address', () => {
    const d = new Driver();
    forward(d, udp(`${B}:40000 > ${S}:53`), masq);
    forward(d, udp(`${A}:40000 > ${S}:53`), masq); // F:40001
    forward(d, udp(`${S}:53 > ${F}:40001`));
    const e = forwardError(
      d,
      icmpError(`${A} > ${S}`, { type: 3, code: 3 }, { proto: 'udp', flow: `${S}:53 > ${A}:40000` }),
    );
    expect([e.state, e.reply, e.pre, e.post]).toEqual(['related', false, NatIcmp.UNCHANGED, NatIcmp.CHANGED]);
    expect(e.out).toBe(`${F} > ${S} | ${S}:53 > ${F}:40001`);
  });

  it('time exceeded quoting an echo request: the echo id goes back too', () => {
    const d = new Driver();
    forward(d, icmp(`${B} > ${S}`, { type: 8, id: 1234 }), masq);
    forward(d, icmp(`${A} > ${S}`, { type: 8, id: 1234 }), masq); // id 1235
    const e = forwardError(
      d,
      icmpError(`${R} > ${F}`, { type: 11, code: 0 }, { proto: 'icmp', flow: `${F} > ${S}`, id: 1235 }),
    );
    expect([e.state, e.reply, e.pre]).toEqual(['related', true, NatIcmp.CHANGED]);
    expect(e.out).toBe(`${R} > ${A} | ${A} > ${S} id=1234`);
  });

  it('an error about a flow without NAT is left alone', () => {
    const d = new Driver();
    forward(d, udp(`${A}:40000 > ${S}:53`));
    const e = forwardError(
      d,
      icmpError(`${S} > ${A}`, { type: 3, code: 3 }, { proto: 'udp', flow: `${A}:40000 > ${S}:53` }),
    );
    expect([e.state, e.pre, e.post]).toEqual(['related', NatIcmp.UNCHANGED, NatIcmp.UNCHANGED]);
    expect(e.out).toBe(`${S} > ${A} | ${A}:40000 > ${S}:53`);
  });

  it('a redirect about a NATed flow is dropped; about a flow without NAT it passes', () => {
    const d = new Driver();
    forward(d, udp(`${A}:40000 > ${S}:53`), masq);
    const e = forwardError(
      d,
      icmpError(`${R} > ${F}`, { type: 5, code: 1 }, { proto: 'udp', flow: `${F}:40000 > ${S}:53` }),
    );
    expect([e.state, e.pre]).toEqual(['related', NatIcmp.DROP]);
    forward(d, udp(`${B}:40000 > ${S}:53`));
    const ok = forwardError(
      d,
      icmpError(`${R} > ${B}`, { type: 5, code: 1 }, { proto: 'udp', flow: `${B}:40000 > ${S}:53` }),
    );
    expect([ok.state, ok.pre, ok.post]).toEqual(['related', NatIcmp.UNCHANGED, NatIcmp.UNCHANGED]);
  });

  it('IPv6: packet too big for a masqueraded flow', () => {
    const d = new Driver();
    forward(d, tcp('[fd00:1::10]:40000 > [2001:db8:2::80]:443', 'S', { seq: 1 }), { snat: range('2001:db8:1::1') });
    const e = forwardError(
      d,
      icmpError(
        '2001:db8:ff::1 > 2001:db8:1::1',
        { type: 2, code: 0 },
        { proto: 'tcp', flow: '[2001:db8:1::1]:40000 > [2001:db8:2::80]:443' },
      ),
    );
    expect([e.state, e.reply, e.pre, e.post]).toEqual(['related', true, NatIcmp.CHANGED, NatIcmp.UNCHANGED]);
    expect(e.out).toBe('2001:db8:ff::1 > fd00:1::10 | [fd00:1::10]:40000 > [2001:db8:2::80]:443');
  });
});
