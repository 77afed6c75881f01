package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

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
	p, c, region, _, _, err := a.profileProviderFiles(ctx, o)
	return p, c, region, err
}

// profileProviderFiles is profileProvider that also returns the config
// files and the name of the chain's link that was chosen.
func (a *App) profileProviderFiles(ctx context.Context, o *credOpts) (creds.Provider, creds.Credentials, string, *awsconfig.Files, string, error) {
	files, err := a.loadFiles()
	if err != nil {
		return nil, creds.Credentials{}, "", nil, "", err
	}
	chain := source.DefaultChain(a.chainOptions(o, files))
	p, trace, err := chain.Select()
	if errors.Is(err, creds.ErrNoCredentials) {
		err = fmt.Errorf("profile %s: %w (run credkit doctor --profile %s for what was looked at)", o.profile, err, o.profile)
	}
	if err != nil {
		return nil, creds.Credentials{}, "", nil, "", asBadInputIf(err)
	}
	c, err := p.Retrieve(ctx)
	if a.interactiveSSOLogin(ctx, o, files, err) {
		c, err = p.Retrieve(ctx)
	}
	if err != nil {
		return nil, c, "", nil, "", fmt.Errorf("profile %s: %w", o.profile, err)
	}
	region := o.region
	if region == "" {
		region, _ = source.Region(a.Getenv, files, o.profile)
	}
	return p, c, region, files, trace.Chosen, nil
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
// forwarded; its exit code comes back as an execrun.ExitError.
func (a *App) runChild(path string, argv []string, env []string) error {
	return execrun.RunChild(path, argv, env, a.Stdin, a.Stdout, a.Stderr)
}

// Modes of exec and serve: ecs and imds serve the credentials on a
// loopback endpoint; env puts them in the command's environment (exec
// only). "server" is the name ecs had before.
const (
	modeECS    = "ecs"
	modeIMDS   = "imds"
	modeEnv    = "env"
	modeServer = "server" // deprecated alias of ecs
)

// parseMode checks --mode and returns the execrun mode it names.
func parseMode(mode string, withEnv bool) (string, error) {
	switch mode {
	case modeECS, modeServer:
		return execrun.ModeServer, nil
	case modeIMDS:
		return execrun.ModeIMDS, nil
	case modeEnv:
		if withEnv {
			return execrun.ModeEnv, nil
		}
	}
	if withEnv {
		return "", badInput("--mode %q: ecs, imds or env", mode)
	}
	return "", badInput("--mode %q: ecs or imds", mode)
}

// profileArg is the profile of exec and serve: the PROFILE argument or
// --profile, not two different ones.
func profileArg(cmd *cobra.Command, flag string, pos []string) (string, error) {
	switch {
	case len(pos) > 1:
		return "", usagef(cmd, "%s takes one profile, got %q", cmd.CommandPath(), pos)
	case len(pos) == 1 && flag != "" && pos[0] != flag:
		return "", usagef(cmd, "profile %q and --profile %q disagree: give the profile once", pos[0], flag)
	case len(pos) == 1:
		return pos[0], nil
	case flag == "":
		return "", usagef(cmd, "%s needs a profile: PROFILE or --profile PROFILE", cmd.CommandPath())
	}
	return flag, nil
}

func newExecCmd(a *App) *cobra.Command {
	var o credOpts
	var mode string
	var allowNested bool
	cmd := &cobra.Command{
		Use:   "exec PROFILE [flags] -- COMMAND [ARGS...]",
		Short: "run a command with a profile's credentials, served so that they refresh",
		Long: "Runs COMMAND with the credentials of PROFILE (given as the argument or as --profile).\n" +
			"In the default ecs mode credkit serves them on a loopback container endpoint\n" +
			"(AWS_CONTAINER_CREDENTIALS_FULL_URI with a fresh 256-bit AWS_CONTAINER_AUTHORIZATION_TOKEN)\n" +
			"for as long as COMMAND runs, refreshing them before they expire, so a program that lives\n" +
			"for days never sees an expired session. --mode imds serves IMDSv2 instead\n" +
			"(AWS_EC2_METADATA_SERVICE_ENDPOINT), for tools that only know instance metadata.\n" +
			"--mode env puts the keys in the environment: they do not refresh. (--mode server is the\n" +
			"old name of ecs, still accepted and deprecated.)\n" +
			"Variables that would shadow these credentials (AWS_ACCESS_KEY_ID, AWS_PROFILE, ...) are\n" +
			"removed; AWS_REGION and AWS_DEFAULT_REGION are set when known. The session is cached\n" +
			"(mode 0600; sessions from vault keys stay in the vault), so the next exec of the profile\n" +
			"starts COMMAND from that cache in a few milliseconds, and refreshes it through the\n" +
			"profile when it nears expiry.\n\n" +
			"Flags after -- are COMMAND's. Exit code: COMMAND's when it ran; 125 when credkit could not\n" +
			"start it (unknown profile, no credentials, bad config, bad usage of exec); 126 when\n" +
			"COMMAND is not executable; 127 when it is not found.",
		Example: examples(
			"credkit exec dev -- aws sts get-caller-identity",
			"credkit exec --profile dev -- aws s3 ls",
			"credkit exec prod --mode imds -- ./legacy-tool",
			"credkit exec dev --mode env -- terraform plan"),
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			// Before "--": [PROFILE]; after it, the command. Without
			// "--", the first argument is the profile unless --profile
			// names it.
			var pos, command []string
			switch dash := cmd.ArgsLenAtDash(); {
			case dash >= 0:
				pos, command = args[:dash], args[dash:]
			case o.profile == "" && len(args) > 0:
				pos, command = args[:1], args[1:]
			default:
				command = args
			}
			profile, err := profileArg(cmd, o.profile, pos)
			if err != nil {
				return err
			}
			if len(command) == 0 {
				return usagef(cmd, "exec needs a command: credkit exec PROFILE -- COMMAND [ARGS...]")
			}
			o.profile = profile
			return a.execCmd(cmd.Context(), &o, mode, allowNested, command)
		},
		Annotations: map[string]string{profileArgAnnotation: "yes"},
	}
	o.register(cmd.Flags())
	cmd.Flags().StringVar(&mode, "mode", modeECS, "ecs (container endpoint), imds (IMDSv2 endpoint) or env (static environment); server: deprecated name of ecs")
	cmd.RegisterFlagCompletionFunc("mode", fixedValues(modeECS, modeIMDS, modeEnv))
	cmd.Flags().BoolVar(&o.allowInteractive, "allow-interactive", false, allowInteractiveHelp)
	cmd.Flags().BoolVar(&allowNested, "allow-nested", false, "run even inside another credkit exec")
	// The command after the profile completes as files and programs do.
	// (ArgsLenAtDash cannot tell: cobra's completion parses the flags
	// twice, once with a "--" of its own.)
	cmd.ValidArgsFunction = func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 || cmd.Flags().Changed("profile") {
			return nil, cobra.ShellCompDirectiveDefault
		}
		return a.completeProfileArg(cmd, args, toComplete)
	}
	return cmd
}

func (a *App) execCmd(ctx context.Context, o *credOpts, mode string, allowNested bool, command []string) error {
	runMode, err := parseMode(mode, true)
	if err != nil {
		return err
	}
	if msg := execrun.NestedError(a.Getenv(execrun.EnvExec), allowNested); msg != "" {
		return badInput("%s", msg)
	}
	path, err := execrun.LookPath(command[0])
	if err != nil {
		return err
	}
	// From the session cache when it holds the profile's session, else
	// (and to refresh that) the full chain, caching what it makes.
	p, c, region, err := execrun.Session(ctx, execrun.SessionOptions{Getenv: a.Getenv, Profile: o.profile, Region: o.region, Now: a.Now,
		Resolve: func(ctx context.Context) (creds.Provider, creds.Credentials, string, error) {
			configMod := sessioncache.ConfigMod(a.Getenv)
			p, c, region, files, chosen, err := a.profileProviderFiles(ctx, o)
			if err == nil {
				a.cacheSession(sessioncache.File(a.Getenv, o.profile), o.profile, chosen, c, files, configMod)
			}
			return p, c, region, err
		}})
	if err != nil {
		return err
	}
	return execrun.Run(execrun.Spec{
		Profile: o.profile, Mode: runMode, Region: region, Provider: p, Current: c,
		Path: path, Argv: command, Environ: a.Environ(),
		Stdin: a.Stdin, Stdout: a.Stdout, Stderr: a.Stderr, Now: a.Now,
	})
}

func newServeCmd(a *App) *cobra.Command {
	var o credOpts
	var mode, addr, tokenFile string
	cmd := &cobra.Command{
		Use:   "serve PROFILE [--mode ecs|imds] [--addr 127.0.0.1:PORT] [--token-file PATH]",
		Short: "serve a profile's credentials on a loopback ECS or IMDS endpoint",
		Long: "Serves the credentials of PROFILE (given as the argument or as --profile) on a loopback\n" +
			"endpoint until interrupted, refreshing them before they expire, for IDEs and other\n" +
			"long-lived programs. It prints the variables to put in a run configuration; the container\n" +
			"endpoint's token is written to a file readable by you only\n" +
			"(AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE), so it never sits in the IDE's settings.\n" +
			"(--mode server is the old name of ecs, still accepted and deprecated.)",
		Example: examples(
			"credkit serve dev",
			"credkit serve dev --addr 127.0.0.1:9911 --token-file ~/.config/credkit/dev.token",
			"credkit serve --profile dev --mode imds"),
		Args: maxArgs(1, "one profile"),
		RunE: func(cmd *cobra.Command, args []string) error {
			profile, err := profileArg(cmd, o.profile, args)
			if err != nil {
				return err
			}
			o.profile = profile
			return a.serve(cmd.Context(), &o, mode, addr, tokenFile)
		},
		Annotations: map[string]string{profileArgAnnotation: "yes"},
	}
	o.register(cmd.Flags())
	cmd.Flags().StringVar(&mode, "mode", modeECS, "ecs (container endpoint) or imds (IMDSv2); server: deprecated name of ecs")
	cmd.RegisterFlagCompletionFunc("mode", fixedValues(modeECS, modeIMDS))
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:0", "loopback address to listen on")
	cmd.Flags().StringVar(&tokenFile, "token-file", "", "where to write the ecs token (default: under ~/.cache/credkit, mode 0600)")
	return cmd
}

func (a *App) serve(ctx context.Context, o *credOpts, mode, addr, tokenFile string) error {
	runMode, err := parseMode(mode, false)
	if err != nil {
		return err
	}
	p, c, region, err := a.profileProvider(ctx, o)
	if err != nil {
		return err
	}
	var srv *server.Server
	var stats *server.Stats
	switch runMode {
	case execrun.ModeServer:
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
	case execrun.ModeIMDS:
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
