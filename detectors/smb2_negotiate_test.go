package detectors_test

import (
	"encoding/binary"
	"reflect"
	"testing"
)

// smb1Negotiate builds an NBSS session message carrying an SMB1 NEGOTIATE request (MS-CIFS
// 2.2.4.52.1) with the given Process ID High and dialects; extra bytes go after the byte area.
func smb1Negotiate(pidHigh uint16, extra int, dialects ...string) []byte {
	var bytes []byte
	for _, d := range dialects {
		bytes = append(append(append(bytes, 0x02), d...), 0)
	}
	smb := make([]byte, 32, 64+len(bytes))
	copy(smb, "\xffSMB")
	smb[4] = 0x72                                    // NEGOTIATE
	smb[9] = 0x18                                    // flags: canonical paths, case-insensitive
	binary.LittleEndian.PutUint16(smb[10:], 0xc853)  // flags2
	binary.LittleEndian.PutUint16(smb[12:], pidHigh) // Process ID High
	binary.LittleEndian.PutUint16(smb[26:], 0xfeff)  // PID low
	smb = append(smb, 0)                             // word count
	smb = binary.LittleEndian.AppendUint16(smb, uint16(len(bytes)))
	smb = append(append(smb, bytes...), make([]byte, extra)...)
	nb := []byte{0, 0, byte(len(smb) >> 8), byte(len(smb))}
	return append(nb, smb...)
}

func TestSMB2Negotiate(t *testing.T) {
	const cli, srv = "192.0.2.40", "198.51.100.45"
	win7 := []string{"PC NETWORK PROGRAM 1.0", "LANMAN1.0", "Windows for Workgroups 3.1a", "LM1.2X002", "LANMAN2.1", "NT LM 0.12", "SMB 2.002", "SMB 2.???"}
	session := func(t *testing.T, port uint16, chunks ...[]byte) *conn {
		c := newConn(t, cli, srv, 49200, port, false).handshake()
		for _, ch := range chunks {
			c.sendBytes(true, ch)
		}
		return c
	}
	split := func(b []byte, n int) [][]byte {
		var out [][]byte
		for len(b) > n {
			out, b = append(out, b[:n]), b[n:]
		}
		return append(out, b)
	}
	poc := smb1Negotiate(0x2600, 0, "NT LM 0.12", "SMB 2.002")
	cases := []struct {
		name   string
		port   uint16
		chunks [][]byte
		want   []uint32
	}{
		{"windows7_negotiate", 445, [][]byte{smb1Negotiate(0, 0, win7...)}, nil},
		{"ms09_050_poc", 445, [][]byte{poc}, []uint32{9200301}},
		{"ms09_050_over_139", 139, [][]byte{poc}, []uint32{9200301}},
		{"ms09_050_one_byte_segments", 445, split(poc, 1), []uint32{9200301}},
		{"ms09_050_after_keepalive", 445, [][]byte{{0x85, 0, 0, 0}, poc}, []uint32{9200301}},
		{"pid_high_without_smb2_dialect", 445, [][]byte{smb1Negotiate(0x2600, 0, "NT LM 0.12")}, nil},
		{"nbss_length_longer_than_smb", 445, [][]byte{smb1Negotiate(0, 8, win7...)}, []uint32{9200302}},
		{"not_smb_port", 8445, [][]byte{poc}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got []uint32
			for _, f := range run(t, testRules(t), session(t, tc.port, tc.chunks...).frames...) {
				got = append(got, f.sid)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("alerts %v, want %v", got, tc.want)
			}
		})
	}
}
