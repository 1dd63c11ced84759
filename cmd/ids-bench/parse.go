package main

import (
	"bufio"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// replaySummary is what the bench reads from `ids replay`'s summary on standard error.
type replaySummary struct {
	Packets, Bytes uint64
	Seconds        float64
	Mallocs        uint64
	PeakRSSMiB     float64
	Alerts         uint64
	BySID          []sidCount // in the summary's order
}

type sidCount struct {
	Detector, Signature string
	SID, Count          uint64
}

var (
	reRun    = regexp.MustCompile(`^ids replay: \d+ files, (\d+) packets, (\d+) bytes in ([0-9.]+) s `)
	reMemory = regexp.MustCompile(`^memory: (\d+) heap allocations during the run \([^)]*\), peak RSS ([0-9.]+) MiB`)
	reAlerts = regexp.MustCompile(`^alerts: (\d+)`)
	reSID    = regexp.MustCompile(`^\s+(\S+)\s+(\S+)\s+sid (\d+)\s+(\d+)`)
)

// parseReplaySummary reads the lines of cmd/ids printSummary that the bench needs; it fails when
// the run line or the memory line is missing, so a changed summary cannot go unnoticed.
func parseReplaySummary(text string) (replaySummary, error) {
	var s replaySummary
	var haveRun, haveMem, inAlerts bool
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := sc.Text()
		if m := reRun.FindStringSubmatch(line); m != nil {
			s.Packets, _ = strconv.ParseUint(m[1], 10, 64)
			s.Bytes, _ = strconv.ParseUint(m[2], 10, 64)
			s.Seconds, _ = strconv.ParseFloat(m[3], 64)
			haveRun = true
		} else if m := reMemory.FindStringSubmatch(line); m != nil {
			s.Mallocs, _ = strconv.ParseUint(m[1], 10, 64)
			s.PeakRSSMiB, _ = strconv.ParseFloat(m[2], 64)
			haveMem = true
		} else if m := reAlerts.FindStringSubmatch(line); m != nil {
			s.Alerts, _ = strconv.ParseUint(m[1], 10, 64)
			inAlerts = true
		} else if m := reSID.FindStringSubmatch(line); inAlerts && m != nil {
			sid, _ := strconv.ParseUint(m[3], 10, 64)
			n, _ := strconv.ParseUint(m[4], 10, 64)
			s.BySID = append(s.BySID, sidCount{m[1], m[2], sid, n})
		} else {
			inAlerts = false // the per-signature lines follow "alerts:" directly
		}
	}
	if !haveRun || !haveMem {
		return s, fmt.Errorf("ids replay summary lacks its packets line or memory line:\n%s", text)
	}
	return s, nil
}

// parseBenchLine parses one `go test -bench` result line, e.g.
// "BenchmarkManyFlows/flows=1000-2  8000000  512 ns/op  510 ns/packet  0 B/op  0 allocs/op",
// into its name (without the -GOMAXPROCS suffix) and its metrics by unit.
func parseBenchLine(line string) (name string, metrics map[string]float64, ok bool) {
	f := strings.Fields(line)
	if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") || len(f)%2 != 0 {
		return "", nil, false
	}
	if _, err := strconv.ParseUint(f[1], 10, 64); err != nil {
		return "", nil, false
	}
	name = f[0]
	if i := strings.LastIndexByte(name, '-'); i > 0 {
		if _, err := strconv.Atoi(name[i+1:]); err == nil {
			name = name[:i]
		}
	}
	metrics = map[string]float64{}
	for i := 2; i+1 < len(f); i += 2 {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			return "", nil, false
		}
		metrics[f[i+1]] = v
	}
	return name, metrics, true
}

// familyRules returns the rules file src with every detector outside keep turned off (its
// top-level `enabled:`), leaving signatures, thresholds and engine limits as they are. It fails
// when a detector of keep is not in src, so a renamed detector cannot yield an empty row.
func familyRules(src string, keep []string) (string, error) {
	want := map[string]bool{}
	for _, d := range keep {
		want[d] = false
	}
	var b strings.Builder
	cur := ""
	for _, line := range strings.SplitAfter(src, "\n") {
		if t := strings.TrimRight(line, "\n"); t != "" && t[0] != ' ' && t[0] != '#' && strings.HasSuffix(t, ":") {
			cur = strings.TrimSuffix(t, ":")
			if _, ok := want[cur]; ok {
				want[cur] = true
			}
		}
		if _, ok := want[cur]; !ok && strings.HasPrefix(line, "  enabled: true") {
			line = strings.Replace(line, "true", "false", 1)
		}
		b.WriteString(line)
	}
	for d, seen := range want {
		if !seen {
			return "", fmt.Errorf("detector %q not found in the rules file", d)
		}
	}
	return b.String(), nil
}

// parseBurst reads scripts/live-bench.sh's burst table: packets/s by AF_PACKET worker count.
func parseBurst(text string) map[int]float64 {
	pps := map[int]float64{}
	burst := false
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		switch {
		case strings.HasPrefix(line, "== "):
			burst = strings.HasPrefix(line, "== burst")
		case burst && len(f) == 8 && f[0] == "afpacket":
			w, err1 := strconv.Atoi(f[1])
			v, err2 := strconv.ParseFloat(f[6], 64)
			if err1 == nil && err2 == nil {
				pps[w] = v
			}
		}
	}
	return pps
}
