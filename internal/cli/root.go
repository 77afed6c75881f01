package cli

import (
	"github.com/spf13/cobra"
)

// rootHelp is cobra's help template with the exit codes added to the
// root command's.
const rootHelp = `{{with (or .Long .Short)}}{{. | trimTrailingWhitespaces}}

{{end}}{{if or .Runnable .HasSubCommands}}{{.UsageString}}{{end}}{{if not .HasParent}}
Exit codes:
  0    success
  1    the operation failed (a request refused, a signature invalid, credentials not working)
  2    bad usage or input (unknown command or flag, missing argument, malformed file)
  credkit exec exits with its command's code, or:
  125  credkit could not start the command (unknown profile, no credentials, bad config,
       bad usage of exec itself)
  126  the command is not executable
  127  the command was not found
{{end}}`

func init() {
	// Commands are listed in the order they are added: by task, not by
	// name.
	cobra.EnableCommandSorting = false
}

// newRootCmd builds the credkit command tree for one run of a.
func newRootCmd(a *App) *cobra.Command {
	root := &cobra.Command{
		Use:   "credkit",
		Short: "AWS credentials that never go stale, never leak, and explain themselves",
		Long: "credkit: AWS credentials that never go stale, never leak, and explain themselves.\n\n" +
			"It keeps long-term keys in the OS keyring, turns them into short STS sessions, serves\n" +
			"them to programs so that they refresh, signs requests, and says which credentials a\n" +
			"program gets, from where, until when, and why a request was refused.",
		Example: examples(
			"credkit doctor",
			"credkit exec dev -- aws sts get-caller-identity",
			"credkit db token --host mydb.abc.eu-west-1.rds.amazonaws.com --port 5432 --user app",
			"source <(credkit completion bash)"),
		Args:                  groupArgs,
		RunE:                  groupRun,
		Annotations:           map[string]string{groupAnnotation: "yes"},
		DisableFlagsInUseLine: true,
		Version:               versionString(),
		SilenceErrors:         true,
		SilenceUsage:          true,
		// Completion scripts are found through "credkit completion".
		CompletionOptions: cobra.CompletionOptions{HiddenDefaultCmd: false},
	}
	root.SetIn(a.Stdin)
	root.SetOut(a.Stdout)
	root.SetErr(a.Stderr)
	root.SetFlagErrorFunc(flagError)
	root.SetHelpTemplate(rootHelp)
	root.SetVersionTemplate("{{.Version}}")

	root.AddGroup(
		&cobra.Group{ID: "creds", Title: "Credentials for programs:"},
		&cobra.Group{ID: "vault", Title: "The vault (long-term keys in the OS keyring):"},
		&cobra.Group{ID: "sign", Title: "Signing and tokens:"},
		&cobra.Group{ID: "lab", Title: "Testing:"},
	)
	add := func(group string, cmds ...*cobra.Command) {
		for _, c := range cmds {
			c.GroupID = group
			root.AddCommand(c)
		}
	}
	add("creds", newDoctorCmd(a), newWhoamiCmd(a), newExportCmd(a), newCredentialProcessCmd(a), newExecCmd(a), newServeCmd(a))
	add("vault", newAddCmd(a), newListCmd(a), newRemoveCmd(a), newClearCmd(a), newRotateCmd(a), newImportCmd(a))
	add("sign", newSignCmd(a), newCurlCmd(a), newPresignCmd(a), newDBCmd(a), newTokenCmd(a))
	add("creds", newConsoleCmd(a))
	add("creds", newSSOCmd(a))
	add("lab", newLabCmd(a))
	add("sign", newPolicyCmd(a), newRoleCmd(a), newExplainCmd(a))
	root.AddCommand(newVersionCmd(a))
	root.SetHelpCommand(newHelpCmd(a))
	root.InitDefaultCompletionCmd()
	adoptCompletionCmd(root)

	defaultHelp := root.HelpFunc()
	root.SetHelpFunc(func(c *cobra.Command, args []string) {
		// "credkit nosuch --help" reaches the root with nosuch as an
		// argument: a mistake, not a request for the root's help.
		if c.Annotations[groupAnnotation] != "" && len(c.Flags().Args()) > 0 && a.helpErr == nil {
			a.helpErr = unknownCommand(c, c.Flags().Args()[0])
			return
		}
		defaultHelp(c, args)
	})
	a.registerCompletions(root)
	// Each command's Use shows its flags itself.
	walkCommands(root, func(c *cobra.Command) { c.DisableFlagsInUseLine = true })
	return root
}

// walkCommands calls fn for c and every command under it.
func walkCommands(c *cobra.Command, fn func(*cobra.Command)) {
	fn(c)
	for _, s := range c.Commands() {
		walkCommands(s, fn)
	}
}

// groupAnnotation marks the commands that only hold others.
const groupAnnotation = "credkit-group"

// groupArgs: a group takes the name of one of its commands; anything
// else is unknown.
func groupArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return unknownCommand(cmd, args[0])
	}
	return nil
}

// groupRun prints a group's help when it is run without a command, as gh
// does.
func groupRun(cmd *cobra.Command, args []string) error {
	return cmd.Help()
}

// newGroupCmd is a command whose work is done by its subcommands.
func newGroupCmd(use, short, long string, subs ...*cobra.Command) *cobra.Command {
	c := &cobra.Command{
		Use: use, Short: short, Long: long, Args: groupArgs, RunE: groupRun,
		Annotations: map[string]string{groupAnnotation: "yes"}, DisableFlagsInUseLine: true,
	}
	c.AddCommand(subs...)
	return c
}

// adoptCompletionCmd makes cobra's completion command follow credkit's
// rules: its help on request only, and a mistake is a usage error.
func adoptCompletionCmd(root *cobra.Command) {
	for _, c := range root.Commands() {
		if c.Name() != "completion" {
			continue
		}
		c.Args, c.RunE, c.DisableFlagsInUseLine = groupArgs, groupRun, true
		c.Annotations = map[string]string{groupAnnotation: "yes"}
		for _, shell := range c.Commands() {
			shell.Args = noArgs
		}
	}
}

// newHelpCmd replaces cobra's help command, which answers an unknown
// topic with the root's usage on stdout and exit code 0.
func newHelpCmd(a *App) *cobra.Command {
	return &cobra.Command{
		Use:     "help [COMMAND...]",
		Short:   "Help about any command",
		Long:    "Help prints the description, flags and examples of any command.",
		Example: examples("credkit help exec", "credkit help db token"),
		ValidArgsFunction: func(c *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			target, _, err := c.Root().Find(args)
			if err != nil || target == nil {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			var out []cobra.Completion
			for _, s := range target.Commands() {
				if s.IsAvailableCommand() && s.Name() != "help" {
					out = append(out, cobra.CompletionWithDesc(s.Name(), s.Short))
				}
			}
			return out, cobra.ShellCompDirectiveNoFileComp
		},
		Args: cobra.ArbitraryArgs,
		RunE: func(c *cobra.Command, args []string) error {
			target, rest, err := c.Root().Find(args)
			if err != nil {
				return &cmdLineError{c, err}
			}
			if len(rest) > 0 {
				return unknownCommand(target, rest[0])
			}
			target.InitDefaultHelpFlag()
			target.InitDefaultVersionFlag()
			return target.Help()
		},
	}
}
