/**
 * The rule file of issue 18's fields that the kernel test
 * (test/kernel/fw-model18.test.ts) replays and the iptables export test
 * loads: negation, marks, fib, rpfilter, notrack and ct state in a raw
 * chain, a chain of family ip.
 */
// No default route: a source outside every network has no route back (the reverse-path check).
export const MODEL18 = `
name: model18
interfaces:
  lan0: { addresses: [192.168.1.1/24, "fd00:1::1/64"] }
  wan0: { addresses: [203.0.113.1/24, "2001:db8:1::1/64"], networks: [198.51.100.0/24, "2001:db8:5::/48"] }
chains:
  raw:
    hook: prerouting
    priority: raw
    rules:
      - { id: rpf, fib: "saddr . iif oif missing", action: drop }
      - { id: raw-invalid, proto: udp, dport: 7, ct_state: invalid, action: drop }
      - { id: raw-not-invalid, proto: udp, dport: 9, not: { ct_state: invalid }, action: drop }
      - { id: no-ntp, proto: udp, dport: 123, notrack: true }
  mangle:
    hook: prerouting
    priority: mangle
    rules:
      - { id: tag-lan, iif: lan0, mark_set: "0x4200/0xff00" }
      - { id: tag-other, not: { iif: lan0 }, mark_set: "0x7" }
  input:
    hook: input
    policy: drop
    rules:
      - { id: in-est, ct_state: [established, related], action: accept }
      - { id: ssh-not-lan, proto: tcp, dport: 22, fib: "daddr type local", not: { src: 192.168.1.0/24 }, action: drop }
      - { id: ssh, proto: tcp, dport: 22, action: accept }
      - { id: bcast, proto: udp, fib: "daddr type broadcast", action: accept }
      - { id: ping-not-lan, proto: icmp, type: echo-request, not: { iif: lan0 }, action: accept }
  forward:
    hook: forward
    policy: drop
    rules:
      - { id: est, ct_state: [established, related], action: accept }
      - { id: untracked, ct_state: untracked, action: accept }
      - { id: tagged, mark: "0x4200/0xff00", proto: tcp, not: { dport: [25, 465] }, action: accept }
      - { id: mark7, mark: 7, proto: udp, action: accept }
  v4only:
    hook: forward
    priority: -10
    family: ip
    policy: drop
    rules:
      - { id: v4-est, ct_state: [established, related], action: accept }
      - { id: v4-tcp, proto: tcp, not: { dport: 8443 }, action: accept }
      - { id: v4-udp, proto: udp, action: accept }
`;
