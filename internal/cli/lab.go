package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/credkit/credkit/internal/execrun"
	"github.com/credkit/credkit/lab"
	"github.com/credkit/credkit/server"
)

// labOpts are the flags of credkit lab.
type labOpts struct {
	seed, addr, serve, writeConfig, logFile, profile string
	ttl, skew, latency                               time.Duration
	outages                                          []string
	ssoFaults                                        []string
	throttle                                         float64
	json, v2only                                     bool
}

func newLabCmd(a *App) *cobra.Command {
	var o labOpts
	cmd := &cobra.Command{
		Use:   "lab [flags] [-- COMMAND [ARGS...]]",
		Short: "a local AWS credential emulator whose credentials expire in seconds",
		Long: "Runs a local AWS credential emulator on 127.0.0.1: STS (GetCallerIdentity, GetSessionToken\n" +
			"with MFA, AssumeRole with trust policies, AssumeRoleWithWebIdentity), IAM access keys,\n" +
			"instance metadata and a container endpoint, all issuing credentials that live --ttl\n" +
			"(15 seconds and up) and checking every SigV4 signature, so that a program that keeps\n" +
			"expired credentials, or signs wrongly, fails in minutes instead of hours.\n\n" +
			"It writes an AWS config and credentials pair whose profiles point at the lab with\n" +
			"endpoint_url: one per user (its keys), one per role (role_arn with source_profile,\n" +
			"external_id, mfa_serial or web_identity_token_file as the trust policy needs) and\n" +
			"lab-served (no keys: credentials come from --serve). Without a seed the account is\n" +
			"000000000000 with user lab-user (key and MFA device) and roles lab-role, lab-partner-role\n" +
			"(ExternalId lab-external-id), lab-mfa-role and lab-web-role (web identity).\n\n" +
			"With COMMAND, runs it with AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE, AWS_PROFILE\n" +
			"(the first role's profile, or lab-served with --serve), AWS_ENDPOINT_URL (and\n" +
			"AWS_ENDPOINT_URL_STS), AWS_REGION, AWS_DEFAULT_REGION and " + envConsoleEndpoint + "\n" +
			"(the lab's federation endpoint, for credkit console) set, with --serve also the\n" +
			"container or instance metadata variables, variables that would shadow them removed,\n" +
			"and exits with its exit code. Without, runs until interrupted and prints the\n" +
			"variables to use. Refused requests are logged to stderr (or --log) with the reason,\n" +
			"e.g. the trust policy statement that did not match or the canonical request the lab\n" +
			"expected; a summary is printed to stderr at exit.\n\n" +
			"The AWS CLI v2 before 2.13 ignores endpoint_url and AWS_ENDPOINT_URL: give it\n" +
			"--endpoint-url \"$AWS_ENDPOINT_URL\" and a profile with keys (--profile lab-user).\n" +
			"\"credkit lab totp FILE\" prints the current MFA code of the base32 secret in FILE\n" +
			"(the written config directory holds USER.mfa for each user with an MFA device).",
		Example: examples(
			"credkit lab -- go run ./examples/whoami -every 5s -for 2m",
			"credkit lab --ttl 30s --serve ecs -- python3 app.py",
			"credkit lab --seed account.json --write-config ./lab-aws",
			"credkit lab --clock-skew 20m -- sh -c 'aws sts get-caller-identity --profile lab-user --endpoint-url \"$AWS_ENDPOINT_URL\"'",
			"credkit lab --imds-outage 1m+30s --imds-outage 3m+10s:503 --serve imds -- ./agent",
			"credkit lab totp ./lab-aws/lab-user.mfa"),
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, command []string) error {
			return a.labCmd(cmd.Context(), &o, command)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.seed, "seed", "", "account `FILE` (YAML or JSON); default: the built-in account")
	fs.StringVar(&o.addr, "addr", "127.0.0.1:0", "loopback `address` to listen on")
	fs.DurationVar(&o.ttl, "ttl", 15*time.Minute, "lifetime of issued credentials (at least 15s)")
	fs.DurationVar(&o.skew, "clock-skew", 0, "run the lab's clock this far ahead (negative: behind); beyond 15m signatures are refused")
	fs.StringArrayVar(&o.outages, "imds-outage", nil, "`START+DURATION`[:STATUS] after start during which instance metadata drops connections (or answers STATUS); repeatable")
	fs.Float64Var(&o.throttle, "sts-throttle", 0, "STS requests per second beyond which it answers Throttling (0: no limit)")
	fs.DurationVar(&o.latency, "latency", 0, "added to every response")
	fs.StringArrayVar(&o.ssoFaults, "sso", nil, ssoFaultHelp)
	fs.StringVar(&o.serve, "serve", "", "also hand COMMAND credentials through the lab's `ecs` container endpoint or imds")
	fs.BoolVar(&o.v2only, "imdsv2-only", false, "instance metadata refuses IMDSv1 requests (no session token)")
	fs.StringVar(&o.writeConfig, "write-config", "", "write the AWS config and credentials into `DIR` and keep them (default: a temporary directory removed at exit)")
	fs.StringVar(&o.profile, "profile", "", "the profile COMMAND gets in AWS_PROFILE (default: the first role's, or lab-served with --serve)")
	fs.StringVar(&o.logFile, "log", "", "append refused-request lines to `FILE` instead of stderr")
	fs.BoolVar(&o.json, "json", false, "print the summary as JSON")
	cmd.RegisterFlagCompletionFunc("serve", fixedValues("ecs", "imds"))
	cmd.RegisterFlagCompletionFunc("profile", cobra.NoFileCompletions)
	cmd.AddCommand(newLabTOTPCmd(a))
	return cmd
}

func (a *App) labCmd(ctx context.Context, o *labOpts, command []string) error {
	opts, err := a.labOptions(o)
	if err != nil {
		return err
	}
	if len(command) > 0 {
		if _, err := execrun.LookPath(command[0]); err != nil {
			return err
		}
	}

	if _, isFile := a.Stderr.(*os.File); !isFile {
		// The child and the lab's log write to the same buffer: one at a
		// time. (A terminal is passed to the child as it is.)
		a = &App{Stdin: a.Stdin, Stdout: a.Stdout, Stderr: &lockedWriter{w: a.Stderr}, Getenv: a.Getenv, Now: a.Now, HTTP: a.HTTP, Environ: a.Environ}
	}
	var logOut io.Writer = a.Stderr
	if o.logFile != "" {
		f, err := os.OpenFile(o.logFile, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
		if err != nil {
			return badInput("--log: %v", err)
		}
		defer f.Close()
		logOut = f
	}
	opts.Log = logOut
	l, err := lab.New(*opts)
	if err != nil {
		return asBadInput(err)
	}
	srv, err := listenHTTP(o.addr, l.Handler())
	if err != nil {
		return badInput("--addr: %v", err)
	}
	defer srv.close()
	defer a.labSummary(l, o.json)

	dir := o.writeConfig
	if dir == "" {
		if dir, err = os.MkdirTemp("", "credkit-lab-"); err != nil {
			return err
		}
		defer os.RemoveAll(dir)
	}
	cfg, err := lab.WriteConfig(l, srv.URL, dir)
	if err != nil {
		return fmt.Errorf("write the lab's AWS config: %w", err)
	}
	refreshCtx, stopRefresh := context.WithCancel(ctx)
	defer stopRefresh()
	go cfg.RefreshTokens(refreshCtx)

	profile := o.profile
	if profile == "" {
		profile = cfg.DefaultProfile
		if o.serve != "" {
			profile = lab.ServedProfile
		}
	}
	if all := append(slices.Clone(cfg.Profiles), cfg.SSOProfiles...); !slices.Contains(all, profile) {
		return badInput("--profile %q: the written config has %s", profile, strings.Join(all, ", "))
	}
	vars := []string{
		"AWS_CONFIG_FILE=" + cfg.ConfigFile, "AWS_SHARED_CREDENTIALS_FILE=" + cfg.CredentialsFile,
		"AWS_PROFILE=" + profile, "AWS_ENDPOINT_URL=" + srv.URL,
		// aws-sdk-go-v2 makes the STS client of a role profile before it
		// reads AWS_ENDPOINT_URL, and then ignores the services section
		// when AWS_ENDPOINT_URL is set: only this reaches that client.
		"AWS_ENDPOINT_URL_STS=" + srv.URL,
		"AWS_REGION=" + lab.Region, "AWS_DEFAULT_REGION=" + lab.Region,
		envConsoleEndpoint + "=" + srv.URL + "/federation",
	}
	switch o.serve {
	case "ecs":
		vars = append(vars, "AWS_CONTAINER_CREDENTIALS_FULL_URI="+srv.URL+l.ECSPath(), "AWS_CONTAINER_AUTHORIZATION_TOKEN="+l.ECSToken())
	case "imds":
		vars = append(vars, "AWS_EC2_METADATA_SERVICE_ENDPOINT="+srv.URL+"/", "AWS_EC2_METADATA_DISABLED=false")
	}

	if len(command) == 0 {
		fmt.Fprintf(a.Stderr, "credkit lab: serving %s (account %s, credentials live %s)\n", srv.URL, l.AccountID(), l.TTL())
		for _, v := range vars {
			k, val, _ := strings.Cut(v, "=")
			fmt.Fprintf(a.Stdout, "export %s=%s\n", k, shellQuote(val))
		}
		where := "removed at exit"
		if o.writeConfig != "" {
			where = "kept"
		}
		fmt.Fprintf(a.Stderr, "credkit lab: AWS config and credentials in %s (%s); profiles: %s; Identity Center profiles (credkit sso login first): %s\n",
			dir, where, strings.Join(cfg.Profiles, ", "), strings.Join(cfg.SSOProfiles, ", "))
		fmt.Fprintln(a.Stderr, "credkit lab: running until interrupted (Ctrl-C)")
		<-ctx.Done()
		return nil
	}
	path, _ := exec.LookPath(command[0])
	env := append(withoutEndpointOverrides(a.childEnv()), vars...)
	return a.runChild(path, command, env)
}

// httpServer is the lab's HTTP server on loopback.
type httpServer struct {
	URL string
	srv *http.Server
}

// listenHTTP serves h on addr, a loopback address ("" or a port of 0: a
// free port), as the lab must only be reachable from this machine.
func listenHTTP(addr string, h http.Handler) (*httpServer, error) {
	ln, err := server.ListenLoopback(addr, "the lab serves")
	if err != nil {
		return nil, err
	}
	s := &httpServer{URL: "http://" + ln.Addr().String(), srv: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}}
	go s.srv.Serve(ln)
	return s, nil
}

// close stops the server, giving requests in flight two seconds.
func (s *httpServer) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if s.srv.Shutdown(ctx) != nil {
		s.srv.Close()
	}
}

// labOptions checks the flags and turns them into lab.Options.
func (a *App) labOptions(o *labOpts) (*lab.Options, error) {
	opts := &lab.Options{TTL: o.ttl, ClockSkew: o.skew, STSThrottle: o.throttle, Latency: o.latency, DisableIMDSv1: o.v2only, Now: a.Now}
	if o.ttl < lab.MinTTL {
		return nil, badInput("--ttl %s: the shortest lifetime is %s", o.ttl, lab.MinTTL)
	}
	if o.throttle < 0 {
		return nil, badInput("--sts-throttle %g: a rate in requests per second must be positive (0 for no limit)", o.throttle)
	}
	if o.latency < 0 {
		return nil, badInput("--latency %s: must not be negative", o.latency)
	}
	if o.serve != "" && o.serve != "ecs" && o.serve != "imds" {
		return nil, badInput("--serve %q: ecs or imds", o.serve)
	}
	sso, err := parseSSOFaults(o.ssoFaults)
	if err != nil {
		return nil, badInput("%v", err)
	}
	opts.SSO = sso
	for _, v := range o.outages {
		out, err := parseOutage(v)
		if err != nil {
			return nil, badInput("--imds-outage %q: %v", v, err)
		}
		opts.IMDSOutages = append(opts.IMDSOutages, out)
	}
	if o.seed != "" {
		s, err := lab.LoadSeed(o.seed)
		if err != nil {
			return nil, badInput("--seed: %v", err)
		}
		opts.Seed = s
	}
	return opts, nil
}

// parseOutage reads START+DURATION[:STATUS], e.g. 1m+30s or 2m+10s:503.
func parseOutage(v string) (lab.Outage, error) {
	const want = "want START+DURATION[:STATUS], e.g. 1m+30s (connections dropped) or 1m+30s:503"
	spec, status, hasStatus := strings.Cut(v, ":")
	startS, durS, ok := strings.Cut(spec, "+")
	if !ok {
		return lab.Outage{}, errors.New(want)
	}
	start, err := time.ParseDuration(startS)
	if err != nil || start < 0 {
		return lab.Outage{}, fmt.Errorf("start %q is not a duration such as 1m; %s", startS, want)
	}
	dur, err := time.ParseDuration(durS)
	if err != nil || dur <= 0 {
		return lab.Outage{}, fmt.Errorf("duration %q is not a positive duration such as 30s; %s", durS, want)
	}
	out := lab.Outage{Start: start, Duration: dur}
	if hasStatus {
		n, err := strconv.Atoi(status)
		if err != nil || n < 400 || n > 599 {
			return lab.Outage{}, fmt.Errorf("status %q: an HTTP error status, 400 to 599", status)
		}
		out.Status = n
	}
	return out, nil
}

func (a *App) labSummary(l *lab.Lab, asJSON bool) {
	s := l.Summary()
	if asJSON {
		b, _ := json.Marshal(s)
		fmt.Fprintf(a.Stderr, "%s\n", b)
		return
	}
	fmt.Fprintf(a.Stderr, "credkit %s\n", s)
}

func newLabTOTPCmd(a *App) *cobra.Command {
	return &cobra.Command{
		Use:   "totp FILE",
		Short: "print the current code of a lab user's virtual MFA device",
		Long: "Prints the current 6-digit code of the virtual MFA device whose base32 secret is in FILE\n" +
			"(as credkit lab writes USER.mfa next to the AWS config), as an authenticator app would.",
		Example: examples("credkit lab totp ./lab-aws/lab-user.mfa"),
		Args:    exactArgs(1, "one file holding a base32 secret"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.labTOTP(args)
		},
	}
}

// labTOTP prints the current code of a virtual MFA device.
func (a *App) labTOTP(pos []string) error {
	b, err := os.ReadFile(pos[0])
	if err != nil {
		return badInput("lab totp: %v", err)
	}
	code, err := lab.TOTP(strings.TrimSpace(string(b)), a.Now())
	if err != nil {
		return badInput("lab totp %s: %v", pos[0], err)
	}
	fmt.Fprintln(a.Stdout, code)
	return nil
}

// withoutEndpointOverrides drops service-specific endpoint variables
// (AWS_ENDPOINT_URL_STS, ...) of the parent: they would send the child
// elsewhere than the lab.
func withoutEndpointOverrides(env []string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if strings.HasPrefix(kv, "AWS_ENDPOINT_URL_") || strings.HasPrefix(kv, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=") {
			continue
		}
		out = append(out, kv)
	}
	return out
}

// lockedWriter serialises log lines from concurrent requests.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
