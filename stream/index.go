package stream

// The index of a Half's held chunks.
//
// A segment that arrives ahead of the last held one must find its place among them. When many
// connections hold out-of-order data at once, the chunks' headers outgrow the CPU caches, so the
// search is built to touch few cache lines: a B+tree per Half whose 128-byte nodes hold up to 15
// sorted keys on one cache line and their chunks or children on the next. It is at most 4 levels
// deep for FlowCap's default 2048 chunks, and its upper levels stay cached, so a search costs
// about one miss (the AVL tree threaded through the chunk headers that it replaces was 11 to 16
// levels deep, each a likely miss). The chunks a segment adds go into the leaf its search ended
// in, without descending again (Reassembler.path).
//
// A key is its chunk's seq when the chunk joined the index. It is not updated when the chunk
// later grows at its front (hold prepends to it): the key then lies inside the chunk, still
// after the chunk before it and before the next, so the order holds and the search (place)
// still returns a chunk that starts at or before the byte sought. Keys are compared as offsets
// from Half.next (held chunks all lie within 2^31 after it). Chunks leave only from the front
// (popHead) or all at once (Release), so nodes are never merged: a node emptied at the front is
// freed, a root left with one child gives way to it.
//
// Small Halves are walked instead: a Half starts an index when a search meets indexMin chunks,
// and drops it when fewer than indexDrop remain. Like the list, the index holds a prefix: chunks
// appended after the last held one are not indexed until a search walks past them (each once),
// so data held in order after a hole never pays for it.
//
// Memory: nodes come from a pool New preallocates, sized for the worst case (nodesFor), so an
// index never runs short and holding behaves as without one. Half did not grow: while it has an
// index, Half.tail names the root, which keeps the last chunk.

const (
	fanout    = 15 // keys per node
	minFill   = 8  // a split leaves two nodes of 8: only the leftmost node of each level may hold fewer
	maxLevels = 11 // a tree of H levels holds more than 8^(H-1) keys, and keys count chunks (< 2^31)

	indexMin  = 8 // a search through a Half holding this many chunks starts its index
	indexDrop = 4 // a Half left with fewer chunks drops its index
)

// node is one node of an index: n keys in ascending order and, in a leaf (level 0), the chunk of
// each key, in an inner node the child whose subtree's keys start at that key (an inner node's
// key[0] is never compared: its child takes everything before key[1]).
type node struct {
	key   [fanout]uint32
	n     uint8
	level uint8
	_     [2]uint8
	val   [fanout]uint32
	tail  uint32 // in the root: the Half's last chunk (Half.tail holds the root)
}

// nodesFor returns the nodes that chunks held chunks can need at most. Every node but the
// leftmost of each level holds at least minFill entries, and the entries are the tree's e keys
// plus its N-1 non-root nodes, so 8(N-H) <= e+N-1, N <= (e+8H-1)/7. With e <= c (the Half's
// chunks), H = 1 (N = 1) below 9 keys, H = 2 below 65, H <= 1+log8(e-1) beyond: N <= c/3 for
// every indexed Half (c >= indexDrop >= 3; c = 9 is the worst, 3 nodes). That is 43 bytes a
// chunk, 8.3% of Memcap, of which the chunk headers' shrinking from 24 to 16 bytes gives back 8:
// +6.8% in all. Nodes are only touched when first taken, so memory in use follows the index.
func nodesFor(chunks int) int { return chunks / 3 }

// tailOf returns h's last chunk, 0 if none.
func (r *Reassembler) tailOf(h *Half) uint32 {
	if h.flags&halfIndexed != 0 {
		return r.nodes[h.tail].tail
	}
	return h.tail
}

// setTail makes i h's last chunk.
func (r *Reassembler) setTail(h *Half, i uint32) {
	if h.flags&halfIndexed != 0 {
		r.nodes[h.tail].tail = i
	} else {
		h.tail = i
	}
}

// place returns h's last chunk whose key (seq, for chunks not indexed) is at or before
// h.next+base, 0 if none: it starts at or before that byte, and the chunks after it start after.
// It also returns the chunk after it (h's head when it is 0), read from the index when it is
// indexed, so that the two chunks' cache misses overlap. It indexes the chunks it walks past,
// starting h's index if h holds enough chunks.
func (r *Reassembler) place(h *Half, base uint32) (q, next uint32) {
	if h.head == 0 || r.chunks[h.head].seq-h.next > base {
		return 0, h.head
	}
	if h.flags&halfIndexed == 0 && h.chunks >= indexMin {
		r.startIndex(h)
	}
	q, next = 0, h.head
	if h.flags&halfIndexed != 0 {
		if q, next = r.search(h, base); q != 0 && next == 0 {
			next = r.chunks[q].next // q ends its leaf
		}
	}
	for next != 0 && !r.chunks[next].indexed && r.chunks[next].seq-h.next <= base {
		if k := &r.chunks[next]; h.flags&halfIndexed != 0 {
			k.indexed = true
			r.index(h, next, k.seq) // q is the last indexed chunk: next extends the prefix
		}
		q, next = next, r.chunks[next].next
	}
	return q, next
}

// search returns h's last indexed chunk whose key is at or before h.next+base, 0 if none, and
// the entry after it in the same leaf, 0 if none (then h's head, when the first is 0). It leaves
// its path in r.path for index.
func (r *Reassembler) search(h *Half, base uint32) (uint32, uint32) {
	nd := &r.nodes[r.descend(h, base)]
	j := nd.upTo(h.next, base, 0)
	switch {
	case j == 0:
		return 0, h.head // only the leftmost leaf has no key at or before base
	case j < int(nd.n):
		return nd.val[j-1], nd.val[j]
	}
	return nd.val[j-1], 0
}

// descend walks h's index from the root to the leaf where h.next+base belongs, leaves the path
// in r.path and r.at, and returns the leaf.
func (r *Reassembler) descend(h *Half, base uint32) uint32 {
	t := h.tail
	for nd := &r.nodes[t]; nd.level > 0; nd = &r.nodes[t] {
		j := nd.upTo(h.next, base, 1) - 1
		r.path[nd.level], r.at[nd.level] = t, uint8(j)
		t = nd.val[j]
	}
	r.path[0], r.pathOK = t, true
	return t
}

// upTo returns the index of nd's first key after next+base, searching from key[from].
func (nd *node) upTo(next, base uint32, from int) int {
	j := from
	for j < int(nd.n) && nd.key[j]-next <= base {
		j++
	}
	return j
}

// startIndex gives h an empty index (a root leaf), unless the pool is out of nodes.
func (r *Reassembler) startIndex(h *Half) {
	t := r.allocNode()
	if t == 0 {
		return
	}
	r.nodes[t].tail = h.tail
	h.tail = t
	h.flags |= halfIndexed
}

// index adds chunk i, whose seq is key, to h's index: i is held by h and marked indexed (not
// read here: a new chunk's line may still be on its way), and the chunks before it in the list
// are the indexed ones before it, or i is the new head.
func (r *Reassembler) index(h *Half, i, key uint32) {
	root := h.tail
	if r.nodesFree() < int(r.nodes[root].level)+2 { // a split at every level, and a new root
		r.dropIndex(h) // nodesFor rules this out; should it happen, the Half is walked instead
		return
	}
	b := key - h.next
	t := r.path[0]
	p := 0
	if r.pathOK {
		p = r.nodes[t].upTo(h.next, b, 0)
	}
	if !r.pathOK || p == 0 || p == int(r.nodes[t].n) { // the last leaf's keys do not surround key: descend
		t = r.descend(h, b)
		p = r.nodes[t].upTo(h.next, b, 0)
	}
	val := i
	for lv := 0; ; lv++ {
		nd := &r.nodes[t]
		if int(nd.n) < fanout {
			nd.insert(p, key, val)
			return
		}
		r.pathOK = false // a split moves entries between nodes
		s := r.allocNode()
		r.split(nd, &r.nodes[s], p, key, val)
		key, val = r.nodes[s].key[0], s // the new right node goes into the parent after t
		if t == root {
			nr := r.allocNode()
			n := &r.nodes[nr]
			n.level, n.n, n.tail = nd.level+1, 2, nd.tail
			n.key[0], n.val[0] = nd.key[0], t
			n.key[1], n.val[1] = key, val
			h.tail = nr
			return
		}
		t, p = r.path[lv+1], int(r.at[lv+1])+1
	}
}

// split moves the upper half of the full node a, with (key, val) inserted at p, to the empty s.
func (r *Reassembler) split(a, s *node, p int, key, val uint32) {
	s.level = a.level
	if p < minFill { // the new entry goes left: the right takes minFill old ones
		s.n = uint8(copy(s.key[:], a.key[minFill-1:]))
		copy(s.val[:], a.val[minFill-1:])
		a.n = minFill - 1
		a.insert(p, key, val)
	} else {
		s.n = uint8(copy(s.key[:], a.key[minFill:]))
		copy(s.val[:], a.val[minFill:])
		a.n = minFill
		s.insert(p-minFill, key, val)
	}
}

// insert and removeFirst shift entries one by one: copy would call memmove for a few words.
func (nd *node) insert(p int, key, val uint32) {
	for j := int(nd.n); j > p; j-- {
		nd.key[j], nd.val[j] = nd.key[j-1], nd.val[j-1]
	}
	nd.key[p], nd.val[p] = key, val
	nd.n++
}

func (nd *node) removeFirst() {
	nd.n--
	for j := range int(nd.n) {
		nd.key[j], nd.val[j] = nd.key[j+1], nd.val[j+1]
	}
}

// unindexHead removes the smallest key, the popped head's, from h's index.
func (r *Reassembler) unindexHead(h *Half) {
	r.pathOK = false
	var path [maxLevels]uint32
	t := h.tail
	for lv := r.nodes[t].level; lv > 0; lv-- {
		path[lv] = t
		t = r.nodes[t].val[0]
	}
	for lv := 1; ; lv++ { // a node emptied leaves its parent
		nd := &r.nodes[t]
		nd.removeFirst()
		if nd.n > 0 || t == h.tail {
			break
		}
		r.freeNode(t)
		t = path[lv]
	}
	for nd := &r.nodes[h.tail]; nd.level > 0 && nd.n == 1; nd = &r.nodes[h.tail] {
		old := h.tail
		h.tail = nd.val[0]
		r.nodes[h.tail].tail = nd.tail
		r.freeNode(old)
	}
}

// dropIndex frees h's index: h is walked again.
func (r *Reassembler) dropIndex(h *Half) {
	r.pathOK = false
	root := h.tail
	h.tail = r.nodes[root].tail
	h.flags &^= halfIndexed
	r.freeTree(root)
	for i := h.head; i != 0 && r.chunks[i].indexed; i = r.chunks[i].next {
		r.chunks[i].indexed = false
	}
}

// freeTree frees node t and its subtree. Recursion depth is the tree's height (maxLevels).
func (r *Reassembler) freeTree(t uint32) {
	if nd := &r.nodes[t]; nd.level > 0 {
		for _, c := range nd.val[:nd.n] {
			r.freeTree(c)
		}
	}
	r.freeNode(t)
}

// releaseIndex frees h's index and the chunks it names, and returns the first chunk it does
// not name. The chunks are read independently of each other, their cache misses overlapping.
func (r *Reassembler) releaseIndex(h *Half) uint32 {
	r.pathOK = false
	rest := h.head // (an index is empty only while place starts it)
	nd := &r.nodes[h.tail]
	for nd.level > 0 {
		nd = &r.nodes[nd.val[nd.n-1]]
	}
	if nd.n > 0 {
		rest = r.chunks[nd.val[nd.n-1]].next
	}
	r.releaseTree(h, h.tail)
	return rest
}

func (r *Reassembler) releaseTree(h *Half, t uint32) {
	nd := &r.nodes[t]
	for _, c := range nd.val[:nd.n] {
		if nd.level > 0 {
			r.releaseTree(h, c)
		} else {
			r.freeChunk(h, c)
		}
	}
	r.freeNode(t)
}

// allocNode returns an empty node, 0 if none is left.
func (r *Reassembler) allocNode() uint32 {
	t := r.nodeFree
	switch {
	case t != 0:
		r.nodeFree = r.nodes[t].val[0]
	case int(r.nodeFresh) < len(r.nodes):
		t = r.nodeFresh
		r.nodeFresh++
	default:
		return 0
	}
	r.nodesUsed++
	r.nodes[t] = node{}
	return t
}

func (r *Reassembler) freeNode(t uint32) {
	r.nodes[t].val[0] = r.nodeFree
	r.nodeFree = t
	r.nodesUsed--
}

func (r *Reassembler) nodesFree() int { return len(r.nodes) - 1 - r.nodesUsed }
