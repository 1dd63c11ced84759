// Package prefetch asks the CPU to start loading a cache line that will be needed soon, so that
// a memory miss overlaps other work instead of stalling it. Go has no prefetch intrinsic; this
// is one instruction in assembly (amd64, arm64) and a no-op elsewhere.
package prefetch
