package cli

import (
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/credkit/credkit/awsconfig"
	"github.com/credkit/credkit/sigv4"
)

// Shell completion. Profile names come from the shared config and
// credentials files only: completing never prompts, never opens the
// keyring and never touches the network, as it runs at every Tab.

// profileArgAnnotation marks a command whose first argument is a profile.
const profileArgAnnotation = "credkit-profile-arg"

// registerCompletions completes every --profile flag with profile names
// and every --region flag with region names, in the whole tree, and the
// PROFILE argument of the commands marked with profileArgAnnotation.
func (a *App) registerCompletions(root *cobra.Command) {
	walkCommands(root, func(c *cobra.Command) {
		// The lab's profiles are those of the config it writes.
		if c.Name() != "lab" {
			if c.Flags().Lookup("profile") != nil {
				c.RegisterFlagCompletionFunc("profile", a.completeProfiles)
			}
			if c.Flags().Lookup("region") != nil {
				c.RegisterFlagCompletionFunc("region", a.completeRegions)
			}
		}
		if c.Annotations[profileArgAnnotation] != "" && c.ValidArgsFunction == nil {
			c.ValidArgsFunction = a.completeProfileArg
		}
	})
}

// completeProfiles lists the profiles of the config files that start
// with toComplete.
func (a *App) completeProfiles(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	files, err := awsconfig.Load(awsconfig.Options{Getenv: a.Getenv})
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return withPrefix(files.ProfileNames(), toComplete), cobra.ShellCompDirectiveNoFileComp
}

// completeProfileArg completes the first argument with profile names,
// unless --profile already names it.
func (a *App) completeProfileArg(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if len(args) > 0 || (cmd.Flags().Lookup("profile") != nil && cmd.Flags().Changed("profile")) {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return a.completeProfiles(cmd, args, toComplete)
}

// completeRegions lists the regions sigv4 knows and those the config
// files name.
func (a *App) completeRegions(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	regions := sigv4.Regions()
	if files, err := awsconfig.Load(awsconfig.Options{Getenv: a.Getenv}); err == nil {
		for _, name := range files.ProfileNames() {
			if p, err := files.Profile(name); err == nil && p.Region() != "" {
				regions = append(regions, p.Region())
			}
		}
	}
	slices.Sort(regions)
	return withPrefix(slices.Compact(regions), toComplete), cobra.ShellCompDirectiveNoFileComp
}

// fixedValues completes a flag with one of values.
func fixedValues(values ...string) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return withPrefix(values, toComplete), cobra.ShellCompDirectiveNoFileComp
	}
}

func withPrefix(list []string, prefix string) []cobra.Completion {
	var out []cobra.Completion
	for _, s := range list {
		if strings.HasPrefix(s, prefix) {
			out = append(out, s)
		}
	}
	return out
}
