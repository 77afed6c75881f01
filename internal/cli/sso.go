package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/credkit/credkit/awsconfig"
	"github.com/credkit/credkit/internal/atomicfile"
	"github.com/credkit/credkit/internal/sessioncache"
	"github.com/credkit/credkit/source"
	"github.com/credkit/credkit/sso"
)

func newSSOCmd(a *App) *cobra.Command {
	c := newGroupCmd("sso", "sign in to IAM Identity Center (AWS SSO) and manage its tokens",
		"Signs in to IAM Identity Center and keeps the token cache the AWS CLI and the SDKs read\n"+
			"(~/.aws/sso/cache): a token credkit writes is used by aws, boto3 and aws-sdk-go-v2, and\n"+
			"the other way round.",
		newSSOLoginCmd(a), newSSOStatusCmd(a), newSSOPopulateCmd(a), newSSOLogoutCmd(a))
	c.Example = examples("credkit sso login --profile dev", "credkit sso status", "credkit sso logout --sso-session corp")
	return c
}

// ssoTarget are the flags that choose a session.
type ssoTarget struct {
	profile, session string
}

func (t *ssoTarget) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&t.profile, "profile", "", "the profile whose sso_session (or sso_start_url) to use (default: AWS_PROFILE, else default)")
	cmd.Flags().StringVar(&t.session, "sso-session", "", "the [sso-session NAME] section to use")
}

// resolve returns the chosen session.
func (t *ssoTarget) resolve(a *App, cmd *cobra.Command, files *awsconfig.Files) (*sso.Session, error) {
	if t.profile != "" && t.session != "" {
		return nil, usagef(cmd, "--profile and --sso-session choose the same thing; give one")
	}
	var s *sso.Session
	var err error
	if t.session != "" {
		s, err = sso.FromSSOSession(files, t.session, a.Getenv)
	} else {
		p := t.profile
		if p == "" {
			p = a.Getenv("AWS_PROFILE")
		}
		if p == "" {
			p = "default"
		}
		s, err = sso.FromProfile(files, p, a.Getenv)
	}
	if err != nil {
		return nil, asBadInput(err)
	}
	a.ssoLocal(s)
	return s, nil
}

// ssoLocal gives a session the App's HTTP client, clock and home.
func (a *App) ssoLocal(s *sso.Session) {
	s.HTTPClient, s.Now = a.HTTP, a.Now
	if s.CacheDir == "" {
		s.CacheDir = source.SSOCacheDirOf(a.Getenv)
	}
}

// awsCLICache is the AWS CLI's cache of role credentials.
func (a *App) awsCLICache() string {
	if home := a.Getenv("HOME"); home != "" {
		return filepath.Join(home, ".aws", "cli", "cache")
	}
	return os.DevNull
}

// load reads the config files and resolves the chosen session.
func (t *ssoTarget) load(a *App, cmd *cobra.Command) (*awsconfig.Files, *sso.Session, error) {
	files, err := a.loadFiles()
	if err != nil {
		return nil, nil, err
	}
	s, err := t.resolve(a, cmd, files)
	return files, s, err
}

// chosen is the chosen session, or every session of the config when
// none is chosen.
func (t *ssoTarget) chosen(a *App, cmd *cobra.Command, files *awsconfig.Files) ([]*sso.Session, error) {
	if t.profile == "" && t.session == "" {
		return a.ssoSessions(files), nil
	}
	s, err := t.resolve(a, cmd, files)
	if err != nil {
		return nil, err
	}
	return []*sso.Session{s}, nil
}

type ssoLoginFlags struct {
	ssoTarget
	deviceCode, noBrowser bool
	redirectPort          int
}

func newSSOLoginCmd(a *App) *cobra.Command {
	var f ssoLoginFlags
	cmd := &cobra.Command{
		Use:   "login [--profile P | --sso-session NAME] [flags]",
		Short: "sign in to IAM Identity Center and cache the token",
		Long: "Signs in to IAM Identity Center and writes the token where the AWS CLI keeps it.\n\n" +
			"An [sso-session] profile signs in with the authorization code flow and PKCE, as the AWS\n" +
			"CLI 2.22 and later does: a browser opens the sign-in page, which redirects to a listener\n" +
			"on 127.0.0.1 (--redirect-port). When the browser runs on another machine, paste the\n" +
			"address it ended at (http://127.0.0.1:PORT/oauth/callback?...) when asked.\n\n" +
			"The device code flow is used for legacy profiles (sso_start_url in the profile), with\n" +
			"--use-device-code or --no-browser, and when there is no browser to open: an SSH session\n" +
			"without DISPLAY, or WSL without a browser bridge (wslview, BROWSER). The code to enter\n" +
			"is always shown; check it matches the one on the page.\n\n" +
			"One login per session at a time: a second waits for the first.",
		Example: examples(
			"credkit sso login --profile dev",
			"credkit sso login --sso-session corp --redirect-port 8400",
			"credkit sso login --profile dev --use-device-code"),
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.ssoLogin(cmd, &f)
		},
	}
	f.register(cmd)
	cmd.Flags().BoolVar(&f.deviceCode, "use-device-code", false, "use the device code flow instead of PKCE")
	cmd.Flags().BoolVar(&f.noBrowser, "no-browser", false, "do not open a browser; use the device code flow")
	cmd.Flags().IntVar(&f.redirectPort, "redirect-port", 0, "port of the loopback listener of the PKCE flow (default: a free one)")
	return cmd
}

func (a *App) ssoLogin(cmd *cobra.Command, f *ssoLoginFlags) error {
	if f.redirectPort < 0 || f.redirectPort > 65535 {
		return usagef(cmd, "--redirect-port %d is not a port (1-65535)", f.redirectPort)
	}
	_, s, err := f.load(a, cmd)
	if err != nil {
		return err
	}
	flow, why := sso.PKCE, ""
	switch {
	case f.deviceCode:
		flow = sso.Device
	case f.noBrowser:
		flow, why = sso.Device, "--no-browser"
	case s.Name == "":
		flow, why = sso.Device, "a legacy profile (sso_start_url without sso_session)"
	default:
		if r := noBrowserReason(a.Getenv); r != "" {
			flow, why = sso.Device, r
		}
	}
	if flow == sso.Device && f.redirectPort != 0 {
		return usagef(cmd, "--redirect-port is for the PKCE flow; the device code flow has no redirect")
	}
	if why != "" {
		fmt.Fprintf(a.Stderr, "credkit: using the device code flow: %s\n", why)
	}
	ui := &cliSSOUI{a: a}
	tok, err := sso.Login(cmd.Context(), s, sso.LoginOptions{Flow: flow, NoBrowser: f.noBrowser || flow == sso.Device && why != "", RedirectPort: f.redirectPort, UI: ui})
	if err != nil {
		if strings.HasPrefix(err.Error(), "--redirect-port") {
			return badInput("%v", err)
		}
		return err
	}
	refresh := "no refresh token: log in again when it expires"
	if tok.Refreshable {
		refresh = "refreshed automatically until the session ends"
	}
	fmt.Fprintf(a.Stdout, "Signed in to %s; token valid until %s (%s), %s.\n", ssoName(s), tok.ExpiresAt.UTC().Format(time.RFC3339), tok.File, refresh)
	return nil
}

func ssoName(s *sso.Session) string {
	if s.Name != "" {
		return "sso-session " + s.Name
	}
	return s.StartURL
}

// noBrowserReason says why no browser can be opened here, or "".
func noBrowserReason(getenv func(string) string) string {
	gui := getenv("DISPLAY") != "" || getenv("WAYLAND_DISPLAY") != ""
	if (getenv("SSH_CONNECTION") != "" || getenv("SSH_TTY") != "") && !gui && runtime.GOOS != "darwin" {
		return "an SSH session without DISPLAY"
	}
	if getenv("WSL_DISTRO_NAME") != "" || getenv("WSL_INTEROP") != "" {
		if getenv("BROWSER") == "" {
			if _, err := exec.LookPath("wslview"); err != nil {
				return "WSL without a browser bridge (install wslu for wslview, or set BROWSER)"
			}
		}
	}
	return ""
}

// cliSSOUI shows the sign-in on stderr, opens the browser and reads a
// pasted callback URL from stdin.
type cliSSOUI struct {
	a *App
}

func (u *cliSSOUI) OpenBrowser(url string) error {
	var argv []string
	switch {
	case u.a.Getenv("BROWSER") != "":
		argv = []string{u.a.Getenv("BROWSER"), url}
	case runtime.GOOS == "darwin":
		argv = []string{"open", url}
	case runtime.GOOS == "windows":
		argv = []string{"rundll32", "url.dll,FileProtocolHandler", url}
	default:
		if p, err := exec.LookPath("wslview"); err == nil && u.a.Getenv("WSL_DISTRO_NAME") != "" {
			argv = []string{p, url}
		} else {
			argv = []string{"xdg-open", url}
		}
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	if u.a.Environ != nil {
		cmd.Env = u.a.Environ()
	}
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		return err
	}
	go cmd.Wait()
	return nil
}

func (u *cliSSOUI) Authorize(url string) {
	fmt.Fprintf(u.a.Stderr, "credkit: sign in with the browser. If no browser opened, open:\n\n  %s\n\n"+
		"If the browser is on another machine, paste here the address it ends at (http://127.0.0.1:.../oauth/callback?...).\n", url)
}

func (u *cliSSOUI) DeviceCode(d sso.DeviceCode) {
	if d.Warning != "" {
		fmt.Fprintf(u.a.Stderr, "credkit: warning: %s\n", d.Warning)
	}
	fmt.Fprintf(u.a.Stderr, "credkit: to sign in, open\n\n  %s\n\nand check that the page shows the code\n\n  %s\n\n(valid until %s).\n",
		d.VerificationURI, d.UserCode, d.ExpiresAt.UTC().Format(time.RFC3339))
}

func (u *cliSSOUI) PasteCallback(ctx context.Context) (string, error) {
	if u.a.Stdin == nil {
		return "", errors.New("no input")
	}
	line, err := bufio.NewReader(u.a.Stdin).ReadString('\n')
	if strings.TrimSpace(line) == "" {
		if err == nil {
			err = errors.New("empty line")
		}
		return "", err
	}
	return strings.TrimSpace(line), nil
}

// ssoSessions are the sessions of the config: every [sso-session] and
// every legacy profile's start URL, each once.
func (a *App) ssoSessions(files *awsconfig.Files) []*sso.Session {
	var out []*sso.Session
	seen := map[string]bool{}
	for _, name := range files.SSOSessionNames() {
		if s, err := sso.FromSSOSession(files, name, a.Getenv); err == nil && !seen[s.Key()] {
			seen[s.Key()] = true
			out = append(out, s)
		}
	}
	for _, p := range files.ProfileNames() {
		if s, err := sso.FromProfile(files, p, a.Getenv); err == nil && !seen[s.Key()] {
			seen[s.Key()] = true
			out = append(out, s)
		}
	}
	for _, s := range out {
		a.ssoLocal(s)
	}
	return out
}

func newSSOStatusCmd(a *App) *cobra.Command {
	var t ssoTarget
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status [--profile P | --sso-session NAME] [--json]",
		Short: "show the cached SSO tokens: expiry and whether they can be refreshed",
		Long: "Shows, for each sso-session and legacy start URL of the config (or the one chosen), whether\n" +
			"a token is cached, until when it is valid and whether it can be refreshed without a new\n" +
			"sign-in. Tokens are never shown.",
		Example: examples("credkit sso status", "credkit sso status --profile dev --json"),
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.ssoStatus(cmd, &t, asJSON)
		},
	}
	t.register(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

type ssoStatusJSON struct {
	Session     string `json:"sso_session,omitempty"`
	StartURL    string `json:"start_url"`
	Region      string `json:"region"`
	TokenFile   string `json:"token_file"`
	SignedIn    bool   `json:"signed_in"`
	ExpiresAt   string `json:"expires_at,omitempty"`
	Expired     bool   `json:"expired"`
	Refreshable bool   `json:"refreshable"`
}

func (a *App) ssoStatus(cmd *cobra.Command, t *ssoTarget, asJSON bool) error {
	files, err := a.loadFiles()
	if err != nil {
		return err
	}
	sessions, err := t.chosen(a, cmd, files)
	if err != nil {
		return err
	}
	out := []ssoStatusJSON{}
	var exps []time.Time
	for _, s := range sessions {
		st, err := sso.TokenStatus(s)
		if err != nil {
			return err
		}
		j := ssoStatusJSON{Session: s.Name, StartURL: s.StartURL, Region: s.Region, TokenFile: st.File, SignedIn: st.Exists && !st.Expired,
			Expired: st.Exists && st.Expired, Refreshable: st.Refreshable}
		if !st.ExpiresAt.IsZero() {
			j.ExpiresAt = st.ExpiresAt.Format(time.RFC3339)
		}
		out = append(out, j)
		exps = append(exps, st.ExpiresAt)
	}
	if asJSON {
		enc := json.NewEncoder(a.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	if len(out) == 0 {
		fmt.Fprintln(a.Stdout, "No sso-session or SSO profile in the config.")
		return nil
	}
	for i, j := range out {
		name := j.StartURL
		if j.Session != "" {
			name = "sso-session " + j.Session + " (" + j.StartURL + ")"
		}
		var state string
		switch {
		case j.SignedIn:
			state = fmt.Sprintf("signed in until %s (in %s)", j.ExpiresAt, exps[i].Sub(a.Now()).Round(time.Minute))
		case j.Expired:
			state = "expired at " + j.ExpiresAt
		default:
			state = "not signed in"
		}
		refresh := "no refresh possible: run: credkit sso login " + loginArgs(sessions[i])
		if j.Refreshable {
			refresh = "refresh possible"
		}
		fmt.Fprintf(a.Stdout, "%s: %s; %s\n", name, state, refresh)
	}
	return nil
}

func loginArgs(s *sso.Session) string {
	if s.Name != "" {
		return "--sso-session " + s.Name
	}
	return "--profile " + s.Profile
}

func newSSOLogoutCmd(a *App) *cobra.Command {
	var t ssoTarget
	cmd := &cobra.Command{
		Use:   "logout [--profile P | --sso-session NAME]",
		Short: "end the SSO session and remove its cached token and role credentials",
		Long: "Ends the session at the Identity Center portal (its Logout call), then removes the cached\n" +
			"token, the role credentials the AWS CLI cached from it (as `aws sso logout` does) and the\n" +
			"sessions credential-process and exec cached for the profiles that use it.\n" +
			"Without --profile or --sso-session, every session of the config is logged out.",
		Example: examples("credkit sso logout", "credkit sso logout --sso-session corp"),
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.ssoLogout(cmd, &t)
		},
	}
	t.register(cmd)
	return cmd
}

func (a *App) ssoLogout(cmd *cobra.Command, t *ssoTarget) error {
	files, err := a.loadFiles()
	if err != nil {
		return err
	}
	sessions, err := t.chosen(a, cmd, files)
	if err != nil {
		return err
	}
	cliCache := a.awsCLICache()
	for _, s := range sessions {
		res, err := sso.Logout(cmd.Context(), s, cliCache)
		if err != nil {
			return err
		}
		res.Removed = append(res.Removed, a.removeSSOSessions(files, s)...)
		what := "no cached token"
		if res.PortalLoggedOut {
			what = "logged out at the portal"
		}
		fmt.Fprintf(a.Stdout, "%s: %s; removed %d cached file(s).\n", ssoName(s), what, len(res.Removed))
	}
	return nil
}

type ssoPopulateFlags struct {
	ssoTarget
	prefix, region     string
	dryRun, prune, yes bool
}

func newSSOPopulateCmd(a *App) *cobra.Command {
	var f ssoPopulateFlags
	cmd := &cobra.Command{
		Use:   "populate [--profile P | --sso-session NAME] [--prefix P] [--region R] [--dry-run] [--prune] [--yes]",
		Short: "write one profile per account and role the SSO session may use",
		Long: "Lists the accounts and roles of the signed-in session (ListAccounts, ListAccountRoles)\n" +
			"and writes one profile per account and role into the config file, named\n" +
			"PREFIX<account name>-<role name>. Profiles credkit wrote carry a comment line; profiles\n" +
			"and comments written by hand are kept, and a hand-written profile of the same name is\n" +
			"left alone. --prune removes the profiles credkit wrote earlier for this session that\n" +
			"no longer exist. The changes are shown, and written after a yes (or with --yes).",
		Example: examples(
			"credkit sso populate --sso-session corp --dry-run",
			"credkit sso populate --sso-session corp --prefix corp- --region eu-west-1 --prune --yes"),
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.ssoPopulate(cmd, &f)
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&f.prefix, "prefix", "", "put this before every profile name")
	cmd.Flags().StringVar(&f.region, "region", "", "region of the profiles (default: the session's sso_region)")
	cmd.Flags().BoolVar(&f.dryRun, "dry-run", false, "show the changes, write nothing")
	cmd.Flags().BoolVar(&f.prune, "prune", false, "remove profiles credkit wrote earlier for this session whose role is gone")
	cmd.Flags().BoolVar(&f.yes, "yes", false, "write without asking")
	return cmd
}

func (a *App) ssoPopulate(cmd *cobra.Command, f *ssoPopulateFlags) error {
	if f.prefix != "" && strings.ContainsAny(f.prefix, "[] \t\r\n") {
		return usagef(cmd, "--prefix %q: a profile name cannot hold spaces or brackets", f.prefix)
	}
	files, s, err := f.load(a, cmd)
	if err != nil {
		return err
	}
	roles, err := sso.Roles(cmd.Context(), s)
	if err != nil {
		return err
	}
	path := files.ConfigFile().Path
	old, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	text, changes := sso.Populate(string(old), s, roles, sso.PopulateOptions{Prefix: f.prefix, Region: f.region, Prune: f.prune})
	changed := 0
	for _, c := range changes {
		switch {
		case c.Kept:
			fmt.Fprintf(a.Stderr, "credkit: warning: profile %s in %s was not written by credkit: kept as it is; use --prefix to write the role under another name\n", c.Name, path)
			continue
		case c.Old != "" && c.New == "":
			fmt.Fprintf(a.Stdout, "remove profile %s:\n%s", c.Name, prefixLines("- ", c.Old))
		case c.Old != "":
			fmt.Fprintf(a.Stdout, "change profile %s:\n%s%s", c.Name, prefixLines("- ", c.Old), prefixLines("+ ", c.New))
		default:
			fmt.Fprintf(a.Stdout, "add profile %s:\n%s", c.Name, prefixLines("+ ", c.New))
		}
		changed++
	}
	if changed == 0 {
		fmt.Fprintf(a.Stdout, "%s is up to date: %d profile(s) for %s.\n", path, len(roles), ssoName(s))
		return nil
	}
	if f.dryRun {
		fmt.Fprintf(a.Stdout, "Dry run: %s not written.\n", path)
		return nil
	}
	if !f.yes {
		fmt.Fprintf(a.Stderr, "Write these %d change(s) to %s? [y/N] ", changed, path)
		line, _ := bufio.NewReader(a.Stdin).ReadString('\n')
		if ans := strings.ToLower(strings.TrimSpace(line)); ans != "y" && ans != "yes" {
			return errors.New("nothing written: answer y to write, or run with --yes")
		}
	}
	if err := atomicfile.Write(path, []byte(text)); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	fmt.Fprintf(a.Stdout, "Wrote %d change(s) to %s.\n", changed, path)
	return nil
}

func prefixLines(p, text string) string {
	var b strings.Builder
	for _, l := range strings.SplitAfter(text, "\n") {
		if l != "" {
			b.WriteString(p + l)
		}
	}
	return b.String()
}

// allowInteractiveHelp is the help of --allow-interactive.
const allowInteractiveHelp = "when the profile's SSO token is missing or expired, sign in (as credkit sso login) instead of failing; one sign-in per session among processes"

// interactiveSSOLogin signs in to Identity Center for o's profile when
// --allow-interactive is given and err says an SSO login is needed; true
// means it did, and the caller may try again. A process that waited for
// another's sign-in takes the token that one wrote.
func (a *App) interactiveSSOLogin(ctx context.Context, o *credOpts, files *awsconfig.Files, err error) bool {
	if !o.allowInteractive || !errors.Is(err, source.ErrSSOLoginRequired) || files == nil {
		return false
	}
	name := source.ProfileName(a.Getenv, o.profile)
	s, serr := sso.FromProfile(files, name, a.Getenv)
	if serr != nil {
		fmt.Fprintf(a.Stderr, "credkit: cannot sign in for profile %s: %v\n", name, serr)
		return false
	}
	a.ssoLocal(s)
	flow := sso.PKCE
	if s.Name == "" || noBrowserReason(a.Getenv) != "" {
		flow = sso.Device
	}
	if _, lerr := sso.Login(ctx, s, sso.LoginOptions{Flow: flow, NoBrowser: flow == sso.Device, UI: &cliSSOUI{a: a}, ReuseFresh: true}); lerr != nil {
		fmt.Fprintf(a.Stderr, "credkit: %v\n", lerr)
		return false
	}
	return true
}

// removeSSOSessions removes credkit's cached sessions (credential-process
// and exec) of the profiles that use s, and returns the files removed.
func (a *App) removeSSOSessions(files *awsconfig.Files, s *sso.Session) []string {
	var removed []string
	for _, p := range files.ProfileNames() {
		ps, err := sso.FromProfile(files, p, a.Getenv)
		if err != nil || ps.Key() != s.Key() {
			continue
		}
		f := sessioncache.File(a.Getenv, p)
		if os.Remove(f) == nil {
			removed = append(removed, f)
		}
	}
	return removed
}
