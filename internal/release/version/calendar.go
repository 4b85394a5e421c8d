package version

import "time"

// releaseDate is the release day of the given month, clamped to the month's
// length so that day 31 means "the last day" in a 30-day month and in February.
func releaseDate(year int, month time.Month, day int) time.Time {
	last := time.Date(year, month+1, 0, 0, 0, 0, 0, time.UTC).Day()
	if day > last {
		day = last
	}
	return time.Date(year, month, day, 0, 0, 0, 0, time.UTC)
}

// slotFor returns the most recent monthly release date on or before asOf, and
// the one after it. The slot is what a release made "now" belongs to: a
// release day that was missed stays due until its month has a release.
func slotFor(asOf time.Time, day int) (slot, next time.Time) {
	asOf = dateOnly(asOf)
	this := releaseDate(asOf.Year(), asOf.Month(), day)
	if !asOf.Before(this) {
		return this, releaseDate(asOf.Year(), asOf.Month()+1, day)
	}
	return releaseDate(asOf.Year(), asOf.Month()-1, day), this
}

// dateOnly truncates t to its UTC calendar day: release decisions are made per
// day, never per hour, so the same --as-of gives the same answer anywhere.
func dateOnly(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// monthStart is the first day of t's month.
func monthStart(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}
