package dbproxy

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/credkit/credkit/creds"
)

// PostgreSQL request codes sent in place of a protocol version.
const (
	pgSSLRequest    = 80877103
	pgGSSENCRequest = 80877104
	pgCancelRequest = 80877102
)

// Postgres is the PostgreSQL engine. Messages are framed by exact reads
// (length first, then the body) and decoded and encoded with pgproto3:
// pgproto3's own Frontend and Backend read ahead into their buffers, and
// a byte read ahead during the login would be lost to the relay that
// follows it.
type Postgres struct{}

var _ Engine = Postgres{}

// errCancelServed ends a connection that carried a cancel request.
var errCancelServed = errors.New("cancel request")

// LoginTimeout bounds a client's startup and the upstream login (every engine).
const LoginTimeout = 30 * time.Second

// Serve implements Engine.
func (e Postgres) Serve(ctx context.Context, client net.Conn, s *Session) error {
	client.SetDeadline(time.Now().Add(LoginTimeout))
	client, startup, err := e.clientStartup(ctx, client, s)
	if errors.Is(err, errCancelServed) {
		return nil
	}
	if err != nil {
		return err
	}
	user := startup.Parameters["user"]
	if s.Target.User != "" && user != s.Target.User {
		sendFatal(client, "28000", fmt.Sprintf("credkit db proxy for %s logs in as %q only, not %q", s.Target.Name(), s.Target.User, user), "Connect with user="+s.Target.User+".")
		return fmt.Errorf("client asked for user %q; this target logs in as %q", user, s.Target.User)
	}
	if s.Target.LocalPassword != "" {
		if err := localAuth(client, user, s.Target.LocalPassword); err != nil {
			return err
		}
	}
	up, err := e.login(ctx, s, startup, user)
	if err != nil {
		var le *loginError
		if errors.As(err, &le) {
			client.Write(le.clientMsg)
		} else {
			sendFatal(client, "08001", "credkit db proxy: "+err.Error(), "")
		}
		return err
	}
	defer up.conn.Close()
	key, remove := s.Cancels().Add(CancelTarget{Key: up.key, Addr: up.addr, TLS: s.TLSConfig()})
	defer remove()
	hello, err := up.greeting(key)
	if err != nil {
		return err
	}
	if _, err := client.Write(hello); err != nil {
		return fmt.Errorf("writing to client: %w", err)
	}
	client.SetDeadline(time.Time{})
	s.Log.Debug("logged in", "user", user, "token_cached", up.token.Cached)
	return Splice(s.Count(client, "upstream"), s.Count(up.conn, "downstream"))
}

// clientStartup reads the client's startup packet, answering SSL and GSS
// encryption requests with N and a direct TLS handshake
// (sslnegotiation=direct) with the local certificate; it returns the
// connection to go on with. A cancel request is served and reported as
// errCancelServed.
func (e Postgres) clientStartup(ctx context.Context, client net.Conn, s *Session) (net.Conn, *pgproto3.StartupMessage, error) {
	direct := false
	for range 3 {
		body, err := readStartupPacket(client)
		var dt *directTLS
		if errors.As(err, &dt) && !direct {
			cfg, err := localTLSConfig()
			if err != nil {
				return nil, nil, err
			}
			tc := tls.Server(&prefixConn{Conn: client, prefix: dt.hdr}, cfg)
			if err := tc.HandshakeContext(ctx); err != nil {
				return nil, nil, fmt.Errorf("direct TLS from the client: %w", err)
			}
			client, direct = tc, true
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		switch binary.BigEndian.Uint32(body) {
		case pgSSLRequest, pgGSSENCRequest:
			if _, err := client.Write([]byte{'N'}); err != nil {
				return nil, nil, err
			}
		case pgCancelRequest:
			var m pgproto3.CancelRequest
			if err := m.Decode(body); err != nil {
				return nil, nil, fmt.Errorf("cancel request: %w", err)
			}
			e.cancel(ctx, s, CancelKey{PID: m.ProcessID, Secret: string(m.SecretKey)})
			return nil, nil, errCancelServed
		default:
			m, err := decodeStartup(body)
			if err != nil {
				sendFatal(client, "08P01", "credkit db proxy: "+err.Error(), "")
				return nil, nil, fmt.Errorf("startup message: %w", err)
			}
			return client, m, nil
		}
	}
	return nil, nil, errors.New("client sent more than two encryption requests")
}

// decodeStartup decodes a startup message of any protocol 3 minor
// version: the server, not the proxy, negotiates the minor version (with
// NegotiateProtocolVersion, relayed), and pgproto3 decodes only 3.0 and 3.2.
func decodeStartup(body []byte) (*pgproto3.StartupMessage, error) {
	v := binary.BigEndian.Uint32(body)
	if v>>16 != 3 {
		return nil, fmt.Errorf("unsupported frontend protocol %d.%d: PostgreSQL speaks 3.x", v>>16, v&0xffff)
	}
	b := slices.Clone(body)
	binary.BigEndian.PutUint32(b, pgproto3.ProtocolVersion30)
	var m pgproto3.StartupMessage
	if err := m.Decode(b); err != nil {
		return nil, err
	}
	m.ProtocolVersion = v
	return &m, nil
}

// directTLS is a client that opened with a TLS handshake record; hdr is
// what was read of it.
type directTLS struct{ hdr []byte }

func (*directTLS) Error() string { return "the client started TLS directly" }

// readStartupPacket reads a length-prefixed packet without a type byte.
func readStartupPacket(r io.Reader) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, fmt.Errorf("reading the startup packet: %w", err)
	}
	if hdr[0] == 0x16 { // a TLS handshake record, not a length under 16 MB
		return nil, &directTLS{hdr: hdr[:]}
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n < 8 || n > 10000 {
		return nil, fmt.Errorf("startup packet of %d bytes is not PostgreSQL", n)
	}
	body := make([]byte, n-4)
	if _, err := io.ReadFull(r, body); err != nil {
		return nil, fmt.Errorf("reading the startup packet: %w", err)
	}
	return body, nil
}

// readMessage reads one typed message and returns its type, body and the
// raw bytes (type, length, body).
func readMessage(r io.Reader) (typ byte, body, raw []byte, err error) {
	var hdr [5]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, nil, err
	}
	n := binary.BigEndian.Uint32(hdr[1:])
	if n < 4 || n > 1<<20 {
		return 0, nil, nil, fmt.Errorf("message %q of %d bytes is not PostgreSQL", hdr[0], n)
	}
	raw = make([]byte, 1+n)
	copy(raw, hdr[:])
	if _, err := io.ReadFull(r, raw[5:]); err != nil {
		return 0, nil, nil, err
	}
	return hdr[0], raw[5:], raw, nil
}

func encode(m interface{ Encode([]byte) ([]byte, error) }) []byte {
	b, err := m.Encode(nil)
	if err != nil {
		panic(err) // only for messages the proxy builds, which always encode
	}
	return b
}

func fatal(code, msg, hint string) *pgproto3.ErrorResponse {
	return &pgproto3.ErrorResponse{Severity: "FATAL", SeverityUnlocalized: "FATAL", Code: code, Message: msg, Hint: hint}
}

func sendFatal(w io.Writer, code, msg, hint string) {
	w.Write(encode(fatal(code, msg, hint)))
}

// upstream is a logged-in database session.
type upstream struct {
	conn      net.Conn
	addr      string // IP:port dialled, where cancels go
	token     Token
	negotiate []byte // NegotiateProtocolVersion, relayed first
	after     [][]byte
	key       CancelKey
}

// greeting is what the client gets after the login: the
// NegotiateProtocolVersion the server sent (if any), AuthenticationOk,
// the parameters and notices, the proxy's own BackendKeyData and
// ReadyForQuery.
func (u *upstream) greeting(key CancelKey) ([]byte, error) {
	b := append([]byte(nil), u.negotiate...)
	b = append(b, encode(&pgproto3.AuthenticationOk{})...)
	for _, m := range u.after {
		if m[0] == 'K' {
			m = encode(&pgproto3.BackendKeyData{ProcessID: key.PID, SecretKey: []byte(key.Secret)})
		}
		b = append(b, m...)
	}
	return b, nil
}

// loginError carries the message the client gets.
type loginError struct {
	err       error
	clientMsg []byte
	retry     bool
}

func (e *loginError) Error() string { return e.err.Error() }
func (e *loginError) Unwrap() error { return e.err }

// login logs in upstream, once more with refreshed credentials and a new
// token when the server refuses the first.
func (e Postgres) login(ctx context.Context, s *Session, startup *pgproto3.StartupMessage, user string) (*upstream, error) {
	ctx, cancel := context.WithTimeout(ctx, LoginTimeout)
	defer cancel()
	up, err := e.loginOnce(ctx, s, startup, user, false)
	var le *loginError
	if err == nil || !errors.As(err, &le) || !le.retry {
		return up, err
	}
	s.Log.Info("login failed; retrying with refreshed credentials and a new token", "user", user, "error", err.Error())
	up, err = e.loginOnce(ctx, s, startup, user, true)
	var ae *authError
	if errors.As(err, &le) && errors.As(err, &ae) {
		le.clientMsg = encode(explain(le, s, user))
	}
	return up, err
}

// explain adds to the server's refusal what the proxy knows about it.
func explain(le *loginError, s *Session, user string) *pgproto3.ErrorResponse {
	var er pgproto3.ErrorResponse
	er.Decode(le.clientMsg[5:])
	var signer creds.Credentials
	if ae, ok := le.err.(*authError); ok {
		signer = ae.token.Signer
	}
	er.Hint = strings.TrimSpace(er.Hint + " " + s.Explain(user, signer))
	return &er
}

// authError is the server's refusal of a token.
type authError struct {
	resp  pgproto3.ErrorResponse
	token Token
}

func (e *authError) Error() string {
	return fmt.Sprintf("the database refused the IAM token signed by %s: %s %s: %s", e.token.Signer.AccessKeyID, e.resp.Severity, e.resp.Code, e.resp.Message)
}

// ErrNoTLS reports a server that answered the SSL request with N.
var ErrNoTLS = errors.New("the database does not offer TLS (it answered the SSL request with N); credkit never sends an IAM token without verified TLS")

func (e Postgres) loginOnce(ctx context.Context, s *Session, startup *pgproto3.StartupMessage, user string, refresh bool) (*upstream, error) {
	raw, err := s.Dial(ctx)
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			raw.Close()
		}
	}()
	if dl, has := ctx.Deadline(); has {
		raw.SetDeadline(dl)
	}
	conn, err := startTLS(ctx, raw, s.TLSConfig())
	if err != nil {
		if errors.Is(err, ErrNoTLS) {
			s.AuthFailed("no_tls")
		} else {
			s.AuthFailed("tls")
		}
		return nil, fmt.Errorf("%s: %w", s.Target.Name(), err)
	}
	// Only now, over verified TLS, is there a token.
	tok, err := s.Tokens.Token(ctx, TokenRequest{Host: s.Target.Host, Port: s.Target.Port, Region: s.Target.Region, User: user}, refresh)
	if err != nil {
		s.AuthFailed("credentials")
		// Retried: walking the chain anew may find fresh credentials.
		return nil, &loginError{err: err, retry: true, clientMsg: encode(fatal("28000", "credkit db proxy cannot sign an IAM token: "+err.Error(), "Check the credentials with credkit doctor."))}
	}
	params := make(map[string]string, len(startup.Parameters))
	for k, v := range startup.Parameters {
		params[k] = v
	}
	params["user"] = user
	if _, err := conn.Write(encode(&pgproto3.StartupMessage{ProtocolVersion: startup.ProtocolVersion, Parameters: params})); err != nil {
		return nil, err
	}
	up := &upstream{conn: conn, addr: raw.RemoteAddr().String(), token: tok}
	authed := false
	for {
		typ, body, msg, err := readMessage(conn)
		if err != nil {
			return nil, fmt.Errorf("reading from %s during login: %w", s.Target.Name(), err)
		}
		switch {
		case typ == 'R':
			if len(body) < 4 {
				return nil, errors.New("short authentication message")
			}
			switch code := binary.BigEndian.Uint32(body); code {
			case 0:
				authed = true
			case 3:
				if _, err := conn.Write(encode(&pgproto3.PasswordMessage{Password: tok.Value})); err != nil {
					return nil, err
				}
			default:
				s.AuthFailed("method")
				err := fmt.Errorf("the database asked for authentication method %d, not the cleartext password IAM authentication uses (is %s an RDS instance with IAM authentication on, and is %q granted rds_iam?)", code, s.Target.Host, user)
				return nil, &loginError{err: err, clientMsg: encode(fatal("28000", "credkit db proxy: "+err.Error(), ""))}
			}
		case typ == 'v':
			up.negotiate = msg
		case typ == 'E':
			var er pgproto3.ErrorResponse
			er.Decode(body)
			if !authed {
				s.AuthFailed("refused")
				return nil, &loginError{err: &authError{resp: er, token: tok}, clientMsg: msg, retry: strings.HasPrefix(er.Code, "28")}
			}
			return nil, &loginError{err: fmt.Errorf("%s after login: %s %s: %s", s.Target.Name(), er.Severity, er.Code, er.Message), clientMsg: msg}
		case !authed:
			return nil, fmt.Errorf("unexpected message %q from %s before authentication", typ, s.Target.Name())
		case typ == 'K':
			var k pgproto3.BackendKeyData
			if err := k.Decode(body); err != nil {
				return nil, err
			}
			up.key = CancelKey{PID: k.ProcessID, Secret: string(k.SecretKey)}
			up.after = append(up.after, msg)
		case typ == 'Z':
			up.after = append(up.after, msg)
			raw.SetDeadline(time.Time{})
			ok = true
			return up, nil
		default:
			up.after = append(up.after, msg)
		}
	}
}

// startTLS asks for TLS on a fresh PostgreSQL connection and verifies the
// server; nothing else has been sent on it.
func startTLS(ctx context.Context, raw net.Conn, cfg *tls.Config) (*tls.Conn, error) {
	var req [8]byte
	binary.BigEndian.PutUint32(req[:4], 8)
	binary.BigEndian.PutUint32(req[4:], pgSSLRequest)
	if _, err := raw.Write(req[:]); err != nil {
		return nil, err
	}
	var ans [1]byte
	if _, err := io.ReadFull(raw, ans[:]); err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return nil, errors.New("no answer to the SSL request: is this a PostgreSQL server?")
		}
		return nil, fmt.Errorf("reading the answer to the SSL request: %w", unwrapOp(err))
	}
	switch ans[0] {
	case 'S':
	case 'N':
		return nil, ErrNoTLS
	default:
		return nil, fmt.Errorf("the answer to the SSL request was %q, not S or N: is this PostgreSQL?", ans[0])
	}
	conn := tls.Client(raw, cfg)
	if err := conn.HandshakeContext(ctx); err != nil {
		return nil, fmt.Errorf("TLS: %w (the server certificate must chain to the CA bundle and name %s)", err, cfg.ServerName)
	}
	return conn, nil
}

// cancel forwards a client's cancel request to the session it names, at
// the address that session dialled, over TLS when the server offers it.
func (e Postgres) cancel(ctx context.Context, s *Session, k CancelKey) {
	t, ok := s.Cancels().Lookup(k)
	if !ok {
		s.Log.Info("cancel request for an unknown session")
		return
	}
	ctx, stop := context.WithTimeout(ctx, 10*time.Second)
	defer stop()
	raw, err := s.DialAddr(ctx, t.Addr)
	if err != nil {
		s.Log.Warn("cancel request not delivered", "error", err.Error())
		return
	}
	defer raw.Close()
	dl, _ := ctx.Deadline()
	raw.SetDeadline(dl)
	var w io.Writer = raw
	conn, err := startTLS(ctx, raw, t.TLS)
	switch {
	case err == nil:
		w = conn
	case errors.Is(err, ErrNoTLS):
		// A cancel key is no credential; the server takes it in clear.
	default:
		s.Log.Warn("cancel request not delivered", "error", err.Error())
		return
	}
	if _, err := w.Write(encode(&pgproto3.CancelRequest{ProcessID: t.Key.PID, SecretKey: []byte(t.Key.Secret)})); err != nil {
		s.Log.Warn("cancel request not delivered", "error", err.Error())
		return
	}
	// The server closes the connection once it has read the request.
	io.Copy(io.Discard, raw)
	s.Log.Info("cancel request forwarded", "upstream_pid", t.Key.PID)
}

// Refuse implements Engine: it answers the startup with a FATAL error.
func (e Postgres) Refuse(client net.Conn, msg string) {
	defer client.Close()
	client.SetDeadline(time.Now().Add(5 * time.Second))
	for range 3 {
		body, err := readStartupPacket(client)
		if err != nil {
			return
		}
		if c := binary.BigEndian.Uint32(body); c == pgSSLRequest || c == pgGSSENCRequest {
			client.Write([]byte{'N'})
			continue
		}
		sendFatal(client, "53300", msg, "")
		return
	}
}

// Splice copies both ways until either side ends, then closes both.
func Splice(client, server net.Conn) error {
	var once sync.Once
	closeBoth := func() { client.Close(); server.Close() }
	errc := make(chan error, 2)
	cp := func(dst, src net.Conn) {
		_, err := io.Copy(dst, src)
		once.Do(closeBoth)
		errc <- err
	}
	go cp(server, client)
	go cp(client, server)
	err := <-errc
	<-errc
	if errors.Is(err, net.ErrClosed) || errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

// Probe implements Engine: it connects and verifies TLS, and sends no token.
func (e Postgres) Probe(ctx context.Context, s *Session) error {
	raw, err := s.Dial(ctx)
	if err != nil {
		return err
	}
	defer raw.Close()
	if dl, ok := ctx.Deadline(); ok {
		raw.SetDeadline(dl)
	}
	conn, err := startTLS(ctx, raw, s.TLSConfig())
	if err != nil {
		return fmt.Errorf("%s: %w", s.Target.Name(), err)
	}
	return conn.Close()
}
