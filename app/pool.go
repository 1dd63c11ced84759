package app

// pool lends fixed-size buffers for messages that arrive in pieces: few connections have one
// in flight at a time, so a small pool serves a whole flow table. Allocated once, in New.
type pool struct {
	mem  []byte
	size int
	free []int32
}

func newPool(buffers, size int) pool {
	p := pool{mem: make([]byte, buffers*size), size: size, free: make([]int32, buffers)}
	for i := range p.free {
		p.free[i] = int32(buffers - 1 - i)
	}
	return p
}

// get returns a free buffer's index, or -1 when all are lent.
func (p *pool) get() int32 {
	n := len(p.free)
	if n == 0 {
		return -1
	}
	i := p.free[n-1]
	p.free = p.free[:n-1]
	return i
}

func (p *pool) put(i int32) { p.free = append(p.free, i) }

func (p *pool) bytes(i int32) []byte { return p.mem[int(i)*p.size : int(i+1)*p.size] }
