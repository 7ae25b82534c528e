/**
 * `fwemu sockets` against `ss -tan`: real TCP connections between two
 * network namespaces, ended in each way TCP ends (see sockets/peers.py:
 * client or server closing first, a half-close, an abort by RST, a refused
 * SYN, one left open), captured with tcpdump. After the last packet, the
 * state fwemu gives each socket from the capture must be the state the
 * kernel's `ss` shows for it, and a socket fwemu calls UNCONN (closed) must
 * be one ss no longer lists.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect } from 'vitest';
import { kernelTest } from './kit.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PEERS = fileURLToPath(new URL('./sockets/peers.py', import.meta.url));
const NS_C = `fwemu-k-${process.pid}-skc`;
const NS_S = `fwemu-k-${process.pid}-sks`;
const CLIENT = '10.1.0.2';
const SERVER = '10.1.0.1';
const dir = mkdtempSync(join(tmpdir(), 'fwemu-sockets-'));
const children: ChildProcess[] = [];

function sh(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
  spawnSync('ip', ['netns', 'del', NS_C]);
  spawnSync('ip', ['netns', 'del', NS_S]);
  if (!process.env.FWEMU_KEEP_TMP) rmSync(dir, { recursive: true, force: true });
});

/** Starts `args` in namespace `ns` and resolves once `ready` appears in its stdout or stderr. */
function start(ns: string, args: string[], ready: RegExp): Promise<ChildProcess> {
  const child = spawn('ip', ['netns', 'exec', ns, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let seen = '';
  return new Promise((resolve, reject) => {
    const look = (d: Buffer) => {
      seen += d.toString();
      if (ready.test(seen)) resolve(child);
    };
    child.stdout?.on('data', look);
    child.stderr?.on('data', look);
    child.on('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code} before ${ready}: ${seen}`)));
  });
}

/** ss -tan in a namespace: "local peer" -> state, listening sockets apart. */
function ss(ns: string): { conns: Map<string, string>; listening: string[] } {
  const conns = new Map<string, string>();
  const listening: string[] = [];
  for (const line of sh('ip', ['netns', 'exec', ns, 'ss', '-tanH']).split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 5) continue;
    if (f[0] === 'LISTEN') listening.push(f[3]);
    else conns.set(`${f[3]} ${f[4]}`, f[0]);
  }
  return { conns, listening: listening.sort() };
}

/** The port peers.py connects to last, where nothing listens (its REFUSED). */
const REFUSED_PORT = 7999;

/** Waits until `count` packets of `cap` match `filter` (a hang guard of 60 s, far above any machine's need). */
async function capturedThrough(cap: string, filter: string, count: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const r = spawnSync('tcpdump', ['-nr', cap, filter], { encoding: 'utf8' });
    if (r.stdout.split('\n').filter(Boolean).length >= count) return;
    if (Date.now() > deadline) throw new Error(`tcpdump wrote fewer than ${count} packets of "${filter}" in 60 s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

interface Conn {
  local: string;
  peer: string;
  state: string;
  story: string | null;
}

describe('fwemu sockets', () => {
  kernelTest(
    'gives every socket the state ss shows after the last packet',
    async () => {
      for (const ns of [NS_C, NS_S]) {
        spawnSync('ip', ['netns', 'del', ns]);
        sh('ip', ['netns', 'add', ns]);
        sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
      }
      sh('ip', ['link', 'add', 'skc', 'netns', NS_C, 'type', 'veth', 'peer', 'name', 'sks', 'netns', NS_S]);
      sh('ip', ['-n', NS_C, 'addr', 'add', `${CLIENT}/24`, 'dev', 'skc']);
      sh('ip', ['-n', NS_S, 'addr', 'add', `${SERVER}/24`, 'dev', 'sks']);
      sh('ip', ['-n', NS_C, 'link', 'set', 'skc', 'up']);
      sh('ip', ['-n', NS_S, 'link', 'set', 'sks', 'up']);

      const cap = join(dir, 'sockets.pcap');
      const tcpdump = await start(NS_S, ['tcpdump', '-i', 'sks', '-U', '-n', '-w', cap, 'tcp'], /listening on/);
      await start(NS_S, ['/usr/bin/python3', PEERS, 'server', SERVER], /listening/);
      await start(NS_C, ['/usr/bin/python3', PEERS, 'client', SERVER], /done/);
      const kernel: Record<string, ReturnType<typeof ss>> = { [CLIENT]: ss(NS_C), [SERVER]: ss(NS_S) };
      // tcpdump stops at SIGINT without writing what it has not read yet: on a
      // busy machine that is the tail of the capture. The refused SYN and its
      // RST come last, so once both are in the file, so is everything before.
      await capturedThrough(cap, `tcp port ${REFUSED_PORT}`, 2);
      const stopped = new Promise((resolve) => tcpdump.on('exit', resolve));
      tcpdump.kill('SIGINT');
      await stopped;

      const r = spawnSync(process.execPath, [join(ROOT, 'bin/fwemu.js'), 'sockets', cap, '-f', 'json'], {
        encoding: 'utf8',
      });
      expect(r.status, r.stderr).toBe(0);
      const hosts = JSON.parse(r.stdout) as { addr: string; listening: string[]; conns: Conn[] }[];
      const byAddr = new Map(hosts.map((h) => [h.addr, h]));

      // The listener: every port a SYN/ACK came from is one ss lists as LISTEN.
      expect(byAddr.get(SERVER)?.listening.sort()).toEqual(kernel[SERVER].listening);

      const seen = new Set<string>();
      for (const h of hosts) {
        for (const c of h.conns) {
          const key = `${c.local} ${c.peer}`;
          seen.add(`${h.addr} ${key}`);
          expect(c.state, `${h.addr}: ${key} (${c.story ?? 'open'})`).toBe(kernel[h.addr].conns.get(key) ?? 'UNCONN');
        }
      }
      for (const [addr, k] of Object.entries(kernel)) {
        for (const key of k.conns.keys()) expect(seen.has(`${addr} ${key}`), `ss lists ${key} in ${addr}`).toBe(true);
      }

      // The stories, by server port.
      const story = (port: number) => byAddr.get(CLIENT)?.conns.find((c) => c.peer === `${SERVER}:${port}`)?.story;
      expect(story(7001)).toBe('closed by the client');
      expect(story(7002)).toBe('closed by the server');
      expect(story(7003)).toBe('closed by the client');
      expect(story(7004)).toBeNull();
      expect(story(7005)).toBe('reset by the server');
      expect(story(7999)).toBe('refused');
      // What the kernel shows, spelt out: the states this test covers.
      expect([...kernel[CLIENT].conns.values(), ...kernel[SERVER].conns.values()].sort()).toEqual(
        ['CLOSE-WAIT', 'ESTAB', 'ESTAB', 'FIN-WAIT-2', 'TIME-WAIT', 'TIME-WAIT'].sort(),
      );
    },
    120_000,
  );
});
