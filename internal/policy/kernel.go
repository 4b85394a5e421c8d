package policy

import (
	"fmt"
	"slices"
	"strings"
)

// The kernel rule. kernel.org keeps a handful of longterm series alive for
// years and ships a patch release of each about weekly; distributions (our
// source is Debian's linux-source) trail the newest patch by a few releases.
// So N-<lag> counts longterm series, not patches:
//
//   - the pinned series must be listed in releases.json, not EOL, and
//     longterm or stable (mainline -rc and linux-next are not releases);
//   - a longterm series must be one of the newest lag+1 non-EOL longterm
//     series (lag 2: the three newest);
//   - a stable, non-longterm series passes with a warning, since it reaches
//     EOL within months;
//   - a pin older than its series' newest patch passes with a warning that
//     says how many patch releases it trails; a pin newer than the series'
//     newest release is a violation (a typo, or a stale feed).
func kernelVerdict(ver string, rels []KernelRelease, lag int) (verdict, error) {
	v := verdict{status: StatusOK}
	pinned, err := ParseToolchainVersion(ver)
	if err != nil {
		return v, fmt.Errorf("kernel: %w", err)
	}
	series := toolchainLine.minor(pinned)
	var lts []KernelRelease
	for _, r := range rels {
		if r.Moniker == MonikerLongterm && !r.EOL {
			lts = append(lts, r)
		}
	}
	if len(lts) == 0 {
		return v, fmt.Errorf("the kernel feed lists no live longterm series: is it releases.json?")
	}
	slices.SortFunc(lts, func(a, b KernelRelease) int { return b.Version.Compare(a.Version) })
	allowed := lts[:min(lag+1, len(lts))]
	allowedNames := make([]string, len(allowed))
	for i, r := range allowed {
		allowedNames[i] = r.Series()
	}
	v.floor = allowed[len(allowed)-1].Series()
	newestLTS := lts[0]

	var branch *KernelRelease
	var mainline bool
	for i, r := range rels {
		if toolchainLine.minor(r.Version) != series {
			continue
		}
		if r.Moniker == MonikerMainline {
			mainline = true
			continue
		}
		branch = &rels[i]
	}
	moveTo := fmt.Sprintf("move to a longterm series (%s) or add an exception with an expiry", strings.Join(allowedNames, ", "))
	if branch == nil {
		v.target = newestLTS.Raw
		if mainline {
			v.violate("kernel %s is in the mainline series %s, which has only release candidates: %s", ver, series, moveTo)
		} else {
			v.violate("kernel series %s is not listed on kernel.org (end of life): %s", series, moveTo)
		}
		return v, nil
	}
	v.latest = branch.Raw
	v.target = branch.Raw
	switch {
	case branch.EOL:
		v.target = newestLTS.Raw
		v.violate("kernel series %s reached end of life upstream (last release %s): %s", series, branch.Raw, moveTo)
		return v, nil
	case branch.Moniker == MonikerLongterm:
		idx := slices.IndexFunc(lts, func(r KernelRelease) bool { return r.Series() == branch.Series() })
		if idx > lag {
			v.violate("kernel %s is on longterm %s, the %s newest longterm series; N-%d allows %s: %s",
				ver, series, ordinal(idx+1), lag, strings.Join(allowedNames, ", "), moveTo)
			return v, nil
		}
		v.note("kernel %s is on longterm %s (N-%d allows %s)", ver, series, lag, strings.Join(allowedNames, ", "))
	default:
		v.warn("kernel %s is on the stable series %s, which is not longterm and reaches end of life within months: prefer longterm %s", ver, series, newestLTS.Series())
	}
	switch c := pinned.Compare(branch.Version); {
	case c > 0:
		v.violate("kernel %s is newer than %s's latest release %s: fix the pin or refresh the feed", ver, series, branch.Raw)
		return v, nil
	case c < 0:
		behind := toolchainLine.patch(branch.Version) - toolchainLine.patch(pinned)
		v.warn("%s trails %s by %s: update kernel version, url and sha256 together when the source (e.g. Debian's linux-source) has it",
			ver, branch.Raw, plural(int(behind), "patch release"))
	}
	if newestLTS.Series() != branch.Series() && branch.Moniker == MonikerLongterm {
		v.note("newer longterm series: %s (%s)", newestLTS.Series(), newestLTS.Raw)
	}
	return v, nil
}

func ordinal(n int) string {
	switch n {
	case 1:
		return "1st"
	case 2:
		return "2nd"
	case 3:
		return "3rd"
	}
	return fmt.Sprintf("%dth", n)
}
