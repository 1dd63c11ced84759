// Command gen writes the golden test corpus in pcaps/: capture files and, next to each, the
// .expected file stating what the engine must report when it replays the capture with the
// default rules. Expectations are declared where each packet is built, from what the packet was
// made to contain; they never come from running the engine. Output is byte-identical on every
// run, so the committed corpus can be checked against a fresh generation (gen_test.go).
//
// Usage: go run ./pcaps/gen [-out DIR]   (or go generate ./pcaps)
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/gopacket/gopacket/layers"
)

func main() {
	out := flag.String("out", defaultOut(), "corpus directory to write (default: the pcaps directory)")
	flag.Parse()
	if *out == "" {
		log.Fatal("cannot locate the pcaps directory: pass -out")
	}
	files, err := generate(*out)
	if err != nil {
		log.Fatal(err)
	}
	for _, f := range stale(*out, files) {
		fmt.Fprintf(os.Stderr, "gen: %s is not generated any more: delete it\n", f)
	}
}

// defaultOut finds the pcaps directory: the parent of this source file's directory, or, when
// the binary was built with -trimpath, from the working directory as go run and go generate
// leave it.
func defaultOut() string {
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		return filepath.Dir(filepath.Dir(file))
	}
	for _, d := range []string{".", "pcaps"} {
		if _, err := os.Stat(filepath.Join(d, "gen", "main.go")); err == nil {
			return d
		}
	}
	return ""
}

// corpus lists every capture, in the order the README tables list them.
func corpus() []*capture {
	return slices.Concat(landCases(), pmtuCases(), optionCases(), rstCases(), connResetCases(), fragCases(), smbCases(), messengerCases(), msmqCases(), dcomCases(), nntpCases(), benignCases(), hostileCases())
}

func newCapture(path string, lt layers.LinkType, l link, what, why string) *capture {
	return &capture{path: path, lt: lt, l: l, what: what, why: why}
}

// generate writes every capture and .expected file under out and returns their slash-separated
// paths relative to out. Files whose content is unchanged are not rewritten.
func generate(out string) ([]string, error) {
	var files []string
	seen := map[string]bool{}
	for _, c := range corpus() {
		if seen[c.path] {
			return nil, fmt.Errorf("duplicate capture %s", c.path)
		}
		seen[c.path] = true
		data, err := c.encode()
		if err != nil {
			return nil, err
		}
		exp := strings.TrimSuffix(strings.TrimSuffix(c.path, ".pcapng"), ".pcap") + ".expected"
		for _, f := range []struct {
			path string
			data []byte
		}{{c.path, data}, {exp, c.expected()}} {
			if err := writeIfChanged(filepath.Join(out, filepath.FromSlash(f.path)), f.data); err != nil {
				return nil, err
			}
			files = append(files, f.path)
		}
	}
	return files, nil
}

func writeIfChanged(path string, data []byte) error {
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}

// isCorpusFile reports whether a file name is one the generator owns.
func isCorpusFile(name string) bool {
	switch filepath.Ext(name) {
	case ".pcap", ".pcapng", ".expected":
		return true
	}
	return false
}

// corpusFiles lists the capture and .expected files under dir (slash-separated, relative),
// skipping the generator's own directory.
func corpusFiles(dir string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "gen" && p != dir {
			return filepath.SkipDir
		}
		if !d.IsDir() && isCorpusFile(d.Name()) {
			rel, err := filepath.Rel(dir, p)
			if err != nil {
				return err
			}
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return files, err
}

// stale lists corpus files under out that this generator no longer writes.
func stale(out string, generated []string) []string {
	all, err := corpusFiles(out)
	if err != nil {
		return nil
	}
	var old []string
	for _, f := range all {
		if !slices.Contains(generated, f) {
			old = append(old, f)
		}
	}
	return old
}
