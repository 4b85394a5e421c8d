package rootfs

import (
	"path"

	"github.com/guestforge/guestforge/internal/fstree"
)

// stateRule is one kind of per-build state: a path (path.Match pattern, relative to
// the root) whose content depends on the machine or moment of the build, not on the
// inputs.
type stateRule struct {
	pattern string
	// logs applies the rule to regular files with content only: empty placeholders
	// (a package made /var/log/wtmp with the permissions its tools expect),
	// directories and symlinks under the pattern are package content.
	logs bool
	why  string
}

// stateRules remove what mmdebstrap leaves behind that is no input of the image. What
// is not listed was checked to be a function of the packages and SOURCE_DATE_EPOCH
// (the cache-disabled double build proves it): ld.so.cache, the dpkg database and
// /etc/shadow's change dates among them.
var stateRules = []stateRule{
	{pattern: "etc/resolv.conf", why: "the build container's resolver; the runtime provides one"},
	{pattern: "etc/hostname", why: "the build host's name; replaced by the overlay's or DefaultHostname"},
	{pattern: "var/lib/dbus/machine-id", why: "a machine identity; /etc/machine-id stays, empty"},
	{pattern: "etc/passwd-", why: "backup written by the account tools while installing"},
	{pattern: "etc/group-", why: "backup written by the account tools while installing"},
	{pattern: "etc/shadow-", why: "backup written by the account tools while installing"},
	{pattern: "etc/gshadow-", why: "backup written by the account tools while installing"},
	{pattern: "etc/subuid-", why: "backup written by the account tools while installing"},
	{pattern: "etc/subgid-", why: "backup written by the account tools while installing"},
	{pattern: "etc/ssh/ssh_host_*", why: "host keys are secrets of one machine"},
	{pattern: "var/lib/dpkg/*-old", why: "dpkg's previous database, written while installing"},
	{pattern: "var/cache/debconf/*-old", why: "debconf's previous database, written while installing"},
	{pattern: "var/cache/apt/*.bin", why: "apt's package cache"},
	{pattern: "var/cache/apt/archives/*.deb", why: "downloaded packages"},
	{pattern: "var/cache/apt/archives/partial/*", why: "downloads"},
	{pattern: "var/lib/apt/lists/*_*", why: "the mirror's indices at build time"},
	{pattern: "var/lib/apt/lists/partial/*", why: "downloads"},
	{pattern: "var/cache/ldconfig/aux-cache", why: "ldconfig's cache of host inode numbers and times"},
	{pattern: "var/lib/systemd/random-seed", why: "entropy of the build"},
	{pattern: "var/lib/systemd/credential.secret", why: "a secret of one machine"},
	{pattern: "var/log/*", logs: true, why: "logs of the build"},
	{pattern: "var/log/*/*", logs: true, why: "logs of the build"},
	{pattern: "tmp/*", why: "scratch files of the build"},
	{pattern: "var/tmp/*", why: "scratch files of the build"},
	{pattern: "root/.bash_history", why: "a shell history"},
}

// removeState drops what stateRules name and returns each removed path with its reason.
func removeState(t *fstree.Tree) ([]string, error) {
	var removed []string
	for _, e := range t.Entries() {
		if _, ok := t.Lookup(e.Path); !ok {
			continue // under a directory removed earlier in this loop
		}
		for _, r := range stateRules {
			if ok, _ := path.Match(r.pattern, e.Path); !ok {
				continue
			}
			if r.logs && (e.Kind != fstree.KindRegular || e.Size == 0) {
				break
			}
			if err := t.Remove(e.Path); err != nil {
				return nil, err
			}
			removed = append(removed, e.Path+" ("+r.why+")")
			break
		}
	}
	return removed, nil
}
