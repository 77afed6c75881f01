package cli

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/credkit/credkit/console"
	"github.com/credkit/credkit/internal/atomicfile"
	"github.com/credkit/credkit/internal/sessioncache"
	"github.com/credkit/credkit/source"
)

// Environment variables of credkit console.
const (
	// envConsoleEndpoint replaces the AWS federation endpoint, for tests
	// and emulators (credkit lab serves one at /federation).
	envConsoleEndpoint = "CREDKIT_CONSOLE_FEDERATION_ENDPOINT"
	// envConsoleBrowser is the browser executable to run for --browser.
	envConsoleBrowser = "CREDKIT_CONSOLE_BROWSER_PATH"
)

// Where credkit can see the browser read the redirect page (Linux), the
// page is removed pageGrace after that, and the browser has pageReadWait
// to get to it. Elsewhere the page stays at most pageWait, and at least
// pageMin, for browsers whose launcher hands the page to a running
// instance and exits.
const (
	pageReadWait = time.Minute
	pageGrace    = time.Second
	pageWait     = 15 * time.Second
	pageMin      = 5 * time.Second
)

type consoleOpts struct {
	credOpts
	destination, browser, endpoint string
	duration                       time.Duration
	printURL, logoutFirst, json    bool
}

func newConsoleCmd(a *App) *cobra.Command {
	var o consoleOpts
	cmd := &cobra.Command{
		Use:   "console [--profile P] [--destination URL|SERVICE] [--duration D] [--print-url] [--browser B]",
		Short: "open the AWS Management Console signed in as the profile's identity",
		Long: "Opens the AWS Management Console signed in as the current credentials' identity,\n" +
			"through the AWS federation endpoint (getSigninToken, then login).\n\n" +
			"Role, IAM Identity Center and web identity sessions are used as they are. An IAM user's\n" +
			"long-term keys first go through STS GetFederationToken with an allow-all inline policy\n" +
			"(the user's own policies still apply) and the user name cut to 32 characters; a root\n" +
			"user's session lasts at most 1h. GetSessionToken sessions cannot sign in: use the\n" +
			"long-term keys or a role. --duration (default 1h) is sent as SessionDuration, 15m to\n" +
			"12h, for role sessions only; a federated user's console session lasts as long as its\n" +
			"credentials (15m to 36h). What is adjusted is said on stderr.\n\n" +
			"The sign-in URL is a bearer secret for 15 minutes: whoever opens it is signed in.\n" +
			"--print-url prints it (and says so on stderr). Otherwise credkit writes a page that\n" +
			"redirects to it (mode 0600, under ~/.cache/credkit/browser) and gives the browser that\n" +
			"page, so the URL never appears in a command line other users can read; the page is\n" +
			"removed once the browser has read it.\n\n" +
			"Each profile gets its own browser profile, so several accounts stay open side by side:\n" +
			"chromium and chrome with --user-data-dir ~/.cache/credkit/browser/PROFILE (mode 0700),\n" +
			"firefox with -P credkit-PROFILE (made when Firefox does not have it, with -CreateProfile,\n" +
			"in ~/.cache/credkit/browser/.firefox/PROFILE);\n" +
			"open (the default) hands the page to the system's default browser, without isolation.\n" +
			"--logout-first signs out of any console session of that browser profile first.\n\n" +
			"--destination is a service name (s3, ec2, cloudwatch: its page in --region) or a console\n" +
			"URL of the region's partition (console.aws.amazon.com, console.amazonaws.cn,\n" +
			"console.amazonaws-us-gov.com); sign-in goes to the partition's signin host.\n" +
			"--federation-endpoint (or " + envConsoleEndpoint + ") replaces the\n" +
			"federation endpoint, for tests and emulators: credkit lab serves one and sets it for\n" +
			"its COMMAND. " + envConsoleBrowser + " names the browser executable to run for\n" +
			"--browser.",
		Example: examples(
			"credkit console --profile prod",
			"credkit console --profile dev --destination s3 --browser chromium",
			"credkit console --profile admin --duration 4h --logout-first --browser firefox",
			"credkit console --profile prod --print-url --destination https://console.aws.amazon.com/iam/home",
			"credkit lab -- credkit console --print-url"),
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.console(cmd, &o)
		},
	}
	fs := cmd.Flags()
	o.credOpts.register(fs)
	fs.MarkHidden("signing-time")
	fs.Lookup("region").Usage = "region of the console pages and of its partition's sign-in host (default: AWS_REGION, AWS_DEFAULT_REGION, then the profile's region)"
	fs.StringVar(&o.destination, "destination", "", "console page after sign-in: a service name (s3, ec2) or a console `URL` (default: the console home)")
	fs.DurationVar(&o.duration, "duration", 0, "console session length: 15m to 12h for roles (default 1h)")
	fs.BoolVar(&o.printURL, "print-url", false, "print the sign-in URL (a bearer secret for 15 minutes) instead of opening a browser")
	fs.BoolVar(&o.json, "json", false, "with --print-url: print url, arn, destination, expires_at as JSON")
	fs.StringVar(&o.browser, "browser", "open", "browser to open: "+strings.Join(console.Browsers, ", "))
	fs.BoolVar(&o.logoutFirst, "logout-first", false, "sign out of any current console session first")
	fs.StringVar(&o.endpoint, "federation-endpoint", "", "federation endpoint `URL`, for tests and emulators (default: the partition's, e.g. https://signin.aws.amazon.com/federation)")
	cmd.RegisterFlagCompletionFunc("browser", fixedValues(console.Browsers...))
	return cmd
}

func (a *App) console(cmd *cobra.Command, o *consoleOpts) error {
	ctx := cmd.Context()
	if o.signingTime != "" {
		return usagef(cmd, "--signing-time does not apply to console sign-in")
	}
	if err := console.CheckBrowser(o.browser); err != nil {
		return usagef(cmd, "--browser: %v", err)
	}
	if o.json && !o.printURL {
		return usagef(cmd, "--json goes with --print-url")
	}
	if o.duration < 0 {
		return usagef(cmd, "--duration %s: must be positive", o.duration)
	}
	endpoint := o.endpoint
	if endpoint == "" {
		endpoint = a.Getenv(envConsoleEndpoint)
	}
	if endpoint != "" {
		if u, err := url.Parse(endpoint); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" {
			return usagef(cmd, "federation endpoint %q (--federation-endpoint or %s): give an http(s) URL without a query, e.g. http://127.0.0.1:PORT/federation", endpoint, envConsoleEndpoint)
		}
	}
	files, err := a.loadFiles()
	if err != nil {
		return err
	}
	profile := source.ProfileName(a.Getenv, o.profile)
	region := o.region
	if region == "" {
		region, _ = source.Region(a.Getenv, files, profile)
	}
	// The destination is checked before credentials are fetched.
	p, err := console.PartitionOfRegion(region)
	if err != nil {
		return usagef(cmd, "--region: %v", err)
	}
	if _, err := console.Destination(p, o.destination, region); err != nil {
		return usagef(cmd, "--destination: %v", err)
	}
	c, _, err := a.credentials(ctx, &o.credOpts)
	if err != nil {
		return err
	}
	stsRegion := region
	if stsRegion == "" {
		stsRegion = source.DefaultSTSRegion
	}
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	s, err := console.URL(ctx, c, console.Request{Region: region, Destination: o.destination, Duration: o.duration, LogoutFirst: o.logoutFirst},
		console.Options{
			STS:                source.STSOptions{Region: stsRegion, Endpoint: source.ServiceEndpoint(a.Getenv, files, profile, "sts"), HTTPClient: a.HTTP, Now: a.Now},
			FederationEndpoint: endpoint,
			HTTPClient:         a.HTTP,
		})
	if err != nil {
		return err
	}
	for _, n := range s.Notes {
		fmt.Fprintf(a.Stderr, "credkit: %s\n", n)
	}
	if o.printURL {
		fmt.Fprintf(a.Stderr, "credkit: the URL signs in as %s for anyone who opens it in the next 15 minutes: treat it as a password\n", s.ARN)
		if o.json {
			exp := ""
			if !s.Expires.IsZero() {
				exp = s.Expires.UTC().Format(time.RFC3339)
			}
			return writeJSON(a.Stdout, map[string]string{"url": s.URL, "arn": s.ARN, "destination": s.Destination, "expires_at": exp})
		}
		fmt.Fprintln(a.Stdout, s.URL)
		return nil
	}
	return a.openConsole(ctx, o.browser, profile, s)
}

// consoleDir is where browser profiles and redirect pages live: beside
// the session cache (~/.cache/credkit/browser).
func consoleDir(getenv func(string) string) string {
	return filepath.Join(filepath.Dir(sessioncache.Dir(getenv)), "browser")
}

// openConsole starts the browser on a private page that redirects to the
// sign-in URL, and removes the page once the browser has had it.
func (a *App) openConsole(ctx context.Context, browser, profile string, s *console.SignIn) error {
	base := consoleDir(a.Getenv)
	name := console.ProfileDirName(profile)
	b := console.Browser{Name: browser, Exec: a.Getenv(envConsoleBrowser), DataDir: filepath.Join(base, name),
		FirefoxProfile: "credkit-" + name, FirefoxDir: filepath.Join(base, ".firefox", name)}
	// The browser needs no AWS credentials of its own.
	var env []string
	for _, kv := range a.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	switch browser {
	case "chromium", "chrome":
		if err := atomicfile.PrivateDir(b.DataDir); err != nil {
			return fmt.Errorf("browser profile directory: %w", err)
		}
	case "firefox":
		if err := a.makeFirefoxProfile(ctx, b, env); err != nil {
			return err
		}
	}
	page, path, err := console.WritePage(filepath.Join(base, ".pages"), s.URL)
	if err != nil {
		return err
	}
	defer os.Remove(path)
	read, stopWatch, watching := console.WatchRead(path)
	if watching {
		defer stopWatch()
	}
	argv, err := b.Command(page)
	if err != nil {
		return fmt.Errorf("%v; choose another --browser, or --print-url to open the URL yourself", err)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = env
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", browser, err)
	}
	where := ""
	if b.Name == "chromium" || b.Name == "chrome" {
		where = " (browser profile " + b.DataDir + ")"
	} else if b.Name == "firefox" {
		where = " (Firefox profile " + b.FirefoxProfile + ")"
	}
	fmt.Fprintf(a.Stderr, "credkit: opening the console as %s in %s%s\n", s.ARN, browser, where)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	if watching {
		return waitPageRead(ctx, browser, read, done, pageReadWait)
	}
	started := time.Now()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("%s: %w", browser, err)
		}
		if rest := pageMin - time.Since(started); rest > 0 {
			select {
			case <-time.After(rest):
			case <-ctx.Done():
			}
		}
	case <-time.After(pageWait):
		// Still running: the browser itself. It has read the page by now.
		cmd.Process.Release()
	case <-ctx.Done():
	}
	return nil
}

// waitPageRead waits up to wait until the browser has read the redirect
// page (read closes), then a moment more; browserDone reports the browser
// command's end, which for a launcher that hands the page on comes first.
func waitPageRead(ctx context.Context, browser string, read <-chan struct{}, browserDone <-chan error, wait time.Duration) error {
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		select {
		case <-read:
			select {
			case <-time.After(pageGrace):
			case <-ctx.Done():
			}
			return nil
		case err := <-browserDone:
			if err != nil {
				return fmt.Errorf("%s: %w", browser, err)
			}
			browserDone = nil
		case <-deadline.C:
			return fmt.Errorf("%s did not open the sign-in page within %s; the page is removed. Run credkit console again, or --print-url to open the URL yourself", browser, wait)
		case <-ctx.Done():
			return nil
		}
	}
}

// makeFirefoxProfile makes b's Firefox profile, in a 0700 directory of its
// own, unless Firefox has one of that name already.
func (a *App) makeFirefoxProfile(ctx context.Context, b console.Browser, env []string) error {
	argv, err := b.ProfileCommand()
	if err != nil {
		return fmt.Errorf("%v; choose another --browser, or --print-url to open the URL yourself", err)
	}
	if err := atomicfile.PrivateDir(b.FirefoxDir); err != nil {
		return fmt.Errorf("Firefox profile directory: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = env
	if out, err := cmd.CombinedOutput(); err != nil {
		// Firefox's last line of output says why, if anything does.
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		return fmt.Errorf("creating Firefox profile %s in %s: %v (%s); create it yourself with: firefox -CreateProfile %s",
			b.FirefoxProfile, b.FirefoxDir, err, strings.TrimSpace(lines[len(lines)-1]), b.FirefoxProfile)
	}
	return nil
}
