package integration

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/ids-sensor/ids/capture"
	"github.com/ids-sensor/ids/internal/testpackets"
)

// idsBin is the ids binary built once for the package's tests.
var idsBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ids-integration-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	idsBin = filepath.Join(dir, "ids")
	build := exec.Command("go", "build", "-o", idsBin, "../cmd/ids")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building ids:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// needRoot skips a test that needs network namespaces when not root, or fails it under CI.
func needRoot(t *testing.T, tools ...string) {
	t.Helper()
	why := ""
	if os.Geteuid() != 0 {
		why = "needs root (CAP_NET_ADMIN) for network namespaces and packet capture"
	}
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil && why == "" {
			why = fmt.Sprintf("needs %s on PATH (scripts/deps.sh --test installs it)", tool)
		}
	}
	if why == "" {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s; CI must run this test", why)
	}
	t.Skip(why)
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// link is a veth pair: Capture lives in the root namespace (the sensor captures there, like a
// SPAN port), Inject in a namespace of its own where tcpreplay sends.
type link struct {
	NS, Capture, Inject string
}

var linkSeq int

func newLink(t *testing.T) link {
	t.Helper()
	linkSeq++
	l := link{
		NS:      fmt.Sprintf("ids-it-%d-%d", os.Getpid(), linkSeq),
		Capture: fmt.Sprintf("idsc%d", linkSeq),
		Inject:  fmt.Sprintf("idsi%d", linkSeq),
	}
	exec.Command("ip", "link", "del", l.Capture).Run() // a leftover of an interrupted run
	run(t, "ip", "netns", "add", l.NS)
	t.Cleanup(func() {
		exec.Command("ip", "link", "del", l.Capture).Run()
		exec.Command("ip", "netns", "del", l.NS).Run()
	})
	run(t, "ip", "link", "add", l.Capture, "mtu", "9000", "type", "veth", "peer", "name", l.Inject, "mtu", "9000", "netns", l.NS)
	// No addresses and no IPv6 on either end: the kernel's own chatter (router solicitations,
	// duplicate address detection) would be traffic the replay never sent.
	run(t, "sysctl", "-qw", "net.ipv6.conf."+l.Capture+".disable_ipv6=1")
	run(t, "ip", "netns", "exec", l.NS, "sysctl", "-qw", "net.ipv6.conf."+l.Inject+".disable_ipv6=1")
	run(t, "ip", "link", "set", l.Capture, "up")
	run(t, "ip", "netns", "exec", l.NS, "ip", "link", "set", l.Inject, "up")
	return l
}

// replay sends a capture into the link with tcpreplay and returns how many packets it sent.
func (l link) replay(t *testing.T, pcap string, opts ...string) (sent int, out string) {
	t.Helper()
	args := append([]string{"netns", "exec", l.NS, "tcpreplay", "-i", l.Inject}, opts...)
	out = run(t, "ip", append(args, pcap)...)
	sent = tcpreplayCount(t, out, "Successful packets")
	if failed := tcpreplayCount(t, out, "Failed packets"); failed != 0 {
		t.Fatalf("tcpreplay failed to send %d packets:\n%s", failed, out)
	}
	return sent, out
}

func tcpreplayCount(t *testing.T, out, label string) int {
	m := regexp.MustCompile(label + `:\s+(\d+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("tcpreplay output has no %q:\n%s", label, out)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// sensor is a running ids sensor process.
type sensor struct {
	cmd     *exec.Cmd
	metrics string // host:port
	eve     string
	log     *os.File
	done    chan error
}

func startSensor(t *testing.T, iface string, args ...string) *sensor {
	t.Helper()
	dir := t.TempDir()
	s := &sensor{metrics: freePort(t), eve: filepath.Join(dir, "eve.json"), done: make(chan error, 1)}
	var err error
	if s.log, err = os.Create(filepath.Join(dir, "sensor.log")); err != nil {
		t.Fatal(err)
	}
	args = append([]string{"sensor", "-i", iface, "-o", s.eve, "--metrics-addr", s.metrics, "--log-format", "json"}, args...)
	s.cmd = exec.Command(idsBin, args...)
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.done <- s.cmd.Wait() }()
	t.Cleanup(func() {
		if s.cmd.ProcessState == nil {
			s.cmd.Process.Kill()
			<-s.done
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get("http://" + s.metrics + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return s
			}
		}
		select {
		case err := <-s.done:
			t.Fatalf("ids sensor %s exited before it was ready: %v\n%s", strings.Join(args, " "), err, s.logText())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("ids sensor not ready after 10 s\n%s", s.logText())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *sensor) logText() string {
	b, _ := os.ReadFile(s.log.Name())
	return string(b)
}

// stop sends SIGTERM and waits for a clean exit.
func (s *sensor) stop(t *testing.T) {
	t.Helper()
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.done:
		if err != nil {
			t.Fatalf("ids sensor exited with %v after SIGTERM\n%s", err, s.logText())
		}
	case <-time.After(20 * time.Second):
		s.cmd.Process.Kill()
		t.Fatalf("ids sensor still running 20 s after SIGTERM\n%s", s.logText())
	}
}

// scrape returns the sensor's metrics: series (name plus labels, as exposed) -> value.
func (s *sensor) scrape(t *testing.T) map[string]float64 {
	t.Helper()
	resp, err := http.Get("http://" + s.metrics + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	m := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		m[line[:i]] = v
	}
	return m
}

// sum adds every series of the metric name.
func sum(m map[string]float64, name string) float64 {
	total := 0.0
	for k, v := range m {
		if k == name || strings.HasPrefix(k, name+"{") {
			total += v
		}
	}
	return total
}

// waitPackets waits until the sensor has processed at least n packets.
func (s *sensor) waitPackets(t *testing.T, n int) map[string]float64 {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		m := s.scrape(t)
		got := sum(m, "ids_capture_packets_total")
		if got >= float64(n) {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("sensor processed %.0f of %d packets sent (kernel drops %.0f)\n%s", got, n, sum(m, "ids_capture_drops_total"), s.logText())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// alertKey is what must agree between live capture and replay: which signature fired on which
// endpoints. Timestamps, packet numbers and flow ids legitimately differ.
type alertKey struct {
	SID      uint32
	Src, Dst string
	SP, DP   int
	Proto    string
}

func (k alertKey) String() string {
	return fmt.Sprintf("sid %d %s %s:%d -> %s:%d", k.SID, k.Proto, k.Src, k.SP, k.Dst, k.DP)
}

func readAlerts(t *testing.T, path string) map[alertKey]int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[alertKey]int{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var ev struct {
			Src   string `json:"src_ip"`
			Dst   string `json:"dest_ip"`
			SP    int    `json:"src_port"`
			DP    int    `json:"dest_port"`
			Proto string `json:"proto"`
			Alert struct {
				SID uint32 `json:"signature_id"`
			} `json:"alert"`
		}
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("%s: %v: %s", path, err, sc.Text())
		}
		out[alertKey{ev.Alert.SID, ev.Src, ev.Dst, ev.SP, ev.DP, ev.Proto}]++
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func countAlerts(m map[alertKey]int) int {
	n := 0
	for _, c := range m {
		n += c
	}
	return n
}

// diffAlerts lists the alerts one side has more of than the other.
func diffAlerts(want, got map[alertKey]int) string {
	var lines []string
	for k, n := range want {
		if got[k] != n {
			lines = append(lines, fmt.Sprintf("  %v: replay %d, live %d", k, n, got[k]))
		}
	}
	for k, n := range got {
		if _, ok := want[k]; !ok {
			lines = append(lines, fmt.Sprintf("  %v: replay 0, live %d", k, n))
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// replayAlerts runs ids replay on pcap and returns its alerts.
func replayAlerts(t *testing.T, pcap string) map[alertKey]int {
	t.Helper()
	out := filepath.Join(t.TempDir(), "replay.json")
	run(t, idsBin, "replay", "-q", "-o", out, pcap)
	return readAlerts(t, out)
}

// corpusFile is where the combined capture of the corpus is written once per test binary.
var corpusFile string

// liveCorpus writes one Ethernet pcap holding every generated capture of ../pcaps that tcpreplay
// can send as it was captured: Ethernet frames (tcpreplay sends frames, so SLL and raw-IP files
// are out), and no record cut short by the capture (tcpreplay can only send the bytes that were
// kept, so the frame on the wire would not be the one the file describes). Files follow each
// other 50 ms apart and keep their own packet spacing, so timing-sensitive detectors see the same
// intervals live as in the file. It returns the path and the packet count.
func liveCorpus(t *testing.T) (string, int) {
	t.Helper()
	if corpusFile != "" {
		return corpusFile, countPackets(t, corpusFile)
	}
	var files []string
	filepath.Walk("../pcaps", func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() && (strings.HasSuffix(p, ".pcap") || strings.HasSuffix(p, ".pcapng")) {
			files = append(files, p)
		}
		return nil
	})
	sort.Strings(files)
	dir, err := os.MkdirTemp("", "ids-live-corpus-")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "corpus.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := pcapgo.NewWriterNanos(f)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	ts := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	n := 0
	for _, p := range files {
		recs, ok := sendable(t, p)
		if !ok {
			continue
		}
		first := recs[0].ts
		for _, r := range recs {
			ci := gopacket.CaptureInfo{Timestamp: time.Unix(0, ts+r.ts-first), CaptureLength: len(r.data), Length: len(r.data)}
			if err := w.WritePacket(ci, r.data); err != nil {
				t.Fatal(err)
			}
			n++
		}
		ts += recs[len(recs)-1].ts - first + 50e6
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	corpusFile = path
	return path, n
}

type record struct {
	ts   int64
	data []byte
}

// sendable reads a capture and says whether tcpreplay can put it on the wire as it is.
func sendable(t *testing.T, path string) ([]record, bool) {
	f, err := capture.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var recs []record
	for {
		data, info, err := f.Next()
		if err == io.EOF {
			return recs, len(recs) > 0
		}
		if err != nil {
			return nil, false // a deliberately broken file
		}
		if info.LinkType != layers.LinkTypeEthernet || info.CapLen != info.WireLen || len(data) < 14 {
			return nil, false
		}
		recs = append(recs, record{info.Timestamp, append([]byte(nil), data...)})
	}
}

func countPackets(t *testing.T, path string) int { return len(testpackets.Load(t, path)) }
