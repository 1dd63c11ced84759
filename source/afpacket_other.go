//go:build !linux

package source

import "fmt"

func openAFPacket(cfg Config) ([]Source, error) {
	return nil, fmt.Errorf("source: --backend %s needs Linux: use --backend %s", BackendAFPacket, BackendPcap)
}
