package changes

import (
	"context"
	"slices"
)

// Set is the change list of one release: the commits since the previous
// tag, grouped for display.
type Set struct {
	// Since is the tag the list starts after ("" = from the first commit).
	Since   string   `json:"since,omitempty"`
	Commits []Commit `json:"commits"`
	// Breaking lists the breaking changes again, for the top of the notes.
	Breaking []Commit `json:"-"`
	Areas    []Area   `json:"-"`
}

// Area is the changes of one area of the tree, by type.
type Area struct {
	Name  string
	Types []TypeGroup
}

// TypeGroup is the commits of one conventional-commit type.
type TypeGroup struct {
	Type    string
	Title   string
	Commits []Commit
}

// Since reads and groups the commits after tag since, up to HEAD.
func Since(ctx context.Context, repo, since string) (Set, error) {
	commits, err := Log(ctx, repo, since)
	if err != nil {
		return Set{}, err
	}
	return Group(since, commits), nil
}

// Group arranges commits (newest first, as git logs them) oldest first,
// by area in the order of Areas and by type in the order of typeTitles.
func Group(since string, commits []Commit) Set {
	s := Set{Since: since, Commits: commits}
	chrono := slices.Clone(commits)
	slices.Reverse(chrono)
	for _, name := range Areas {
		var area Area
		for _, tt := range typeTitles {
			var g []Commit
			for _, c := range chrono {
				if c.Area == name && c.Type == tt.Type {
					g = append(g, c)
				}
			}
			if len(g) > 0 {
				area.Types = append(area.Types, TypeGroup{Type: tt.Type, Title: tt.Title, Commits: g})
			}
		}
		if len(area.Types) > 0 {
			area.Name = name
			s.Areas = append(s.Areas, area)
		}
	}
	for _, c := range chrono {
		if c.Breaking {
			s.Breaking = append(s.Breaking, c)
		}
	}
	return s
}
