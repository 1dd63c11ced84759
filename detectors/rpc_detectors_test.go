package detectors_test

import (
	"encoding/binary"
	"reflect"
	"strings"
	"testing"
)

// ndrWStr is an NDR conformant varying wide string ([string] wchar_t*), NUL included, padded to 4.
func ndrWStr(s string) []byte {
	n := uint32(len(s) + 1)
	b := binary.LittleEndian.AppendUint32(nil, n)
	b = binary.LittleEndian.AppendUint32(b, 0)
	b = binary.LittleEndian.AppendUint32(b, n)
	for _, r := range s + "\x00" {
		b = binary.LittleEndian.AppendUint16(b, uint16(r))
	}
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

var (
	qmcommWire   = []byte{0x30, 0xa0, 0xb3, 0xfd, 0x5f, 0x06, 0xd1, 0x11, 0xbb, 0x9b, 0x00, 0xa0, 0x24, 0xea, 0x55, 0x25}
	remActWire   = []byte{0xb8, 0x4a, 0x9f, 0x4d, 0x1c, 0x7d, 0xcf, 0x11, 0x86, 0x1e, 0x00, 0x20, 0xaf, 0x6e, 0x7c, 0x57}
	sysActWire   = []byte{0xa0, 0x01, 0, 0, 0, 0, 0, 0, 0xc0, 0, 0, 0, 0, 0, 0, 0x46}
	orpcThisLike = make([]byte, 48)
)

// rpcSession is a TCP connection to port that binds to iface and sends one request.
func rpcSession(t *testing.T, port uint16, iface []byte, version uint32, opnum uint16, stub []byte, frags int, segment int) *conn {
	c := newConn(t, "192.0.2.70", "198.51.100.71", 1050, port, false).handshake()
	c.sendBytes(true, coBind(iface, version))
	req := coRequestsOp(0, opnum, stub, frags)
	for len(req) > segment {
		c.sendBytes(true, req[:segment])
		req = req[segment:]
	}
	c.sendBytes(true, req)
	return c
}

func TestMSMQOverflow(t *testing.T) {
	long := append(binary.LittleEndian.AppendUint32(nil, 1), ndrWStr("victim.corp.example.com\\"+strings.Repeat("B", 2100))...)
	short := append(binary.LittleEndian.AppendUint32(nil, 1), ndrWStr("victim.corp.example.com\\private$\\orders")...)
	cases := []struct {
		name string
		c    func(t *testing.T) *conn
		want []uint32
	}{
		{"long_path_2103", func(t *testing.T) *conn { return rpcSession(t, 2103, qmcommWire, 1, 6, long, 1, 1460) }, []uint32{9200411}},
		{"long_path_rpc_fragments_1_byte_segments", func(t *testing.T) *conn { return rpcSession(t, 2105, qmcommWire, 1, 6, long, 5, 1) }, []uint32{9200411}},
		{"short_path", func(t *testing.T) *conn { return rpcSession(t, 2103, qmcommWire, 1, 6, short, 1, 1460) }, nil},
		{"long_string_other_interface", func(t *testing.T) *conn { return rpcSession(t, 2103, remActWire, 0, 6, long, 1, 1460) }, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got []uint32
			for _, f := range run(t, testRules(t), tc.c(t).frames...) {
				got = append(got, f.sid)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("alerts %v, want %v", got, tc.want)
			}
		})
	}
}

func TestDCOMActivation(t *testing.T) {
	path := func(server string) []byte {
		stub := append([]byte{}, orpcThisLike...)
		stub = append(stub, make([]byte, 16)...)                  // CLSID
		stub = binary.LittleEndian.AppendUint32(stub, 0x00020000) // unique pointer referent
		return append(stub, ndrWStr(`\\`+server+`\file`)...)
	}
	blob := func(server string) []byte { // RemoteCreateInstance: the path inside activation properties
		stub := append([]byte{}, orpcThisLike...)
		stub = append(stub, make([]byte, 40)...)
		return append(append(stub, ndrWStr(`\\`+server+`\share`)...), make([]byte, 64)...)
	}
	cases := []struct {
		name string
		c    func(t *testing.T) *conn
		want []uint32
	}{
		{"remote_activation_long_server", func(t *testing.T) *conn {
			return rpcSession(t, 135, remActWire, 0, 0, path(strings.Repeat("C", 1000)), 1, 1460)
		}, []uint32{9200421}},
		{"remote_activation_fragmented", func(t *testing.T) *conn {
			return rpcSession(t, 135, remActWire, 0, 0, path(strings.Repeat("C", 1000)), 3, 100)
		}, []uint32{9200421}},
		{"remote_activation_normal_server", func(t *testing.T) *conn { return rpcSession(t, 135, remActWire, 0, 0, path("FILESRV01"), 1, 1460) }, nil},
		{"remote_create_instance_long_server", func(t *testing.T) *conn {
			return rpcSession(t, 135, sysActWire, 0, 4, blob(strings.Repeat("D", 600)), 1, 1460)
		}, []uint32{9200421}},
		{"remote_create_instance_fqdn", func(t *testing.T) *conn {
			return rpcSession(t, 135, sysActWire, 0, 4, blob("dc01.corp.example.com"), 1, 1460)
		}, nil},
		{"other_opnum", func(t *testing.T) *conn {
			return rpcSession(t, 135, sysActWire, 0, 3, blob(strings.Repeat("D", 600)), 1, 1460)
		}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got []uint32
			for _, f := range run(t, testRules(t), tc.c(t).frames...) {
				got = append(got, f.sid)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("alerts %v, want %v", got, tc.want)
			}
		})
	}
}
