package sensor

import (
	"fmt"
	"os/user"
	"strconv"
	"syscall"
)

// dropPrivileges switches the process to the named user and its primary group, with no
// supplementary groups. The capture sockets and the alert file stay open; nothing later needs
// root. Go applies set*id to every thread of the process.
func dropPrivileges(name string, out *output) error {
	u, err := user.Lookup(name)
	if err != nil {
		return err
	}
	uid, err := strconv.Atoi(u.Uid)
	if err != nil {
		return fmt.Errorf("uid %q: %w", u.Uid, err)
	}
	gid, err := strconv.Atoi(u.Gid)
	if err != nil {
		return fmt.Errorf("gid %q: %w", u.Gid, err)
	}
	if out.f != nil {
		// The file must stay writable, and reopenable, by the user we become.
		if err := out.f.Chown(uid, gid); err != nil {
			return fmt.Errorf("chown %s: %w", out.path, err)
		}
		out.uid, out.gid = uid, gid
	}
	if err := syscall.Setgroups(nil); err != nil {
		return fmt.Errorf("setgroups: %w", err)
	}
	if err := syscall.Setgid(gid); err != nil {
		return fmt.Errorf("setgid %d: %w", gid, err)
	}
	if err := syscall.Setuid(uid); err != nil {
		return fmt.Errorf("setuid %d: %w", uid, err)
	}
	if syscall.Geteuid() != uid || syscall.Getegid() != gid {
		return fmt.Errorf("still uid %d gid %d after dropping", syscall.Geteuid(), syscall.Getegid())
	}
	return nil
}
