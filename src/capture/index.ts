export { CaptureError, Direction, LinkType, StopReading } from './types.js';
export type { CaptureRecord, CaptureSummary, CaptureWarning, DirectionValue, LinkTypeValue } from './types.js';
export { CaptureParser } from './parser.js';
export { MAX_CAPLEN } from './pcap.js';
export { readCapture, readCaptureBuffer, DEFAULT_CHUNK_SIZE } from './read.js';
export type { ReadCaptureOptions } from './read.js';
export { PcapWriter, PcapngWriter, DEFAULT_SNAPLEN } from './write.js';
export type { PcapWriterOptions, PcapngWriterOptions } from './write.js';
