// Command ids-bench prints one benchmark report, as markdown, for one capture held in the page
// cache, single core: the capture reader alone, gopacket's fastest decoding, a naive gopacket
// pipeline, `ids replay` end to end and with one detector family at a time; then how the engine
// scales with concurrent flows (BenchmarkManyFlows) and, as root, with sensor workers.
//
//	ids-bench [--capture PATH] [--runs N] [--ids bin/ids] ...   (from the repository root)
//
// Every row runs in a child process (GOMAXPROCS=1), so its peak RSS is its own.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
)

// families are the detector families measured alone, in README order.
var families = []struct {
	name      string
	detectors []string
}{
	{"network", []string{"land", "ipv4-options", "icmp-pmtu", "ip-frag"}},
	{"tcp-state", []string{"tcp-rst-spoof", "icmp-conn-reset"}},
	{"smb", []string{"smb2-negotiate"}},
	{"dcerpc", []string{"messenger-overflow", "msmq-overflow", "dcom-activation"}},
	{"nntp", []string{"nntp-xpat"}},
}

// Targets from the issue and reference figures from ../shared/bench/README.md (1 GB capture).
const (
	targetPPS        = 4e6
	targetVsDecode   = 3.0
	targetVsNaive    = 20.0
	targetFlowGrowth = 2.0
)

var references = []struct {
	tool string
	pps  float64
}{{"Snort 3", 0.65e6}, {"Suricata", 0.78e6}, {"tcpdump -w /dev/null", 3.1e6}}

type config struct {
	capture, ids, rulesSrc, gen, flowsBenchtime string
	runs, attacks                               int
	scaling                                     bool
}

// sample is one run of one row.
type sample struct {
	packets, bytes, mallocs uint64
	seconds, rssMiB         float64
	summary                 *replaySummary // `ids replay` rows only
}

type row struct {
	name string
	sample
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "-child" {
		childMain(os.Args[2:])
		return
	}
	var c config
	flag.StringVar(&c.capture, "capture", "", "capture file (default: generate mixed-100m.pcap in $TMPDIR/ids-bench once)")
	flag.StringVar(&c.ids, "ids", "bin/ids", "the ids binary to measure")
	flag.StringVar(&c.rulesSrc, "rules", "rules/default.yaml", "rules file the per-family rules are made from")
	flag.StringVar(&c.gen, "gen", "../shared/bench/make-bench-pcap.sh", "benchmark capture generator")
	flag.StringVar(&c.flowsBenchtime, "flows-benchtime", "8000000x", "go test -benchtime for BenchmarkManyFlows (8M packets: one whole pass at 1M flows)")
	flag.IntVar(&c.runs, "runs", 3, "runs per row; the median is reported")
	flag.IntVar(&c.attacks, "attacks", -1, "attack instances in the capture (default: from the generator's log next to it)")
	flag.BoolVar(&c.scaling, "scaling", true, "also measure flow-count and sensor-worker scaling")
	flag.Parse()
	if err := run(c, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "ids-bench:", err)
		os.Exit(1)
	}
}

func run(c config, out io.Writer) error {
	if c.runs < 1 {
		return fmt.Errorf("--runs must be at least 1")
	}
	if c.capture == "" {
		c.capture = filepath.Join(os.TempDir(), "ids-bench", "mixed-100m.pcap")
		if err := generate(c.gen, c.capture); err != nil {
			return err
		}
	}
	if c.attacks < 0 {
		c.attacks = attacksFromLog(c.capture + ".gen.txt")
	}
	if err := warm(c.capture); err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}

	var rows []row
	add := func(name string, f func() (sample, error)) error {
		logf("%s ...", name)
		s, err := median(c.runs, f)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		rows = append(rows, row{name, s})
		return nil
	}
	for _, r := range []struct{ name, child string }{
		{"capture reader only (floor)", "floor"},
		{"gopacket DecodingLayerParser (decode floor)", "decode"},
		{"gopacket NewPacket (naive baseline)", "naive"},
	} {
		if err := add(r.name, func() (sample, error) { return childRow(self, r.child, c.capture) }); err != nil {
			return err
		}
	}
	if err := add("ids replay, default rules (end to end)", func() (sample, error) { return replayRow(c.ids, "", c.capture) }); err != nil {
		return err
	}
	src, err := os.ReadFile(c.rulesSrc)
	if err != nil {
		return err
	}
	for _, fam := range families {
		path, err := writeFamilyRules(c, string(src), fam.name, fam.detectors)
		if err != nil {
			return err
		}
		name := fmt.Sprintf("ids replay, %s only (%s)", fam.name, strings.Join(fam.detectors, ", "))
		if err := add(name, func() (sample, error) { return replayRow(c.ids, path, c.capture) }); err != nil {
			return err
		}
	}

	printRows(out, c, rows)
	if c.scaling {
		printFlowScaling(out, c)
		printSensorScaling(out, c)
	}
	return nil
}

func logf(format string, args ...any) { fmt.Fprintf(os.Stderr, "ids-bench: "+format+"\n", args...) }

// generate builds the default capture once; the generator's log (it counts the attack
// instances) is kept next to it for the alert check.
func generate(gen, path string) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	logf("generating %s", path)
	var log bytes.Buffer
	cmd := exec.Command("bash", gen, path+".tmp", "100", "2", "2")
	cmd.Stdout, cmd.Stderr = os.Stderr, io.MultiWriter(os.Stderr, &log)
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w", gen, err)
	}
	if err := os.WriteFile(path+".gen.txt", log.Bytes(), 0o644); err != nil {
		return err
	}
	return os.Rename(path+".tmp", path)
}

var reAttacks = regexp.MustCompile(`(\d+) attack instances`)

// attacksFromLog returns the attack count the generator logged, or -1 when unknown.
func attacksFromLog(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return -1
	}
	if m := reAttacks.FindSubmatch(b); m != nil {
		n, _ := strconv.Atoi(string(m[1]))
		return n
	}
	return -1
}

// warm reads the capture once so that every row finds it in the page cache.
func warm(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(io.Discard, f)
	return err
}

// median runs f n times and returns the run with the median time.
func median(n int, f func() (sample, error)) (sample, error) {
	var runs []sample
	for range n {
		s, err := f()
		if err != nil {
			return s, err
		}
		runs = append(runs, s)
	}
	sort.Slice(runs, func(i, j int) bool { return runs[i].seconds < runs[j].seconds })
	return runs[len(runs)/2], nil
}

func maxRSSMiB(ps *os.ProcessState) float64 {
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		return float64(ru.Maxrss) / 1024 // Linux: KiB
	}
	return 0
}

func childRow(self, name, capture string) (sample, error) {
	cmd := exec.Command(self, "-child", name, capture)
	cmd.Env = append(os.Environ(), "GOMAXPROCS=1")
	cmd.Stderr = os.Stderr
	b, err := cmd.Output()
	if err != nil {
		return sample{}, err
	}
	var r childResult
	if err := json.Unmarshal(b, &r); err != nil {
		return sample{}, fmt.Errorf("child output %q: %w", b, err)
	}
	return sample{packets: r.Packets, bytes: r.Bytes, mallocs: r.Mallocs, seconds: r.Seconds, rssMiB: maxRSSMiB(cmd.ProcessState)}, nil
}

// replayRow runs the real binary; its processing time is the one its summary reports (from
// opening the first file to the last packet), which leaves out process start and rules loading.
func replayRow(ids, rules, capture string) (sample, error) {
	args := []string{"replay", "-o", "/dev/null"}
	if rules != "" {
		args = append(args, "--rules", rules)
	}
	cmd := exec.Command(ids, append(args, capture)...)
	cmd.Env = append(os.Environ(), "GOMAXPROCS=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return sample{}, fmt.Errorf("%s: %w\n%s", cmd, err, stderr.String())
	}
	s, err := parseReplaySummary(stderr.String())
	if err != nil {
		return sample{}, err
	}
	return sample{packets: s.Packets, bytes: s.Bytes, mallocs: s.Mallocs, seconds: s.Seconds, rssMiB: maxRSSMiB(cmd.ProcessState), summary: &s}, nil
}

// writeFamilyRules writes the rules file of one family next to the capture cache and has
// `ids rules check` validate it.
func writeFamilyRules(c config, src, name string, detectors []string) (string, error) {
	text, err := familyRules(src, detectors)
	if err != nil {
		return "", fmt.Errorf("rules for %s: %w", name, err)
	}
	dir := filepath.Join(os.TempDir(), "ids-bench")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	path := filepath.Join(dir, "rules-"+name+".yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		return "", err
	}
	if b, err := exec.Command(c.ids, "rules", "check", path).CombinedOutput(); err != nil {
		return "", fmt.Errorf("%s rules check %s: %w\n%s", c.ids, path, err, b)
	}
	return path, nil
}

func (s sample) nsPerPacket() float64 { return s.seconds * 1e9 / float64(max(s.packets, 1)) }
func (s sample) pps() float64         { return float64(s.packets) / s.seconds }

func printRows(out io.Writer, c config, rows []row) {
	r0 := rows[0]
	fmt.Fprintf(out, "## ids benchmark: %s\n\n", c.capture)
	fmt.Fprintf(out, "%d packets, %d captured bytes (%.0f B/packet), file in page cache, one core (GOMAXPROCS=1), median of %d runs.\n\n",
		r0.packets, r0.bytes, float64(r0.bytes)/float64(max(r0.packets, 1)), c.runs)
	fmt.Fprintln(out, "| row | packets/s | Gbit/s | ns/packet | allocs/packet | peak RSS MiB | alerts |")
	fmt.Fprintln(out, "|---|---:|---:|---:|---:|---:|---:|")
	for _, r := range rows {
		alerts := "–"
		if r.summary != nil {
			alerts = strconv.FormatUint(r.summary.Alerts, 10)
		}
		fmt.Fprintf(out, "| %s | %.2f M | %.2f | %.0f | %.3g | %.1f | %s |\n", r.name, r.pps()/1e6,
			float64(r.bytes)*8/r.seconds/1e9, r.nsPerPacket(), float64(r.mallocs)/float64(max(r.packets, 1)), r.rssMiB, alerts)
	}
	decodeFloor, naive, e2e := rows[1], rows[2], rows[3]
	fmt.Fprintln(out)
	fmt.Fprintf(out, "- end to end vs decode floor: %.2fx the time per packet (target: within %.0fx) %s\n",
		e2e.nsPerPacket()/decodeFloor.nsPerPacket(), targetVsDecode, verdict(e2e.nsPerPacket() <= targetVsDecode*decodeFloor.nsPerPacket()))
	fmt.Fprintf(out, "- end to end vs naive gopacket: %.1fx faster (target: at least %.0fx) %s\n",
		naive.nsPerPacket()/e2e.nsPerPacket(), targetVsNaive, verdict(naive.nsPerPacket() >= targetVsNaive*e2e.nsPerPacket()))
	fmt.Fprintf(out, "- end to end: %.2f M packets/s = %.0f%% of the %.0f M packets/s target %s\n",
		e2e.pps()/1e6, 100*e2e.pps()/targetPPS, targetPPS/1e6, verdict(e2e.pps() >= targetPPS))
	for _, ref := range references {
		fmt.Fprintf(out, "- end to end vs %s (%.2f M packets/s; reference, other run, 1 GB capture): %.1fx\n", ref.tool, ref.pps/1e6, e2e.pps()/ref.pps)
	}
	fmt.Fprintln(out)
	printAlertCheck(out, c, *e2e.summary)
}

func verdict(ok bool) string {
	if ok {
		return "**met**"
	}
	return "**not met**"
}

// printAlertCheck compares the end-to-end alerts with the attack instances the generator wrote:
// each must raise its alert, and nothing else may alert.
func printAlertCheck(out io.Writer, c config, s replaySummary) {
	fmt.Fprintln(out, "Alerts, end to end, by signature:")
	fmt.Fprintln(out)
	fmt.Fprintln(out, "| detector | signature | sid | alerts |")
	fmt.Fprintln(out, "|---|---|---:|---:|")
	for _, a := range s.BySID {
		fmt.Fprintf(out, "| %s | %s | %d | %d |\n", a.Detector, a.Signature, a.SID, a.Count)
	}
	fmt.Fprintln(out)
	switch {
	case c.attacks < 0:
		fmt.Fprintf(out, "Alert check: %d alerts; attack instances unknown (no generator log %s.gen.txt; pass --attacks N)\n\n", s.Alerts, c.capture)
	case s.Alerts == uint64(c.attacks):
		fmt.Fprintf(out, "Alert check: %d alerts for %d attack instances: **ok**\n\n", s.Alerts, c.attacks)
	default:
		fmt.Fprintf(out, "Alert check: %d alerts for %d attack instances: **MISMATCH**\n\n", s.Alerts, c.attacks)
	}
}

// printFlowScaling runs BenchmarkManyFlows (one core) and prints ns/packet by concurrent flows.
func printFlowScaling(out io.Writer, c config) {
	fmt.Fprintln(out, "### Scaling with concurrent flows (engine.BenchmarkManyFlows, one core)")
	fmt.Fprintln(out)
	logf("BenchmarkManyFlows ...")
	cmd := exec.Command("go", "test", "-run", "^$", "-bench", "^BenchmarkManyFlows$", "-benchtime", c.flowsBenchtime,
		"-count", strconv.Itoa(c.runs), "-cpu", "1", "./engine")
	var stdout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stdout
	if err := cmd.Run(); err != nil {
		fmt.Fprintf(out, "go test failed (%v):\n\n```\n%s```\n\n", err, stdout.String())
		return
	}
	ns := map[string][]float64{}
	allocs := map[string][]float64{}
	var names []string
	for _, line := range strings.Split(stdout.String(), "\n") {
		name, m, ok := parseBenchLine(line)
		if !ok || !strings.HasPrefix(name, "BenchmarkManyFlows/") {
			continue
		}
		if _, seen := ns[name]; !seen {
			names = append(names, name)
		}
		ns[name] = append(ns[name], m["ns/packet"])
		allocs[name] = append(allocs[name], m["allocs/op"])
	}
	if len(names) == 0 {
		fmt.Fprintf(out, "no BenchmarkManyFlows results in:\n\n```\n%s```\n\n", stdout.String())
		return
	}
	fmt.Fprintln(out, "| concurrent flows | ns/packet | allocs/packet |")
	fmt.Fprintln(out, "|---:|---:|---:|")
	for _, name := range names {
		fmt.Fprintf(out, "| %s | %.0f | %.3g |\n", strings.TrimPrefix(name, "BenchmarkManyFlows/flows="), med(ns[name]), med(allocs[name]))
	}
	first, last := med(ns[names[0]]), med(ns[names[len(names)-1]])
	fmt.Fprintf(out, "\nGrowth %s -> %s: %.2fx (target: below %.0fx) %s\n\n", strings.TrimPrefix(names[0], "BenchmarkManyFlows/"),
		strings.TrimPrefix(names[len(names)-1], "BenchmarkManyFlows/"), last/first, targetFlowGrowth, verdict(last/first < targetFlowGrowth))
}

func med(v []float64) float64 {
	v = slices.Clone(v)
	slices.Sort(v)
	return v[len(v)/2]
}

// printSensorScaling runs scripts/live-bench.sh (root only: veth pair, namespaces, AF_PACKET).
func printSensorScaling(out io.Writer, c config) {
	fmt.Fprintln(out, "### Sensor scaling with AF_PACKET workers (scripts/live-bench.sh)")
	fmt.Fprintln(out)
	if os.Geteuid() != 0 {
		fmt.Fprintln(out, "sensor scaling: needs root (scripts/live-bench.sh)")
		fmt.Fprintln(out)
		return
	}
	logf("scripts/live-bench.sh ...")
	cmd := exec.Command("bash", "scripts/live-bench.sh", c.capture, "5")
	var stdout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, os.Stderr
	err := cmd.Run()
	fmt.Fprintf(out, "```\n%s```\n", stdout.String())
	if err != nil {
		fmt.Fprintf(out, "live-bench failed: %v\n", err)
	} else if b := parseBurst(stdout.String()); b[1] > 0 && b[2] > 0 {
		fmt.Fprintf(out, "\nSensor capacity (burst, drained from the rings): 1 worker %.2f M packets/s, 2 workers %.2f M packets/s: %.2fx\n",
			b[1]/1e6, b[2]/1e6, b[2]/b[1])
	}
	fmt.Fprintln(out)
}
