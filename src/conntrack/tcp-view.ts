/**
 * struct ip_ct_tcp and struct ip_ct_tcp_state (the kernel's
 * include/net/netfilter/nf_conntrack_tcp.h) as views over an entry's record.
 *
 * Entries live in typed arrays (entry.ts), not objects, so that a table of a
 * million flows is a few buffers and a segment allocates nothing. The TCP
 * tracker still reads in the kernel's field names: it keeps one TcpView
 * (and its two side views) for the table's life and moves it onto the
 * entry of each segment with at(). The accessors are one typed-array load
 * or store each; V8 inlines them (bench/ab.mjs measured no difference
 * from the offset arithmetic they replaced).
 */
import {
  B_EV,
  B_LAST_DIR,
  B_LAST_FLAGS,
  B_LAST_INDEX,
  B_LAST_WSCALE,
  B_RETRANS,
  B_SIDE0,
  B_TSTATE,
  F_DEADLINE,
  H_LAST_WIN,
  H_STATUS,
  S16,
  S32,
  S64,
  STRIDE,
  W_LAST_ACK,
  W_LAST_END,
  W_LAST_SEQ,
  W_SIDE0,
  type CtStore,
} from './entry.js';

/** Words of a side at W_SIDE0 + 4 * dir. */
const TD_END = 0,
  TD_MAXEND = 1,
  TD_MAXWIN = 2,
  TD_MAXACK = 3;
/** Bytes of a side at B_SIDE0 + 2 * dir. */
const TD_SCALE = 0,
  FLAGS = 1;
/** The bytes memset(&ct->proto.tcp, 0, ...) clears: state, last_*, retrans and both sides. */
const TCP_AREA_START = B_TSTATE;
const TCP_AREA_END = B_SIDE0 + 4;

const NO_U32: Uint32Array = new Uint32Array(0);
const NO_U8: Uint8Array = new Uint8Array(0);
const NO_U16: Uint16Array = new Uint16Array(0);
const NO_F64: Float64Array = new Float64Array(0);

/** struct ip_ct_tcp_state: what conntrack knows of one side's sequence space (seen[dir]). */
export class TcpSideView {
  private w = NO_U32;
  private u8 = NO_U8;
  private wi = 0;
  private bi = 0;

  /** Point at seen[dir] of the entry in record `slot`. */
  at(st: CtStore, slot: number, dir: number): void {
    this.w = st.u32;
    this.u8 = st.u8;
    this.wi = slot * S32 + W_SIDE0 + 4 * dir;
    this.bi = slot * STRIDE + B_SIDE0 + 2 * dir;
  }

  /** Highest sequence number sent + 1 (the end of the data seen). */
  get td_end(): number {
    return this.w[this.wi + TD_END];
  }
  set td_end(v: number) {
    this.w[this.wi + TD_END] = v;
  }
  /** Highest td_end the receiver's window allows (ack + window). */
  get td_maxend(): number {
    return this.w[this.wi + TD_MAXEND];
  }
  set td_maxend(v: number) {
    this.w[this.wi + TD_MAXEND] = v;
  }
  /** Largest window this side announced (0: nothing seen from it yet). */
  get td_maxwin(): number {
    return this.w[this.wi + TD_MAXWIN];
  }
  set td_maxwin(v: number) {
    this.w[this.wi + TD_MAXWIN] = v;
  }
  /** Highest ACK this side sent (valid once flags has MAXACK_SET). */
  get td_maxack(): number {
    return this.w[this.wi + TD_MAXACK];
  }
  set td_maxack(v: number) {
    this.w[this.wi + TD_MAXACK] = v;
  }
  /** Window scale this side announced. */
  get td_scale(): number {
    return this.u8[this.bi + TD_SCALE];
  }
  set td_scale(v: number) {
    this.u8[this.bi + TD_SCALE] = v;
  }
  /** IP_CT_TCP_FLAG_* (TcpFlagCt). */
  get flags(): number {
    return this.u8[this.bi + FLAGS];
  }
  set flags(v: number) {
    this.u8[this.bi + FLAGS] = v;
  }
}

/** struct ip_ct_tcp (ct->proto.tcp), with the few struct nf_conn fields the tracker uses. */
export class TcpView {
  /** seen[0]: the original direction's side; seen[1]: the reply's. */
  readonly seen: readonly [TcpSideView, TcpSideView] = [new TcpSideView(), new TcpSideView()];
  private u8 = NO_U8;
  private u16 = NO_U16;
  private w = NO_U32;
  private f64 = NO_F64;
  private st: CtStore | null = null;
  private slot = 0;
  private b8 = 0;
  private b16 = 0;
  private b32 = 0;

  /** Point at the entry in record `slot` of `st` (its arrays are taken afresh: the store may have grown). */
  at(st: CtStore, slot: number): this {
    this.st = st;
    this.u8 = st.u8;
    this.u16 = st.u16;
    this.w = st.u32;
    this.f64 = st.f64;
    this.slot = slot;
    this.b8 = slot * STRIDE;
    this.b16 = slot * S16;
    this.b32 = slot * S32;
    this.seen[0].at(st, slot, 0);
    this.seen[1].at(st, slot, 1);
    return this;
  }

  /** enum tcp_conntrack (TcpState). */
  get state(): number {
    return this.u8[this.b8 + B_TSTATE];
  }
  set state(v: number) {
    this.u8[this.b8 + B_TSTATE] = v;
  }
  /** Direction of the last segment that updated the entry, or the last ignored one. */
  get last_dir(): number {
    return this.u8[this.b8 + B_LAST_DIR];
  }
  set last_dir(v: number) {
    this.u8[this.b8 + B_LAST_DIR] = v;
  }
  /** Its index (TcpIndex: the table row). */
  get last_index(): number {
    return this.u8[this.b8 + B_LAST_INDEX];
  }
  set last_index(v: number) {
    this.u8[this.b8 + B_LAST_INDEX] = v;
  }
  /** Retransmissions of the same pure ACK in a row. */
  get retrans(): number {
    return this.u8[this.b8 + B_RETRANS];
  }
  set retrans(v: number) {
    this.u8[this.b8 + B_RETRANS] = v;
  }
  get last_seq(): number {
    return this.w[this.b32 + W_LAST_SEQ];
  }
  set last_seq(v: number) {
    this.w[this.b32 + W_LAST_SEQ] = v;
  }
  get last_ack(): number {
    return this.w[this.b32 + W_LAST_ACK];
  }
  set last_ack(v: number) {
    this.w[this.b32 + W_LAST_ACK] = v;
  }
  get last_end(): number {
    return this.w[this.b32 + W_LAST_END];
  }
  set last_end(v: number) {
    this.w[this.b32 + W_LAST_END] = v;
  }
  /** The raw (unscaled) window of that segment. */
  get last_win(): number {
    return this.u16[this.b16 + H_LAST_WIN];
  }
  set last_win(v: number) {
    this.u16[this.b16 + H_LAST_WIN] = v;
  }
  /** Window scale of an ignored SYN, for the resync (b) in the IGNORE case. */
  get last_wscale(): number {
    return this.u8[this.b8 + B_LAST_WSCALE];
  }
  set last_wscale(v: number) {
    this.u8[this.b8 + B_LAST_WSCALE] = v;
  }
  /** TcpFlagCt of an ignored SYN, plus EXP_CHALLENGE_ACK and SIMULTANEOUS_OPEN. */
  get last_flags(): number {
    return this.u8[this.b8 + B_LAST_FLAGS];
  }
  set last_flags(v: number) {
    this.u8[this.b8 + B_LAST_FLAGS] = v;
  }

  /** memset(&ct->proto.tcp, 0, sizeof(ct->proto.tcp)). */
  clear(): void {
    this.u8.fill(0, this.b8 + TCP_AREA_START, this.b8 + TCP_AREA_END);
  }

  /** ct->status (CtStatus bits). */
  get status(): number {
    return this.u16[this.b16 + H_STATUS];
  }

  /** ct->timeout: the capture time the entry expires at (seconds). */
  get timeout(): number {
    return this.f64[this.slot * S64 + F_DEADLINE];
  }
  set timeout(v: number) {
    this.f64[this.slot * S64 + F_DEADLINE] = v;
  }

  /** set_bit(IPS_ASSURED_BIT) and nf_conntrack_event_cache(IPCT_ASSURED). */
  setAssured(): void {
    this.st!.setAssured(this.slot);
  }

  /** nf_conntrack_event_cache(): a CtEventBit to report. */
  eventCache(bit: number): void {
    this.u8[this.b8 + B_EV] |= bit;
  }
}
