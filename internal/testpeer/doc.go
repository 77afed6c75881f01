// Package testpeer starts real peer servers and locates real peer tools for
// integration tests.
//
// Every server listens on a random port on 127.0.0.1, is started in its own
// process group and is killed (with all of its children) by t.Cleanup when
// the test ends. Startup waits at most StartupTimeout; a failure reports the
// last lines the peer wrote to stdout/stderr.
//
// # Missing peers
//
// When a peer is not installed the test is skipped with a message naming the
// install step (make deps). With CREDKIT_PEERS=require in the environment (as
// in CI) a missing peer fails the test instead. The same rule applies to
// every peer.
//
// # Peers
//
//   - Moto: moto_server (moto 5.x; "python3 -m moto.server" as a fallback)
//     with SigV4 signature checking switched on. See below.
//   - MinIO: the pinned MinIO release MinIOVersion, from $CREDKIT_MINIO,
//     $HOME/.cache/credkit/peers/minio-<MinIOVersion>/minio (where make deps
//     installs it) or "minio" on PATH, in that order.
//   - AWSCLIv2: /usr/bin/aws, only if it reports aws-cli/2. PATH is never
//     consulted because a pip-installed AWS CLI v1 commonly shadows it.
//   - Python: a python3 that can import boto3 and botocore.
//   - IAMSimulate: @cloud-copilot/iam-simulate IAMSimulateVersion, an
//     independent IAM policy evaluator (AGPL), run by node as a separate
//     program from the test-only npm project in policy/testdata/iamsim
//     (make deps-iamsim runs npm ci there). It answers policy.Case lines
//     with decisions; IAMSimBench times it on one case.
//   - Chromium: headless Chromium from $CREDKIT_CHROMIUM or /usr/bin/chromium
//     (Debian package chromium), run with --dump-dom and a user-data-dir
//     per browser profile; ChromiumScript is a browser for programs that
//     start one themselves.
//   - SecretService: gnome-keyring-daemon's Secret Service on a private
//     D-Bus session bus (dbus-daemon), with its own HOME and XDG
//     directories, so the user's keyring is never touched.
//
// # Signature checking in moto
//
// moto only verifies request signatures once it has served
// INITIAL_NO_AUTH_ACTION_COUNT authenticated-service requests (the default is
// infinity, i.e. never). Moto starts the server with
// INITIAL_NO_AUTH_ACTION_COUNT=0, so checking is on from the first request.
// With checking on, moto recomputes the SigV4 signature (with botocore) for
// the access key named in the Authorization header; the key must belong to
// an IAM user (or an assumed-role session) that exists inside moto, and the
// user's IAM policies must allow the action (sts:GetCallerIdentity is always
// allowed). A wrong secret yields SignatureDoesNotMatch, an unknown key
// InvalidClientTokenId. A request with no Authorization header at all makes
// moto answer 500, not an AWS error.
//
// No user exists in a fresh moto, so Moto bootstraps one before returning:
//
//  1. POST /moto-api/reset-auth with body "inf" switches checking off;
//  2. boto3 (with throw-away keys) creates the IAM user "credkit-admin" with
//     an allow-everything inline policy and an access key;
//  3. POST /moto-api/reset-auth with body "0" switches checking back on;
//  4. boto3 checks that GetCallerIdentity succeeds with the admin key and
//     fails with SignatureDoesNotMatch when the secret is wrong.
//
// All of this happens before Moto returns, so no test request is ever served
// with checking off. Later users and roles (NewUserKeys, NewRole) are created
// by boto3 requests signed with the admin key. Do not POST /moto-api/reset:
// it deletes the admin user.
//
// # Fake RDS
//
// FakeRDSPostgres (Debian's PostgreSQL, run as the postgres system user)
// and FakeRDSMariaDB (Debian's MariaDB standing in for RDS MySQL) accept
// TLS logins of IAM users whose password is an RDS IAM token, and refuse
// logins without TLS as RDS does. PostgreSQL uses `hostssl ... pam` and
// `host ... reject` in pg_hba.conf; MariaDB the auth_pam plugin with
// pam_use_cleartext_plugin=ON and users IDENTIFIED VIA pam REQUIRE SSL (the
// anonymous users mariadb-install-db makes are dropped). Both go through a
// PAM service installed in /etc/pam.d under a unique name (removed at
// cleanup, so the peers need root) whose module, testdata/pam_rdsiam.c, is
// compiled with gcc at start. It reads PAM_AUTHTOK whole (pam_exec stops at
// 511 bytes, and tokens signed with session credentials are over 1 KB) and
// hands user and token over a unix socket to testdata/rdsiam_verifier.py,
// which recomputes the token with botocore's generate_db_auth_token for the
// credentials given to Trust, at the token's X-Amz-Date, and also checks
// DBUser, host:port, region, the 15-minute window and the credentials'
// expiry. A refused token fails the login with the server's PAM error
// (`PAM authentication failed for user "..."` on PostgreSQL, 1045 on
// MariaDB); Logins says what the verifier decided and why. The server
// certificate (localhost, 127.0.0.1, ::1) is signed by a CA made at start,
// in CAFile.
package testpeer
