"""Loopback redirect of api.emailsrvr.com to a local officed, for running an
unmodified third-party client (rackmail) against officed.

The client is pointed at this process with HTTPS_PROXY; it sends
`CONNECT api.emailsrvr.com:443`, and this process answers the TLS handshake
itself with a certificate for api.emailsrvr.com signed by a scratch CA made
here (the client trusts only that CA, through REQUESTS_CA_BUNDLE). Each
decrypted request is forwarded unchanged, over plain HTTP, to officed.
Nothing leaves the machine: CONNECT to any other host is refused.

Usage: tls_redirect.py OFFICED_HOST:PORT WORKDIR
Prints one line, "PORT CA_PEM", when it is ready, then serves until killed.
"""

import http.client
import os
import socket
import ssl
import subprocess
import sys
import threading

HOST = "api.emailsrvr.com"


def make_certs(workdir):
    """A scratch CA and a leaf certificate for HOST (openssl CLI)."""
    ca_key = os.path.join(workdir, "ca.key")
    ca_pem = os.path.join(workdir, "ca.pem")
    key = os.path.join(workdir, "leaf.key")
    csr = os.path.join(workdir, "leaf.csr")
    pem = os.path.join(workdir, "leaf.pem")
    ext = os.path.join(workdir, "leaf.ext")

    def run(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key,
        "-out", ca_pem, "-days", "1", "-subj", "/CN=officed test scratch CA",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr,
        "-subj", "/CN=" + HOST)
    with open(ext, "w") as f:
        f.write("subjectAltName=DNS:%s\nbasicConstraints=CA:FALSE\n"
                "keyUsage=digitalSignature,keyEncipherment\n"
                "extendedKeyUsage=serverAuth\n" % HOST)
    run("x509", "-req", "-in", csr, "-CA", ca_pem, "-CAkey", ca_key,
        "-CAcreateserial", "-out", pem, "-days", "1", "-extfile", ext)
    return ca_pem, pem, key


def read_head(f):
    """The request line and headers of one HTTP request (None at EOF)."""
    line = f.readline()
    if not line:
        return None
    headers = []
    while True:
        h = f.readline()
        if h in (b"\r\n", b"\n", b""):
            break
        name, _, value = h.decode("latin-1").partition(":")
        headers.append((name.strip(), value.strip()))
    return line.decode("latin-1").rstrip("\r\n"), headers


def forward(tls, upstream):
    f = tls.makefile("rb")
    head = read_head(f)
    if head is None:
        return
    request_line, headers = head
    method, path, _ = request_line.split(" ", 2)
    length = 0
    for name, value in headers:
        if name.lower() == "content-length":
            length = int(value)
    body = f.read(length) if length else None
    host, port = upstream.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
    for name, value in headers:
        if name.lower() not in ("connection", "proxy-connection", "keep-alive"):
            conn.putheader(name, value)
    conn.putheader("Connection", "close")
    conn.endheaders(body)
    resp = conn.getresponse()
    data = resp.read()
    out = ["HTTP/1.1 %d %s" % (resp.status, resp.reason)]
    for name, value in resp.getheaders():
        if name.lower() not in ("connection", "transfer-encoding", "content-length"):
            out.append("%s: %s" % (name, value))
    out.append("Content-Length: %d" % len(data))
    out.append("Connection: close")
    tls.sendall(("\r\n".join(out) + "\r\n\r\n").encode("latin-1") + data)
    conn.close()


def handle(client, ctx, upstream):
    try:
        f = client.makefile("rb")
        head = read_head(f)
        if head is None:
            return
        request_line, _ = head
        parts = request_line.split(" ")
        if len(parts) < 2 or parts[0] != "CONNECT" or parts[1] != HOST + ":443":
            client.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            return
        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        with ctx.wrap_socket(client, server_side=True) as tls:
            forward(tls, upstream)
    except Exception as e:  # one bad connection never stops the others
        print("tls_redirect: %s" % e, file=sys.stderr, flush=True)
    finally:
        try:
            client.close()
        except OSError:
            pass


def main():
    upstream, workdir = sys.argv[1], sys.argv[2]
    ca_pem, pem, key = make_certs(workdir)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(pem, key)
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    print("%d %s" % (srv.getsockname()[1], ca_pem), flush=True)
    while True:
        client, _ = srv.accept()
        threading.Thread(target=handle, args=(client, ctx, upstream), daemon=True).start()


if __name__ == "__main__":
    main()
