/** Linux-faithful connection tracking (see table.ts and tcp.ts for what is modelled). */
export { ConntrackTable } from './table.js';
export { CtResult, type CtStats } from './result.js';
export { CtEntry, CtTuple, hashTuple, type CtEvent, type OpenedBy } from './entry.js';
export { TcpTracker, TCP_TABLE, tcpIndex, tcpFlagsValid } from './tcp.js';
export * from './types.js';
export {
  natApply,
  natFlags,
  natIcmpError,
  natInitialized,
  natNullBinding,
  natPacketTuple,
  natQuotedTuple,
  natSetup,
  natTarget,
  NatFlag,
  NatIcmp,
  NatManip,
  type NatIcmpValue,
  type NatManipValue,
  type NatRange,
} from './nat.js';
