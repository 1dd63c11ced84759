// Package pcaps holds the golden test corpus: capture files, one directory per detector, each
// with a .expected file stating what the engine must report when it replays the capture with the
// default rules. The corpus is generated, never edited by hand; see README.md.
package pcaps

//go:generate go run ./gen
