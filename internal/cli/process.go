package cli

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/credkit/credkit/awsconfig"
	"github.com/credkit/credkit/creds"
	"github.com/credkit/credkit/internal/sessioncache"
	"github.com/credkit/credkit/source"
)

// sessionRecord is a cached session on disk (mode 0600).
type sessionRecord = sessioncache.Record

func newCredentialProcessCmd(a *App) *cobra.Command {
	var o credOpts
	var noCache bool
	cmd := &cobra.Command{
		Use:   "credential-process --profile P",
		Short: "answer as a credential_process, with a session cache",
		Long: "Answers as a credential_process for the AWS SDKs and CLI: put\n" +
			"  credential_process = credkit credential-process --profile SOURCE\n" +
			"in a profile of ~/.aws/config, where SOURCE is the profile credkit resolves (static\n" +
			"keys, a role chain, SSO, ...). STS sessions are cached on disk (mode 0600, under\n" +
			"~/.cache/credkit/sessions) and reused until 5 minutes before they expire, so a program\n" +
			"that creates many clients pays for one STS call per session. Sessions made from keys in\n" +
			"the vault are cached in the vault only, encrypted. credkit clear drops both.\n\n" +
			"credkit-process, an optional small binary installed beside credkit, is the same command,\n" +
			"shorter in a config line and faster: it answers a cached session itself, linking no\n" +
			"network code, and runs credkit credential-process whenever the cache cannot serve:\n" +
			"  credential_process = credkit-process --profile SOURCE",
		Example: examples(
			"credkit credential-process --profile dev-source",
			"aws configure set credential_process 'credkit-process --profile dev-source' --profile dev"),
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.credentialProcess(cmd.Context(), &o, noCache)
		},
	}
	o.register(cmd.Flags())
	cmd.Flags().BoolVar(&noCache, "no-cache", false, "neither read nor write the session cache")
	cmd.Flags().BoolVar(&o.allowInteractive, "allow-interactive", false, allowInteractiveHelp)
	return cmd
}

func (a *App) credentialProcess(ctx context.Context, o *credOpts, noCache bool) error {
	name := source.ProfileName(a.Getenv, o.profile)
	running := strings.Split(a.Getenv(sessioncache.EnvRunning), ",")
	if slices.Contains(running, name) {
		return fmt.Errorf("profile %s: its credentials come from credkit credential-process --profile %s again (%s); make the profile that credential_process names one with keys, a role or SSO, not the profile holding the credential_process line", name, name, strings.Join(append(running[1:], name), " -> "))
	}
	// Children (a credential_process of the source profile) inherit this.
	os.Setenv(sessioncache.EnvRunning, strings.Join(append(running, name), ","))

	cacheFile := ""
	if !noCache {
		_, cacheFile = sessioncache.For(a.Getenv, o.profile)
	}
	if cacheFile != "" {
		if rec, ok := sessioncache.Read(a.Getenv, cacheFile, name, a.Now()); ok {
			return writeJSON(a.Stdout, rec.Credentials)
		}
		// An SDK may start several of these at once: one makes the session
		// (and asks for the MFA code), the others wait and read its cache.
		unlock, err := a.lockSession(ctx, cacheFile+".lock", name)
		if err != nil {
			return err
		}
		defer unlock()
		if rec, ok := sessioncache.Read(a.Getenv, cacheFile, name, a.Now()); ok {
			return writeJSON(a.Stdout, rec.Credentials)
		}
	}
	configMod := sessioncache.ConfigMod(a.Getenv)
	c, trace, files, err := a.resolve(ctx, o)
	if err != nil {
		return err
	}
	if c.Expired(a.Now()) {
		return fmt.Errorf("the credentials of profile %s (%s) expired at %s", name, c.Source, c.Expires.UTC().Format(time.RFC3339))
	}
	if cacheFile != "" {
		a.cacheSession(cacheFile, name, trace.Chosen, c, files, configMod)
	}
	return writeJSON(a.Stdout, toProcessOutput(c))
}

// cacheSession writes the session c of profile name to the cache file
// that credkit-process, credential-process and exec read,
// with the profile's region. Long-term keys are not cached, nor sessions
// made from keys in the vault: those are cached in the vault, encrypted,
// and a copy in a plain file would undo that.
//
// chosen is the chain's link that gave c: only a session of the profile's
// own link is the profile's (with --profile P naming a profile without
// credential settings, the chain goes on to the container endpoint or
// instance metadata, whose credentials are not P's to cache).
//
// configMod is sessioncache.ConfigMod taken before the files were read,
// so that an edit made while the session was being made (an MFA prompt
// may take a while) invalidates it.
func (a *App) cacheSession(file, name, chosen string, c creds.Credentials, files *awsconfig.Files, configMod time.Time) {
	if chosen != source.ProfileLink(name) || !c.Temporary() || !c.CanExpire() || a.vaultRooted.Load() || c.Expires.Sub(a.Now()) < sessioncache.Margin {
		return
	}
	var region string
	if p, err := files.Profile(name); err == nil {
		region = p.Region()
	}
	rec := sessionRecord{Profile: name, Source: c.Source, Credentials: toProcessOutput(c), ConfigMod: configMod, Region: &region}
	if err := sessioncache.Write(file, rec); err != nil {
		fmt.Fprintf(a.Stderr, "credkit: warning: session not cached: %v\n", err)
	}
}

func (a *App) cacheDir() string { return sessioncache.Dir(a.Getenv) }
