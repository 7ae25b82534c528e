/** Linux-faithful connection tracking (see table.ts and tcp.ts for what is modelled). */
export { ConntrackTable, CtResult, type CtStats } from './table.js';
export { CtEntry, CtTuple, hashTuple, type CtEvent, type OpenedBy } from './entry.js';
export { TcpTracker, TCP_TABLE, tcpIndex, tcpFlagsValid, tcpFlagText } from './tcp.js';
export * from './types.js';
