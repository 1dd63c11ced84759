// Command ids is a packet-level intrusion detection engine for a family of Windows network
// attacks that needed no user action (MS03-026, MS03-043, MS04-036, MS05-019, MS07-065, MS09-050).
//
//	ids replay [flags] FILE...     inspect capture files
//	ids sensor -i IFACE [flags]    inspect live traffic (SPAN/mirror port)
//	ids rules list [--rules PATH]  print the effective rules
//	ids rules check PATH           validate a rules file
//	ids version                    print the version
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"

	"github.com/ids-sensor/ids/detectors"
	"github.com/ids-sensor/ids/rules"
)

// Exit statuses, documented in the README.
const (
	exitOK         = 0
	exitUsage      = 1 // bad flags, bad rules file, unwritable output
	exitInput      = 2 // an input could not be read (missing, not a capture, truncated)
	exitAlerts     = 3 // --fail-on-alert and at least one alert fired
	usageTextShort = "usage: ids replay [flags] FILE... | ids sensor -i IFACE | ids rules list|check | ids version (ids help for more)"
)

const usageText = `ids: packet-level intrusion detection for MS03-026, MS03-043, MS04-036, MS05-019,
MS07-065 and MS09-050 style attacks.

Commands:
  ids replay [flags] FILE...      inspect pcap/pcapng files (gzip allowed), in order, as one stream
  ids sensor -i IFACE [flags]     inspect live traffic on an interface (SPAN/mirror port)
  ids rules list [--rules PATH]   print the effective rules table
  ids rules check PATH            validate a rules file
  ids version                     print the version

Run "ids replay -h" or "ids sensor -h" for their flags.
Exit status: 0 ok, 1 usage/rules/output error, 2 an input or the capture could not be opened or read, 3 alerts with --fail-on-alert.
`

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usageTextShort)
		return exitUsage
	}
	switch args[0] {
	case "replay":
		return runReplay(args[1:], stdout, stderr)
	case "sensor":
		return runSensor(args[1:], stdout, stderr)
	case "rules":
		return runRules(args[1:], stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "ids", version())
		return exitOK
	case "help", "-h", "--help", "-help":
		fmt.Fprint(stdout, usageText)
		return exitOK
	}
	fmt.Fprintf(stderr, "ids: unknown command %q\n%s\n", args[0], usageTextShort)
	return exitUsage
}

func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				return "devel-" + s.Value[:12]
			}
		}
	}
	return "devel"
}

// parseArgs parses flags anywhere among the arguments (ids replay a.pcap -o out.json), like
// GNU tools; "--" ends the flags.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// loadRules loads the rules file at path, or the embedded default when path is empty.
func loadRules(path string) (*rules.Set, error) {
	if path == "" {
		return rules.Default(detectors.Schemas())
	}
	return rules.Load(path, detectors.Schemas())
}

// printRulesError prints every problem of a rules file, one per line.
func printRulesError(w io.Writer, err error) {
	var es rules.Errors
	if errors.As(err, &es) {
		for _, e := range es {
			fmt.Fprintln(w, "ids: rules:", e)
		}
		return
	}
	fmt.Fprintln(w, "ids: rules:", strings.TrimSpace(err.Error()))
}
