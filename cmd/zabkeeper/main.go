// Command zabkeeper is the single binary: the server, a local dev ensemble,
// the CLI client commands and the benchmark driver.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"
)

func main() {
	app := &cli.App{
		Name:  "zabkeeper",
		Usage: "a ZooKeeper-compatible coordination service",
		Commands: []*cli.Command{
			serverCommand(),
			devCommand(),
			benchCommand(),
			snapshotCommand(),
			createCommand(),
			getCommand(),
			setCommand(),
			deleteCommand(),
			lsCommand(),
			statCommand(),
			watchCommand(),
			getACLCommand(),
			setACLCommand(),
			syncCommand(),
			lockCommand(),
			electCommand(),
			membersCommand(),
		},
		HideHelpCommand: true,
	}
	if err := app.Run(os.Args); err != nil {
		fmt.Fprintln(os.Stderr, "zabkeeper:", err)
		var ec cli.ExitCoder
		if errors.As(err, &ec) {
			os.Exit(ec.ExitCode())
		}
		os.Exit(1)
	}
}
