/**
 * fwemu as a library: `import { replay } from 'fwemu'`. The CLI is built on
 * exactly these entry points.
 */
export { replay, type ReplayOptions, type ReplaySummary, type PacketSource } from './engine/replay.js';
export { Engine, type EngineStats } from './engine/engine.js';
export { Cause, type PacketResult, type Verdict, type CtStateName } from './engine/result.js';
export { explain, describeTuple } from './report/reason.js';
export { loadRuleSet, parseRuleSet, compileRuleSet, formatRuleSet, RuleFileError } from './rules/index.js';
export type { RuleSet, Rule, ConntrackSettings } from './rules/index.js';
// Rules of any format fwemu reads (YAML, nftables, nftables JSON, iptables-save, host files), as -r loads them.
export { loadRuleFiles, NO_HOST, type HostOptions, type RuleFilesResult } from './rules/import/load-rules.js';
export type { Diagnostic } from './base/diag.js';
export { ConntrackTable } from './conntrack/table.js';
export type { CtEntry, CtEvent, CtTuple } from './conntrack/entry.js';
export { formatConntrackEntry, formatConntrackEvent, entryToJson } from './report/conntrack-list.js';
export { readCapture, readCaptureBuffer, PcapWriter, PcapngWriter, CaptureError } from './capture/index.js';
export type { CaptureRecord, CaptureSummary } from './capture/index.js';
export { decodePacket, newDecodedPacket, describePacket } from './packet/index.js';
export type { DecodedPacket, PacketInfo } from './packet/index.js';
