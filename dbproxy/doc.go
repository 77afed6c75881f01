// Package dbproxy is a local endpoint for databases with RDS IAM
// authentication: clients connect to it with no password (or a local one),
// and it logs in to the database with an IAM token signed by credentials
// that are valid now.
//
// # Why a proxy
//
// An IAM token is a 15-minute password signed with AWS credentials. A
// client that caches one (a JDBC plugin keeps it 14½ minutes) fails when
// the credentials that signed it have expired in the meantime — a laptop
// that slept with session credentials in its environment sees
// `FATAL: PAM authentication failed for user "app"`. The proxy resolves
// credentials through credkit's chain at every upstream login and reuses a
// token only while it has MinTokenLife left and the credentials that
// signed it are still the chain's and still valid (see Tokens). When the
// database still refuses the token, it tries once more with refreshed
// credentials and a new token, then gives the client the database's error
// with an explanation of what to check.
//
// # What a login does
//
//   - The client's SSL and GSS encryption requests are answered with N:
//     the local endpoint is plain PostgreSQL on loopback or a unix socket.
//     A client that opens with a TLS handshake (sslnegotiation=direct,
//     sslmode=require) gets one, with a self-signed certificate the process
//     makes at start.
//   - With a local password, the client proves it knows it with
//     SCRAM-SHA-256, as to PostgreSQL itself: the password never crosses
//     the local connection.
//   - Upstream, the proxy asks for TLS and verifies the server certificate
//     and name (verify-full) against the CA bundle (see Roots); a server
//     that answers N is refused. The token is made only after the TLS
//     handshake succeeded, so not one byte of it goes anywhere else.
//   - Every startup parameter the client sent is forwarded; a
//     NegotiateProtocolVersion from the server is relayed.
//   - The token is the cleartext password RDS asks for.
//   - The client gets the proxy's own process id and secret key in place
//     of the server's. A cancel request carrying them is sent to the
//     server's own key at the IP address the session dialled (a DNS name
//     may resolve elsewhere by then), over TLS.
//   - Then bytes are copied both ways.
//
// Messages are framed by exact reads and decoded with pgx's pgproto3 (not
// its Frontend or Backend, which read ahead: a byte read ahead during the
// login would be lost to the copy that follows).
//
// # Engines
//
// An Engine serves one protocol. Postgres is the one here; the MySQL
// engine (dbproxy/mysql) plugs in with its own Serve, Refuse and Probe,
// using Session for dialling, TLS, tokens, counters, the retry's
// explanation (Session.Explain) and the copy (Splice).
//
// # Operations
//
// One Proxy serves several targets, one listener each; New opens all of
// them or none. ListenHealth serves /startup, /liveness, /readiness (503
// while draining or at MaxConnections) and, with a Prometheus gatherer,
// /metrics. Shutdown stops accepting, waits for open sessions until its
// context ends, then closes the rest. Logs (log/slog) carry the target,
// the client address and the signing access key id, never a token, a
// secret or a local password.
//
// # Cost
//
// The proxy adds one hop: each message is read and written once more,
// and on the upstream side encrypted or decrypted by crypto/tls instead
// of by the client. What that costs depends on how far the database is,
// and BenchmarkProxy measures it with pgbench next to a direct
// connection. With the database on loopback, a one-client pgbench, which
// waits for every statement's answer, runs at roughly half its direct
// rate through the proxy, as it does through socat, a plain TCP relay
// with no TLS in it: the extra wake-ups of a process per round trip are
// the cost, not the copying. Once the database is half a millisecond
// away, as an RDS instance in the client's own zone is, the proxy keeps
// nine tenths or more of the direct rate; from 2 ms on, as across zones
// or from a laptop, the two are within noise of each other.
//
// # Deployments
//
// The proxy keeps no state beyond its token cache, so it runs where the
// client runs:
//
//   - On a laptop, one process per user: `credkit db proxy --host H --port
//     5432 --user U` listens on 127.0.0.1:5432 (or the next free port) and
//     signs with whatever the chain resolves at each login (a profile,
//     SSO, the vault), so a laptop that slept logs in again with refreshed
//     credentials. Point the GUI tool at the printed address with no
//     password.
//   - As a sidecar, one per pod: the chain finds the pod's credentials from
//     IRSA (AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE) or EKS Pod
//     Identity (AWS_CONTAINER_CREDENTIALS_FULL_URI), both refreshed before
//     they expire. The application connects to 127.0.0.1 or a unix socket
//     in a shared emptyDir; --health serves the probes and --metrics the
//     scrape, and SIGTERM drains (terminationGracePeriodSeconds should
//     exceed the drain deadline).
package dbproxy
