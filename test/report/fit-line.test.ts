/**
 * columnsOf(): a wide replay line read back into its columns, where they
 * run into each other (a column wider than its padding leaves one space).
 * The lines are written out by hand, as text-line.ts lays them out.
 */
import { describe, expect, it } from 'vitest';
import { columnsOf } from '../../src/report/fit-line.js';

describe('columnsOf', () => {
  it('reads a usual line', () => {
    const line =
      '     1    0.000000  10.1.0.2:47518 > 10.2.0.1:8080               tcp P. +87   established ACCEPT  accepted: packet of ESTABLISHED flow';
    expect(columnsOf(line, 'accept')).toEqual({
      n: '1',
      time: '0.000000',
      endpoints: '10.1.0.2:47518 > 10.2.0.1:8080',
      proto: 'tcp P. +87',
      ct: 'established',
      verdict: 'ACCEPT',
      reason: 'accepted: packet of ESTABLISHED flow',
    });
  });

  it('reads columns that overflow their widths, one space apart', () => {
    const line =
      '1234567  1700000000.123456789  [2001:db8:aaaa:bbbb:cccc:dddd:eeee:1111]:65000 > [2001:db8::2]:443 tcp FSRPAU. +65535 established DROP    dropped:  two  spaces kept';
    expect(columnsOf(line, 'drop')).toEqual({
      n: '1234567',
      time: '1700000000.123456789',
      endpoints: '[2001:db8:aaaa:bbbb:cccc:dddd:eeee:1111]:65000 > [2001:db8::2]:443',
      proto: 'tcp FSRPAU. +65535',
      ct: 'established',
      verdict: 'DROP',
      reason: 'dropped:  two  spaces kept',
    });
  });

  it('reads a frame that is not IP, and a verdict longer than its column', () => {
    const line = `     3    0.000039  -${' '.repeat(43)} arp          -           SKIP    skipped: not an IP packet`;
    expect(columnsOf(line, 'skip')).toMatchObject({
      endpoints: '-',
      proto: 'arp',
      ct: '-',
      reason: 'skipped: not an IP packet',
    });
    const odd = `     4    0.000040  -${' '.repeat(43)} arp          -           SOMETHING explained`;
    expect(columnsOf(odd, 'something')).toMatchObject({ verdict: 'SOMETHING', reason: 'explained' });
  });
});
