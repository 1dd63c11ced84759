package engine

import (
	"fmt"
	"io"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ids-sensor/ids/alert"
	"github.com/ids-sensor/ids/detectors"
	"github.com/ids-sensor/ids/rules"
)

// landRules returns the default rules with extra fields (YAML, indented as land's own) added to
// land's primary signature, and the engine setting threshold.max_entries set to maxEntries
// (0: the default).
func landRules(t testing.TB, landFields string, maxEntries int) *rules.Set {
	t.Helper()
	const anchor = "  cve: [CVE-2005-0688]\n  bulletin: [MS05-019]\n"
	text := string(rules.DefaultYAML())
	if strings.Count(text, anchor) != 1 {
		t.Fatalf("anchor occurs %d times", strings.Count(text, anchor))
	}
	text = strings.Replace(text, anchor, anchor+landFields, 1)
	if maxEntries > 0 {
		text = strings.Replace(text, "threshold.max_entries: 65536", fmt.Sprint("threshold.max_entries: ", maxEntries), 1)
	}
	set, err := rules.Parse("test.yaml", []byte(text), detectors.Schemas())
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// written records what reached the sink.
type written struct {
	n          int
	suppressed []uint64 // a.Suppressed of each alert written
	src        []string
}

func (w *written) Write(a *alert.Alert) error {
	w.n++
	w.suppressed = append(w.suppressed, a.Suppressed)
	w.src = append(w.src, a.Src.String())
	return nil
}
func (w *written) Flush() error { return nil }

// landFlood sends n copies of one LAND SYN (192.0.2.9:139 -> itself), the i-th at time i*gap.
func landFlood(e *Engine, n int, gap time.Duration) {
	frame := tcp4(make([]byte, 64), 0xc0000209, 0xc0000209, 139, 139, fSYN, 1000, 0, 0)
	for i := range n {
		e.Process(frame, info(int64(i)*int64(gap), frame))
	}
}

// A million LAND packets under `limit, by_src, 5 per 60 s`: five alerts per window are written,
// every packet is counted as a detection, the rest as suppressed.
func TestLANDFloodLimit(t *testing.T) {
	const n = 1_000_000
	for _, c := range []struct {
		name    string
		gap     time.Duration
		windows int
	}{
		{"one_window", time.Microsecond, 1},         // 1 s of packet time
		{"ten_windows", 600 * time.Microsecond, 10}, // 600 s: a window opens every 60 s exactly
	} {
		t.Run(c.name, func(t *testing.T) {
			set := landRules(t, "  threshold: {type: limit, track: by_src, count: 5, seconds: 60}\n", 0)
			w := &written{}
			e := New(set, w)
			start := time.Now()
			landFlood(e, n, c.gap)
			el := time.Since(start)
			s := &e.Stats
			land := set.Detector("land").Sig("")
			want := uint64(5 * c.windows)
			t.Logf("%d LAND packets, %d windows: %d alerts written, AlertsTotal %d, AlertsSuppressed %d, %.0f ns/packet",
				n, c.windows, w.n, s.AlertsTotal, s.AlertsSuppressed, float64(el.Nanoseconds())/n)
			if uint64(w.n) != want || s.AlertsTotal != n || s.Alerts[land.Index] != n || s.AlertsSuppressed != n-want ||
				e.AlertsSuppressed(land) != n-want {
				t.Errorf("written %d (want %d), total %d, land %d, suppressed %d (by signature %d)",
					w.n, want, s.AlertsTotal, s.Alerts[land.Index], s.AlertsSuppressed, e.AlertsSuppressed(land))
			}
			// The first alert of each later window says how many the previous window held back.
			perWindow := uint64(n/c.windows - 5)
			for i, got := range w.suppressed {
				wantS := uint64(0)
				if i%5 == 0 && i > 0 {
					wantS = perWindow
				}
				if got != wantS {
					t.Errorf("alert %d carries suppressed=%d, want %d", i, got, wantS)
					break
				}
			}
			if used, _ := e.ThresholdEntries(); used != 1 || s.ThresholdEvictions != 0 || s.WriteErrors != 0 {
				t.Errorf("buckets %d, evictions %d, write errors %d", used, s.ThresholdEvictions, s.WriteErrors)
			}
		})
	}
}

// thresholdEngine returns an engine whose land signature has threshold th and suppressions sup
// (set on the loaded rules, as the loader would), writing to w, and the signature.
func thresholdEngine(t testing.TB, th *rules.Threshold, sup []rules.Suppress, w alert.Sink) (*Engine, *rules.Signature) {
	set := defaultRules(t)
	sig := set.Detector("land").Sig("")
	sig.Threshold, sig.Suppress = th, sup
	return New(set, w), sig
}

// match hands the engine one detection of sig, as a detector would.
func match(e *Engine, sig *rules.Signature, src, dst string, ts time.Duration) {
	e.onAlert(&alert.Alert{TS: int64(ts), Src: netip.MustParseAddr(src), Dst: netip.MustParseAddr(dst), Sig: sig})
}

// Ten matches in a 10 s window, then three more in the next: which are written, and what each
// written alert says was held back before it.
func TestThresholdTypes(t *testing.T) {
	for _, c := range []struct {
		typ      rules.ThresholdType
		wantAt   []int    // 1-based match numbers written
		wantSupp []uint64 // their Suppressed
	}{
		// limit 3: the first three of each window; window 2's first carries window 1's 7.
		{rules.ThresholdLimit, []int{1, 2, 3, 11, 12, 13}, []uint64{0, 0, 0, 7, 0, 0}},
		// threshold 3: every third; the 10th is held, and window 2 counts from 1 again.
		{rules.ThresholdEvery, []int{3, 6, 9, 13}, []uint64{2, 2, 2, 3}},
		// both 3: once per window, at the third.
		{rules.ThresholdBoth, []int{3, 13}, []uint64{2, 9}},
	} {
		t.Run(c.typ.String(), func(t *testing.T) {
			w := &written{}
			e, sig := thresholdEngine(t, &rules.Threshold{Type: c.typ, Track: rules.BySrc, Count: 3, Seconds: 10}, nil, w)
			var at []int
			for i := 1; i <= 13; i++ {
				ts := time.Duration(i) * 900 * time.Millisecond // 0.9 .. 9.0 s: window 1 (opened at 0.9 s)
				if i > 10 {
					ts = 11*time.Second + time.Duration(i)*time.Millisecond // 10 s after the window opened
				}
				before := w.n
				match(e, sig, "192.0.2.1", "198.51.100.1", ts)
				if w.n > before {
					at = append(at, i)
				}
			}
			if fmt.Sprint(at) != fmt.Sprint(c.wantAt) || fmt.Sprint(w.suppressed) != fmt.Sprint(c.wantSupp) {
				t.Errorf("written at %v carrying %v, want %v carrying %v", at, w.suppressed, c.wantAt, c.wantSupp)
			}
			if e.Stats.AlertsTotal != 13 || e.Stats.AlertsSuppressed != uint64(13-len(c.wantAt)) {
				t.Errorf("total %d, suppressed %d", e.Stats.AlertsTotal, e.Stats.AlertsSuppressed)
			}
		})
	}
}

// The window is exactly Seconds long, opened by its first match.
func TestThresholdWindowEdge(t *testing.T) {
	w := &written{}
	e, sig := thresholdEngine(t, &rules.Threshold{Type: rules.ThresholdLimit, Track: rules.ByRule, Count: 1, Seconds: 60}, nil, w)
	match(e, sig, "192.0.2.1", "192.0.2.2", 5*time.Second)
	match(e, sig, "192.0.2.1", "192.0.2.2", 65*time.Second-1) // still window 1
	match(e, sig, "192.0.2.1", "192.0.2.2", 65*time.Second)   // window 2
	match(e, sig, "192.0.2.1", "192.0.2.2", 30*time.Second)   // time went backwards: window 2 still
	if w.n != 2 || fmt.Sprint(w.suppressed) != "[0 1]" {
		t.Errorf("written %d carrying %v", w.n, w.suppressed)
	}
}

// by_src, by_dst and by_rule buckets: limit 1 per window, four matches from two sources (one
// IPv6) to two destinations.
func TestThresholdTrack(t *testing.T) {
	matches := [][2]string{
		{"192.0.2.1", "198.51.100.1"},
		{"192.0.2.1", "198.51.100.2"},
		{"2001:db8::1", "198.51.100.1"},
		{"2001:db8::1", "198.51.100.2"},
		{"::ffff:192.0.2.1", "198.51.100.3"}, // not 192.0.2.1: the engine never sees mapped addresses, but they stay distinct
	}
	for _, c := range []struct {
		track rules.Track
		want  string // sources written
	}{
		{rules.BySrc, "[192.0.2.1 2001:db8::1 ::ffff:192.0.2.1]"},
		{rules.ByDst, "[192.0.2.1 192.0.2.1 ::ffff:192.0.2.1]"},
		{rules.ByRule, "[192.0.2.1]"},
	} {
		t.Run(c.track.String(), func(t *testing.T) {
			w := &written{}
			e, sig := thresholdEngine(t, &rules.Threshold{Type: rules.ThresholdLimit, Track: c.track, Count: 1, Seconds: 60}, nil, w)
			for i, m := range matches {
				match(e, sig, m[0], m[1], time.Duration(i)*time.Second)
			}
			if fmt.Sprint(w.src) != c.want {
				t.Errorf("written from %v, want %s", w.src, c.want)
			}
		})
	}
	// Thresholds are per signature: another signature's matches from the same source have their
	// own bucket, and signatures without a threshold are untouched.
	w := &written{}
	e, sig := thresholdEngine(t, &rules.Threshold{Type: rules.ThresholdLimit, Track: rules.BySrc, Count: 1, Seconds: 60}, nil, w)
	other := e.Rules().Detector("land").Sig("self_connect")
	other.Threshold = &rules.Threshold{Type: rules.ThresholdLimit, Track: rules.BySrc, Count: 1, Seconds: 60}
	pmtu := e.Rules().Detector("icmp-pmtu").Sig("")
	for range 3 {
		match(e, sig, "192.0.2.1", "192.0.2.1", 0)
		match(e, other, "192.0.2.1", "192.0.2.1", 0)
		match(e, pmtu, "192.0.2.1", "192.0.2.1", 0)
	}
	if w.n != 1+1+3 || e.Stats.AlertsSuppressed != 4 || e.AlertsSuppressed(other) != 2 || e.AlertsSuppressed(pmtu) != 0 {
		t.Errorf("written %d, suppressed %d (self_connect %d)", w.n, e.Stats.AlertsSuppressed, e.AlertsSuppressed(other))
	}
}

// Suppressions by CIDR: matched detections are counted, never written, and do not count
// towards the threshold.
func TestSuppress(t *testing.T) {
	sup := []rules.Suppress{
		{Track: rules.BySrc, Prefix: netip.MustParsePrefix("10.0.0.0/8")},
		{Track: rules.ByDst, Prefix: netip.MustParsePrefix("2001:db8:1::/48")},
		{Track: rules.ByEither, Prefix: netip.MustParsePrefix("192.0.2.7/32")},
	}
	cases := []struct {
		src, dst string
		written  bool
	}{
		{"10.1.2.3", "198.51.100.1", false},      // by_src 10/8
		{"198.51.100.1", "10.1.2.3", true},       // 10/8 is by_src only
		{"198.51.100.1", "2001:db8:1::5", false}, // by_dst v6
		{"2001:db8:1::5", "198.51.100.1", true},
		{"2001:db8:2::5", "2001:db8:2::6", true},
		{"192.0.2.7", "198.51.100.1", false}, // by_either
		{"198.51.100.1", "192.0.2.7", false},
		{"::ffff:10.1.2.3", "198.51.100.1", true}, // an IPv4 prefix matches IPv4 addresses only
	}
	w := &written{}
	e, sig := thresholdEngine(t, nil, sup, w)
	var got []bool
	for _, c := range cases {
		before := w.n
		match(e, sig, c.src, c.dst, 0)
		got = append(got, w.n > before)
	}
	for i, c := range cases {
		if got[i] != c.written {
			t.Errorf("%s -> %s: written %v, want %v", c.src, c.dst, got[i], c.written)
		}
	}
	if e.Stats.AlertsTotal != uint64(len(cases)) || e.Stats.AlertsSuppressed != 4 {
		t.Errorf("total %d, suppressed %d", e.Stats.AlertsTotal, e.Stats.AlertsSuppressed)
	}

	// With a threshold too: suppressed matches do not use up the limit.
	w = &written{}
	e, sig = thresholdEngine(t, &rules.Threshold{Type: rules.ThresholdLimit, Track: rules.ByRule, Count: 2, Seconds: 60}, sup, w)
	for range 5 {
		match(e, sig, "10.0.0.1", "198.51.100.1", 0)
	}
	match(e, sig, "198.51.100.9", "198.51.100.1", 0)
	match(e, sig, "198.51.100.9", "198.51.100.1", 0)
	match(e, sig, "198.51.100.9", "198.51.100.1", 0)
	if w.n != 2 || e.Stats.AlertsSuppressed != 6 || fmt.Sprint(w.suppressed) != "[0 0]" {
		t.Errorf("written %d carrying %v, suppressed %d", w.n, w.suppressed, e.Stats.AlertsSuppressed)
	}
}

// A full table evicts the least recently matched bucket and counts it; the evicted source's
// window starts again.
func TestThresholdEviction(t *testing.T) {
	set := defaultRules(t)
	set.Settings.ThresholdMax = 4
	sig := set.Detector("land").Sig("")
	sig.Threshold = &rules.Threshold{Type: rules.ThresholdLimit, Track: rules.BySrc, Count: 1, Seconds: 60}
	w := &written{}
	e := New(set, w)
	src := func(i int) string { return fmt.Sprintf("192.0.2.%d", i) }
	for i := range 4 {
		match(e, sig, src(i), "198.51.100.1", 0)
	}
	match(e, sig, src(0), "198.51.100.1", 0) // 0 is now the most recent; 1 the least
	if used, capacity := e.ThresholdEntries(); used != 4 || capacity != 4 || e.Stats.ThresholdEvictions != 0 || w.n != 4 {
		t.Fatalf("buckets %d/%d, evictions %d, written %d", used, capacity, e.Stats.ThresholdEvictions, w.n)
	}
	match(e, sig, src(4), "198.51.100.1", 0) // evicts 1
	match(e, sig, src(0), "198.51.100.1", 0) // still there: held
	match(e, sig, src(1), "198.51.100.1", 0) // evicted: a fresh window, written; evicts 2
	match(e, sig, src(3), "198.51.100.1", 0) // still there: held
	if e.Stats.ThresholdEvictions != 2 || w.n != 6 || fmt.Sprint(w.src[4:]) != "[192.0.2.4 192.0.2.1]" {
		t.Errorf("evictions %d, written %d %v", e.Stats.ThresholdEvictions, w.n, w.src)
	}
	var snap Snapshot
	e.SnapshotInto(&snap)
	if snap.ThresholdEntries != 4 || snap.ThresholdMax != 4 || snap.Stats.ThresholdEvictions != 2 || snap.Stats.AlertsSuppressed != 3 {
		t.Errorf("snapshot: buckets %d/%d, evictions %d, suppressed %d", snap.ThresholdEntries, snap.ThresholdMax,
			snap.Stats.ThresholdEvictions, snap.Stats.AlertsSuppressed)
	}

	// Many sources through a small table: every probe run stays consistent under eviction.
	for i := range 100_000 {
		k := uint32(i*7919) % 5000
		match(e, sig, netip.AddrFrom4([4]byte{10, byte(k >> 16), byte(k >> 8), byte(k)}).String(), "198.51.100.1", time.Duration(i))
	}
	if used, _ := e.ThresholdEntries(); used != 4 {
		t.Errorf("%d buckets in use, cap 4", used)
	}
	n := 0
	for _, x := range e.thr.index {
		if x != 0 {
			n++
		}
	}
	if n != 4 {
		t.Errorf("%d index entries for 4 buckets", n)
	}
}

// A rules reload starts the windows afresh; a set without thresholds needs no table.
func TestThresholdSetRules(t *testing.T) {
	e := New(defaultRules(t), &written{})
	if e.thr.buckets != nil {
		t.Error("a table was allocated for rules without thresholds")
	}
	set := landRules(t, "  threshold: {type: limit, track: by_rule, count: 1, seconds: 60}\n", 0)
	e.SetRules(set)
	sig := set.Detector("land").Sig("")
	match(e, sig, "192.0.2.1", "192.0.2.1", 0)
	match(e, sig, "192.0.2.1", "192.0.2.1", 0)
	set2 := landRules(t, "  threshold: {type: limit, track: by_rule, count: 1, seconds: 60}\n", 0)
	e.SetRules(set2)
	sig2 := set2.Detector("land").Sig("")
	match(e, sig2, "192.0.2.1", "192.0.2.1", 0)
	if w := e.sink.(*written); w.n != 2 || e.Stats.AlertsSuppressed != 1 || e.AlertsSuppressed(sig2) != 0 {
		t.Errorf("written %d, suppressed %d (this set %d)", w.n, e.Stats.AlertsSuppressed, e.AlertsSuppressed(sig2))
	}
}

// The thresholded alert path allocates nothing: bucket lookups, creation, eviction, suppression
// checks and EVE output with the threshold field.
func TestThresholdDoesNotAllocate(t *testing.T) {
	set := landRules(t, "  threshold: {type: limit, track: by_src, count: 2, seconds: 1}\n  suppress:\n    - {track: by_src, ip: 10.0.0.0/8}\n",
		64)
	e := New(set, alert.NewEVE(io.Discard))
	frame := make([]byte, 64)
	i := 0
	step := func() {
		a := uint32(0xc0000000 | i%200) // 200 sources for 64 buckets: evictions
		if i%7 == 0 {
			a = 0x0a000001 // suppressed
		}
		f := tcp4(frame, a, a, 139, 139, fSYN, 1000, 0, 0)
		e.Process(f, info(int64(i)*int64(time.Millisecond), f))
		i++
	}
	for range 10_000 {
		step()
	}
	if allocs := testing.AllocsPerRun(100_000, step); allocs != 0 {
		t.Errorf("%.3f allocations per packet, want 0", allocs)
	}
	if e.Stats.ThresholdEvictions == 0 || e.Stats.AlertsSuppressed == 0 || e.Stats.AlertsTotal == e.Stats.AlertsSuppressed {
		t.Errorf("the test did not cover eviction, suppression and writing: %+v", e.Stats)
	}
}

// BenchmarkAlert measures what a detection costs from the detector's Emit to the sink (EVE to
// io.Discard): without a threshold (every alert written), and held back by a limit or a CIDR
// suppression.
func BenchmarkAlert(b *testing.B) {
	for _, c := range []struct {
		name string
		th   *rules.Threshold
		sup  []rules.Suppress
	}{
		{"no_threshold", nil, nil},
		{"limit_held", &rules.Threshold{Type: rules.ThresholdLimit, Track: rules.BySrc, Count: 5, Seconds: 60}, nil},
		{"suppressed", nil, []rules.Suppress{{Track: rules.BySrc, Prefix: netip.MustParsePrefix("192.0.2.0/24")}}},
	} {
		b.Run(c.name, func(b *testing.B) {
			e, sig := thresholdEngine(b, c.th, c.sup, alert.NewEVE(io.Discard))
			a := &alert.Alert{Src: netip.MustParseAddr("192.0.2.1"), Dst: netip.MustParseAddr("192.0.2.1"), Sig: sig}
			b.ReportAllocs()
			for b.Loop() {
				e.onAlert(a)
			}
		})
	}
}

// BenchmarkLANDFlood is the whole engine on a flood of one LAND SYN, with and without a limit.
func BenchmarkLANDFlood(b *testing.B) {
	for _, th := range []string{"", "  threshold: {type: limit, track: by_src, count: 5, seconds: 60}\n"} {
		name := "no_threshold"
		if th != "" {
			name = "limit"
		}
		b.Run(name, func(b *testing.B) {
			e := New(landRules(b, th, 0), alert.NewEVE(io.Discard))
			frame := tcp4(make([]byte, 64), 0xc0000209, 0xc0000209, 139, 139, fSYN, 1000, 0, 0)
			b.ReportAllocs()
			ts := int64(0)
			for b.Loop() {
				e.Process(frame, info(ts, frame))
				ts += 1000
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/packet")
		})
	}
}
