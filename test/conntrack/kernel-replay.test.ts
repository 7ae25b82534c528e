/**
 * Replays every recorded lab scenario (lab/scenarios, lab/recorded) through
 * fwemu's conntrack and compares with what the Linux kernel did with the same
 * packets: the nft `ct state` of each packet and the full `conntrack -L`
 * listing after it.
 *
 * The recordings were made on Linux 6.18 (conntrack v1.4.7) with
 * lab/record.py: scapy frames sent over veth through a forwarding namespace
 * whose nft forward chain counts `ct state` and accepts everything (so every
 * packet is confirmed). Packet times are the recorded ones; listed timeouts may
 * differ by one second (jiffies vs. the exact capture clock).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConntrackTable } from '../../src/conntrack/index.js';
import { formatConntrackEntry, formatConntrackEvent } from '../../src/report/conntrack-list.js';
import { scenarioSettings, stepPacket, type Recording, type Scenario } from './scenario.js';

const LAB = join(dirname(fileURLToPath(import.meta.url)), 'lab');
const names = readdirSync(join(LAB, 'recorded'))
  .filter((f) => f.endsWith('.json'))
  .sort();

/** Split a -L line into (text before timeout, timeout, text after). */
function splitTimeout(line: string): [string, number, string] {
  const m = /^(\S+\s+\d+ )(\d+)( .*)$/.exec(line);
  if (!m) return [line, 0, ''];
  return [m[1], Number(m[2]), m[3]];
}

/** Split a -E line into (text before timeout, timeout or -1, text after). */
function splitEvent(line: string): [string, number, string] {
  const m = /^(.{9} \S+\s+\d+ )(\d+)( .*)$/.exec(line);
  if (!m) return [line, -1, ''];
  return [m[1], Number(m[2]), m[3]];
}

describe('replay of kernel-recorded scenarios', () => {
  it('has recordings', () => {
    expect(names.length).toBeGreaterThan(10);
  });
  for (const name of names) {
    it(name.replace(/\.json$/, ''), () => {
      const scen = JSON.parse(readFileSync(join(LAB, 'scenarios', name), 'utf8')) as Scenario;
      const rec = JSON.parse(readFileSync(join(LAB, 'recorded', name), 'utf8')) as Recording;
      const ct = new ConntrackTable(scenarioSettings(scen));
      const events: string[] = [];
      ct.onEvent = (ev) => events.push(formatConntrackEvent(ev));
      const base = 1_700_000_000;
      for (const r of rec.steps) {
        const step = scen.steps[r.i];
        const res = ct.process(stepPacket(step), base + r.t, r.i + 1);
        const where = `${name} step ${r.i} (${JSON.stringify(step)}): ${res.reason}`;
        expect(res.stateName, where).toBe(r.state);
        ct.confirm(res);
        const now = base + r.tList;
        const ours = ct
          .entries(now)
          .map((e) => formatConntrackEntry(e, now))
          .sort();
        expect(ours.length, `${where}\nours:\n${ours.join('\n')}\nkernel:\n${r.list.join('\n')}`).toBe(r.list.length);
        // The sorted order may differ when only timeouts differ; match by the text around the timeout.
        const theirs = r.list.map(splitTimeout);
        for (const line of ours) {
          const [a, t, b] = splitTimeout(line);
          const k = theirs.find((x) => x[0] === a && x[2] === b);
          expect(k, `${where}\nno kernel line like:\n${line}\nkernel:\n${r.list.join('\n')}`).toBeDefined();
          expect(Math.abs(k![1] - t), `${where}\n${line}`).toBeLessThanOrEqual(1);
        }
      }
      // conntrack -E: same events in the same order (timeouts within a second).
      const msg = `${name} events\nours:\n${events.join('\n')}\nkernel:\n${rec.events.join('\n')}`;
      expect(events.length, msg).toBe(rec.events.length);
      events.forEach((line, i) => {
        const [a, t, b] = splitEvent(line);
        const [ka, kt, kb] = splitEvent(rec.events[i]);
        expect([a, b], msg).toEqual([ka, kb]);
        expect(Math.abs(t - kt), msg).toBeLessThanOrEqual(1);
      });
    });
  }
});
