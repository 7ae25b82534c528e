/**
 * The conntrack sysctls (net.netfilter.nf_conntrack_*): the rule file sets
 * them (`conntrack:`), the tracker and the IPv6 reassembly read them. Both
 * sides import them from here, so neither the rule language nor the
 * tracker imports the other.
 */

/**
 * Tunables, named as the sysctls net.netfilter.nf_conntrack_<name> (all
 * timeouts in seconds). Defaults are the kernel's.
 */
export interface ConntrackSettings {
  /** nf_conntrack_max: entries the table may hold; 0 = unlimited. */
  max: number;
  /** Pick up connections from mid-stream (non-SYN first packet). */
  tcp_loose: boolean;
  /** Only out-of-window RSTs are invalid; other window violations pass. */
  tcp_be_liberal: boolean;
  /** Retransmissions without an acceptable ACK before the max_retrans timeout applies. */
  tcp_max_retrans: number;
  /** Let RSTs with a SEQ below the max ACK through instead of calling them invalid. */
  tcp_ignore_invalid_rst: boolean;
  tcp_timeout_syn_sent: number;
  tcp_timeout_syn_recv: number;
  tcp_timeout_established: number;
  tcp_timeout_fin_wait: number;
  tcp_timeout_close_wait: number;
  tcp_timeout_last_ack: number;
  tcp_timeout_time_wait: number;
  tcp_timeout_close: number;
  tcp_timeout_max_retrans: number;
  tcp_timeout_unacknowledged: number;
  udp_timeout: number;
  udp_timeout_stream: number;
  icmp_timeout: number;
  icmpv6_timeout: number;
  generic_timeout: number;
  /** IPv6 reassembly in front of conntrack (nf_ct_frag6_gather): memory budget, bytes. */
  frag6_high_thresh: number;
  /** Obsolete since Linux 4.17 (the kernel only checks low <= high); accepted for the sysctl's name. */
  frag6_low_thresh: number;
  /** Seconds an incomplete IPv6 datagram is held. */
  frag6_timeout: number;
}

/** Kernel defaults (6.x), as `sysctl net.netfilter` shows them on a fresh namespace. */
export const DEFAULT_CONNTRACK_SETTINGS: Readonly<ConntrackSettings> = Object.freeze({
  tcp_loose: true,
  tcp_be_liberal: false,
  tcp_max_retrans: 3,
  tcp_ignore_invalid_rst: false,
  max: 262144,
  tcp_timeout_syn_sent: 120,
  tcp_timeout_syn_recv: 60,
  tcp_timeout_established: 432000,
  tcp_timeout_fin_wait: 120,
  tcp_timeout_close_wait: 60,
  tcp_timeout_last_ack: 30,
  tcp_timeout_time_wait: 120,
  tcp_timeout_close: 10,
  tcp_timeout_unacknowledged: 300,
  tcp_timeout_max_retrans: 300,
  udp_timeout: 30,
  udp_timeout_stream: 120,
  icmp_timeout: 30,
  icmpv6_timeout: 30,
  generic_timeout: 600,
  // (low before high: written in this order as sysctls, a lower high_thresh is not refused for being below the old low)
  frag6_low_thresh: 3145728,
  frag6_high_thresh: 4194304,
  frag6_timeout: 60,
});
