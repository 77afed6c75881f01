"""Verifier of RDS IAM tokens for the fake RDS test peers.

It checks tokens the way RDS does, with botocore as the independent signer:
the PAM module pam_rdsiam.c sends "USER\\nTOKEN" on the unix socket, and the
answer is "OK" or "DENY <reason>". A token is accepted only if

  - it is host:port/?query for one of the server's endpoints;
  - Action=connect, DBUser equals the PAM user, the credential scope is
    DATE/REGION/rds-db/aws4_request for the server's region;
  - X-Amz-Expires is at most 900 and now lies within X-Amz-Date .. +expires
    (5 minutes of clock skew allowed before X-Amz-Date);
  - the access key is trusted, and the trusted credentials have not expired;
  - botocore's generate_db_auth_token with the trusted credentials, at the
    token's X-Amz-Date, yields the same URL (the same host, path and
    query parameters byte for byte; their order may differ, as RDS allows).

argv: CONFIG.json with socket, region, hosts_file (a JSON list of the
server's host:port names), trust_file and log_file. Both files are re-read
for every login; the trust file maps access key ids to {secret,
session_token, expires (unix seconds or 0)}. Every decision is appended to
log_file as a JSON line {user, access_key_id, ok, reason, time}; the token
is never written anywhere.
"""
import datetime
import json
import os
import socketserver
import sys
import threading
import time
import urllib.parse

import botocore.auth
import botocore.session

cfg = json.load(open(sys.argv[1]))
REGION = cfg["region"]
MAX_EXPIRES = 900
SKEW = 300

_lock = threading.Lock()
_session = botocore.session.get_session()
_clients = {}


def botocore_token(host, port, user, date, akid, cred):
    key = (akid, cred["secret"], cred.get("session_token", ""))
    with _lock:
        client = _clients.get(key)
        if client is None:
            client = _session.create_client(
                "rds",
                region_name=REGION,
                aws_access_key_id=akid,
                aws_secret_access_key=cred["secret"],
                aws_session_token=cred.get("session_token") or None,
            )
            _clients[key] = client
        saved = botocore.auth.get_current_datetime
        botocore.auth.get_current_datetime = lambda *a, **k: date
        try:
            return client.generate_db_auth_token(host, port, user, Region=REGION)
        finally:
            botocore.auth.get_current_datetime = saved


def split_token(token):
    if "/?" not in token:
        return None, None
    hostport, query = token.split("/?", 1)
    return hostport, query


def params(query):
    return sorted(p for p in query.split("&"))


def check(user, token):
    """Returns (access key id, reason); reason is None when accepted."""
    hostport, query = split_token(token)
    if hostport is None:
        return "", "not an RDS token: no /? after host:port"
    try:
        q = dict(urllib.parse.parse_qsl(query, keep_blank_values=True, strict_parsing=True))
    except ValueError:
        return "", "query does not parse"
    cred_scope = q.get("X-Amz-Credential", "")
    parts = cred_scope.split("/")
    akid = parts[0] if parts else ""
    hosts = json.load(open(cfg["hosts_file"]))
    if hostport not in hosts:
        return akid, "token is for %s, not this server (%s)" % (hostport, ", ".join(hosts))
    if q.get("Action") != "connect":
        return akid, "Action is not connect"
    if q.get("DBUser") != user:
        return akid, "token is for DBUser %r, login is %r" % (q.get("DBUser"), user)
    if q.get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256":
        return akid, "X-Amz-Algorithm is not AWS4-HMAC-SHA256"
    if len(parts) != 5 or parts[2] != REGION or parts[3] != "rds-db" or parts[4] != "aws4_request":
        return akid, "credential scope %r is not DATE/%s/rds-db/aws4_request" % (cred_scope, REGION)
    try:
        date = datetime.datetime.strptime(q.get("X-Amz-Date", ""), "%Y%m%dT%H%M%SZ")
        expires = int(q.get("X-Amz-Expires", ""))
    except ValueError:
        return akid, "X-Amz-Date or X-Amz-Expires malformed"
    if parts[1] != date.strftime("%Y%m%d"):
        return akid, "credential scope date differs from X-Amz-Date"
    if expires <= 0 or expires > MAX_EXPIRES:
        return akid, "X-Amz-Expires %d is not 1 to %d" % (expires, MAX_EXPIRES)
    signed = date.replace(tzinfo=datetime.timezone.utc).timestamp()
    now = time.time()
    if now < signed - SKEW:
        return akid, "token signed in the future"
    if now > signed + expires:
        return akid, "token expired"
    try:
        trust = json.load(open(cfg["trust_file"]))
    except FileNotFoundError:
        trust = {}
    cred = trust.get(akid)
    if cred is None:
        return akid, "access key is not trusted"
    if cred.get("expires") and now >= cred["expires"]:
        return akid, "signing credentials expired"
    host, port = hostport.rsplit(":", 1)
    want = botocore_token(host, int(port), user, date, akid, cred)
    if want == token:
        return akid, None
    want_hostport, want_query = split_token(want)
    if want_hostport == hostport and params(want_query) == params(query):
        return akid, None
    return akid, "signature does not match"


_log_lock = threading.Lock()


class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        data = self.rfile.read(1 << 20).decode("utf-8", "replace")
        user, _, token = data.partition("\n")
        try:
            akid, reason = check(user, token)
        except Exception as e:  # a verifier bug refuses and says so
            akid, reason = "", "verifier error: %s" % type(e).__name__
        entry = {"user": user, "access_key_id": akid, "ok": reason is None,
                 "reason": reason or "", "time": time.time()}
        with _log_lock:
            with open(cfg["log_file"], "a") as f:
                f.write(json.dumps(entry) + "\n")
        self.wfile.write(b"OK\n" if reason is None else ("DENY %s\n" % reason).encode())


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


if os.path.exists(cfg["socket"]):
    os.unlink(cfg["socket"])
srv = Server(cfg["socket"], Handler)
os.chmod(cfg["socket"], 0o666)
print("ready", flush=True)
srv.serve_forever()
