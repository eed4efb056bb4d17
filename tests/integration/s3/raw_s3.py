"""Requests no well-behaved client sends, signed with botocore's own SigV4
signer and written to the socket by hand, for the endpoint's tests.
Each subcommand prints one line per check, "ok <what>", and exits 1 on the
first check that fails. Usage: raw_s3.py CHECK HOST PORT BUCKET
(credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)."""
import datetime
import hashlib
import os
import socket
import sys
import urllib.parse
from unittest import mock

import botocore.auth
import botocore.credentials
from botocore.awsrequest import AWSRequest


def fail(msg):
    print("FAIL " + msg)
    sys.exit(1)


def signed_headers(method, host, path, body=b"", headers=None, payload_hash=None, when=None, secret=None):
    creds = botocore.credentials.Credentials(os.environ["AWS_ACCESS_KEY_ID"],
                                             secret or os.environ["AWS_SECRET_ACCESS_KEY"])
    req = AWSRequest(method=method, url="http://%s%s" % (host, path), data=body, headers=headers or {})
    payload_hash = payload_hash or hashlib.sha256(body).hexdigest()
    # S3's signer: it signs the path as sent (no dot-segment removal); the
    # payload hash is ours when given (a STREAMING-… form).
    class Signer(botocore.auth.S3SigV4Auth):
        def payload(self, request):
            return payload_hash or super().payload(request)
    signer = Signer(creds, "s3", "us-east-1")
    if when is None:
        signer.add_auth(req)
    elif hasattr(botocore.auth, "get_current_datetime"):
        with mock.patch("botocore.auth.get_current_datetime", return_value=when):
            signer.add_auth(req)
    else:
        with mock.patch("botocore.auth.datetime") as dt:
            dt.datetime.utcnow.return_value = when
            signer.add_auth(req)
    return dict(req.headers.items())


def head_block(method, path, headers):
    headers = dict(headers)
    headers.setdefault("Host", HOST_PORT)
    lines = ["%s %s HTTP/1.1" % (method, path)] + ["%s: %s" % (k, v) for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def read_response(sock):
    """(status, headers dict lower-case, body) of one response."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            fail("connection closed before a response; got %r" % data[:200])
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    lines = head.decode().split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, v = line.split(":", 1)
        headers[k.strip().lower()] = v.strip()
    n = int(headers.get("content-length", "0"))
    while len(rest) < n:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    return status, headers, rest[:n]


def connect(host, port):
    s = socket.create_connection((host, int(port)), timeout=10)
    return s


def check_skew(host, port, bucket):
    hp = "%s:%s" % (host, port)
    past = datetime.datetime.utcnow() - datetime.timedelta(minutes=20)
    h = signed_headers("GET", hp, "/" + bucket + "/", when=past)
    s = connect(host, port)
    s.sendall(head_block("GET", "/" + bucket + "/", h))
    status, _, body = read_response(s)
    if status != 403 or b"<Code>RequestTimeTooSkewed</Code>" not in body:
        fail("a request signed 20 minutes ago: %d %r" % (status, body[:300]))
    print("ok RequestTimeTooSkewed for a request signed 20 minutes ago")
    near = datetime.datetime.utcnow() - datetime.timedelta(minutes=10)
    h = signed_headers("GET", hp, "/" + bucket + "/", when=near)
    s.sendall(head_block("GET", "/" + bucket + "/", h))
    status, _, body = read_response(s)
    if status != 200:
        fail("a request signed 10 minutes ago: %d %r" % (status, body[:300]))
    print("ok a request signed 10 minutes ago is accepted")


def check_expect(host, port, bucket):
    hp = "%s:%s" % (host, port)
    body = b"the body, held back until 100 Continue"
    path = "/" + bucket + "/expect-ok"
    h = signed_headers("PUT", hp, path, body, {"Expect": "100-continue", "Content-Length": str(len(body))})
    s = connect(host, port)
    s.sendall(head_block("PUT", path, h))
    s.settimeout(5)
    first = s.recv(4096)
    if not first.startswith(b"HTTP/1.1 100 Continue\r\n\r\n"):
        fail("expected 100 Continue before the body, got %r" % first[:200])
    print("ok 100 Continue arrives after the headers, before the body")
    s.sendall(body)
    status, headers, _ = read_response(s)
    if status != 200 or "etag" not in headers:
        fail("the put after 100 Continue: %d" % status)
    print("ok the body sent after 100 Continue is stored")
    # A bad signature: the error comes at once, instead of 100 Continue,
    # and the connection stays usable.
    path = "/" + bucket + "/expect-bad"
    h = signed_headers("PUT", hp, path, body, {"Expect": "100-continue", "Content-Length": str(len(body))},
                       secret="not-the-secret-key-not-the-secret-key-xx")
    s.sendall(head_block("PUT", path, h))
    status, headers, err = read_response(s)
    if status != 403 or b"SignatureDoesNotMatch" not in err:
        fail("a bad signature with Expect: %d %r" % (status, err[:200]))
    print("ok a bad signature is answered at once, without 100 Continue")
    path = "/" + bucket + "/expect-ok"
    h = signed_headers("GET", hp, path)
    s.sendall(head_block("GET", path, h))
    status, _, got = read_response(s)
    if status != 200 or got != body:
        fail("the same connection after the refusal: %d %r" % (status, got[:100]))
    print("ok the connection still serves the next request")


def check_chunked(host, port, bucket):
    hp = "%s:%s" % (host, port)
    path = "/" + bucket + "/chunked-bad"
    # Framing that lies: the chunk says 0x20 bytes and carries 5.
    body = b"20\r\nhello\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n"
    h = signed_headers("PUT", hp, path, body, {"Content-Encoding": "aws-chunked", "x-amz-trailer": "x-amz-checksum-crc32",
                                               "x-amz-decoded-content-length": "5", "Content-Length": str(len(body))},
                       payload_hash="STREAMING-UNSIGNED-PAYLOAD-TRAILER")
    s = connect(host, port)
    s.sendall(head_block("PUT", path, h) + body)
    status, _, err = read_response(s)
    if status != 400 or b"<Error>" not in err:
        fail("malformed aws-chunked framing: %d %r" % (status, err[:300]))
    print("ok malformed aws-chunked framing gets an S3 error (%s)" % err.split(b"<Code>")[1].split(b"<")[0].decode())
    # Well framed, but the trailer's CRC32 is not the data's.
    body = b"5\r\nhello\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n"
    h = signed_headers("PUT", hp, path, body, {"Content-Encoding": "aws-chunked", "x-amz-trailer": "x-amz-checksum-crc32",
                                               "x-amz-decoded-content-length": "5", "Content-Length": str(len(body))},
                       payload_hash="STREAMING-UNSIGNED-PAYLOAD-TRAILER")
    s = connect(host, port)
    s.sendall(head_block("PUT", path, h) + body)
    status, _, err = read_response(s)
    if status != 400 or b"BadDigest" not in err:
        fail("a wrong trailer checksum: %d %r" % (status, err[:300]))
    print("ok a wrong trailer checksum is BadDigest")
    # A signed stream whose chunk signature is wrong.
    body = b"5;chunk-signature=" + b"0" * 64 + b"\r\nhello\r\n0;chunk-signature=" + b"0" * 64 + b"\r\n\r\n"
    h = signed_headers("PUT", hp, path, body, {"Content-Encoding": "aws-chunked", "x-amz-decoded-content-length": "5",
                                               "Content-Length": str(len(body))},
                       payload_hash="STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
    s = connect(host, port)
    s.sendall(head_block("PUT", path, h) + body)
    status, _, err = read_response(s)
    if status != 403 or b"SignatureDoesNotMatch" not in err:
        fail("a wrong chunk signature: %d %r" % (status, err[:300]))
    print("ok a wrong chunk signature is SignatureDoesNotMatch")
    # The body's SHA-256 signed, and a different body sent.
    body = b"hello"
    h = signed_headers("PUT", hp, path, body, {"Content-Length": "5"}, payload_hash=hashlib.sha256(b"other").hexdigest())
    s = connect(host, port)
    s.sendall(head_block("PUT", path, h) + body)
    status, _, err = read_response(s)
    if status != 400 or b"XAmzContentSHA256Mismatch" not in err:
        fail("a body that is not the signed one: %d %r" % (status, err[:300]))
    print("ok a body whose SHA-256 is not the signed one is XAmzContentSHA256Mismatch")
    h = signed_headers("GET", hp, path)
    s = connect(host, port)
    s.sendall(head_block("GET", path, h))
    status, _, _ = read_response(s)
    if status != 404:
        fail("an object of a refused upload exists: %d" % status)
    print("ok nothing of the refused uploads became visible")


def check_traversal(host, port, bucket):
    hp = "%s:%s" % (host, port)
    for path in ["/%s/../secret" % bucket, "/%s/%%2e%%2e%%2fsecret" % bucket, "/%s/a%%2F..%%2F..%%2Fsecret" % bucket,
                 "/%s/./secret" % bucket, "/%s/a//b" % bucket, "/..%2F..%2Fetc/passwd", "/%2e%2e/secret"]:
        # Signed as S3 canonicalizes a path (decoded, then encoded once), so
        # that the signature holds and the request reaches the key rules.
        canonical = urllib.parse.quote(urllib.parse.unquote(path), safe="/~")
        h = signed_headers("GET", hp, canonical)
        s = connect(host, port)
        s.sendall(head_block("GET", path, h))
        status, _, body = read_response(s)
        if status == 200 or b"top secret" in body:
            fail("%s was answered %d" % (path, status))
        code = body.split(b"<Code>")[1].split(b"<")[0].decode() if b"<Code>" in body else ""
        if code in ("SignatureDoesNotMatch", "AccessDenied", ""):
            fail("%s: %d %s (the check must reach the key rules)" % (path, status, code))
        print("ok %s: %d %s" % (path, status, code))


HOST_PORT = ""


def main():
    global HOST_PORT
    check, host, port, bucket = sys.argv[1:5]
    HOST_PORT = "%s:%s" % (host, port)
    {"skew": check_skew, "expect": check_expect, "chunked": check_chunked, "traversal": check_traversal}[check](
        host, port, bucket)


if __name__ == "__main__":
    main()
