/** A sharded replay's summary figures: the sum of its shards'. */
import type { EngineStats } from '../engine/engine.js';
import type { ShardConntrack } from './shard-protocol.js';

export function sumStats(all: EngineStats[]): EngineStats {
  const s = structuredClone(all[0]);
  for (const o of all.slice(1)) {
    s.packets += o.packets;
    for (const v of Object.keys(s.verdicts) as (keyof EngineStats['verdicts'])[]) s.verdicts[v] += o.verdicts[v];
    for (const c of Object.keys(s.byCause)) s.byCause[c] += o.byCause[c];
    o.ruleHits.forEach((n, i) => {
      s.ruleHits[i] += n;
    });
    for (const c of Object.keys(s.policyHits) as (keyof EngineStats['policyHits'])[])
      s.policyHits[c] += o.policyHits[c];
    s.undecodable += o.undecodable;
    s.nonIp += o.nonIp;
    s.flows += o.flows;
    o.counters?.forEach((c, i) => {
      const t = s.counters?.[i];
      if (t !== undefined) {
        t.packets += c.packets;
        t.bytes += c.bytes;
      }
    });
  }
  return s;
}

export function sumConntrack(all: (ShardConntrack | null)[]): ShardConntrack | null {
  if (all[0] === null) return null;
  const s = { live: 0, earlyDrop: 0, tableFull: 0 };
  for (const c of all as ShardConntrack[]) {
    s.live += c.live;
    s.earlyDrop += c.earlyDrop;
    s.tableFull += c.tableFull;
  }
  return s;
}
