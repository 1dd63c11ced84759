package stream

import "math/bits"

// The pool hands out the free chunk with the lowest index. Successive segments' chunks are then
// neighbours in memory, their data and headers written in sequence (the hardware prefetches them,
// pages are shared) rather than scattered over the whole pool as a list or stack of returned
// chunks would leave them after a while; in a storm over many connections that is most of the
// cost of holding a segment. Which chunks are in use is a bitmap (inUse, a bit per chunk); full
// is a hierarchy of bitmaps over it: full[0] has a bit per word of inUse, full[l+1] a bit per
// word of full[l], set when that word is full, and the top level is one word. The lowest free
// chunk is usually in the word of the last one taken (low); else a descent of full finds it.
// Taking or returning a chunk touches a word a level at most: five for 2^31 chunks. The bitmaps
// take an eighth of a byte per chunk.
type pool struct {
	inUse []uint64
	full  [][]uint64
	low   int // the words of inUse before inUse[low] are full
}

// newPool returns the bitmaps for chunks 0 to n-1, chunk 0 (none) and the bits past n-1 marked
// in use. Only the words so marked are written: the rest of the bitmaps is zero, free, as
// allocated.
func newPool(n int) pool {
	p := pool{inUse: make([]uint64, (n+63)/64)}
	for words := len(p.inUse); len(p.full) == 0 || words > 1; words = (words + 63) / 64 {
		l := make([]uint64, (words+63)/64)
		if tail := words % 64; tail != 0 {
			l[len(l)-1] = ^uint64(0) << tail // no word below: never has room
		}
		p.full = append(p.full, l)
	}
	if tail := n % 64; tail != 0 {
		p.inUse[len(p.inUse)-1] = ^uint64(0) << tail
	}
	p.inUse[0] |= 1
	for _, j := range []int{0, len(p.inUse) - 1} {
		if p.inUse[j] == ^uint64(0) {
			p.setFull(j)
		}
	}
	return p
}

// take marks the free chunk with the lowest index in use and returns it, 0 if none is free.
func (p *pool) take() uint32 {
	if p.inUse[p.low] == ^uint64(0) {
		top := len(p.full) - 1
		if p.full[top][0] == ^uint64(0) {
			return 0
		}
		j := 0
		for l := top; l >= 0; l-- { // a word at each level whose bit says the word below has room
			j = j*64 + bits.TrailingZeros64(^p.full[l][j])
		}
		p.low = j
	}
	w := &p.inUse[p.low]
	b := bits.TrailingZeros64(^*w)
	*w |= 1 << b
	if *w == ^uint64(0) {
		p.setFull(p.low)
	}
	return uint32(p.low*64 + b)
}

// put marks chunk i free.
func (p *pool) put(i uint32) {
	j := int(i / 64)
	w := &p.inUse[j]
	wasFull := *w == ^uint64(0)
	*w &^= 1 << (i % 64)
	p.low = min(p.low, j)
	for l := 0; wasFull && l < len(p.full); l++ { // clear word j's full bit, and so on up
		w := &p.full[l][j/64]
		wasFull = *w == ^uint64(0)
		*w &^= 1 << (j % 64)
		j /= 64
	}
}

// setFull records that word j of inUse is full, and so on up.
func (p *pool) setFull(j int) {
	for l := 0; l < len(p.full); l++ {
		w := &p.full[l][j/64]
		*w |= 1 << (j % 64)
		if *w != ^uint64(0) {
			return
		}
		j /= 64
	}
}
