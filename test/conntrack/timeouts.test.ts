/**
 * Every timeout, expiring exactly at its boundary on the capture clock.
 *
 * The kernel's rule (nf_ct_is_expired in include/net/netfilter/nf_conntrack.h):
 * an entry is expired once (timeout - now) <= 0, so it is still there just
 * before its deadline and gone at the deadline itself. Values are the
 * defaults of nf_conntrack_proto_tcp.c (tcp_timeouts[]), _udp.c, _icmp.c,
 * _icmpv6.c and generic (nf_conntrack_generic_timeout), as sysctl shows them
 * on Linux 6.18.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONNTRACK_SETTINGS, type CtEvent } from '../../src/conntrack/index.js';
import { Driver, generic, icmp, tcp, udp } from './helpers.js';

const C = '10.1.0.2:51514';
const S = '10.2.0.1:8080';
const c2s = (f: string, o: Parameters<typeof tcp>[2] = {}) => tcp(`${C} > ${S}`, f, o);
const s2c = (f: string, o: Parameters<typeof tcp>[2] = {}) => tcp(`${S} > ${C}`, f, o);

/** The entry is alive 1 ms before `t` seconds from now and gone at exactly `t` (times compare to the microsecond). */
function expectLifetime(d: Driver, t: number): void {
  const start = d.now;
  expect(d.ct.entries(start + t - 1e-3)).toHaveLength(1);
  expect(d.ct.entries(start + t)).toHaveLength(0);
}

/** Drive a fresh connection into `state` and return the driver. */
function reach(state: string): Driver {
  const d = new Driver();
  d.send(c2s('S', { seq: 1000, win: 64240 }));
  if (state === 'SYN_SENT') return d;
  if (state === 'SYN_SENT2') {
    d.send(s2c('S', { seq: 5000, win: 65160 }));
    return d;
  }
  d.send(s2c('S.', { seq: 5000, ack: 1001, win: 65160 }));
  if (state === 'SYN_RECV') return d;
  d.send(c2s('.', { seq: 1001, ack: 5001, win: 502 }));
  if (state === 'ESTABLISHED') return d;
  if (state === 'CLOSE') {
    d.send(c2s('R.', { seq: 1001, ack: 5001, win: 0 }));
    return d;
  }
  d.send(c2s('F.', { seq: 1001, ack: 5001, win: 502 }));
  if (state === 'FIN_WAIT') return d;
  if (state === 'CLOSE_WAIT') {
    d.send(s2c('.', { seq: 5001, ack: 1002, win: 509 }));
    return d;
  }
  d.send(s2c('F.', { seq: 5001, ack: 1002, win: 509 }));
  if (state === 'LAST_ACK') return d;
  d.send(c2s('.', { seq: 1002, ack: 5002, win: 502 }));
  return d; // TIME_WAIT
}

describe('TCP state timeouts (tcp_timeouts[])', () => {
  const cases: [string, number][] = [
    ['SYN_SENT', 120],
    ['SYN_SENT2', 120],
    ['SYN_RECV', 60],
    ['ESTABLISHED', 432000],
    ['FIN_WAIT', 120],
    ['CLOSE_WAIT', 60],
    ['LAST_ACK', 30],
    ['TIME_WAIT', 120],
    ['CLOSE', 10],
  ];
  for (const [state, secs] of cases) {
    it(`${state}: ${secs} s`, () => {
      const d = reach(state);
      expect(d.tcpState()).toBe(state);
      expect(d.left()).toBe(secs);
      expectLifetime(d, secs);
    });
  }

  it('settings override the defaults (sysctl names)', () => {
    const d = new Driver({ tcp_timeout_syn_sent: 7 });
    d.send(c2s('S', { seq: 1 }));
    expectLifetime(d, 7);
  });

  it('a packet arriving exactly at the deadline finds no entry: a stray ACK is picked up afresh', () => {
    const d = reach('TIME_WAIT');
    const old = d.only();
    const o = d.send(c2s('.', { seq: 1002, ack: 5002, win: 502 }), 120);
    expect(o.state).toBe('new'); // tcp_loose pickup of a new entry
    expect(d.only()).not.toBe(old);
    expect(d.ct.stats.expired).toBe(1);
  });

  it('a packet just before the deadline still refreshes the entry', () => {
    const d = reach('ESTABLISHED');
    const o = d.send(c2s('.', { seq: 1001, ack: 5001, win: 502 }), 432000 - 0.001);
    expect(o.state).toBe('established');
    expect(d.left()).toBe(432000);
  });
});

describe('UDP timeouts (nf_conntrack_udp_packet)', () => {
  const A = '10.1.0.2:40000';
  const B = '10.2.0.1:53';

  it('unreplied: 30 s, renewed by each packet', () => {
    const d = new Driver();
    d.send(udp(`${A} > ${B}`));
    expect(d.left()).toBe(30);
    d.send(udp(`${A} > ${B}`), 10);
    expect(d.left()).toBe(30);
    expectLifetime(d, 30);
  });

  it('replied within 2 s of creation: still 30 s, not ASSURED', () => {
    const d = new Driver();
    d.send(udp(`${A} > ${B}`));
    d.send(udp(`${B} > ${A}`), 0.5);
    d.send(udp(`${A} > ${B}`), 1.4); // 1.9 s after creation
    expect(d.only().seenReply).toBe(true);
    expect(d.only().assured).toBe(false);
    expect(d.left()).toBe(30);
    expectLifetime(d, 30);
  });

  it('exactly 2 s after creation is not yet a stream (time_after is strict)', () => {
    const d = new Driver();
    d.send(udp(`${A} > ${B}`));
    d.send(udp(`${B} > ${A}`), 1);
    d.send(udp(`${A} > ${B}`), 1);
    expect(d.only().assured).toBe(false);
    expect(d.left()).toBe(30);
  });

  it('seen both ways and active after 2 s: ASSURED, 120 s (kernel: udp)', () => {
    const d = new Driver();
    d.send(udp(`${A} > ${B}`));
    d.send(udp(`${B} > ${A}`), 0.1);
    const o = d.send(udp(`${A} > ${B}`), 2);
    expect(o.state).toBe('established');
    expect(d.only().assured).toBe(true);
    expect(d.left()).toBe(120);
    expectLifetime(d, 120);
  });

  it('a flow that only ever went one way never becomes ASSURED, however long it lasts', () => {
    const d = new Driver();
    for (let i = 0; i < 10; i++) d.send(udp(`${A} > ${B}`), 5);
    expect(d.only().assured).toBe(false);
    expect(d.left()).toBe(30);
  });

  it('udp_timeout / udp_timeout_stream settings', () => {
    const d = new Driver({ udp_timeout: 5, udp_timeout_stream: 50 });
    d.send(udp(`${A} > ${B}`));
    expect(d.left()).toBe(5);
    d.send(udp(`${B} > ${A}`), 3);
    d.send(udp(`${A} > ${B}`), 1);
    expect(d.left()).toBe(50);
  });

  it('after expiry, the answer creates a NEW entry the other way round', () => {
    const d = new Driver();
    d.send(udp(`${A} > ${B}`));
    const o = d.send(udp(`${B} > ${A}`), 30);
    expect(o.state).toBe('new');
    expect(d.only().orig.sport).toBe(53);
  });
});

describe('ICMP, ICMPv6 and generic timeouts', () => {
  it('ICMP echo: 30 s (nf_ct_icmp_timeout)', () => {
    const d = new Driver();
    d.send(icmp('10.1.0.2 > 10.2.0.1', { type: 8, id: 7 }));
    expect(d.left()).toBe(30);
    d.send(icmp('10.2.0.1 > 10.1.0.2', { type: 0, id: 7 }), 3);
    expect(d.left()).toBe(30);
    expectLifetime(d, 30);
  });

  it('ICMPv6 echo: 30 s (nf_ct_icmpv6_timeout)', () => {
    const d = new Driver({ icmpv6_timeout: 12 });
    d.send(icmp('fd01::2 > fd02::2', { type: 128, id: 7 }));
    expectLifetime(d, 12);
  });

  it('generic protocols: 600 s (nf_conntrack_generic_timeout)', () => {
    const d = new Driver();
    d.send(generic('10.1.0.2 > 10.2.0.1', 99));
    expect(d.left()).toBe(DEFAULT_CONNTRACK_SETTINGS.generic_timeout);
    expectLifetime(d, 600);
  });
});

describe('GRE timeouts (nf_conntrack_gre_packet)', () => {
  it('unreplied 30 s, replied 180 s (nf_conntrack_gre_timeout / _stream defaults)', () => {
    const d = new Driver();
    d.send(generic('10.1.0.2 > 10.2.0.1', 47));
    expectLifetime(d, 30);
    const e = new Driver();
    e.send(generic('10.1.0.2 > 10.2.0.1', 47));
    e.send(generic('10.2.0.1 > 10.1.0.2', 47), 1);
    e.send(generic('10.1.0.2 > 10.2.0.1', 47), 1);
    expectLifetime(e, 180);
  });
});

describe('expiry on the capture clock', () => {
  it('expire(now) sweeps and reports; a DESTROY event carries the deadline and no timeout', () => {
    const d = new Driver();
    const events: CtEvent[] = [];
    d.ct.onEvent = (e) => events.push(e);
    d.send(udp('10.1.0.2:1 > 10.2.0.1:2'));
    d.send(udp('10.1.0.2:3 > 10.2.0.1:4'), 10);
    expect(d.ct.expire(d.now + 20)).toBe(1); // the first one, created 30 s before
    expect(d.ct.size).toBe(1);
    const destroy = events.find((e) => e.type === 'DESTROY')!;
    expect(destroy.cause).toBe('expired');
    expect(destroy.time).toBe(1030);
    expect(destroy.timeout).toBe(-1);
  });

  it('the clock never runs backwards: an earlier timestamp is handled at the latest time seen', () => {
    const d = new Driver();
    d.send(udp('10.1.0.2:1 > 10.2.0.1:2'));
    d.now = 1010;
    d.send(udp('10.1.0.2:5 > 10.2.0.1:6'));
    d.now = 1005; // out of order
    d.send(udp('10.1.0.2:1 > 10.2.0.1:2'));
    const e = d.ct.entries(1010).find((x) => x.orig.sport === 1)!;
    expect(e.deadline).toBe(1040);
  });
});
