package decode

// NDR, the Network Data Representation transfer syntax of DCE/RPC stub data (C706 chapter 14):
// just what detectors need to walk the arguments of a request. Offsets are relative to the start
// of the stub, which is where NDR alignment is measured from (the stub starts 8-aligned in the
// PDU). Like the PDU parsers, these never read past their input and
// allocate nothing.

// NDRAlign returns off rounded up to a multiple of n (C706 14.2.2: a primitive of size n is
// aligned to n). n of 1 or less leaves off as it is.
func NDRAlign(off, n int) int {
	if n <= 1 {
		return off
	}
	if r := off % n; r > 0 {
		return off + n - r
	}
	return off
}

// NDRUint32 reads the 32-bit integer at off exactly (the caller aligns). ok is false when the 4
// bytes are not all in b.
func NDRUint32(b []byte, off int, little bool) (v uint32, ok bool) {
	if off < 0 || off > len(b)-4 {
		return 0, false
	}
	return rpcU32(b[off:], little), true
}

// NDRString is a conformant varying string as ParseNDRString found it.
type NDRString struct {
	MaxCount, Offset, ActualCount uint32
	Data                          []byte // view of the ActualCount*charSize bytes (those present)
	End                           int    // stub offset just after Data, not aligned
}

// ParseNDRString reads a conformant varying string, the encoding of a [string] char* or
// wchar_t* argument (C706 14.3.4.2, 14.3.3.4), at off after aligning it to 4: maximum_count,
// offset and actual_count (each a 4-byte integer), then actual_count elements of charSize bytes
// (1 or 2), the terminating NUL included. ok is false, with out zeroed, when charSize is not 1
// or 2 or the three counts are not all in stub.
//
// Counts that disagree are RPCNDRStringInvalid: offset+actual_count beyond max_count (the
// conformance says the buffer holds fewer elements than are sent) or data running past the
// stub. Data then holds the elements present and End is the end of stub.
func ParseNDRString(stub []byte, off int, little bool, charSize int, out *NDRString, as *Anomalies) bool {
	*out = NDRString{}
	if charSize != 1 && charSize != 2 || off < 0 {
		return false
	}
	off = NDRAlign(off, 4)
	if off > len(stub)-12 {
		return false
	}
	out.MaxCount = rpcU32(stub[off:], little)
	out.Offset = rpcU32(stub[off+4:], little)
	out.ActualCount = rpcU32(stub[off+8:], little)
	start := off + 12
	if uint64(out.Offset)+uint64(out.ActualCount) > uint64(out.MaxCount) {
		rpcAnomaly(as, RPCNDRStringInvalid)
	}
	n := uint64(out.ActualCount) * uint64(charSize)
	if n > uint64(len(stub)-start) {
		rpcAnomaly(as, RPCNDRStringInvalid)
		n = uint64(len(stub) - start)
	}
	out.End = start + int(n)
	out.Data = stub[start:out.End:out.End]
	return true
}

// NDRPointer reads the 4-byte referent id of a unique or full pointer (C706 14.3.10) at off
// aligned to 4; next is the offset after it (where the referent follows when ref is not 0, for
// a pointer at the top level). ok is false when the 4 bytes are not all in stub.
func NDRPointer(stub []byte, off int, little bool) (ref uint32, next int, ok bool) {
	if off < 0 {
		return 0, 0, false
	}
	off = NDRAlign(off, 4)
	v, ok := NDRUint32(stub, off, little)
	if !ok {
		return 0, 0, false
	}
	return v, off + 4, true
}
