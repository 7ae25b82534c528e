#!/usr/bin/python3
"""Both ends of the sockets test: `peers.py server ADDR` or `peers.py client SERVER_ADDR`.

Each port is one way for a TCP connection to end or stall; the processes
stay alive (holding their sockets) until killed, so that `ss -tan` in each
namespace shows what the kernel made of every connection.
"""
import socket
import struct
import sys
import time

PORTS = {
    7001: 'client closes first, then the server',
    7002: 'server closes first, then the client',
    7003: 'client half-closes (shutdown), server keeps its socket open',
    7004: 'open, both keep their sockets',
    7005: 'server aborts with RST (SO_LINGER 0)',
}
REFUSED = 7999  # nothing listens here

held = []


def server(addr):
    listeners = {}
    for port in PORTS:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((addr, port))
        s.listen(8)
        listeners[port] = s
    print('listening', flush=True)
    for port, s in listeners.items():
        c, _ = s.accept()
        held.append(c)
        if port == 7001:
            c.recv(100)
            while c.recv(100):
                pass
            c.close()
        elif port == 7002:
            c.recv(100)
            c.sendall(b'bye\n')
            c.close()
        elif port == 7003:
            c.recv(100)
            while c.recv(100):
                pass
        elif port == 7004:
            c.recv(100)
            c.sendall(b'hello\n')
        elif port == 7005:
            c.recv(100)
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
            c.close()
    time.sleep(3600)


def client(addr):
    for port in PORTS:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.connect((addr, port))
        held.append(s)
        s.sendall(b'hi\n')
        if port == 7001:
            time.sleep(0.1)
            s.close()
        elif port == 7002:
            while s.recv(100):
                pass
            s.close()
        elif port == 7003:
            time.sleep(0.1)
            s.shutdown(socket.SHUT_WR)
        elif port == 7004:
            s.recv(100)
        elif port == 7005:
            try:
                while s.recv(100):
                    pass
            except ConnectionResetError:
                pass
        time.sleep(0.1)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.connect((addr, REFUSED))
    except ConnectionRefusedError:
        pass
    time.sleep(0.3)
    print('done', flush=True)
    time.sleep(3600)


if __name__ == '__main__':
    {'server': server, 'client': client}[sys.argv[1]](sys.argv[2])
