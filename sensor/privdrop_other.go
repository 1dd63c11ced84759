//go:build !linux

package sensor

import "errors"

func dropPrivileges(string, *output) error {
	return errors.New("dropping privileges is supported on Linux only")
}
