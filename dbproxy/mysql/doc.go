// Package mysql is the MySQL engine of credkit's database proxy
// (dbproxy): MySQL and MariaDB clients connect to it with no password, or
// a local one, and it logs in to RDS for MySQL (or MariaDB) with an IAM
// token.
//
// # Why the connection phase is written here
//
// The proxy has to be the server of the MySQL connection phase towards
// the client and the client of it towards the database, and to hand the
// connection over to a plain byte copy the moment both sides are logged
// in. Go client libraries (go-sql-driver/mysql) keep the client half
// private and read through their own buffers; the server libraries
// (go-mysql's server package, vitess) own the whole session, parse every
// command and answer with their own capability flags, connection id and
// version — which would break the client's `KILL QUERY <id>` and whatever
// the client negotiated with the real server. So the handful of packets
// of the connection phase are framed, parsed and built here by hand:
// Protocol::HandshakeV10, SSLRequest, HandshakeResponse41,
// AuthSwitchRequest, AuthMoreData, OK and ERR, with their sequence ids.
//
// # What a login does
//
//   - The proxy connects to the database first and reads its greeting. A
//     greeting without CLIENT_SSL is refused with an ERR packet to the
//     client: credkit never sends a token without verified TLS.
//   - The client gets a greeting with the database's server version,
//     connection id (so the mysql client's Ctrl-C, which sends
//     `KILL QUERY <id>` on a second connection, interrupts the right
//     session), character set, status and capability flags, minus
//     compression and minus CLIENT_SSL: the local leg is plain, on
//     loopback or a unix socket. MariaDB's extended capabilities are
//     passed on as well. The scramble is the proxy's own.
//   - Upstream, the proxy sends an SSLRequest with the intersection of the
//     client's and the database's flags plus CLIENT_SSL, verifies the
//     server certificate and name against the CA bundle (verify-full),
//     and sends the client's HandshakeResponse41 — user, database,
//     character set, connection attributes — with an empty password.
//   - RDS's AWSAuthenticationPlugin (and MariaDB's auth_pam with
//     pam_use_cleartext_plugin) answers with an AuthSwitchRequest for
//     mysql_clear_password; only then is the token signed and sent. A
//     switch to any other plugin is refused.
//   - The database's OK (or ERR) goes to the client with the client's
//     sequence id; then bytes are copied both ways.
//
// Tokens come from dbproxy.Tokens; when the database refuses one
// (error 1045), the proxy logs in once more on a new connection with
// refreshed credentials and a new token, and when that is refused too the
// client gets the database's error with dbproxy's explanation.
//
// # KILL after a retried login
//
// The connection id a client was given is the first connection's; after a
// retry its session lives under another. The proxy keeps, per target and
// for the life of such a session, the id it gave the client and the live
// one, and a `KILL [QUERY|CONNECTION] <id>` naming a given id — in any
// case, with any whitespace and an optional semicolon, sent as a
// COM_QUERY on any connection to the same target — reaches the database
// with the live id. To see commands, the copy from the client to the
// database follows MySQL's packet framing: a 4-byte header (length,
// sequence id), payloads of 0xffffff bytes continued by the next packet,
// commands at sequence id 0. It looks into a command of at most 128
// bytes only, and passes everything else on as it comes, one write per
// read. With CLIENT_QUERY_ATTRIBUTES (MySQL 8.0.23 and later), a
// COM_QUERY starts with its number of attributes; a KILL with none (the
// clients' Ctrl-C sends none) is rewritten, one with attributes is passed
// on as it is. The copy from the database to the client is a plain byte
// copy.
//
// # Too many connections
//
// At --max-connections a client gets error 1040 with SQLSTATE 08004, as
// from a MariaDB at max_connections: after a greeting and the client's
// answer, since some clients (Oracle's libmysqlclient) read the SQL
// state of an ERR packet only once a greeting said CLIENT_PROTOCOL_41.
//
// # Local authentication
//
// With no local password (on loopback only, which dbproxy enforces) any
// password is accepted. With one, the greeting offers
// caching_sha2_password, the default of MySQL 8.4 and later clients, and
// mysql_native_password is accepted as well; a client that answers with
// another plugin is switched to mysql_native_password. Because the proxy
// knows the password, it completes caching_sha2_password's fast
// authentication itself, every time: the client's scramble is checked
// against SHA-256 of the password, and the client is told "fast auth
// succeeded". caching_sha2_password's full authentication — the password
// sent in cleartext over TLS, or RSA-encrypted — is therefore never
// asked for, and the proxy needs neither a local TLS certificate nor an
// RSA key pair; no client sends the password itself over the local leg.
// A client that asks for TLS on the local leg (an SSLRequest) is told to
// connect without it.
package mysql
