"""The offline world of cordon's network end-to-end tests (tests/src/network.rs).

Runs as the init of a network namespace (and mount namespace) that the test made, where
local routes make TEST-NET addresses, a fake metadata address and a "host's own" address
local. Every server records what reaches it, one JSON line each, in LOG: the tests check
verdicts from here, never from what a probe in the sandbox prints.

    networld.py DIR        (DIR holds cert.pem, key.pem and www/; the log is DIR/world.jsonl)

Prints "ready" once every socket listens, then serves until killed.
"""

import json
import os
import socket
import socketserver
import ssl
import struct
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DIR = sys.argv[1]
WWW = os.path.join(DIR, "www")
LOCK = threading.Lock()
LOG = open(os.path.join(DIR, "world.jsonl"), "a", buffering=1)

# The world's DNS server answers these (names not in the world's /etc/hosts).
DNS_TABLE = {"dns-only.allowed.test": "192.0.2.10"}


def record(**fields):
    with LOCK:
        LOG.write(json.dumps(fields, sort_keys=True) + "\n")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        local = self.connection.getsockname()
        record(
            server=self.server.name,
            local="%s:%d" % (local[0], local[1]),
            host=self.headers.get("Host", ""),
            path=self.path,
            sni=getattr(self.connection, "cordon_sni", None),
        )
        path = os.path.normpath(os.path.join(WWW, self.path.split("?")[0].lstrip("/")))
        if path.startswith(WWW) and os.path.isfile(path):
            with open(path, "rb") as f:
                body = f.read()
            kind = "application/octet-stream"
            if path.endswith(".html") or path.endswith("/index.html"):
                kind = "text/html"
        elif path.startswith(WWW) and os.path.isfile(os.path.join(path, "index.html")):
            with open(os.path.join(path, "index.html"), "rb") as f:
                body = f.read()
            kind = "text/html"
        elif self.path.startswith("/hello"):
            body = ("hello from %s host=%s\n" % (self.server.name, self.headers.get("Host", ""))).encode()
            kind = "text/plain"
        else:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class Http(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024
    allow_reuse_address = True

    def __init__(self, name, address, family, tls=None):
        self.address_family = family
        self.name = name
        self.tls = tls
        super().__init__(address, Handler)

    def get_request(self):
        conn, peer = self.socket.accept()
        if self.tls is None:
            return conn, peer
        conn.settimeout(10)
        try:
            wrapped = self.tls.wrap_socket(conn, server_side=True)
        except (ssl.SSLError, OSError) as error:
            record(server=self.name, tls_error=str(error))
            conn.close()
            raise
        return wrapped, peer


def tls_context():
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(os.path.join(DIR, "cert.pem"), os.path.join(DIR, "key.pem"))

    def on_sni(sock, name, _context):
        sock.cordon_sni = name

    context.sni_callback = on_sni
    return context


class Echo(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class EchoHandler(socketserver.BaseRequestHandler):
    def handle(self):
        local = self.request.getsockname()
        record(server="echo", local="%s:%d" % (local[0], local[1]))
        while True:
            data = self.request.recv(65536)
            if not data:
                return
            self.request.sendall(data)


def dns_answer(query):
    """A DNS response to `query`: A records from DNS_TABLE, else NXDOMAIN."""
    ident, _flags, qdcount = struct.unpack("!HHH", query[:6])
    at, labels = 12, []
    while query[at] != 0:
        length = query[at]
        labels.append(query[at + 1 : at + 1 + length].decode("ascii", "replace"))
        at += 1 + length
    qtype, _qclass = struct.unpack("!HH", query[at + 1 : at + 5])
    question = query[12 : at + 5]
    name = ".".join(labels).lower()
    record(server="dns", qname=name, qtype=qtype)
    address = DNS_TABLE.get(name)
    if address and qtype == 1:
        answer = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 5, 4) + socket.inet_aton(address)
        return struct.pack("!HHHHHH", ident, 0x8180, 1, 1, 0, 0) + question + answer
    rcode = 0 if address else 3
    return struct.pack("!HHHHHH", ident, 0x8180 | rcode, 1, 0, 0, 0) + question


def serve_dns_udp(sock):
    while True:
        query, peer = sock.recvfrom(4096)
        try:
            sock.sendto(dns_answer(query), peer)
        except Exception as error:  # noqa: BLE001 - a bad query must not stop the world
            record(server="dns", error=str(error))


def main():
    tls = tls_context()
    servers = [
        Http("web", ("192.0.2.10", 80), socket.AF_INET),
        Http("web", ("2001:db8::10", 80), socket.AF_INET6),
        Http("web-tls", ("192.0.2.10", 443), socket.AF_INET, tls),
        Http("web-tls", ("2001:db8::10", 443), socket.AF_INET6, tls),
        Http("denied-web", ("192.0.2.20", 80), socket.AF_INET),
        Http("denied-web-tls", ("192.0.2.20", 443), socket.AF_INET, tls),
        Http("metadata", ("169.254.169.254", 80), socket.AF_INET),
        Http("own-address", ("198.51.100.1", 80), socket.AF_INET),
        Http("host-loopback", ("127.0.0.1", 8080), socket.AF_INET),
        Http("host-loopback-listed", ("127.0.0.1", 5432), socket.AF_INET),
        Echo(("192.0.2.10", 7000), EchoHandler),
    ]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("192.0.2.53", 53))
    threading.Thread(target=serve_dns_udp, args=(udp,), daemon=True).start()
    # Anything at all that reaches UDP 443 (QUIC) or another UDP port of the world.
    quic = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    quic.bind(("192.0.2.10", 443))

    def serve_quic():
        while True:
            _data, _peer = quic.recvfrom(4096)
            record(server="udp", local="192.0.2.10:443")

    threading.Thread(target=serve_quic, daemon=True).start()
    print("ready", flush=True)
    threading.Event().wait()


main()
