package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/ids-sensor/ids/detectors"
	"github.com/ids-sensor/ids/rules"
)

func runRules(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: ids rules list [--rules PATH] | ids rules check PATH")
		return exitUsage
	}
	switch args[0] {
	case "list":
		fs := flag.NewFlagSet("ids rules list", flag.ContinueOnError)
		fs.SetOutput(stderr)
		path := fs.String("rules", "", "rules file (default: the embedded rules/default.yaml)")
		rest, err := parseArgs(fs, args[1:])
		if err == flag.ErrHelp {
			return exitOK
		}
		if err != nil {
			return exitUsage
		}
		if len(rest) > 0 {
			fmt.Fprintf(stderr, "ids rules list: unexpected argument %q\n", rest[0])
			return exitUsage
		}
		set, err := loadRules(*path)
		if err != nil {
			printRulesError(stderr, err)
			return exitUsage
		}
		printRules(stdout, set)
		return exitOK
	case "check":
		if len(args) != 2 {
			fmt.Fprintln(stderr, "usage: ids rules check PATH")
			return exitUsage
		}
		set, err := rules.Load(args[1], detectors.Schemas())
		if err != nil {
			printRulesError(stderr, err)
			return exitUsage
		}
		enabled := 0
		for _, s := range set.Signatures {
			if s.Enabled && set.Detector(s.Detector).Enabled {
				enabled++
			}
		}
		fmt.Fprintf(stdout, "%s: ok: %d detectors, %d signatures (%d enabled)\n", args[1], len(set.Detectors), len(set.Signatures), enabled)
		return exitOK
	}
	fmt.Fprintf(stderr, "ids rules: unknown subcommand %q (list or check)\n", args[0])
	return exitUsage
}

// printRules prints the effective rules: one line per signature, then each detector's thresholds.
func printRules(w io.Writer, set *rules.Set) {
	fmt.Fprintf(w, "# rules from %s\n", set.Source)
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "DETECTOR\tSIGNATURE\tSID\tREV\tSEV\tENABLED\tCVE\tBULLETIN\tMESSAGE")
	for _, d := range set.Detectors {
		for _, s := range d.Signatures {
			on := "yes"
			switch {
			case !d.Enabled:
				on = "no (detector off)"
			case !s.Enabled:
				on = "no"
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\t%s\t%s\t%s\n", d.Name, s.Name, s.SID, s.Rev, s.Severity, on,
				strings.Join(s.CVE, ","), strings.Join(s.Bulletin, ","), s.Msg)
		}
	}
	tw.Flush()
	fmt.Fprintln(w)
	printThresholds(w, set)
	tw = tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "PARAMETER\tVALUE\tMEANING")
	for _, spec := range detectors.Specs() {
		d := set.Detector(spec.Schema.Detector)
		for _, p := range spec.Schema.Params {
			v := fmt.Sprint(d.Int(p.Name))
			if p.Bool {
				v = fmt.Sprint(d.Bool(p.Name))
			}
			fmt.Fprintf(tw, "%s.%s\t%s\t%s\n", d.Name, p.Name, v, p.Help)
		}
	}
	tw.Flush()
}

// printThresholds prints each signature's threshold and suppressions, if any has one.
func printThresholds(w io.Writer, set *rules.Set) {
	if !set.HasThresholds() {
		fmt.Fprintln(w, "# no thresholds or suppressions: every detection is an alert")
		fmt.Fprintln(w)
		return
	}
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "SIGNATURE\tSID\tTHRESHOLD\tSUPPRESS")
	for _, s := range set.Signatures {
		if s.Threshold == nil && len(s.Suppress) == 0 {
			continue
		}
		th := "-"
		if t := s.Threshold; t != nil {
			th = fmt.Sprintf("%s %s, %d per %d s", t.Type, t.Track, t.Count, t.Seconds)
		}
		sup := make([]string, len(s.Suppress))
		for i := range s.Suppress {
			sup[i] = s.Suppress[i].String()
		}
		if len(sup) == 0 {
			sup = []string{"-"}
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", s.Name, s.SID, th, strings.Join(sup, "; "))
	}
	tw.Flush()
	fmt.Fprintf(w, "# threshold.max_entries: %d buckets per worker\n\n", set.Settings.ThresholdMax)
}
