"""Signs requests with botocore's SigV4a (CRT) signers, for sigv4's tests.

Reads a JSON list of requests on stdin, each
  {"mode": "header"|"query", "method", "url", "headers": {..}, "body",
   "service", "region_set", "access_key", "secret_key", "token"}
and writes a JSON list of {"url", "headers"} as signed, at the current time.
It imports the botocore bundled with the AWS CLI v2 (awscli.botocore) when
there is one, else botocore.
"""
import json
import sys

try:
    from awscli.botocore.awsrequest import AWSRequest
    from awscli.botocore.credentials import Credentials
    from awscli.botocore.crt.auth import CrtSigV4AsymAuth, CrtSigV4AsymQueryAuth
except ImportError:
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    from botocore.crt.auth import CrtSigV4AsymAuth, CrtSigV4AsymQueryAuth

out = []
for r in json.load(sys.stdin):
    c = Credentials(r["access_key"], r["secret_key"], r.get("token") or None)
    req = AWSRequest(method=r["method"], url=r["url"], headers=r.get("headers") or {},
                     data=(r.get("body") or "").encode())
    if r["mode"] == "query":
        CrtSigV4AsymQueryAuth(c, r["service"], r["region_set"], expires=900).add_auth(req)
    else:
        CrtSigV4AsymAuth(c, r["service"], r["region_set"]).add_auth(req)
    out.append({"url": req.url, "headers": dict(req.headers.items())})
json.dump(out, sys.stdout)
