package decode

import "slices"

// Anomaly is a stable code for something malformed, truncated or unsupported that a decoder met.
// Each code has one dotted snake_case name (layer.reason) that is API: it appears in the replay
// summary, in metrics labels and in rules, so names are never renamed or reused. Variable values
// belong in alert evidence, never in a name.
type Anomaly uint16

// The codes. Their numbers are internal (only names are API): add new ones where they belong
// and give each a name in anomalyNames. Some are recorded by later stages (defragmentation,
// stream reassembly) through Packet.Record, so that one table names every anomaly.
const (
	AnomalyNone Anomaly = iota

	// Capture and link layer.
	CaptureTruncated     // the capture cut the frame (caplen < wire length) before a header ended
	LinkUnsupported      // link type this engine does not decode
	EthPktTooSmall       // frame shorter than an Ethernet header
	VLANHdrTooSmall      // 802.1Q/802.1ad tag cut short
	VLANTooManyTags      // more stacked tags than MaxVLANs
	SLLPktTooSmall       // shorter than a Linux cooked (SLL) header
	SLL2PktTooSmall      // shorter than a Linux cooked v2 (SLL2) header
	NullPktTooSmall      // shorter than the 4-byte BSD loopback header
	NullUnknownFamily    // BSD loopback address family that is neither IPv4 nor IPv6
	NFLogPktTooSmall     // shorter than the NFLOG header
	NFLogTLVInvalid      // NFLOG TLV with a length below 4 or running past the frame
	IPRawInvalidVersion  // raw-IP link whose first nibble is neither 4 nor 6
	IPv4PktTooSmall      // fewer than 20 bytes where an IPv4 header should be
	IPv4WrongVersion     // link layer says IPv4, version field disagrees
	IPv4HlenTooSmall     // IHL below 5 (20 bytes)
	IPv4IplenSmallerThan // total length smaller than the header length
	IPv4IplenZero        // total length 0: segmentation offload on the capturing host
	IPv4TruncPkt         // total length larger than the packet that was sent
	IPv4OptTruncated     // option type byte at the end of the header, no room for its length
	IPv4OptLenTooSmall   // multi-byte option with length below 2
	IPv4OptLenOverrun    // option length runs past the end of the header
	IPv4OptInvalidLen    // known option with a length its definition does not allow
	IPv4OptInvalidPtr    // route or timestamp option whose pointer is out of range
	IPv6PktTooSmall      // fewer than 40 bytes where an IPv6 header should be
	IPv6WrongVersion     // link layer says IPv6, version field disagrees
	IPv6TruncPkt         // payload length larger than the packet that was sent
	IPv6ExtHdrTruncated  // extension header running past the packet
	IPv6ExtHdrTooMany    // longer extension-header chain than MaxIPv6ExtHeaders
	IPv6ExtHdrDuplicate  // an extension header that may appear once appears again
	TCPPktTooSmall       // fewer than 20 bytes where a TCP header should be
	TCPHlenTooSmall      // data offset below 5 (20 bytes)
	TCPHlenTooLarge      // data offset beyond the end of the segment
	TCPOptLenInvalid     // option length below 2 or running past the header
	TCPOptInvalidLen     // known option (MSS, window scale, SACK, timestamps) with a wrong length
	UDPPktTooSmall       // fewer than 8 bytes where a UDP header should be
	UDPLenInvalid        // UDP length below 8 or beyond the IP payload
	ICMPv4PktTooSmall    // fewer than 8 bytes where an ICMP header should be
	ICMPv4QuotedTooSmall // ICMP error quoting less than a whole IP header
	ICMPv4QuotedInvalid  // ICMP error quoting something that is not a valid IPv4 header
	ICMPv6PktTooSmall    // fewer than 8 bytes where an ICMPv6 header should be
	ICMPv6QuotedTooSmall // ICMPv6 error quoting less than a whole IPv6 header
	ICMPv6QuotedInvalid  // ICMPv6 error quoting something that is not a valid IPv6 header
	ICMPv4OverIPv6       // ICMPv4 carried in IPv6 (or ICMPv6 in IPv4)

	// Recorded by defragmentation.
	IPv4FragOverlap     // fragments overlap (IPv4FragOverlapDiff too when their bytes differ)
	IPv4FragOverlapDiff // fragments overlap with different bytes (teardrop, evasion)
	IPv4FragTooLarge    // reassembled datagram would exceed 65535 bytes (ping of death)
	IPv4FragTiny        // first fragment too short to hold the transport header (RFC 1858)
	IPv6FragOverlap     // as IPv4FragOverlap, for IPv6
	IPv6FragOverlapDiff // as IPv4FragOverlapDiff, for IPv6
	IPv6FragTooLarge    // reassembled payload would exceed 65535 bytes
	IPv6FragTiny        // first fragment without the whole header chain (RFC 7112)
	IPv4FragInvalidLen  // fragment with no payload, or not the last but not a multiple of 8 bytes
	IPv6FragInvalidLen  // as IPv4FragInvalidLen, for IPv6

	// Recorded by stream reassembly.
	StreamOverlap     // TCP segment overlaps bytes already received and held (StreamOverlapDiff too when they differ)
	StreamOverlapDiff // TCP segment overlaps bytes already received with different data (evasion)

	// Application layer: NetBIOS session service and SMB.
	NBSSUnknownType         // NetBIOS session message type not in RFC 1002
	NBSSLengthMismatch      // NetBIOS length disagrees with the SMB message it carries
	SMBHeaderTruncated      // SMB message shorter than its header
	SMBNegWordCount         // SMB1 NEGOTIATE request with a word count other than 0
	SMBNegByteCountOverrun  // SMB1 NEGOTIATE byte count runs past the message
	SMBNegDialectFormat     // dialect entry without the 0x02 buffer-format byte
	SMBNegDialectUnterm     // dialect string without its NUL terminator
	SMBNegTooManyDialects   // more dialects than any client offers
	SMB2NegStructureSize    // SMB2 NEGOTIATE request StructureSize other than 36
	SMB2NegDialectCountZero // SMB2 NEGOTIATE request offering no dialect
	SMB2NegDialectsOverrun  // SMB2 NEGOTIATE dialect array runs past the message

	// Application layer: DCE/RPC.
	RPCBadVersion          // PDU version other than 5.0/5.1 (connection-oriented) or 4 (connectionless)
	RPCFragLengthInvalid   // frag_length below the header or beyond the limit
	RPCAuthLengthInvalid   // auth_length larger than the PDU body
	RPCContextUnknown      // request on a presentation context never bound
	RPCTooManyContexts     // bind offering more contexts than tracked
	RPCFragJoinOverflow    // request fragments joining past the join limit
	RPCNDRStringInvalid    // NDR string whose counts disagree with each other or the stub
	RPCCLBodyLengthInvalid // connectionless body length disagrees with the datagram

	// Application layer: NNTP.
	NNTPLineTooLong // command line longer than RFC 3977's 512 octets

	numAnomalies
)

// NumAnomalies is the number of anomaly codes, for arrays of per-code counters.
const NumAnomalies = int(numAnomalies)

// anomalyNames is the one table of names, indexed by code.
var anomalyNames = [numAnomalies]string{
	AnomalyNone:          "none",
	CaptureTruncated:     "capture.truncated",
	LinkUnsupported:      "link.unsupported",
	EthPktTooSmall:       "eth.pkt_too_small",
	VLANHdrTooSmall:      "vlan.hdr_too_small",
	VLANTooManyTags:      "vlan.too_many_tags",
	SLLPktTooSmall:       "sll.pkt_too_small",
	SLL2PktTooSmall:      "sll2.pkt_too_small",
	NullPktTooSmall:      "null.pkt_too_small",
	NullUnknownFamily:    "null.unknown_family",
	NFLogPktTooSmall:     "nflog.pkt_too_small",
	NFLogTLVInvalid:      "nflog.tlv_invalid",
	IPRawInvalidVersion:  "ipraw.invalid_version",
	IPv4PktTooSmall:      "ipv4.pkt_too_small",
	IPv4WrongVersion:     "ipv4.wrong_version",
	IPv4HlenTooSmall:     "ipv4.hlen_too_small",
	IPv4IplenSmallerThan: "ipv4.iplen_smaller_than_hlen",
	IPv4IplenZero:        "ipv4.iplen_zero",
	IPv4TruncPkt:         "ipv4.trunc_pkt",
	IPv4OptTruncated:     "ipv4.opt_truncated",
	IPv4OptLenTooSmall:   "ipv4.opt_len_too_small",
	IPv4OptLenOverrun:    "ipv4.opt_len_overrun",
	IPv4OptInvalidLen:    "ipv4.opt_invalid_len",
	IPv4OptInvalidPtr:    "ipv4.opt_invalid_ptr",
	IPv6PktTooSmall:      "ipv6.pkt_too_small",
	IPv6WrongVersion:     "ipv6.wrong_version",
	IPv6TruncPkt:         "ipv6.trunc_pkt",
	IPv6ExtHdrTruncated:  "ipv6.exthdr_truncated",
	IPv6ExtHdrTooMany:    "ipv6.exthdr_too_many",
	IPv6ExtHdrDuplicate:  "ipv6.exthdr_duplicate",
	TCPPktTooSmall:       "tcp.pkt_too_small",
	TCPHlenTooSmall:      "tcp.hlen_too_small",
	TCPHlenTooLarge:      "tcp.hlen_too_large",
	TCPOptLenInvalid:     "tcp.opt_len_invalid",
	TCPOptInvalidLen:     "tcp.opt_invalid_len",
	UDPPktTooSmall:       "udp.pkt_too_small",
	UDPLenInvalid:        "udp.len_invalid",
	ICMPv4PktTooSmall:    "icmpv4.pkt_too_small",
	ICMPv4QuotedTooSmall: "icmpv4.quoted_too_small",
	ICMPv4QuotedInvalid:  "icmpv4.quoted_invalid",
	ICMPv6PktTooSmall:    "icmpv6.pkt_too_small",
	ICMPv6QuotedTooSmall: "icmpv6.quoted_too_small",
	ICMPv6QuotedInvalid:  "icmpv6.quoted_invalid",
	ICMPv4OverIPv6:       "icmp.wrong_ip_version",
	IPv4FragOverlap:      "ipv4.frag_overlap",
	IPv4FragOverlapDiff:  "ipv4.frag_overlap_different_data",
	IPv4FragTooLarge:     "ipv4.frag_too_large",
	IPv4FragTiny:         "ipv4.frag_tiny",
	IPv6FragOverlap:      "ipv6.frag_overlap",
	IPv6FragOverlapDiff:  "ipv6.frag_overlap_different_data",
	IPv6FragTooLarge:     "ipv6.frag_too_large",
	IPv6FragTiny:         "ipv6.frag_tiny",
	IPv4FragInvalidLen:   "ipv4.frag_invalid_length",
	IPv6FragInvalidLen:   "ipv6.frag_invalid_length",
	StreamOverlap:        "stream.overlap",
	StreamOverlapDiff:    "stream.overlap_different_data",

	NBSSUnknownType:         "nbss.unknown_type",
	NBSSLengthMismatch:      "nbss.length_mismatch",
	SMBHeaderTruncated:      "smb.header_truncated",
	SMBNegWordCount:         "smb.negotiate_word_count",
	SMBNegByteCountOverrun:  "smb.negotiate_byte_count_overrun",
	SMBNegDialectFormat:     "smb.negotiate_dialect_format",
	SMBNegDialectUnterm:     "smb.negotiate_dialect_unterminated",
	SMBNegTooManyDialects:   "smb.negotiate_too_many_dialects",
	SMB2NegStructureSize:    "smb2.negotiate_structure_size",
	SMB2NegDialectCountZero: "smb2.negotiate_dialect_count_zero",
	SMB2NegDialectsOverrun:  "smb2.negotiate_dialects_overrun",

	RPCBadVersion:          "dcerpc.bad_version",
	RPCFragLengthInvalid:   "dcerpc.frag_length_invalid",
	RPCAuthLengthInvalid:   "dcerpc.auth_length_invalid",
	RPCContextUnknown:      "dcerpc.context_unknown",
	RPCTooManyContexts:     "dcerpc.too_many_contexts",
	RPCFragJoinOverflow:    "dcerpc.frag_join_overflow",
	RPCNDRStringInvalid:    "dcerpc.ndr_string_invalid",
	RPCCLBodyLengthInvalid: "dcerpc.cl_body_length_invalid",

	NNTPLineTooLong: "nntp.line_too_long",
}

// String returns the anomaly's stable name.
func (a Anomaly) String() string {
	if a < numAnomalies {
		return anomalyNames[a]
	}
	return "unknown"
}

// AnomalyByName returns the code for a stable name.
func AnomalyByName(name string) (Anomaly, bool) {
	for i, n := range anomalyNames {
		if n == name && i != 0 {
			return Anomaly(i), true
		}
	}
	return AnomalyNone, false
}

// Anomalies is the short, fixed list of anomalies an application-layer parser found in one
// message; the application layer records them on the packet that completed the message.
type Anomalies struct {
	list [4]Anomaly
	n    uint8
}

// Add appends a (beyond four, later ones are dropped: the first are the informative ones).
func (as *Anomalies) Add(a Anomaly) {
	if int(as.n) < len(as.list) {
		as.list[as.n] = a
		as.n++
	}
}

// List returns the anomalies in the order found.
func (as *Anomalies) List() []Anomaly { return as.list[:as.n] }

// Has reports whether a was found.
func (as *Anomalies) Has(a Anomaly) bool { return slices.Contains(as.List(), a) }
