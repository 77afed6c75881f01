package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/credkit/credkit/awsconfig"
	"github.com/credkit/credkit/creds"
	"github.com/credkit/credkit/internal/execrun"
	"github.com/credkit/credkit/internal/sessioncache"
	"github.com/credkit/credkit/server"
	"github.com/credkit/credkit/source"
)

// profileProvider returns the refreshing provider of a profile (the chain
// with the profile chosen explicitly) and its region.
func (a *App) profileProvider(ctx context.Context, o *credOpts) (creds.Provider, creds.Credentials, string, error) {
	p, c, region, _, err := a.profileProviderFiles(ctx, o)
	return p, c, region, err
}

// profileProviderFiles is profileProvider that also returns the config
// files.
func (a *App) profileProviderFiles(ctx context.Context, o *credOpts) (creds.Provider, creds.Credentials, string, *awsconfig.Files, error) {
	files, err := a.loadFiles()
	if err != nil {
		return nil, creds.Credentials{}, "", nil, err
	}
	chain := source.DefaultChain(a.chainOptions(o, files))
	p, _, err := chain.Select()
	if err != nil {
		return nil, creds.Credentials{}, "", nil, asBadInputIf(err)
	}
	c, err := p.Retrieve(ctx)
	if err != nil {
		return nil, c, "", nil, fmt.Errorf("profile %s: %w", o.profile, err)
	}
	region := o.region
	if region == "" {
		region, _ = source.Region(a.Getenv, files, o.profile)
	}
	return p, c, region, files, nil
}

func asBadInputIf(err error) error {
	var u usageError
	if errors.As(err, &u) {
		return err
	}
	if strings.Contains(err.Error(), "profile") && strings.Contains(err.Error(), "not found") {
		return asBadInput(err)
	}
	return err
}

func (a *App) childEnv(extra ...string) []string {
	return execrun.ChildEnv(a.Environ(), extra...)
}

// runChild runs the command with stdio passed through and signals
// forwarded, and returns its exit code as a silentError.
func (a *App) runChild(path string, argv []string, env []string) error {
	err := execrun.RunChild(path, argv, env, a.Stdin, a.Stdout, a.Stderr)
	var ee execrun.ExitError
	if errors.As(err, &ee) {
		return silentError{ee.Code}
	}
	return err
}

func (a *App) execCmd(ctx context.Context, args []string) error {
	var o credOpts
	var mode string
	var allowNested bool
	fs := a.flagSet("exec", "exec PROFILE [--mode server|env|imds] -- COMMAND [ARGS...]",
		"Runs COMMAND with the credentials of PROFILE. In the default server mode credkit serves\n"+
			"them on a loopback container endpoint (AWS_CONTAINER_CREDENTIALS_FULL_URI with a fresh\n"+
			"256-bit AWS_CONTAINER_AUTHORIZATION_TOKEN) for as long as COMMAND runs, refreshing them\n"+
			"before they expire, so a program that lives for days never sees an expired session.\n"+
			"--mode imds serves IMDSv2 instead (AWS_EC2_METADATA_SERVICE_ENDPOINT), for tools that only\n"+
			"know instance metadata. --mode env puts the keys in the environment: they do not refresh.\n"+
			"Variables that would shadow these credentials (AWS_ACCESS_KEY_ID, AWS_PROFILE, ...) are\n"+
			"removed; AWS_REGION and AWS_DEFAULT_REGION are set when known. Exit code: COMMAND's.\n"+
			"The session is cached (mode 0600; sessions from vault keys stay in the vault), so the\n"+
			"next exec of the profile starts COMMAND from that cache in a few milliseconds and\n"+
			"refreshes it through the profile when it nears expiry.",
		"credkit exec dev -- aws sts get-caller-identity",
		"credkit exec prod --mode imds -- ./legacy-tool",
		"credkit exec dev --mode env -- terraform plan")
	o.register(fs)
	fs.StringVar(&mode, "mode", "server", "server (container endpoint), imds (IMDSv2 endpoint) or env (static environment)")
	fs.BoolVar(&allowNested, "allow-nested", false, "run even inside another credkit exec")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) < 2 {
		return badInput("exec needs a profile and a command: credkit exec PROFILE -- COMMAND [ARGS...]")
	}
	o.profile = pos[0]
	command := pos[1:]
	if !execrun.ValidMode(mode) {
		return badInput("--mode %q: server, imds or env", mode)
	}
	if msg := execrun.NestedError(a.Getenv(execrun.EnvExec), allowNested); msg != "" {
		return badInput("%s", msg)
	}
	path, err := exec.LookPath(command[0])
	if err != nil {
		return badInput("command %q: %v", command[0], errors.Unwrap(err))
	}
	// From the session cache when it holds the profile's session, else
	// (and to refresh that) the full chain, caching what it makes.
	p, c, region, err := execrun.Session(ctx, execrun.SessionOptions{Getenv: a.Getenv, Profile: o.profile, Region: o.region, Now: a.Now,
		Resolve: func(ctx context.Context) (creds.Provider, creds.Credentials, string, error) {
			configMod := sessioncache.ConfigMod(a.Getenv)
			p, c, region, files, err := a.profileProviderFiles(ctx, &o)
			if err == nil {
				a.cacheSession(sessioncache.File(a.Getenv, o.profile), o.profile, c, files, configMod)
			}
			return p, c, region, err
		}})
	if err != nil {
		return err
	}
	err = execrun.Run(execrun.Spec{
		Profile: o.profile, Mode: mode, Region: region, Provider: p, Current: c,
		Path: path, Argv: command, Environ: a.Environ(),
		Stdin: a.Stdin, Stdout: a.Stdout, Stderr: a.Stderr, Now: a.Now,
	})
	var ee execrun.ExitError
	if errors.As(err, &ee) {
		return silentError{ee.Code}
	}
	return err
}

func (a *App) serve(ctx context.Context, args []string) error {
	var o credOpts
	var mode, addr, tokenFile string
	fs := a.flagSet("serve", "serve PROFILE [--mode ecs|imds] [--addr 127.0.0.1:PORT] [--token-file PATH]",
		"Serves the credentials of PROFILE on a loopback endpoint until interrupted, refreshing\n"+
			"them before they expire, for IDEs and other long-lived programs. It prints the variables\n"+
			"to put in a run configuration; the container endpoint's token is written to a file\n"+
			"readable by you only (AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE), so it never sits in the\n"+
			"IDE's settings.",
		"credkit serve dev",
		"credkit serve dev --addr 127.0.0.1:9911 --token-file ~/.config/credkit/dev.token",
		"credkit serve dev --mode imds")
	o.register(fs)
	fs.StringVar(&mode, "mode", "ecs", "ecs (container endpoint) or imds (IMDSv2)")
	fs.StringVar(&addr, "addr", "127.0.0.1:0", "loopback address to listen on")
	fs.StringVar(&tokenFile, "token-file", "", "where to write the ecs token (default: under ~/.cache/credkit, mode 0600)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return badInput("serve takes one profile: credkit serve PROFILE")
	}
	o.profile = pos[0]
	if mode != "ecs" && mode != "imds" {
		return badInput("--mode %q: ecs or imds", mode)
	}
	p, c, region, err := a.profileProvider(ctx, &o)
	if err != nil {
		return err
	}
	var srv *server.Server
	var stats *server.Stats
	switch mode {
	case "ecs":
		tok, err := server.NewToken()
		if err != nil {
			return err
		}
		if tokenFile == "" {
			tokenFile = filepath.Join(filepath.Dir(a.cacheDir()), "serve-"+o.profile+".token")
		}
		if err := writePrivate(tokenFile, tok); err != nil {
			return fmt.Errorf("write token file: %w", err)
		}
		defer os.Remove(tokenFile)
		e := &server.ECS{Provider: p, Token: tok}
		if srv, err = server.Listen(addr, e); err != nil {
			return asBadInput(err)
		}
		stats = &e.Stats
		fmt.Fprintf(a.Stdout, "AWS_CONTAINER_CREDENTIALS_FULL_URI=%s/credentials\nAWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=%s\n", srv.URL, tokenFile)
	case "imds":
		m := &server.IMDS{Provider: p, Role: o.profile, Region: region, AccountID: c.AccountID, Now: a.Now}
		if srv, err = server.Listen(addr, m); err != nil {
			return asBadInput(err)
		}
		stats = &m.Stats
		fmt.Fprintf(a.Stdout, "AWS_EC2_METADATA_SERVICE_ENDPOINT=%s/\n", srv.URL)
	}
	if region != "" {
		fmt.Fprintf(a.Stdout, "AWS_REGION=%s\n", region)
	}
	fmt.Fprintf(a.Stderr, "credkit: serving profile %s on %s until interrupted (Ctrl-C)\n", o.profile, srv.URL)
	<-ctx.Done()
	execrun.Close(srv)
	fmt.Fprintf(a.Stderr, "credkit: served %d, refused %d, failed %d\n", stats.Served.Load(), stats.Refused.Load(), stats.Failed.Load())
	return nil
}

// writePrivate writes a file readable by its owner only, atomically.
func writePrivate(path, content string) error {
	return sessioncache.WritePrivate(path, []byte(content))
}
