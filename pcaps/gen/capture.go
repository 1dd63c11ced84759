package main

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// Detectors and their signature ids, as the default rules define them.
const (
	detLand      = "land"
	detPMTU      = "icmp-pmtu"
	detIPv4Opt   = "ipv4-options"
	detRST       = "tcp-rst-spoof"
	detConnReset = "icmp-conn-reset"
	detFrag      = "ip-frag"
	detSMB2Neg   = "smb2-negotiate"
	detNNTPXPAT  = "nntp-xpat"
	detMessenger = "messenger-overflow"
	detMSMQ      = "msmq-overflow"
	detDCOM      = "dcom-activation"

	sidLand               = 9200001 // TCP SYN with source address and port equal to the destination's
	sidPMTUv4             = 9200011 // ICMPv4 fragmentation needed, next-hop MTU below 576
	sidPMTUv6             = 9200012 // ICMPv6 packet too big, MTU below 1280
	sidPMTUSeq            = 9200013 // PMTU message with a plausible MTU quoting a sequence number not in flight
	sidIPv4Opt            = 9200021 // malformed IPv4 option or header length
	sidRSTInWindow        = 9200101 // RST in the receiver's window but not at the expected sequence number
	sidRSTBurst           = 9200102 // RSTs with distinct sequence numbers walking one connection's window
	sidRSTIgnored         = 9200103 // RST whose alleged sender kept talking on the connection
	sidConnResetSeq       = 9200111 // ICMP error quoting an established connection at a sequence number not in flight
	sidConnResetHard      = 9200112 // ICMP hard error (protocol or port unreachable) against an established connection
	sidFragOverlap        = 9200201 // fragments overlapping with different data
	sidFragTooLarge       = 9200202 // fragments reassembling to more than 65535 bytes
	sidFragTiny           = 9200203 // first fragment too short for the transport header
	sidSMB2Neg            = 9200301 // SMB1 NEGOTIATE offering "SMB 2." with a non-zero Process ID High
	sidSMB2Malformed      = 9200302 // malformed SMB negotiate request
	sidMessenger          = 9200401 // Messenger NetrSendMessage string longer than its limit
	sidMessengerMalformed = 9200402 // Messenger NetrSendMessage NDR string counts that disagree
	sidMSMQ               = 9200411 // MSMQ qmcomm request with a wide string longer than max_string_len
	sidDCOM               = 9200421 // DCOM activation with a UNC server name longer than max_server_name
	sidNNTPXPAT           = 9200501 // NNTP XPAT arguments longer than max_arg_len
)

// File header values, fixed so output never depends on the machine.
const (
	snaplen = 65535
	ngIface = "eth0" // pcapng interface name
)

// epoch is the first packet's timestamp; each packet is 1 ms after the previous one unless its
// case asks for a longer gap (stream.wait).
var epoch = time.Date(2009, 9, 28, 12, 0, 0, 0, time.UTC)

// expect is one thing a packet was built to make the engine report: an alert or a decoder
// anomaly. It is declared where the packet is built, never derived by running the engine.
type expect struct {
	alert   string // "detector sid src dst"
	anomaly string
}

func alert(det string, sid int, src, dst string) expect {
	return expect{alert: fmt.Sprintf("%s %d %s %s", det, sid, src, dst)}
}

func anomaly(name string) expect { return expect{anomaly: name} }

// landAlert is the alert a LAND SYN from (and to) ap raises.
func landAlert(ap netip.AddrPort) expect {
	return alert(detLand, sidLand, ap.String(), ap.String())
}

// optAlert is the alert for a malformed IPv4 header; src and dst carry ports only when the
// transport header was decoded (TCP/UDP), as the alert's endpoints do.
func optAlert(src, dst string) expect { return alert(detIPv4Opt, sidIPv4Opt, src, dst) }

type pkt struct {
	data []byte
	exp  []expect
	gap  time.Duration // time since the previous packet; 0 means 1 ms
	wire int           // the record's original length when wireSet (hostile captures)
	// wireSet: the record states wire as its original length instead of len(data)
	wireSet bool
}

// stream is an ordered list of frames with what each is expected to raise.
type stream struct {
	pkts []pkt
	gap  time.Duration // gap of the next packet added
}

func (s *stream) add(frame []byte, e ...expect) {
	s.pkts = append(s.pkts, pkt{data: frame, exp: e, gap: s.gap})
	s.gap = 0
}

// addWire adds a frame whose record claims wire bytes on the wire, whatever len(frame) is:
// more for a frame cut short, less (a caplen > len record) for a lying writer.
func (s *stream) addWire(frame []byte, wire int, e ...expect) {
	s.add(frame, e...)
	last := &s.pkts[len(s.pkts)-1]
	last.wire, last.wireSet = wire, true
}

// wait puts d, instead of 1 ms, between the last packet added and the next one.
func (s *stream) wait(d time.Duration) { s.gap = d }

// expect adds expectations to the packet added last: for packets a tcpFlow method built.
func (s *stream) expect(e ...expect) {
	last := &s.pkts[len(s.pkts)-1]
	last.exp = append(last.exp, e...)
}

// interleave merges streams packet by packet, round robin, the way concurrent conversations
// overlap on a wire.
func (s *stream) interleave(ss ...*stream) {
	for i := 0; ; i++ {
		more := false
		for _, x := range ss {
			if i < len(x.pkts) {
				s.pkts = append(s.pkts, x.pkts[i])
				more = true
			}
		}
		if !more {
			return
		}
	}
}

// capture is one file of the corpus.
type capture struct {
	stream
	path string // slash-separated, relative to the corpus root; .pcapng selects pcapng
	lt   layers.LinkType
	l    link // how IP packets are framed by default
	what string
	why  string

	// Hostile file structure, classic pcap only (see hostile.go).
	snap     int // the file header's snap length, every record cut to it; 0: 65535, nothing cut
	truncate int // bytes cut off the end of the file: the last record is broken
}

// send frames an IP packet with the capture's link and adds it.
func (c *capture) send(ip []byte, e ...expect) { c.add(c.l.frame(ip), e...) }

// expected renders the .expected file.
func (c *capture) expected() []byte {
	alerts, anoms := map[string]int{}, map[string]int{}
	for _, p := range c.pkts {
		for _, e := range p.exp {
			if e.alert != "" {
				alerts[e.alert]++
			}
			if e.anomaly != "" {
				anoms[e.anomaly]++
			}
		}
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "# %s\n", c.what)
	fmt.Fprintf(&b, "# %s\n", c.why)
	if off, rec := c.brokenRecord(); rec > 0 {
		fmt.Fprintf(&b, "error offset %d record %d\n", off, rec)
	}
	for _, k := range slices.Sorted(mapKeys(alerts)) {
		fmt.Fprintf(&b, "alert %s %d\n", k, alerts[k])
	}
	for _, k := range slices.Sorted(mapKeys(anoms)) {
		fmt.Fprintf(&b, "anomaly %s %d\n", k, anoms[k])
	}
	return b.Bytes()
}

func mapKeys(m map[string]int) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// encode writes the capture file: classic pcap with microsecond timestamps, or pcapng with fixed
// section and interface options (nothing taken from the machine running the generator).
func (c *capture) encode() ([]byte, error) {
	if c.hostile() {
		return c.encodeRaw(), nil
	}
	var b bytes.Buffer
	var write func(gopacket.CaptureInfo, []byte) error
	flush := func() error { return nil }
	if strings.HasSuffix(c.path, ".pcapng") {
		w, err := pcapgo.NewNgWriterInterface(&b, pcapgo.NgInterface{
			Name:                ngIface,
			LinkType:            c.lt,
			SnapLength:          snaplen,
			TimestampResolution: 9,
		}, pcapgo.NgWriterOptions{SectionInfo: pcapgo.NgSectionInfo{
			Application: "ids pcaps/gen",
			Comment:     c.what,
		}})
		if err != nil {
			return nil, err
		}
		write, flush = w.WritePacket, w.Flush
	} else {
		w := pcapgo.NewWriter(&b)
		if err := w.WriteFileHeader(snaplen, c.lt); err != nil {
			return nil, err
		}
		write = w.WritePacket
	}
	ts := epoch
	for i, p := range c.pkts {
		if i > 0 {
			ts = ts.Add(cmp.Or(p.gap, time.Millisecond))
		}
		ci := gopacket.CaptureInfo{
			Timestamp:     ts,
			CaptureLength: len(p.data),
			Length:        len(p.data),
		}
		if err := write(ci, p.data); err != nil {
			return nil, fmt.Errorf("%s: packet %d: %w", c.path, i+1, err)
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// tcpFlow plays one TCP connection with correct sequence numbers, IPv4 ids and, when the SYN
// negotiated them, timestamps on every segment.
type tcpFlow struct {
	s        *stream
	l        link
	cli, srv netip.AddrPort
	cseq     uint32 // next sequence number the client sends
	sseq     uint32 // next sequence number the server sends
	cid, sid uint16 // next IPv4 id of each side
	ts       bool   // timestamps negotiated
	cts, sts uint32 // each side's timestamp clock
	win      uint16
	cttl     uint8 // TTL (IPv6 hop limit) of the client's packets; 0 means 64
	sttl     uint8 // and of the server's
}

func newFlow(s *stream, l link, cli, srv string, isn uint32) *tcpFlow {
	return &tcpFlow{
		s: s, l: l, cli: addrPort(cli), srv: addrPort(srv),
		cseq: isn, sseq: isn*2654435761 + 1, cid: uint16(isn), sid: uint16(isn >> 16),
		cts: isn >> 8, sts: isn >> 4, win: 502,
	}
}

// seg sends one segment from the client (fromCli) or the server, acknowledging everything the
// peer sent so far unless the flags leave ACK out, and returns its IP packet.
func (f *tcpFlow) seg(fromCli bool, flags uint8, opts, data []byte) []byte {
	src, dst, seq, ack, id, ttl := f.cli, f.srv, &f.cseq, f.sseq, &f.cid, f.cttl
	if !fromCli {
		src, dst, seq, ack, id, ttl = f.srv, f.cli, &f.sseq, f.cseq, &f.sid, f.sttl
	}
	if flags&flagACK == 0 {
		ack = 0
	}
	if f.ts && flags&flagRST == 0 {
		f.cts += 3
		f.sts += 5
		val, ecr := f.cts, f.sts
		if !fromCli {
			val, ecr = f.sts, f.cts
		}
		if flags&(flagSYN|flagACK) == flagSYN {
			ecr = 0 // nothing to echo yet
		}
		if opts == nil {
			opts = cat(optNOP(), optNOP(), optTS(0, 0))
		}
		setTS(opts, val, ecr)
	}
	win := f.win // scaled by the window scale option both SYNs carry
	if flags&flagSYN != 0 {
		win = 64240 // never scaled in a SYN
	}
	t := tcp{sport: src.Port(), dport: dst.Port(), seq: *seq, ack: ack, flags: flags, win: win, opts: opts, data: data}
	ip := ipOverTTL(src.Addr(), dst.Addr(), protoTCP, *id, ttl, t.bytes(src.Addr(), dst.Addr()))
	*id++
	*seq += uint32(len(data))
	if flags&(flagSYN|flagFIN) != 0 {
		*seq++
	}
	f.s.add(f.l.frame(ip))
	return ip
}

// open performs the three-way handshake. With ts the SYNs carry MSS, SACK-permitted,
// timestamps and window scale in Linux's order; without, MSS, window scale and SACK-permitted in
// Windows' order.
func (f *tcpFlow) open(ts bool) {
	f.syn(ts)
	f.synAck()
	f.seg(true, flagACK, nil, nil)
}

// syn sends the client's SYN (see open) and returns its IP packet.
func (f *tcpFlow) syn(ts bool) []byte {
	f.ts = ts
	if !ts {
		f.win = 251
	}
	return f.seg(true, flagSYN, f.synOpts(7), nil)
}

// synAck sends the server's SYN+ACK (see open).
func (f *tcpFlow) synAck() []byte { return f.seg(false, flagSYN|flagACK, f.synOpts(9), nil) }

// synOpts are the SYN options; ws is the Linux window scale (Windows always offers 8).
func (f *tcpFlow) synOpts(ws uint8) []byte {
	mss := uint16(1460)
	if f.cli.Addr().Is6() {
		mss = 1440
	}
	if f.ts {
		return cat(optMSS(mss), optSACKPerm(), optTS(0, 0), optNOP(), optWS(ws))
	}
	return cat(optMSS(mss), optNOP(), optWS(8), optNOP(), optNOP(), optSACKPerm())
}

// build returns the IP packet of a segment from the client (fromCli) or the server with the
// given flags and numbers, without sending it or changing the flow: for forged segments and
// for the segments ICMP errors quote. RSTs advertise a window of 0 and no options, as stacks
// send them.
func (f *tcpFlow) build(fromCli bool, flags uint8, seq, ack uint32, data []byte) []byte {
	src, dst, id, ttl := f.cli, f.srv, f.cid, f.cttl
	if !fromCli {
		src, dst, id, ttl = f.srv, f.cli, f.sid, f.sttl
	}
	win := f.win
	if flags&flagRST != 0 {
		win = 0
	}
	t := tcp{sport: src.Port(), dport: dst.Port(), seq: seq, ack: ack, flags: flags, win: win, data: data}
	return ipOverTTL(src.Addr(), dst.Addr(), protoTCP, id, ttl, t.bytes(src.Addr(), dst.Addr()))
}

// forge sends a segment claiming to come from one side, at any sequence number, with that
// side's addresses, TTL and next IPv4 id (a perfect forgery, or a reset the stack sends from its
// own numbers), and leaves both sides' sequence numbers alone.
func (f *tcpFlow) forge(fromCli bool, flags uint8, seq, ack uint32, data []byte, e ...expect) []byte {
	ip := f.build(fromCli, flags, seq, ack, data)
	if fromCli {
		f.cid++
	} else {
		f.sid++
	}
	f.s.add(f.l.frame(ip), e...)
	return ip
}

// lose sends b like data but leaves it out of the capture: a segment the sensor never saw,
// though its receiver did.
func (f *tcpFlow) lose(fromCli bool, b []byte) {
	n := len(f.s.pkts)
	f.data(fromCli, b)
	f.s.pkts = f.s.pkts[:n]
}

// data sends b and returns the IP packet, for ICMP errors to quote.
func (f *tcpFlow) data(fromCli bool, b []byte) []byte { return f.seg(fromCli, flagPSH|flagACK, nil, b) }
func (f *tcpFlow) ack(fromCli bool)                   { f.seg(fromCli, flagACK, nil, nil) }

// close is the usual active close by the client: FIN, FIN, ACK.
func (f *tcpFlow) close() {
	f.seg(true, flagFIN|flagACK, nil, nil)
	f.seg(false, flagFIN|flagACK, nil, nil)
	f.seg(true, flagACK, nil, nil)
}

// setTS fills in the value and echo of the timestamps option in opts.
func setTS(opts []byte, val, ecr uint32) {
	for i := 0; i+1 < len(opts); {
		switch opts[i] {
		case 0:
			return
		case 1:
			i++
			continue
		case 8:
			binary.BigEndian.PutUint32(opts[i+2:], val)
			binary.BigEndian.PutUint32(opts[i+6:], ecr)
			return
		}
		i += int(opts[i+1])
	}
}

// hostile reports whether the capture needs a file structure pcapgo's writer refuses to write.
func (c *capture) hostile() bool {
	if c.snap != 0 || c.truncate != 0 {
		return true
	}
	for _, p := range c.pkts {
		if p.wireSet {
			return true
		}
	}
	return false
}

// record returns the bytes the i-th record captures and the original length it states.
func (c *capture) record(i int) (data []byte, wire int) {
	p := c.pkts[i]
	data, wire = p.data, len(p.data)
	if p.wireSet {
		wire = p.wire
	}
	if c.snap != 0 && len(data) > c.snap {
		data = data[:c.snap]
	}
	return data, wire
}

// encodeRaw writes a classic little-endian microsecond pcap byte by byte: snap length c.snap,
// records cut to it or stating the wire lengths the packets ask for, then c.truncate bytes cut
// off the end.
func (c *capture) encodeRaw() []byte {
	snap := cmp.Or(c.snap, snaplen)
	b := binary.LittleEndian.AppendUint32(nil, 0xa1b2c3d4)
	b = binary.LittleEndian.AppendUint16(b, 2)
	b = binary.LittleEndian.AppendUint16(b, 4)
	b = binary.LittleEndian.AppendUint32(b, 0) // thiszone
	b = binary.LittleEndian.AppendUint32(b, 0) // sigfigs
	b = binary.LittleEndian.AppendUint32(b, uint32(snap))
	b = binary.LittleEndian.AppendUint32(b, uint32(c.lt))
	ts := epoch
	for i, p := range c.pkts {
		if i > 0 {
			ts = ts.Add(cmp.Or(p.gap, time.Millisecond))
		}
		data, wire := c.record(i)
		b = binary.LittleEndian.AppendUint32(b, uint32(ts.Unix()))
		b = binary.LittleEndian.AppendUint32(b, uint32(ts.Nanosecond()/1000))
		b = binary.LittleEndian.AppendUint32(b, uint32(len(data)))
		b = binary.LittleEndian.AppendUint32(b, uint32(wire))
		b = append(b, data...)
	}
	return b[:len(b)-c.truncate]
}

// brokenRecord is where a reader must stop in a truncated capture: the byte offset at which the
// last record starts and its 1-based number; 0, 0 when the file is whole.
func (c *capture) brokenRecord() (offset, record int) {
	if c.truncate == 0 {
		return 0, 0
	}
	offset = 24
	for i := range len(c.pkts) - 1 {
		data, _ := c.record(i)
		offset += 16 + len(data)
	}
	return offset, len(c.pkts)
}
