// Package capture reads pcap and pcapng capture files without copying or
// allocating per packet.
//
// A File recognises its format from the first bytes, never from the name:
// classic pcap in all four variants (microsecond or nanosecond timestamps,
// either byte order) and pcapng (any number of sections, either byte order,
// any number of interfaces with their own link types and timestamp units).
// A gzip-compressed file (first bytes 1f 8b) is decompressed on the fly and
// the inner format is recognised from the decompressed bytes.
//
// Invariants:
//
//   - Zero copy: the data returned by Next is a slice of the File's read
//     buffer. It stays valid until the Next call after the next one (a
//     pipeline may hold one packet while it reads the next) or Close; a
//     caller that keeps a packet longer must copy it. Its capacity is clipped
//     to its length, so appending to it never overwrites the buffer.
//   - No allocation per packet: the two buffers that refills take turns with
//     (1 MiB each, or the size of a smaller plain file) are allocated once
//     and grow only when a single record needs more, never beyond MaxRecord
//     plus 64 KiB for a pcapng block's header and options. Blocks we skip
//     are streamed, whatever their size. (A gzip file adds compress/flate's
//     own occasional per-deflate-block allocations.)
//   - Lengths from the file are never trusted for allocation: a record that
//     claims more than MaxRecord bytes is rejected unread, and the buffer
//     grows past its first size only once it is full of bytes actually read.
//   - Offsets (File.Offset, FormatError.Offset) count bytes of the
//     decompressed stream. For a plain file that is the file offset; for a
//     gzip file it is the offset in the uncompressed capture, which is what
//     tools like tcpdump or Wireshark would show after gunzip.
//   - A broken file yields a *FormatError naming the file, the offset where
//     the bad record or block starts and the 1-based number of the packet
//     record being read (0 for the file header; in pcapng, a broken
//     non-packet block counts as part of the next packet's record). Once
//     Next has returned an error (io.EOF included) it returns the same error
//     again. I/O errors that are not about the format (a failing disk) are
//     returned wrapped, not as a *FormatError; a damaged gzip stream is a
//     broken file.
//
// Leniency, on purpose: pcap records whose captured length exceeds the wire
// length or the snap length are returned as they are (writers get this
// wrong and the decoder copes), and pcap/pcapng minor versions are not
// checked.
package capture
