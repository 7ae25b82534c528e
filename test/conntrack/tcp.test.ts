/**
 * TCP tracking, one behaviour per test. Expected outcomes come from
 * net/netfilter/nf_conntrack_proto_tcp.c (function named in each test) and,
 * where marked "kernel:", from the same packets sent through Linux 6.18's
 * conntrack (lab/scenarios/<name>.json, replayed in kernel-replay.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { CtCode, TcpFlagCt, TCP_TABLE, TcpState, TCP_STATE_NAMES } from '../../src/conntrack/index.js';
import { Driver, tcp } from './helpers.js';

const C = '10.1.0.2:51514';
const S = '10.2.0.1:8080';
const c2s = (f: string, o: Parameters<typeof tcp>[2] = {}) => tcp(`${C} > ${S}`, f, o);
const s2c = (f: string, o: Parameters<typeof tcp>[2] = {}) => tcp(`${S} > ${C}`, f, o);

/** SYN (seq 1000) / SYN-ACK (seq 5000) / ACK, both sides with wscale 7. */
function established(d: Driver, scale = true): void {
  d.send(c2s('S', { seq: 1000, win: 64240, wscale: scale ? 7 : undefined, sackPerm: true }));
  d.send(s2c('S.', { seq: 5000, ack: 1001, win: 65160, wscale: scale ? 7 : undefined, sackPerm: true }));
  d.send(c2s('.', { seq: 1001, ack: 5001, win: 502 }));
}

describe('state table (tcp_conntracks)', () => {
  it('has a row per segment kind and a column per state, both directions', () => {
    expect(TCP_TABLE.length).toBe(2);
    for (const dir of TCP_TABLE) {
      expect(dir.length).toBe(6);
      for (const row of dir) expect(row.length).toBe(10);
    }
    // a few cells straight from the kernel table
    expect(TCP_TABLE[0][0][TcpState.NONE]).toBe(TcpState.SYN_SENT); // SYN opens
    expect(TCP_TABLE[1][1][TcpState.SYN_SENT]).toBe(TcpState.SYN_RECV); // SYN/ACK answers
    expect(TCP_TABLE[0][3][TcpState.SYN_RECV]).toBe(TcpState.ESTABLISHED); // ACK completes
    expect(TCP_TABLE[1][0][TcpState.TIME_WAIT]).toBe(TcpState.SYN_SENT); // reply-side reopen (6.x)
    expect(TCP_TABLE[0][1][TcpState.ESTABLISHED]).toBe(TcpState.MAX); // SYN/ACK from client: invalid (6.x)
    expect(TCP_TABLE[1][3][TcpState.SYN_SENT]).toBe(TcpState.IGNORE); // half-open ACK ignored
  });
});

describe('three-way handshake', () => {
  it('NONE -> SYN_SENT -> SYN_RECV -> ESTABLISHED, ASSURED on the third packet (tcp_packet)', () => {
    const d = new Driver();
    const syn = d.send(c2s('S', { seq: 1000, win: 64240, wscale: 7 }));
    expect(syn.state).toBe('new');
    expect(syn.code).toBe(CtCode.NEW);
    expect(d.tcpState()).toBe('SYN_SENT');
    expect(d.only().seenReply).toBe(false);
    expect(d.left()).toBe(120);

    const synack = d.send(s2c('S.', { seq: 5000, ack: 1001, win: 65160, wscale: 7 }));
    expect(synack.state).toBe('established');
    expect(synack.reply).toBe(true);
    expect(d.tcpState()).toBe('SYN_RECV');
    expect(d.only().seenReply).toBe(true);
    expect(d.only().assured).toBe(false);
    expect(d.left()).toBe(60);

    const ack = d.send(c2s('.', { seq: 1001, ack: 5001, win: 502 }));
    expect(ack.state).toBe('established');
    expect(d.tcpState()).toBe('ESTABLISHED');
    expect(d.only().assured).toBe(true);
    expect(d.left()).toBe(432000);
  });

  it('a SYN/ACK without a SYN cannot create an entry (tcp_new: invalid new)', () => {
    const d = new Driver();
    const o = d.send(s2c('S.', { seq: 5000, ack: 1001 }));
    expect(o.state).toBe('invalid');
    expect(o.code).toBe(CtCode.INVALID_NEW);
    expect(o.reason).toMatch(/cannot start a connection/);
    expect(d.ct.size).toBe(0);
  });

  it('the handshake ACK sent twice stays ESTABLISHED', () => {
    const d = new Driver();
    established(d);
    expect(d.send(c2s('.', { seq: 1001, ack: 5001, win: 502 })).state).toBe('established');
    expect(d.tcpState()).toBe('ESTABLISHED');
  });
});

describe('closing', () => {
  it('FIN from the client: FIN_WAIT -> LAST_ACK -> TIME_WAIT (kernel: handshake)', () => {
    const d = new Driver();
    established(d);
    d.send(c2s('F.', { seq: 1001, ack: 5001, win: 502 }));
    expect(d.tcpState()).toBe('FIN_WAIT');
    expect(d.left()).toBe(120);
    expect(d.only().tcp!.seen[0].flags & TcpFlagCt.CLOSE_INIT).toBeTruthy();
    d.send(s2c('F.', { seq: 5001, ack: 1002, win: 509 }));
    expect(d.tcpState()).toBe('LAST_ACK');
    expect(d.left()).toBe(30);
    d.send(c2s('.', { seq: 1002, ack: 5002, win: 502 }));
    expect(d.tcpState()).toBe('TIME_WAIT');
    expect(d.left()).toBe(120);
  });

  it('FIN from the server, ACKed: FIN_WAIT -> CLOSE_WAIT (kernel: misc, port 41005)', () => {
    const d = new Driver();
    established(d);
    d.send(s2c('F.', { seq: 5001, ack: 1001, win: 509 }));
    expect(d.tcpState()).toBe('FIN_WAIT');
    expect(d.only().tcp!.seen[1].flags & TcpFlagCt.CLOSE_INIT).toBeTruthy();
    d.send(c2s('.', { seq: 1001, ack: 5002, win: 502 }));
    expect(d.tcpState()).toBe('CLOSE_WAIT');
    expect(d.left()).toBe(60);
    d.send(c2s('F.', { seq: 1001, ack: 5002, win: 502 }));
    expect(d.tcpState()).toBe('LAST_ACK');
    d.send(s2c('.', { seq: 5002, ack: 1002, win: 509 }));
    expect(d.tcpState()).toBe('TIME_WAIT');
  });

  it('a FIN before the SYN/ACK is invalid (table: FIN in SYN_SENT)', () => {
    const d = new Driver();
    d.send(c2s('S', { seq: 1000 }));
    const o = d.send(c2s('F.', { seq: 1001, ack: 1 }));
    expect(o.state).toBe('invalid');
    expect(o.reason).toMatch(/FIN .*invalid in state SYN_SENT/);
    expect(d.tcpState()).toBe('SYN_SENT');
  });
});

describe('RST', () => {
  it('in-window RST from the client closes: CLOSE, 10 s (kernel: rst)', () => {
    const d = new Driver();
    established(d);
    const o = d.send(c2s('R.', { seq: 1001, ack: 5001, win: 0 }));
    expect(o.state).toBe('established');
    expect(d.tcpState()).toBe('CLOSE');
    expect(d.left()).toBe(10);
  });

  it('exact RST from the server closes (seq == td_maxack of the client)', () => {
    const d = new Driver();
    established(d);
    d.send(s2c('R.', { seq: 5001, ack: 1001, win: 0 }));
    expect(d.tcpState()).toBe('CLOSE');
  });

  it('in-window but inexact RST keeps ESTABLISHED, waiting for a challenge ACK (kernel: misc, port 41001)', () => {
    const d = new Driver();
    established(d);
    const o = d.send(s2c('R.', { seq: 5100, ack: 1001, win: 0 }));
    expect(o.state).toBe('established');
    expect(d.tcpState()).toBe('ESTABLISHED');
    // the timeout is the RST one all the same (index RST -> timeouts[CLOSE])
    expect(d.left()).toBe(10);
  });

  it('RST with seq below the peer\'s max ACK is invalid and changes nothing (tcp_packet "invalid rst"; kernel: rst)', () => {
    const d = new Driver();
    established(d);
    const before = d.left();
    const o = d.send(s2c('R', { seq: 4000, win: 0 }), 1);
    expect(o.state).toBe('invalid');
    expect(o.reason).toMatch(/invalid RST: seq 4000 is below 5001/);
    expect(d.tcpState()).toBe('ESTABLISHED');
    expect(d.left()).toBe(before - 1);
  });

  it('tcp_ignore_invalid_rst lets that RST through', () => {
    const d = new Driver({ tcp_ignore_invalid_rst: true });
    established(d);
    const o = d.send(s2c('R', { seq: 4000, win: 0 }));
    expect(o.state).toBe('established');
  });

  it('RST far out of window is invalid (tcp_in_window I; kernel: rst)', () => {
    const d = new Driver();
    established(d);
    const o = d.send(c2s('R', { seq: 900000000, win: 0 }));
    expect(o.state).toBe('invalid');
    expect(o.reason).toMatch(/SEQ is over the upper bound/);
    expect(d.tcpState()).toBe('ESTABLISHED');
  });

  it('RST answering a SYN (seq 0, ack = ISN+1) deletes the unreplied entry (tcp_packet, nf_ct_kill_acct; kernel: syn_retrans)', () => {
    const d = new Driver();
    d.send(c2s('S', { seq: 1000 }));
    const o = d.send(s2c('R.', { seq: 0, ack: 1001, win: 0 }));
    expect(o.state).toBe('established');
    expect(o.reply).toBe(true);
    expect(o.reason).toMatch(/entry is deleted/);
    expect(d.ct.entries(d.now)).toHaveLength(0);
    expect(d.ct.stats.rstKilled).toBe(1);
  });

  it('RST answering a SYN but acking the wrong sequence is invalid (kernel: misc, port 41000)', () => {
    const d = new Driver();
    d.send(c2s('S', { seq: 1000 }));
    const o = d.send(s2c('R.', { seq: 0, ack: 5555, win: 0 }));
    expect(o.state).toBe('invalid');
    expect(o.reason).toMatch(/ACK is over the upper bound/);
    expect(d.tcpState()).toBe('SYN_SENT');
  });
});

describe('SYN handling', () => {
  it('retransmitted SYN is "new" and does not renew the timeout (tcp_packet)', () => {
    const d = new Driver();
    d.send(c2s('S', { seq: 1000 }));
    const o = d.send(c2s('S', { seq: 1000 }), 1.5);
    expect(o.state).toBe('new');
    expect(o.code).toBe(CtCode.TRACKED);
    expect(d.left()).toBe(118.5);
  });

  it('simultaneous open: SYN_SENT -> SYN_SENT2 -> SYN_RECV -> ESTABLISHED (kernel: simopen)', () => {
    const d = new Driver();
    d.send(c2s('S', { seq: 1000, win: 64240, wscale: 7 }));
    const syn2 = d.send(s2c('S', { seq: 5000, win: 65160, wscale: 7 }));
    expect(syn2.state).toBe('established');
    expect(d.tcpState()).toBe('SYN_SENT2');
    d.send(c2s('S.', { seq: 1000, ack: 5001, win: 64240, wscale: 7 }));
    expect(d.tcpState()).toBe('SYN_RECV');
    expect(d.send(s2c('S.', { seq: 5000, ack: 1001, win: 65160, wscale: 7 })).code).toBe(CtCode.IGNORED);
    d.send(c2s('.', { seq: 1001, ack: 5001, win: 502 }));
    expect(d.tcpState()).toBe('ESTABLISHED');
    expect(d.only().assured).toBe(true);
  });

  it('SYN in ESTABLISHED is ignored; a SYN/ACK acking it resyncs to SYN_RECV (tcp_packet IGNORE; kernel: resync)', () => {
    const d = new Driver();
    established(d);
    const syn = d.send(c2s('S', { seq: 777000, win: 64240, wscale: 5 }));
    expect(syn.state).toBe('established');
    expect(syn.code).toBe(CtCode.IGNORED);
    expect(syn.reason).toMatch(/SYN in the original direction ignored in state ESTABLISHED/);
    expect(d.tcpState()).toBe('ESTABLISHED');
    d.send(s2c('S.', { seq: 99000, ack: 777001, win: 65160, wscale: 6 }));
    expect(d.tcpState()).toBe('SYN_RECV');
    const t = d.only().tcp!;
    expect(t.seen[0].td_end).toBe(777001);
    expect(t.seen[0].td_scale).toBe(5);
    expect(t.seen[1].td_scale).toBe(6);
    d.send(c2s('.', { seq: 777001, ack: 99001, win: 600 }));
    expect(d.tcpState()).toBe('ESTABLISHED');
  });

  it('half-open: an ACK from the server in SYN_SENT is ignored but marks the reply seen (kernel: misc, port 41003)', () => {
    const d = new Driver();
    d.send(c2s('S', { seq: 1000 }));
    const o = d.send(s2c('.', { seq: 5000, ack: 1001, win: 500 }));
    expect(o.state).toBe('established');
    expect(o.code).toBe(CtCode.IGNORED);
    expect(d.tcpState()).toBe('SYN_SENT');
    expect(d.only().seenReply).toBe(true);
  });

  it('SYN/ACK from the client in ESTABLISHED is invalid (6.x table; kernel: misc, port 41002)', () => {
    const d = new Driver();
    established(d);
    expect(d.send(c2s('S.', { seq: 1000, ack: 5001, win: 502 })).state).toBe('invalid');
  });
});

describe('TIME_WAIT / CLOSE reopen (tcp_packet: nf_ct_kill + -NF_REPEAT)', () => {
  function timeWait(d: Driver): void {
    established(d);
    d.send(c2s('F.', { seq: 1001, ack: 5001, win: 502 }));
    d.send(s2c('F.', { seq: 5001, ack: 1002, win: 509 }));
    d.send(c2s('.', { seq: 1002, ack: 5002, win: 502 }));
  }

  it('a new SYN from the client replaces the TIME_WAIT entry (kernel: handshake)', () => {
    const d = new Driver();
    timeWait(d);
    const old = d.only();
    const o = d.send(c2s('S', { seq: 90000, win: 64240 }));
    expect(o.state).toBe('new');
    expect(o.code).toBe(CtCode.NEW);
    const now = d.only();
    expect(now).not.toBe(old);
    expect(now.tcpStateName).toBe('SYN_SENT');
    expect(d.ct.stats.reopened).toBe(1);
  });

  it('a SYN from the server reopens with roles swapped (kernel: twreply)', () => {
    const d = new Driver();
    timeWait(d);
    const o = d.send(s2c('S', { seq: 33000 }));
    expect(o.state).toBe('new');
    const e = d.only();
    expect(e.orig.sport).toBe(8080);
    expect(e.orig.dport).toBe(51514);
  });

  it('the old entry is gone even if the filter drops the reopening SYN', () => {
    const d = new Driver();
    timeWait(d);
    d.send(c2s('S', { seq: 90000 }), 0, false);
    expect(d.ct.entries(d.now)).toHaveLength(0);
  });

  it('after an RST from this side, a SYN reopens the CLOSE entry (kernel: rst)', () => {
    const d = new Driver();
    established(d);
    d.send(c2s('R.', { seq: 1001, ack: 5001, win: 0 }));
    expect(d.send(c2s('S', { seq: 2000 })).state).toBe('new');
    expect(d.tcpState()).toBe('SYN_SENT');
  });

  it('after an RST from the other side, a SYN is only ignored (kernel: rst)', () => {
    const d = new Driver();
    established(d);
    d.send(s2c('R.', { seq: 5001, ack: 1001, win: 0 }));
    const o = d.send(c2s('S', { seq: 3000 }));
    expect(o.state).toBe('established');
    expect(o.code).toBe(CtCode.IGNORED);
    expect(d.tcpState()).toBe('CLOSE');
  });
});

describe('RFC 5961 challenge ACK in LAST_ACK (kernel: challenge)', () => {
  it('the ACK answering a SYN in LAST_ACK does not move to TIME_WAIT; the next one does', () => {
    const d = new Driver();
    established(d);
    d.send(s2c('F.', { seq: 5001, ack: 1001, win: 509 }));
    d.send(c2s('F.', { seq: 1001, ack: 5002, win: 502 }));
    expect(d.tcpState()).toBe('LAST_ACK');
    d.send(c2s('S', { seq: 555000, win: 64240 }));
    const ch = d.send(s2c('.', { seq: 5002, ack: 1002, win: 509 }));
    expect(ch.code).toBe(CtCode.IGNORED);
    expect(ch.reason).toMatch(/challenge ACK/);
    expect(d.tcpState()).toBe('LAST_ACK');
    d.send(s2c('.', { seq: 5002, ack: 1002, win: 509 }));
    expect(d.tcpState()).toBe('TIME_WAIT');
  });
});

describe('tcp_loose', () => {
  it('tcp_loose=1 picks up a mid-stream ACK as ESTABLISHED, unreplied timeout capped at 300 s (tcp_new; kernel: loose)', () => {
    const d = new Driver();
    const o = d.send(c2s('P.', { seq: 1000000, ack: 2000000, win: 502, len: 100 }));
    expect(o.state).toBe('new');
    expect(o.reason).toMatch(/picked up mid-stream/);
    const e = d.only();
    expect(e.tcpStateName).toBe('ESTABLISHED');
    expect(e.assured).toBe(false);
    expect(d.left()).toBe(300);
    expect(e.tcp!.seen[0].flags & TcpFlagCt.BE_LIBERAL).toBeTruthy();
    expect(e.tcp!.seen[1].flags & TcpFlagCt.BE_LIBERAL).toBeTruthy();
    // the reply makes it ASSURED (ESTABLISHED -> ESTABLISHED with SEEN_REPLY)
    d.send(s2c('.', { seq: 2000000, ack: 1000100, win: 509 }));
    d.send(c2s('.', { seq: 1000100, ack: 2000000, win: 502 }));
    expect(d.only().assured).toBe(true);
  });

  it('a picked-up connection checks windows liberally: far-off seq is accepted (nf_tcp_log_invalid; kernel: loose)', () => {
    const d = new Driver();
    d.send(c2s('P.', { seq: 1000000, ack: 2000000, win: 502, len: 100 }));
    d.send(s2c('.', { seq: 2000000, ack: 1000100, win: 509 }));
    expect(d.send(c2s('.', { seq: 7000100, ack: 2000000, win: 502 })).state).toBe('established');
  });

  it('tcp_loose=0: no pickup (kernel: noloose)', () => {
    const d = new Driver({ tcp_loose: false });
    const o = d.send(c2s('P.', { seq: 1000000, ack: 2000000, win: 502, len: 100 }));
    expect(o.state).toBe('invalid');
    expect(o.code).toBe(CtCode.INVALID_NEW);
    expect(o.reason).toMatch(/tcp_loose=0/);
    expect(d.ct.size).toBe(0);
    expect(d.send(c2s('S', { seq: 1000 })).state).toBe('new');
  });

  it('a FIN or RST never picks up a connection (table: FIN/RST in NONE is invalid; kernel: loose)', () => {
    const d = new Driver();
    expect(d.send(c2s('F.', { seq: 1, ack: 2 })).state).toBe('invalid');
    expect(d.send(c2s('R.', { seq: 1, ack: 2 })).state).toBe('invalid');
    expect(d.ct.size).toBe(0);
  });
});

describe('tcp_error: flag combinations', () => {
  for (const f of ['', 'SF', 'F', 'SR', 'SRF', 'FR.', 'P', 'U']) {
    it(`flags "${f || 'none'}" are invalid`, () => {
      const d = new Driver();
      const o = d.send(c2s(f, { seq: 1, ack: 2 }));
      expect(o.state).toBe('invalid');
      expect(o.reason).toMatch(/invalid TCP flag combination/);
    });
  }
  it('names the flags in tcpdump\'s order, as the packet column does ("Flags [FS]" for SYN|FIN)', () => {
    const d = new Driver();
    const o = d.send(c2s('SF', { seq: 1, ack: 2 }));
    expect(o.reason).toContain('invalid TCP flag combination FS (tcp_error)');
  });
  for (const f of ['S', 'SU', 'SE', 'SEW', 'SP']) {
    it(`flags "${f}" open a connection (PSH/ECE/CWR always allowed, SYN|URG valid)`, () => {
      const d = new Driver();
      expect(d.send(c2s(f, { seq: 1 })).state).toBe('new');
    });
  }
});

describe('window tracking (tcp_in_window)', () => {
  it('SEQ over the upper bound is invalid and leaves the entry unchanged (kernel: window)', () => {
    const d = new Driver();
    established(d);
    const snap = JSON.stringify(d.only().tcp);
    const deadline = d.only().deadline;
    const o = d.send(c2s('P.', { seq: 900000000, ack: 5001, win: 502, len: 10 }), 5);
    expect(o.state).toBe('invalid');
    expect(o.code).toBe(CtCode.INVALID);
    expect(o.reason).toBe(
      'SEQ is over the upper bound (over the window of the receiver): seq 900000000 outside [4294903137, 66161]',
    );
    expect(o.about).toBe(d.only());
    expect(JSON.stringify(d.only().tcp)).toBe(snap);
    expect(d.only().deadline).toBe(deadline);
  });

  it('ACK over the upper bound is invalid and leaves the entry unchanged (kernel: window)', () => {
    const d = new Driver();
    established(d);
    const snap = JSON.stringify(d.only().tcp);
    const o = d.send(c2s('P.', { seq: 1001, ack: 900000000, win: 502, len: 10 }));
    expect(o.state).toBe('invalid');
    expect(o.reason).toMatch(/^ACK is over the upper bound \(ACKed data not seen yet\): ack 900000000 is past 5001/);
    expect(JSON.stringify(d.only().tcp)).toBe(snap);
  });

  it('an old retransmission below the window is let through untouched (IGNORE: SEQ under lower bound)', () => {
    const d = new Driver();
    established(d, false);
    // move the client far ahead: 60 segments of 1000 bytes, each acked
    let seq = 1001;
    for (let i = 0; i < 70; i++) {
      d.send(c2s('P.', { seq, ack: 5001, win: 502, len: 1000 }));
      seq += 1000;
      d.send(s2c('.', { seq: 5001, ack: seq, win: 1000 }));
    }
    const o = d.send(c2s('P.', { seq: 1001, ack: 5001, win: 502, len: 1000 }));
    expect(o.state).toBe('established');
    expect(o.code).toBe(CtCode.IGNORED);
    expect(o.reason).toMatch(/SEQ is under the lower bound/);
  });

  it('window scale applies only when both sides sent it (tcp_init_sender; kernel: scale / noscale)', () => {
    const both = new Driver();
    established(both, true);
    expect(both.only().tcp!.seen[0].td_scale).toBe(7);
    expect(both.only().tcp!.seen[1].td_scale).toBe(7);

    const one = new Driver();
    one.send(c2s('S', { seq: 1000, win: 64240, wscale: 7 }));
    one.send(s2c('S.', { seq: 5000, ack: 1001, win: 65160 }));
    expect(one.only().tcp!.seen[0].td_scale).toBe(0);
    expect(one.only().tcp!.seen[1].td_scale).toBe(0);
    one.send(c2s('.', { seq: 1001, ack: 5001, win: 502 }));
    // the client's window is 502 bytes unscaled: the server's 2nd KB overshoots it (kernel: noscale step 4)
    one.send(s2c('P.', { seq: 5001, ack: 1001, win: 509, len: 1000 }));
    const over = one.send(s2c('P.', { seq: 6001, ack: 1001, win: 509, len: 1000 }));
    expect(over.code).toBe(CtCode.IGNORED);
    expect(over.reason).toMatch(/bytes more than the receiver's window allows/);
  });

  it('wscale above 14 is clamped to 14 (tcp_options)', () => {
    const d = new Driver();
    d.send(c2s('S', { seq: 1000, wscale: 20 }));
    expect(d.only().tcp!.seen[0].td_scale).toBe(14);
  });

  it('SACK blocks count as the ACK when the receiver allowed SACK (tcp_sack; kernel: window)', () => {
    const d = new Driver();
    established(d);
    d.send(s2c('P.', { seq: 5001, ack: 1001, win: 509, len: 100 }));
    // a SACK block beyond anything the server sent is over the upper bound
    const o = d.send(c2s('.', { seq: 1001, ack: 5001, win: 502, sack: 7100 }));
    expect(o.state).toBe('invalid');
    expect(o.reason).toMatch(/ack 7100/);
  });

  it('tcp_be_liberal accepts out-of-window segments (nf_tcp_log_invalid; kernel: liberal)', () => {
    const d = new Driver({ tcp_be_liberal: true });
    established(d);
    const o = d.send(c2s('P.', { seq: 900000000, ack: 5001, win: 502, len: 10 }));
    expect(o.state).toBe('established');
    expect(o.reason).toMatch(/accepted anyway \(tcp_be_liberal=1\)/);
  });

  it('sequence numbers wrap around 2^32', () => {
    const d = new Driver();
    d.send(c2s('S', { seq: 0xffffff00, win: 64240 }));
    d.send(s2c('S.', { seq: 0xfffffff0, ack: 0xffffff01, win: 65160 }));
    d.send(c2s('.', { seq: 0xffffff01, ack: 0xfffffff1, win: 64240 }));
    const o = d.send(c2s('P.', { seq: 0xffffff01, ack: 0xfffffff1, win: 64240, len: 1000 }));
    expect(o.state).toBe('established');
    expect(d.only().tcp!.seen[0].td_end).toBe((0xffffff01 + 1000) >>> 0);
    expect(d.send(s2c('.', { seq: 0xfffffff1, ack: (0xffffff01 + 1000) >>> 0, win: 65160 })).state).toBe('established');
  });
});

describe('timeouts chosen by tcp_packet', () => {
  it('unacknowledged data caps the timeout at 300 s until ACKed (kernel: handshake)', () => {
    const d = new Driver();
    established(d);
    d.send(c2s('P.', { seq: 1001, ack: 5001, win: 502, len: 100 }));
    expect(d.only().tcp!.seen[0].flags & TcpFlagCt.DATA_UNACKNOWLEDGED).toBeTruthy();
    expect(d.left()).toBe(300);
    d.send(s2c('.', { seq: 5001, ack: 1101, win: 509 }));
    expect(d.left()).toBe(432000);
  });

  it('tcp_max_retrans identical ACK segments switch to the max_retrans timeout (kernel: retrans)', () => {
    const d = new Driver({ tcp_timeout_max_retrans: 200, tcp_timeout_unacknowledged: 250 });
    established(d);
    const seg = () => c2s('P.', { seq: 1001, ack: 5001, win: 502, len: 100 });
    d.send(seg());
    expect(d.left()).toBe(250); // unacknowledged
    for (let i = 1; i <= 3; i++) {
      d.send(seg());
      expect(d.only().tcp!.retrans).toBe(i);
    }
    expect(d.left()).toBe(200); // retrans >= 3
    d.send(s2c('.', { seq: 5001, ack: 1101, win: 509 }));
    expect(d.only().tcp!.retrans).toBe(0);
    expect(d.left()).toBe(432000);
  });

  it('a zero window (last_win == 0) uses the max_retrans timeout (kernel: window)', () => {
    const d = new Driver();
    established(d);
    d.send(c2s('.', { seq: 1001, ack: 5001, win: 0 }));
    expect(d.left()).toBe(300);
  });

  it('out-of-window FIN answered by out-of-window FIN lowers an ASSURED entry to 300 s (nf_tcp_handle_invalid; kernel: finoow)', () => {
    const d = new Driver();
    established(d);
    expect(d.send(c2s('F.', { seq: 800000000, ack: 5001, win: 502 })).state).toBe('invalid');
    expect(d.left()).toBe(432000);
    const o = d.send(s2c('F.', { seq: 900000000, ack: 1001, win: 509 }));
    expect(o.state).toBe('invalid');
    expect(o.reason).toMatch(/timeout lowered to 300 s/);
    expect(d.left()).toBe(300);
  });

  it("state names are the kernel's", () => {
    expect(TCP_STATE_NAMES).toEqual([
      'NONE',
      'SYN_SENT',
      'SYN_RECV',
      'ESTABLISHED',
      'FIN_WAIT',
      'CLOSE_WAIT',
      'LAST_ACK',
      'TIME_WAIT',
      'CLOSE',
      'SYN_SENT2',
    ]);
  });
});

describe('IPv6 TCP', () => {
  it('handshake and RST over IPv6 (kernel: v6)', () => {
    const d = new Driver();
    const a = '[fd01::2]:40000';
    const b = '[fd02::2]:8080';
    expect(d.send(tcp(`${a} > ${b}`, 'S', { seq: 1000, win: 64240, wscale: 7 })).state).toBe('new');
    expect(d.send(tcp(`${b} > ${a}`, 'S.', { seq: 5000, ack: 1001, win: 65160, wscale: 7 })).state).toBe('established');
    d.send(tcp(`${a} > ${b}`, '.', { seq: 1001, ack: 5001, win: 502 }));
    expect(d.tcpState()).toBe('ESTABLISHED');
    expect(d.only().l3).toBe(6);
    d.send(tcp(`${b} > ${a}`, 'R', { seq: 5001, win: 0 }));
    expect(d.tcpState()).toBe('CLOSE');
  });
});
