package app

import (
	"github.com/ids-sensor/ids/decode"
	"github.com/ids-sensor/ids/detectors"
)

// SMB framing: the client's byte stream is a sequence of NetBIOS session messages (RFC 1002
// 4.3; on 445, "direct hosting", the same header with a 24-bit length, MS-SMB2 2.1). Only the
// first messages of a connection can be a NEGOTIATE, so only they are assembled and parsed;
// later ones are skipped by length without copying.
const (
	smbParsedMessages = 4        // messages per connection assembled and shown to the parser
	smbMaxMessage     = 64 << 10 // bytes of one message assembled; beyond, the head is judged
)

// smbState is one connection's client-direction framing state.
type smbState struct {
	hdr    [decode.NBSSHeaderLen]byte
	hdrN   uint8
	direct bool   // port 445: 24-bit length
	dead   bool   // framing lost (not NBSS): stop
	typ    uint8  // current message's type
	msgs   uint16 // session messages begun
	need   int    // bytes of the current message still to come
	msgLen int    // its length
	buf    int32  // pool buffer holding the message so far, plus 1; 0 when none (the zero value)
	have   int    // bytes held in buf
}

func (st *smbState) reset(direct bool) { *st = smbState{direct: direct} }

// release returns a buffer the connection holds.
func (l *Layer) smbRelease(st *smbState) {
	if st.buf > 0 {
		l.pool.put(st.buf - 1)
		st.buf = 0
	}
}

// smbData frames client bytes into session messages and parses the first ones.
func (l *Layer) smbData(in *detectors.Input, st *smbState, b []byte, out *detectors.Emitter) {
	for len(b) > 0 && !st.dead {
		if st.need == 0 {
			n := copy(st.hdr[st.hdrN:], b)
			st.hdrN += uint8(n)
			b = b[n:]
			if int(st.hdrN) < len(st.hdr) {
				return
			}
			st.hdrN = 0
			if !l.smbHeader(in, st) {
				return
			}
			continue
		}
		chunk := b[:min(len(b), st.need)]
		b = b[len(chunk):]
		st.need -= len(chunk)
		if st.typ != decode.NBSSMessage || st.msgs > smbParsedMessages {
			continue
		}
		if st.buf == 0 && st.need == 0 && len(chunk) == st.msgLen {
			l.smbMessage(in, chunk, out) // the whole message in one piece: parse it in place
			continue
		}
		l.smbHold(st, chunk)
		if st.need == 0 && st.buf > 0 {
			l.smbMessage(in, l.pool.bytes(st.buf - 1)[:st.have], out)
			l.smbRelease(st)
			st.have = 0
		}
	}
}

// smbHeader starts a session message from the 4 header bytes; false when the stream is not
// NetBIOS framed, after which the connection is no longer parsed.
func (l *Layer) smbHeader(in *detectors.Input, st *smbState) bool {
	typ, length, _ := decode.ParseNBSSHeader(st.hdr[:])
	if st.direct && typ == decode.NBSSMessage {
		length = int(st.hdr[1])<<16 | int(st.hdr[2])<<8 | int(st.hdr[3])
	}
	if !decode.ValidNBSSType(typ) {
		in.P.Record(decode.NBSSUnknownType)
		st.dead = true
		return false
	}
	st.typ, st.msgLen, st.need, st.have = typ, length, length, 0
	if typ == decode.NBSSMessage {
		st.msgs++
	}
	return true
}

// smbHold copies part of a message into a pool buffer, up to smbMaxMessage bytes; a message
// without a buffer (pool exhausted) is skipped and counted.
func (l *Layer) smbHold(st *smbState, chunk []byte) {
	if st.buf == 0 {
		if st.have != 0 {
			return // no buffer since the message began: already counted
		}
		i := l.pool.get()
		if i < 0 {
			l.Stats.BufferDrops++
			st.have = -1 // marks the message as dropped until it ends
			return
		}
		st.buf = i + 1
	}
	dst := l.pool.bytes(st.buf - 1)
	st.have += copy(dst[st.have:], chunk) // past smbMaxMessage the rest is not kept
}

// smbMessage parses one whole session message and shows a NEGOTIATE request to the detectors.
func (l *Layer) smbMessage(in *detectors.Input, msg []byte, out *detectors.Emitter) {
	n := &l.smbNeg
	if !decode.ParseSMBNegotiate(msg, n) {
		return
	}
	for _, a := range n.Anomalies.List() {
		in.P.Record(a)
	}
	for _, d := range l.smbD {
		d.InspectSMB(in, n, msg, out)
	}
}
