package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"

	"github.com/credkit/credkit/creds"
	"github.com/credkit/credkit/dbproxy"
	"github.com/credkit/credkit/dbproxy/mysql"
	"github.com/credkit/credkit/rdsauth"
	"github.com/credkit/credkit/source"
)

// dbProxyFlags are the flags of db proxy.
type dbProxyFlags struct {
	engine, host, user, caBundle, listen, passwordFile, health, config string
	port, maxConns                                                     int
	metrics, check, debug                                              bool
	drain                                                              time.Duration
}

func newDBProxyCmd(a *App) *cobra.Command {
	var o credOpts
	var f dbProxyFlags
	cmd := &cobra.Command{
		Use:   "proxy --host HOST --port PORT --user USER [flags]",
		Short: "serve a local database endpoint that logs in with IAM tokens",
		Long: "Serves a local PostgreSQL or MySQL endpoint for GUI tools and applications: they connect with no\n" +
			"password (or a local one) and the proxy logs in to the database with an IAM token signed by\n" +
			"the credentials the chain resolves at that moment, over TLS verified against --ca-bundle\n" +
			"(else ~/.config/credkit/rds-ca-bundle.pem, else the system roots). A token is reused only\n" +
			"while it has a minute left and its signing credentials are still valid; a refused login\n" +
			"is retried once with refreshed credentials.\n\n" +
			"It listens on 127.0.0.1 on the database's port, or the next free one, and prints the\n" +
			"address. --listen unix:DIR makes DIR/.s.PGSQL.PORT, as psql -h DIR expects (for MySQL,\n" +
			"DIR/mysqld.sock: mysql -S DIR/mysqld.sock). MySQL clients connect without TLS\n" +
			"(--ssl-mode=DISABLED, --skip-ssl); a local password is checked with caching_sha2_password\n" +
			"or mysql_native_password and never crosses the local connection. A listen\n" +
			"address other than loopback needs --local-password-file. --config FILE serves several\n" +
			"targets, one listener each. SIGTERM or Ctrl-C stops accepting and waits up to --drain for\n" +
			"open sessions.\n\n" +
			"Deployments: on a laptop, run one proxy per user; credentials come from the profile,\n" +
			"SSO or the vault at each login, so a laptop that slept logs in again. As a sidecar, one per\n" +
			"pod: the chain reads IRSA (AWS_WEB_IDENTITY_TOKEN_FILE) or EKS Pod Identity\n" +
			"(AWS_CONTAINER_CREDENTIALS_FULL_URI) credentials; --health serves /startup, /liveness and\n" +
			"/readiness for the probes and --metrics adds /metrics for Prometheus.",
		Example: examples(
			"credkit db proxy --host mydb.abc.eu-west-1.rds.amazonaws.com --port 5432 --user app",
			"psql \"host=127.0.0.1 port=5432 user=app dbname=orders sslmode=disable\"",
			"credkit db proxy --host mydb.abc.eu-west-1.rds.amazonaws.com:5432 --user app --listen unix:/run/credkit --health 127.0.0.1:9801 --metrics",
			"credkit db proxy --engine mysql --host mydb.abc.eu-west-1.rds.amazonaws.com --port 3306 --user app",
			"mysql -h 127.0.0.1 -P 3306 -u app --ssl-mode=DISABLED orders",
			"credkit db proxy --config /etc/credkit/dbproxy.yaml --profile prod"),
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.config != "" {
				for _, n := range []string{"host", "port", "user", "listen", "local-password-file"} {
					if cmd.Flags().Changed(n) {
						return usagef(cmd, "--%s and --config exclude each other: put the target in the config file", n)
					}
				}
			} else if f.host == "" || f.user == "" {
				return usagef(cmd, "db proxy needs --host and --user (and --port), or --config FILE")
			}
			if f.metrics && f.health == "" {
				return usagef(cmd, "--metrics serves /metrics on the --health address: pass --health 127.0.0.1:9801 too")
			}
			if f.maxConns < 0 {
				return usagef(cmd, "--max-connections %d is negative (0 means no limit)", f.maxConns)
			}
			return a.dbProxy(cmd.Context(), &o, f)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.profile, "profile", "", "sign with this profile, ahead of environment keys (default: the SDKs' chain)")
	fs.StringVar(&o.region, "region", "", "region to sign for (default: the one in the RDS host name, then AWS_REGION, then the profile's)")
	fs.StringVar(&f.engine, "engine", "", "database engine: postgres or mysql (default: from the port, 5432 postgres, 3306 mysql)")
	fs.StringVar(&f.host, "host", "", "database endpoint host name (or host:port)")
	fs.IntVar(&f.port, "port", 0, "database port (part of the token's signature)")
	fs.StringVar(&f.user, "user", "", "database user the proxy logs in as (clients must connect as this user)")
	fs.StringVar(&f.caBundle, "ca-bundle", "", "PEM file of the CAs that sign the database's certificate (default: ~/.config/credkit/rds-ca-bundle.pem, else the system roots)")
	fs.StringVar(&f.listen, "listen", "", "local address: host:port or unix:PATH (default: 127.0.0.1 on the database's port or the next free one)")
	fs.StringVar(&f.passwordFile, "local-password-file", "", "file (mode 0600) whose first line is the password local clients must give")
	fs.StringVar(&f.health, "health", "", "serve /startup, /liveness and /readiness on this address (host:port)")
	fs.BoolVar(&f.metrics, "metrics", false, "serve Prometheus metrics on /metrics at the --health address")
	fs.IntVar(&f.maxConns, "max-connections", 0, "refuse clients beyond this many open connections (0: no limit)")
	fs.DurationVar(&f.drain, "drain", 30*time.Second, "on SIGTERM, how long open sessions may run before they are closed")
	fs.StringVar(&f.config, "config", "", "YAML file with several targets (targets: [{host, port, user, listen, ...}]) and the options above")
	fs.BoolVar(&f.check, "check", false, "connect to each database and verify its TLS certificate (no login), then exit")
	fs.BoolVar(&f.debug, "debug", false, "log every connection, not only failures")
	cmd.RegisterFlagCompletionFunc("engine", fixedValues(rdsauth.EnginePostgres, rdsauth.EngineMySQL))
	return cmd
}

// dbProxyTargets turns the flags, or the config file, into targets.
func (a *App) dbProxyTargets(o *credOpts, f *dbProxyFlags) ([]*dbproxy.Target, error) {
	tcs := []dbproxy.TargetConfig{{Engine: f.engine, Host: f.host, Port: f.port, User: f.user, CABundle: f.caBundle, Listen: f.listen, LocalPasswordFile: f.passwordFile}}
	if f.config != "" {
		c, err := dbproxy.LoadConfig(f.config)
		if err != nil {
			return nil, asBadInput(err)
		}
		tcs = c.Targets
		if c.Health != "" && f.health == "" {
			f.health = c.Health
		}
		f.metrics = f.metrics || c.Metrics
		if c.MaxConnections != 0 && f.maxConns == 0 {
			f.maxConns = c.MaxConnections
		}
		if c.Drain != "" {
			d, err := time.ParseDuration(c.Drain)
			if err != nil {
				return nil, badInput("config %s: drain %q is not a duration such as 30s", f.config, c.Drain)
			}
			f.drain = d
		}
	}
	files, err := a.loadFiles()
	if err != nil {
		return nil, err
	}
	var out []*dbproxy.Target
	for _, tc := range tcs {
		tgt, err := dbTargetOf(tc.Host, tc.Port, tc.Engine)
		if err != nil {
			return nil, err
		}
		host, port := tgt.host, tgt.port
		if tc.User == "" {
			return nil, badInput("target %s:%d has no user", host, port)
		}
		ro := *o
		if tc.Region != "" {
			ro.region = tc.Region
		}
		if _, hostRegion := inferScope(host); ro.region == "" {
			ro.region = hostRegion
		}
		region, err := a.regionFor(&ro, files, "")
		if err != nil {
			return nil, err
		}
		caFile := tc.CABundle
		if caFile == "" {
			caFile = f.caBundle
		}
		path, err := a.dbCAFile(caFile)
		if err != nil {
			return nil, err
		}
		roots, err := dbproxy.Roots(path, a.Now())
		if err != nil {
			return nil, err
		}
		t := &dbproxy.Target{Engine: tgt.engine, Host: host, Port: port, User: tc.User, Region: region, Roots: roots, Listen: tc.Listen}
		if tc.LocalPasswordFile != "" {
			if t.LocalPassword, err = dbproxy.ReadLocalPassword(tc.LocalPasswordFile); err != nil {
				return nil, asBadInput(err)
			}
		}
		out = append(out, t)
	}
	return out, nil
}

// chainProvider is the credential chain as the proxy asks it at every
// upstream login: the source the chain selects keeps its credentials in a
// refresh-ahead cache (so a login does not call STS or IMDS each time,
// and expired credentials are fetched again), and Invalidate, which the
// proxy calls after the database refused a token, drops the selection so
// that the next login reads the config files and walks the chain anew.
type chainProvider struct {
	a  *App
	o  *credOpts
	mu sync.Mutex
	p  creds.Provider
}

func (c *chainProvider) Retrieve(ctx context.Context) (creds.Credentials, error) {
	c.mu.Lock()
	p := c.p
	c.mu.Unlock()
	if p == nil {
		files, err := c.a.loadFiles()
		if err != nil {
			return creds.Credentials{}, err
		}
		var trace *creds.Trace
		p, trace, err = source.DefaultChain(c.a.chainOptions(c.o, files)).Select()
		if errors.Is(err, creds.ErrNoCredentials) {
			return creds.Credentials{}, fmt.Errorf("%w: looked at %s; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or pass --profile NAME (run credkit doctor for details)", err, lookedAt(trace))
		}
		if err != nil {
			return creds.Credentials{}, err
		}
		c.mu.Lock()
		c.p = p
		c.mu.Unlock()
	}
	cr, err := p.Retrieve(ctx)
	if err != nil {
		c.Invalidate()
	}
	return cr, err
}

// Invalidate makes the next Retrieve walk the chain anew.
func (c *chainProvider) Invalidate() {
	c.mu.Lock()
	c.p = nil
	c.mu.Unlock()
}

func (a *App) dbProxy(ctx context.Context, o *credOpts, f dbProxyFlags) error {
	targets, err := a.dbProxyTargets(o, &f)
	if err != nil {
		return err
	}
	level := slog.LevelInfo
	if f.debug {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(a.Stderr, &slog.HandlerOptions{Level: level}))
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	tokens := &dbproxy.Tokens{Credentials: &chainProvider{a: a, o: o}, Now: a.Now}
	p, err := dbproxy.New(dbproxy.Options{
		Targets: targets, Tokens: tokens, MaxConnections: f.maxConns, Log: log,
		Engines: map[string]dbproxy.Engine{rdsauth.EnginePostgres: dbproxy.Postgres{}, rdsauth.EngineMySQL: mysql.Engine{}},
		Metrics: dbproxy.NewMetrics(reg),
	})
	if errors.Is(err, dbproxy.ErrNotLoopback) {
		return asBadInput(err)
	}
	if err != nil {
		return err
	}
	if f.check {
		defer p.Shutdown(ctx)
		pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		if errs := p.Probe(pctx); len(errs) > 0 {
			return errs[0]
		}
		for _, t := range targets {
			fmt.Fprintf(a.Stdout, "%s: reachable, TLS verified\n", t.Name())
		}
		return nil
	}
	var h *dbproxy.Health
	if f.health != "" {
		var g prometheus.Gatherer
		if f.metrics {
			g = reg
		}
		if h, err = dbproxy.ListenHealth(f.health, p, g); err != nil {
			p.Shutdown(ctx)
			return badInput("--health %s: %v", f.health, err)
		}
		defer h.Close()
	}
	for i, addr := range p.Addrs() {
		fmt.Fprintf(a.Stdout, "listening on %s for %s (%s, region %s)\n", addr, targets[i].Name(), targets[i].Engine, targets[i].Region)
	}
	if h != nil {
		fmt.Fprintf(a.Stdout, "health on http://%s\n", h.Addr())
	}
	go func() {
		pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		for _, err := range p.Probe(pctx) {
			log.Warn("database not ready", "error", err.Error())
		}
	}()
	sctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	serveErr := make(chan error, 1)
	go func() { serveErr <- p.Serve(context.WithoutCancel(ctx)) }()
	if h != nil {
		h.Started()
	}
	select {
	case err := <-serveErr:
		p.Shutdown(ctx)
		return err
	case <-sctx.Done():
	}
	stop()
	log.Info("draining", "open", p.Open(), "deadline", f.drain.String())
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), f.drain)
	defer cancel()
	if n := p.Shutdown(dctx); n > 0 {
		log.Warn("closed sessions still open at the drain deadline", "closed", n)
	}
	return <-serveErr
}
