package mysql

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/credkit/credkit/dbproxy"
)

// MySQL error codes the proxy sends.
const (
	erConCount        = 1040 // ER_CON_COUNT_ERROR
	erHandshake       = 1043 // ER_HANDSHAKE_ERROR
	erAccessDenied    = 1045 // ER_ACCESS_DENIED_ERROR
	erBadHost         = 2003 // CR_CONN_HOST_ERROR, as clients say it
	stateAccessDenied = "28000"
	stateConnFailure  = "08S01"
	stateConCount     = "08004"
)

// What the greeting of a refused client says.
const (
	refuseVersion          = "8.0.0-credkit-db-proxy"
	charsetUTF8MB4         = 45 // utf8mb4_general_ci
	serverStatusAutocommit = 2
)

// Engine is the MySQL engine of dbproxy.
type Engine struct{}

var _ dbproxy.Engine = Engine{}

// ErrNoTLS reports a database whose greeting lacks CLIENT_SSL.
var ErrNoTLS = errors.New("the database does not offer TLS (its greeting lacks CLIENT_SSL); credkit never sends an IAM token without verified TLS")

// upstream is a connection to the database and its greeting.
type upstream struct {
	raw   net.Conn
	conn  net.Conn // raw, then the TLS connection over it
	hello *greeting
	token dbproxy.Token
}

// dial connects to the database and reads its greeting; a greeting
// without CLIENT_SSL is refused.
func dial(ctx context.Context, s *dbproxy.Session) (*upstream, error) {
	raw, err := s.Dial(ctx)
	if err != nil {
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		raw.SetDeadline(dl)
	}
	_, p, err := readPacket(raw)
	if err != nil {
		raw.Close()
		return nil, fmt.Errorf("%s: reading the greeting: %w (is this a MySQL server?)", s.Target.Name(), err)
	}
	g, err := parseGreeting(p)
	if err != nil {
		raw.Close()
		return nil, fmt.Errorf("%s: %w", s.Target.Name(), err)
	}
	if g.caps&clientSSL == 0 {
		raw.Close()
		s.AuthFailed("no_tls")
		return nil, fmt.Errorf("%s: %w", s.Target.Name(), ErrNoTLS)
	}
	return &upstream{raw: raw, conn: raw, hello: g}, nil
}

// startTLS sends an SSLRequest with the flags of x and verifies the
// server (verify-full); nothing else has been sent.
func (u *upstream) startTLS(ctx context.Context, s *dbproxy.Session, x *response) error {
	if err := writePacket(u.raw, 1, x.header()); err != nil {
		return err
	}
	cfg := s.TLSConfig()
	c := tls.Client(u.raw, cfg)
	if err := c.HandshakeContext(ctx); err != nil {
		s.AuthFailed("tls")
		return fmt.Errorf("%s: TLS: %w (the server certificate must chain to the CA bundle and name %s)", s.Target.Name(), err, cfg.ServerName)
	}
	u.conn = c
	return nil
}

func (u *upstream) Close() { u.conn.Close() }

// clientGreeting is the greeting the client gets: the database's, with
// the proxy's scramble and plugin and without compression or TLS.
func clientGreeting(up *greeting, plugin string) *greeting {
	g := *up
	g.caps &^= clientCompress | clientZstdCompression | clientSSL
	g.caps |= clientPluginAuth | clientSecureConnection | clientProtocol41
	g.nonce = newNonce()
	g.plugin = plugin
	return &g
}

// clientConn is the client's connection and its next sequence id.
type clientConn struct {
	net.Conn
	seq     byte
	proto41 bool
}

func (c *clientConn) send(p []byte) error {
	err := writePacket(c.Conn, c.seq, p)
	c.seq++
	return err
}

func (c *clientConn) recv() ([]byte, error) {
	seq, p, err := readPacket(c.Conn)
	if err != nil {
		return nil, fmt.Errorf("reading from the client: %w", err)
	}
	c.seq = seq + 1
	return p, nil
}

func (c *clientConn) fail(code uint16, state, msg string) {
	c.send(errPacket(code, state, msg, c.proto41))
}

// Serve implements dbproxy.Engine.
func (e Engine) Serve(ctx context.Context, client net.Conn, s *dbproxy.Session) error {
	client.SetDeadline(time.Now().Add(dbproxy.LoginTimeout))
	cc := &clientConn{Conn: client}
	ctx, cancel := context.WithTimeout(ctx, dbproxy.LoginTimeout)
	defer cancel()

	up, err := dial(ctx, s)
	if err != nil {
		cc.fail(erBadHost, stateConnFailure, "credkit db proxy: "+err.Error())
		return err
	}
	defer func() {
		if up != nil {
			up.Close()
		}
	}()
	plugin := pluginNative
	if s.Target.LocalPassword != "" {
		plugin = pluginCachingSHA2
	}
	hello := clientGreeting(up.hello, plugin)
	if err := cc.send(hello.encode()); err != nil {
		return fmt.Errorf("writing to the client: %w", err)
	}
	p, err := cc.recv()
	if err != nil {
		return err
	}
	x, err := parseResponse(p)
	if err != nil {
		cc.fail(erHandshake, stateConnFailure, "credkit db proxy: "+err.Error())
		return err
	}
	cc.proto41 = true
	if len(p) == sslRequestLen {
		cc.fail(erHandshake, stateConnFailure, "credkit db proxy does not offer TLS on the local connection; connect with --ssl-mode=DISABLED (mysql), --skip-ssl (mariadb) or tls=false")
		return errors.New("the client asked for TLS, which the local side does not offer")
	}
	user := x.user
	if s.Target.User != "" && user != s.Target.User {
		cc.fail(erAccessDenied, stateAccessDenied, fmt.Sprintf("credkit db proxy for %s logs in as %q only, not %q; connect with user %s", s.Target.Name(), s.Target.User, user, s.Target.User))
		return fmt.Errorf("client asked for user %q; this target logs in as %q", user, s.Target.User)
	}
	if s.Target.LocalPassword != "" {
		if err := localAuth(cc, x, hello, s.Target.LocalPassword); err != nil {
			return err
		}
	}

	// Upstream: the intersection of the flags, plus TLS.
	ux := *x
	ux.caps = x.caps&up.hello.caps | clientSSL | clientProtocol41
	ux.caps &^= clientCompress | clientZstdCompression
	for i := 19; i < 23; i++ { // MariaDB's extended capabilities
		ux.filler[i] &= up.hello.reserved[i-13]
	}
	ux.user = user
	ux.auth = nil
	ux.plugin = up.hello.plugin

	ok, err := e.login(ctx, s, up, &ux)
	if err != nil {
		var se *serverError
		var le *loginError
		switch {
		case errors.As(err, &le) && errors.As(err, &se):
			msg := se.Msg
			if le.explain {
				msg += " (" + s.Explain(user, le.token.Signer) + ")"
			}
			cc.send(errPacket(se.Code, se.State, msg, true))
		case errors.As(err, &se):
			cc.send(errPacket(se.Code, se.State, se.Msg, true))
		default:
			cc.fail(erAccessDenied, stateAccessDenied, "credkit db proxy: "+err.Error())
		}
		return err
	}
	up = ok.up
	// Before the client hears OK, and so can send a KILL for this session.
	if given, live := hello.connID, up.hello.connID; given != live {
		defer kills.add(s.Target, given, live)()
	}
	if err := cc.send(ok.packet); err != nil {
		return fmt.Errorf("writing to the client: %w", err)
	}
	client.SetDeadline(time.Time{})
	up.raw.SetDeadline(time.Time{})
	s.Log.Debug("logged in", "user", user, "connection_id", up.hello.connID, "token_cached", up.token.Cached)
	queryAttrs := ux.caps&clientQueryAttributes != 0
	server := &commandConn{Conn: s.Count(up.conn, "downstream"), rewrite: func(p []byte) []byte {
		q := rewriteKill(p, s.Target, queryAttrs)
		if q != nil {
			s.Log.Info("KILL sent to the live connection id of the session the client named")
		}
		return q
	}}
	up = nil // Splice closes it
	return dbproxy.Splice(s.Count(client, "upstream"), server)
}

// localAuth checks the local password: caching_sha2_password's fast
// authentication or mysql_native_password. A client that answered the
// greeting with another plugin than the greeting's (and so, as
// libmariadb does, with no scramble) is switched to the one it named, or
// to mysql_native_password when the proxy does not know that one.
func localAuth(cc *clientConn, x *response, hello *greeting, password string) error {
	plugin, auth, nonce := x.plugin, x.auth, hello.nonce
	if plugin != hello.plugin {
		if plugin != pluginNative && plugin != pluginCachingSHA2 {
			plugin = pluginNative
		}
		sw := append([]byte{0xfe}, plugin...)
		sw = append(append(append(sw, 0), nonce...), 0)
		if err := cc.send(sw); err != nil {
			return err
		}
		var err error
		if auth, err = cc.recv(); err != nil {
			return err
		}
	}
	if !checkScramble(plugin, password, nonce, auth) {
		cc.fail(erAccessDenied, stateAccessDenied, fmt.Sprintf("Access denied for user '%s' by credkit db proxy: wrong local password (the one in --local-password-file)", x.user))
		return fmt.Errorf("wrong local password from user %q (%s)", x.user, plugin)
	}
	if plugin == pluginCachingSHA2 {
		return cc.send([]byte{0x01, 0x03}) // fast authentication succeeded
	}
	return nil
}

// loginError is a failed upstream login.
type loginError struct {
	err     error
	token   dbproxy.Token
	retry   bool // a refused token or unusable credentials
	explain bool // refused twice: the client gets the explanation
}

func (e *loginError) Error() string { return e.err.Error() }
func (e *loginError) Unwrap() error { return e.err }

// loggedIn is an upstream session and the OK packet that ended its login.
type loggedIn struct {
	up     *upstream
	packet []byte
}

// login logs in on up, and once more on a new connection with refreshed
// credentials and a new token when the database refuses the first.
func (e Engine) login(ctx context.Context, s *dbproxy.Session, up *upstream, x *response) (*loggedIn, error) {
	ok, err := loginOnce(ctx, s, up, x, false)
	var le *loginError
	if err == nil || !errors.As(err, &le) || !le.retry {
		return ok, err
	}
	up.Close()
	s.Log.Info("login failed; retrying with refreshed credentials and a new token", "user", x.user, "error", err.Error())
	up2, err := dial(ctx, s)
	if err != nil {
		return nil, err
	}
	ok, err = loginOnce(ctx, s, up2, x, true)
	if err != nil {
		up2.Close()
		if errors.As(err, &le) && le.retry {
			le.explain = true
		}
	}
	return ok, err
}

func loginOnce(ctx context.Context, s *dbproxy.Session, up *upstream, x *response, refresh bool) (*loggedIn, error) {
	if err := up.startTLS(ctx, s, x); err != nil {
		return nil, err
	}
	if err := writePacket(up.conn, 2, x.encode()); err != nil {
		return nil, err
	}
	var tok dbproxy.Token
	for {
		seq, p, err := readPacket(up.conn)
		if err != nil {
			return nil, fmt.Errorf("reading from %s during login: %w", s.Target.Name(), err)
		}
		if len(p) == 0 {
			return nil, fmt.Errorf("%s sent an empty packet during login", s.Target.Name())
		}
		switch p[0] {
		case 0x00:
			up.token = tok
			return &loggedIn{up: up, packet: p}, nil
		case 0xff:
			se := parseErr(p)
			if se.Code == erAccessDenied || se.State == stateAccessDenied {
				s.AuthFailed("refused")
				return nil, &loginError{err: fmt.Errorf("the database refused the IAM token signed by %s: %w", tok.Signer.AccessKeyID, se), token: tok, retry: tok.Value != ""}
			}
			return nil, fmt.Errorf("%s: %w", s.Target.Name(), se)
		case 0xfe:
			r := &reader{p: p[1:]}
			plugin := r.cstring()
			if plugin != pluginClearPassword {
				s.AuthFailed("method")
				return nil, fmt.Errorf("the database asked for authentication plugin %s, not the mysql_clear_password IAM authentication uses (is %s an RDS instance with IAM authentication on, and is %q IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS'?)", plugin, s.Target.Host, x.user)
			}
			if tok.Value != "" {
				return nil, fmt.Errorf("%s asked for the password twice", s.Target.Name())
			}
			// Only now, over verified TLS and asked for it, is there a token.
			tok, err = s.Tokens.Token(ctx, dbproxy.TokenRequest{Host: s.Target.Host, Port: s.Target.Port, Region: s.Target.Region, User: x.user}, refresh)
			if err != nil {
				s.AuthFailed("credentials")
				// Retried: walking the chain anew may find fresh credentials.
				return nil, &loginError{err: fmt.Errorf("credkit db proxy cannot sign an IAM token: %w", err), retry: true}
			}
			if err := writePacket(up.conn, seq+1, append([]byte(tok.Value), 0)); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("unexpected packet 0x%02x from %s during login", p[0], s.Target.Name())
		}
	}
}

// Refuse implements dbproxy.Engine: error 1040 (SQLSTATE 08004), as
// MariaDB refuses a client over its max_connections: after a greeting
// and the client's answer, so that every client reads the SQL state
// (Oracle's libmysqlclient looks for one only once a greeting said
// CLIENT_PROTOCOL_41). The greeting is the proxy's own: there is no
// upstream connection to take one from.
func (e Engine) Refuse(client net.Conn, msg string) {
	defer client.Close()
	client.SetDeadline(time.Now().Add(5 * time.Second))
	cc := &clientConn{Conn: client, proto41: true}
	hello := &greeting{
		version: refuseVersion,
		caps:    clientProtocol41 | clientSecureConnection | clientPluginAuth | clientLongPassword | clientTransactions,
		charset: charsetUTF8MB4,
		status:  serverStatusAutocommit,
		nonce:   newNonce(),
		plugin:  pluginNative,
	}
	if err := cc.send(hello.encode()); err != nil {
		return
	}
	if _, err := cc.recv(); err != nil {
		return
	}
	cc.fail(erConCount, stateConCount, msg)
}

// Probe implements dbproxy.Engine: it reads the greeting and verifies
// TLS, and sends no token.
func (e Engine) Probe(ctx context.Context, s *dbproxy.Session) error {
	up, err := dial(ctx, s)
	if err != nil {
		return err
	}
	defer up.Close()
	x := &response{caps: (clientProtocol41 | clientSecureConnection | clientPluginAuth | clientSSL) & (up.hello.caps | clientSSL), maxPacket: 1 << 24, charset: up.hello.charset}
	return up.startTLS(ctx, s, x)
}
