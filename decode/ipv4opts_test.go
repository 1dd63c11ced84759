package decode

import "testing"

// optCase is an IPv4 option area (padded with EOL to a multiple of 4 when built) and what
// parsing it must give. Every case carries a TCP SYN after the header: options never stop the
// decoder.
type optCase struct {
	name string
	opts []byte
	want IPv4Options // Present and the first malformation
	anom []Anomaly   // every malformation, in order
}

// badOpt is the IPv4Options of a malformed option at header offset off.
func badOpt(present OptionSet, a Anomaly, typ, l, off, ptr uint8) IPv4Options {
	return IPv4Options{Present: present, Bad: a, BadType: typ, BadLen: l, BadOff: off, BadPtr: ptr}
}

var ipv4OptCases = []optCase{
	// Record route, loose and strict source route: type, length 3+4n, pointer 4..len+1 in steps of 4.
	{name: "rr_empty_two_slots", opts: hx("07 0b 04", "00 00 00 00", "00 00 00 00"), // ptr at slot 1
		want: IPv4Options{Present: OptRecordRoute}},
	{name: "rr_one_recorded", opts: hx("07 0b 08", "c0 00 02 01", "00 00 00 00"), // ptr at slot 2
		want: IPv4Options{Present: OptRecordRoute}},
	{name: "rr_full_ptr_len_plus_1", opts: hx("07 07 08", "c0 00 02 01"), // ptr just past the last slot
		want: IPv4Options{Present: OptRecordRoute}},
	{name: "rr_nine_slots_max", opts: cat(hx("07 27 04"), zeros(36)), want: IPv4Options{Present: OptRecordRoute}},
	{name: "lsrr_two_hops", opts: cat(optNOP(), hx("83 0b 04", "cb 00 71 01", "c6 33 64 07")),
		want: IPv4Options{Present: OptLooseRoute}},
	{name: "ssrr_one_hop_done", opts: cat(optNOP(), hx("89 07 08", "cb 00 71 01")),
		want: IPv4Options{Present: OptStrictRoute}},
	{name: "rr_len_2_no_pointer", opts: hx("07 02", "01 01"),
		want: badOpt(OptRecordRoute, IPv4OptInvalidLen, 7, 2, 20, 0), anom: []Anomaly{IPv4OptInvalidLen}},
	{name: "rr_len_not_3_plus_4n", opts: hx("07 08 04", "00 00 00 00 00"),
		want: badOpt(OptRecordRoute, IPv4OptInvalidLen, 7, 8, 20, 0), anom: []Anomaly{IPv4OptInvalidLen}},
	{name: "lsrr_len_not_3_plus_4n", opts: hx("83 09 04", "cb 00 71 01 00 00"),
		want: badOpt(OptLooseRoute, IPv4OptInvalidLen, 131, 9, 20, 0), anom: []Anomaly{IPv4OptInvalidLen}},
	{name: "ssrr_len_4", opts: hx("01", "89 04 04 00"),
		want: badOpt(OptStrictRoute, IPv4OptInvalidLen, 137, 4, 21, 0), anom: []Anomaly{IPv4OptInvalidLen}},
	{name: "rr_ptr_below_4", opts: hx("07 07 03", "00 00 00 00"),
		want: badOpt(OptRecordRoute, IPv4OptInvalidPtr, 7, 7, 20, 3), anom: []Anomaly{IPv4OptInvalidPtr}},
	{name: "rr_ptr_zero", opts: hx("07 07 00", "00 00 00 00"),
		want: badOpt(OptRecordRoute, IPv4OptInvalidPtr, 7, 7, 20, 0), anom: []Anomaly{IPv4OptInvalidPtr}},
	{name: "rr_ptr_past_len_plus_1", opts: hx("07 07 0c", "00 00 00 00"),
		want: badOpt(OptRecordRoute, IPv4OptInvalidPtr, 7, 7, 20, 12), anom: []Anomaly{IPv4OptInvalidPtr}},
	{name: "lsrr_ptr_misaligned", opts: hx("83 0b 06", "cb 00 71 01", "c6 33 64 07"),
		want: badOpt(OptLooseRoute, IPv4OptInvalidPtr, 131, 11, 20, 6), anom: []Anomaly{IPv4OptInvalidPtr}},
	{name: "ssrr_ptr_255", opts: hx("89 07 ff", "cb 00 71 01"),
		want: badOpt(OptStrictRoute, IPv4OptInvalidPtr, 137, 7, 20, 255), anom: []Anomaly{IPv4OptInvalidPtr}},

	// Timestamp: type, length, pointer, overflow<<4|flag, then 4-byte (flag 0) or 8-byte (flags 1, 3)
	// entries; pointer 5..len+1 in steps of the entry size.
	{name: "ts_flag0_two_slots", opts: hx("44 0c 05 00", "00 00 00 00", "00 00 00 00"),
		want: IPv4Options{Present: OptTimestamp}},
	{name: "ts_flag0_full_with_overflow", opts: hx("44 0c 0d 30", "00 0a 8c 5e", "00 0a 8c 60"), // ptr len+1, overflow 3
		want: IPv4Options{Present: OptTimestamp}},
	{name: "ts_flag1_addr_and_time", opts: hx("44 14 0d 01", "c0 00 02 01 00 0a 8c 5e", "00 00 00 00 00 00 00 00"),
		want: IPv4Options{Present: OptTimestamp}},
	{name: "ts_flag3_prespecified", opts: hx("44 0c 05 03", "c6 33 64 07 00 00 00 00"),
		want: IPv4Options{Present: OptTimestamp}},
	{name: "ts_len_4_no_room", opts: hx("44 04 05 00"), want: IPv4Options{Present: OptTimestamp}},
	{name: "ts_len_3", opts: hx("44 03 05", "00"),
		want: badOpt(OptTimestamp, IPv4OptInvalidLen, 68, 3, 20, 0), anom: []Anomaly{IPv4OptInvalidLen}},
	{name: "ts_flag2_invalid", opts: hx("44 0c 05 02", "00 00 00 00 00 00 00 00"),
		want: badOpt(OptTimestamp, IPv4OptInvalidLen, 68, 12, 20, 0), anom: []Anomaly{IPv4OptInvalidLen}},
	{name: "ts_flag15_invalid", opts: hx("44 08 05 0f", "00 00 00 00"),
		want: badOpt(OptTimestamp, IPv4OptInvalidLen, 68, 8, 20, 0), anom: []Anomaly{IPv4OptInvalidLen}},
	{name: "ts_flag0_len_not_4_plus_4n", opts: hx("44 0a 05 00", "00 00 00 00 00 00"),
		want: badOpt(OptTimestamp, IPv4OptInvalidLen, 68, 10, 20, 0), anom: []Anomaly{IPv4OptInvalidLen}},
	{name: "ts_flag1_len_not_4_plus_8n", opts: hx("44 10 05 01", "00 00 00 00 00 00 00 00 00 00 00 00"),
		want: badOpt(OptTimestamp, IPv4OptInvalidLen, 68, 16, 20, 0), anom: []Anomaly{IPv4OptInvalidLen}},
	{name: "ts_ptr_below_5", opts: hx("44 08 04 00", "00 00 00 00"),
		want: badOpt(OptTimestamp, IPv4OptInvalidPtr, 68, 8, 20, 4), anom: []Anomaly{IPv4OptInvalidPtr}},
	{name: "ts_ptr_past_len_plus_1", opts: hx("44 08 0a 00", "00 00 00 00"),
		want: badOpt(OptTimestamp, IPv4OptInvalidPtr, 68, 8, 20, 10), anom: []Anomaly{IPv4OptInvalidPtr}},
	{name: "ts_flag0_ptr_misaligned", opts: hx("44 0c 07 00", "00 00 00 00 00 00 00 00"),
		want: badOpt(OptTimestamp, IPv4OptInvalidPtr, 68, 12, 20, 7), anom: []Anomaly{IPv4OptInvalidPtr}},
	{name: "ts_flag1_ptr_step_4_misaligned", opts: hx("44 14 09 01", "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"),
		want: badOpt(OptTimestamp, IPv4OptInvalidPtr, 68, 20, 20, 9), anom: []Anomaly{IPv4OptInvalidPtr}},

	// Fixed and minimum lengths.
	{name: "router_alert", opts: hx("94 04 00 00"), want: IPv4Options{Present: OptRouterAlert}},
	{name: "router_alert_len_6", opts: hx("94 06 00 00 00 00"),
		want: badOpt(OptRouterAlert, IPv4OptInvalidLen, 148, 6, 20, 0), anom: []Anomaly{IPv4OptInvalidLen}},
	{name: "router_alert_len_2", opts: hx("94 02", "01 01"),
		want: badOpt(OptRouterAlert, IPv4OptInvalidLen, 148, 2, 20, 0), anom: []Anomaly{IPv4OptInvalidLen}},
	{name: "stream_id", opts: hx("88 04 00 2a"), want: IPv4Options{Present: OptStreamID}},
	{name: "stream_id_len_3", opts: hx("88 03 00", "00"),
		want: badOpt(OptStreamID, IPv4OptInvalidLen, 136, 3, 20, 0), anom: []Anomaly{IPv4OptInvalidLen}},
	{name: "mtu_probe_and_reply", opts: hx("0b 04 05 dc", "0c 04 05 dc"), want: IPv4Options{Present: OptOther}},
	{name: "mtu_reply_len_5", opts: hx("0c 05 05 dc 00"),
		want: badOpt(OptOther, IPv4OptInvalidLen, 12, 5, 20, 0), anom: []Anomaly{IPv4OptInvalidLen}},
	{name: "security_rfc791_11_bytes", opts: hx("82 0b", "f1 35 00 00 00 00 00 00 00"), want: IPv4Options{Present: OptSecurity}},
	{name: "security_rfc1108_3_bytes", opts: hx("82 03 ab"), want: IPv4Options{Present: OptSecurity}},
	{name: "security_len_2", opts: hx("82 02", "01 01"),
		want: badOpt(OptSecurity, IPv4OptInvalidLen, 130, 2, 20, 0), anom: []Anomaly{IPv4OptInvalidLen}},
	{name: "extended_security", opts: hx("85 03 00"), want: IPv4Options{Present: OptSecurity}},
	{name: "extended_security_len_2", opts: hx("85 02", "00 00"),
		want: badOpt(OptSecurity, IPv4OptInvalidLen, 133, 2, 20, 0), anom: []Anomaly{IPv4OptInvalidLen}},
	{name: "cipso_min_6", opts: hx("86 06 00 00 00 03"), want: IPv4Options{Present: OptSecurity}},
	{name: "cipso_with_tag", opts: hx("86 0a 00 00 00 03", "01 04 00 05"), want: IPv4Options{Present: OptSecurity}},
	{name: "cipso_len_5", opts: hx("86 05 00 00 00"),
		want: badOpt(OptSecurity, IPv4OptInvalidLen, 134, 5, 20, 0), anom: []Anomaly{IPv4OptInvalidLen}},
	{name: "traceroute_12", opts: hx("52 0c", "12 34", "00 02", "ff ff", "c0 00 02 0a"), want: IPv4Options{Present: OptOther}},
	{name: "traceroute_len_8", opts: hx("52 08", "12 34 00 02 ff ff"),
		want: badOpt(OptOther, IPv4OptInvalidLen, 82, 8, 20, 0), anom: []Anomaly{IPv4OptInvalidLen}},
	{name: "quick_start_8", opts: hx("19 08", "03 0a 00 00 00 00"), want: IPv4Options{Present: OptOther}},
	{name: "quick_start_len_6", opts: hx("19 06", "03 0a 00 00"),
		want: badOpt(OptOther, IPv4OptInvalidLen, 25, 6, 20, 0), anom: []Anomaly{IPv4OptInvalidLen}},
	// Types without a definition here are only length-checked: a new option must not look malformed.
	{name: "unknown_type_any_length", opts: hx("9e 06 01 02 03 04"), want: IPv4Options{Present: OptOther}},
	{name: "unknown_type_len_2", opts: hx("9e 02"), want: IPv4Options{Present: OptOther}},

	// Padding and list structure.
	{name: "nop_padding_before_option", opts: hx("01 01 01 01", "94 04 00 00"), want: IPv4Options{Present: OptRouterAlert}},
	{name: "all_nops", opts: hx("01 01 01 01"), want: IPv4Options{}},
	{name: "eol_first", opts: hx("00 00 00 00"), want: IPv4Options{}},
	// Bytes after End-of-List are padding, whatever they hold.
	{name: "eol_then_junk", opts: hx("94 04 00 00", "00 ff 07 01"), want: IPv4Options{Present: OptRouterAlert}},
	{name: "eol_then_bad_lengths", opts: hx("00 07 00 44 ff ff 83 01"), want: IPv4Options{}},
	{name: "several_kinds", opts: cat(hx("07 07 04 00 00 00 00"), hx("44 08 05 00 00 00 00 00"), hx("94 04 00 00"),
		hx("82 03 ab"), hx("88 04 00 01"), hx("83 07 04 00 00 00 00")),
		want: IPv4Options{Present: OptRecordRoute | OptTimestamp | OptRouterAlert | OptSecurity | OptStreamID | OptLooseRoute}},
	{name: "several_kinds_2", opts: cat(hx("89 07 04 00 00 00 00"), hx("19 08 00 00 00 00 00 00"), hx("86 06 00 00 00 03"),
		hx("85 03 00")),
		want: IPv4Options{Present: OptStrictRoute | OptOther | OptSecurity}},

	// Structural malformations: parsing stops.
	{name: "opt_truncated_type_last", opts: hx("01 01 01 07"), // RR type in the last byte, no length byte
		want: badOpt(0, IPv4OptTruncated, 7, 0, 23, 0), anom: []Anomaly{IPv4OptTruncated}},
	{name: "opt_truncated_after_good_option", opts: hx("94 04 00 00", "01 01 01 44"),
		want: badOpt(OptRouterAlert, IPv4OptTruncated, 68, 0, 27, 0), anom: []Anomaly{IPv4OptTruncated}},
	{name: "opt_len_too_small_0", opts: hx("07 00 04 00"),
		want: badOpt(0, IPv4OptLenTooSmall, 7, 0, 20, 0), anom: []Anomaly{IPv4OptLenTooSmall}},
	{name: "opt_len_too_small_1", opts: hx("01 94 01 00"),
		want: badOpt(0, IPv4OptLenTooSmall, 148, 1, 21, 0), anom: []Anomaly{IPv4OptLenTooSmall}},
	{name: "opt_len_overrun", opts: hx("59 e8", "43 ab d5 02 e4 00"), // as in tcpdump's pgm_opts_asan: 232 bytes claimed
		want: badOpt(0, IPv4OptLenOverrun, 0x59, 232, 20, 0), anom: []Anomaly{IPv4OptLenOverrun}},
	{name: "opt_len_overrun_by_one", opts: hx("94 05 00 00"),
		want: badOpt(0, IPv4OptLenOverrun, 148, 5, 20, 0), anom: []Anomaly{IPv4OptLenOverrun}},
	// tcpdump's ip_ts_opts_asan: a timestamp option of length 14 (flag 1 needs 4+8n), then an option
	// claiming 19 bytes where 2 remain. The first malformation is the one kept in Opts.
	{name: "ts_bad_len_then_overrun_tcpdump", opts: hx("44 0e 05 01", "00 00 34 70 49 42 20 02 01 05", "f5 13"),
		want: badOpt(OptTimestamp, IPv4OptInvalidLen, 68, 14, 20, 0), anom: []Anomaly{IPv4OptInvalidLen, IPv4OptLenOverrun}},
	{name: "two_invalid_options", opts: hx("94 03 00", "44 08 05 02 00 00 00 00"),
		want: badOpt(OptRouterAlert|OptTimestamp, IPv4OptInvalidLen, 148, 3, 20, 0), anom: []Anomaly{IPv4OptInvalidLen, IPv4OptInvalidLen}},
	{name: "invalid_ptr_then_too_small", opts: hx("07 07 05 00 00 00 00", "83 01"),
		want: badOpt(OptRecordRoute, IPv4OptInvalidPtr, 7, 7, 20, 5), anom: []Anomaly{IPv4OptInvalidPtr, IPv4OptLenTooSmall}},
}

// ipv4OptsCases turns the option table into frames: raw IPv4 + TCP SYN.
var ipv4OptsCases = func() []decodeCase {
	var cases []decodeCase
	for _, oc := range ipv4OptCases {
		h := ip4{id: 0x3039, proto: 6, src: cliV4, dst: srvV4, opts: oc.opts,
			payload: tcpH{sport: 40000, dport: 80, seq: 0x01020304, flags: TCPSyn}.bytes()}
		data := h.bytes()
		hlen := int(data[0]&0x0f) * 4
		cases = append(cases, decodeCase{
			name: "ipv4opt_" + oc.name, lt: ltRaw, data: data, want: oc.anom,
			layers: tcp4 | LayerIPv4Opts,
			check: all(
				wantIP(4, cliV4, srvV4, 6), wantOffsets(0, hlen), wantPorts(40000, 80),
				func(t *testing.T, p *Packet) {
					t.Helper()
					eq(t, "IPv4.HeaderLen", int(p.IPv4.HeaderLen), hlen)
					eq(t, "IPv4.Options", string(p.IPv4.Options), string(data[20:hlen]))
					eq(t, "IPv4.Opts", p.IPv4.Opts, oc.want)
				}),
		})
	}
	return cases
}()

// ipv4OptsStructCases are option cases whose header itself matters.
var ipv4OptsStructCases = []decodeCase{
	// The largest header (IHL 15): 40 bytes of options.
	{name: "ipv4opt_ihl15_rr_nine_slots", lt: ltRaw, layers: tcp4 | LayerIPv4Opts,
		data: ip4{proto: 6, src: cliV4, dst: srvV4, opts: cat(optNOP(), hx("07 27 04"), zeros(36)),
			payload: tcpH{sport: 1, dport: 2, flags: TCPSyn}.bytes()}.bytes(),
		check: all(wantOffsets(0, 60), wantPorts(1, 2), func(t *testing.T, p *Packet) {
			eq(t, "len(Options)", len(p.IPv4.Options), 40)
			eq(t, "Opts", p.IPv4.Opts, IPv4Options{Present: OptRecordRoute})
		})},
	// Options are parsed inside an Ethernet frame too, and an option overrun does not stop TCP.
	{name: "ipv4opt_malformed_fuzz_pgm_ethernet", lt: ltEther, layers: ethTCP4 | LayerIPv4Opts, want: []Anomaly{IPv4OptLenOverrun},
		data: eth(0x0800, ip4{proto: 6, src: "128.121.89.107", dst: "89.89.16.63", ihl: 7, opts: hx("59 e8 43 ab d5 02 e4 00"),
			payload: tcpH{sport: 4, dport: 225, flags: TCPAck}.bytes()}.bytes()),
		check: all(wantIP(4, "128.121.89.107", "89.89.16.63", 6), wantOffsets(14, 42), wantPorts(4, 225))},
	// More malformed options than anomaly slots: the rest are counted.
	{name: "ipv4opt_more_anomalies_than_slots", lt: ltRaw, layers: tcp4 | LayerIPv4Opts,
		data: ip4{proto: 6, src: cliV4, dst: srvV4, opts: cat(
			hx("94 02"), hx("94 02"), hx("94 02"), hx("94 02"), hx("94 02"), hx("94 02"), hx("94 02"), hx("94 02"),
			hx("94 02"), hx("94 02"), hx("94 02")), payload: tcpH{sport: 1, dport: 2}.bytes()}.bytes(),
		want: []Anomaly{IPv4OptInvalidLen, IPv4OptInvalidLen, IPv4OptInvalidLen, IPv4OptInvalidLen,
			IPv4OptInvalidLen, IPv4OptInvalidLen, IPv4OptInvalidLen, IPv4OptInvalidLen},
		check: func(t *testing.T, p *Packet) {
			eq(t, "AnomaliesDropped", p.AnomaliesDropped, 3)
			eq(t, "Opts", p.IPv4.Opts, badOpt(OptRouterAlert, IPv4OptInvalidLen, 148, 2, 20, 0))
		}},
}

func TestIPv4Options(t *testing.T) {
	runCases(t, ipv4OptsCases)
	runCases(t, ipv4OptsStructCases)
}

// TestIPv4OptionsReset checks that a header without options clears what the previous one had.
func TestIPv4OptionsReset(t *testing.T) {
	var p Packet
	bad := ipv4OptsCases[0].data
	for _, c := range ipv4OptsCases {
		if c.want != nil {
			bad = c.data
			break
		}
	}
	p.Decode(ltRaw, bad, 0, len(bad))
	if p.IPv4.Opts.Bad == AnomalyNone || p.IPv4.Options == nil {
		t.Fatalf("setup: %+v", p.IPv4.Opts)
	}
	syn := synV4()
	p.Decode(ltRaw, syn, 0, len(syn))
	if p.IPv4.Options != nil || p.IPv4.Opts != (IPv4Options{}) || p.Has(LayerIPv4Opts) {
		t.Errorf("after a header without options: Options %x, Opts %+v, layers %s", p.IPv4.Options, p.IPv4.Opts, layerNames(p.Layers))
	}
}
