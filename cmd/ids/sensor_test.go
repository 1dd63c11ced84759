package main

import (
	"strings"
	"testing"
)

// TestSensorUsageErrors: a wrong flag or value is rejected before anything is opened, with a
// message naming the flag.
func TestSensorUsageErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"sensor"}, exitUsage, "-i IFACE is required"},
		{[]string{"sensor", "-i", "lo", "--backend", "dpdk"}, exitUsage, `--backend must be afpacket or pcap, got "dpdk"`},
		{[]string{"sensor", "-i", "lo", "--format", "xml"}, exitUsage, `--format must be eve or fast, got "xml"`},
		{[]string{"sensor", "-i", "lo", "--workers", "-1"}, exitUsage, "--workers must be 1..256, got -1"},
		{[]string{"sensor", "-i", "lo", "--snaplen", "10"}, exitUsage, "--snaplen must be 64..262144, got 10"},
		{[]string{"sensor", "-i", "lo", "--alert-queue", "0"}, exitUsage, "--alert-queue must be 1..1048576, got 0"},
		{[]string{"sensor", "-i", "lo", "--log-format", "xml"}, exitUsage, `--log-format must be text or json, got "xml"`},
		{[]string{"sensor", "-i", "lo", "--log-level", "loud"}, exitUsage, `--log-level must be debug, info, warn or error, got "loud"`},
		{[]string{"sensor", "-i", "lo", "capture.pcap"}, exitUsage, `unexpected argument "capture.pcap" (capture files are read with ids replay)`},
		{[]string{"sensor", "-i", "lo", "--rules", "/nonexistent/rules.yaml"}, exitUsage, "/nonexistent/rules.yaml"},
		{[]string{"sensor", "-i", "lo", "--no-such-flag"}, exitUsage, "flag provided but not defined: -no-such-flag"},
		{[]string{"sensor", "-i", "ids-no-such-if", "--backend", "pcap", "--metrics-addr", ""}, exitInput, `ids-no-such-if`},
	} {
		code, _, stderr := ids(t, c.args...)
		if code != c.code || !strings.Contains(stderr, c.msg) {
			t.Errorf("ids %s: exit %d, stderr %q; want exit %d mentioning %q", strings.Join(c.args, " "), code, stderr, c.code, c.msg)
		}
	}
}
