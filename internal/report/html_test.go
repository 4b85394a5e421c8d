package report

import (
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The page must work from file:// with no network: nothing is loaded from
// elsewhere, and every link it has points at a file that exists.
func TestPageSelfContainedAndLinksResolve(t *testing.T) {
	dir, r := buildFixture(t)
	// The page is written somewhere else than the dist directory, so links
	// have to climb out of its directory and into the dist tree.
	out := filepath.Join(t.TempDir(), "site", "index.html")
	if err := WriteHTML(r, HTMLOptions{Dist: dir, Out: out}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	page := string(data)
	for _, bad := range []string{"<script src", "<link", "@import", "url(", "http://", "https://", "//cdn"} {
		if strings.Contains(page, bad) {
			t.Errorf("page contains %q: it must not load anything from outside", bad)
		}
	}
	if !strings.Contains(page, "<style>") || !strings.Contains(page, "function sortBy(col)") {
		t.Error("stylesheet or script not inlined")
	}

	hrefs := regexp.MustCompile(`href="([^"]*)"`).FindAllStringSubmatch(page, -1)
	var artifacts, logs int
	for _, m := range hrefs {
		u, err := url.Parse(strings.ReplaceAll(m[1], "&amp;", "&"))
		if err != nil || u.Scheme != "" || u.Host != "" {
			t.Errorf("link %q is not a relative file link", m[1])
			continue
		}
		target := filepath.Join(filepath.Dir(out), filepath.FromSlash(u.Path))
		if _, err := os.Stat(target); err != nil {
			t.Errorf("link %q does not resolve: %v", m[1], err)
		}
		if strings.Contains(u.Path, "/logs/") {
			logs++
		} else {
			artifacts++
		}
	}
	// Every artifact on disk is linked; the failed and missing rows are not.
	if artifacts != r.Totals.Artifacts-r.Totals.Failed {
		t.Errorf("%d artifact links, want %d", artifacts, r.Totals.Artifacts-r.Totals.Failed)
	}
	// Four kernel files and the failed initrd carry a log link.
	if logs != 5 {
		t.Errorf("%d log links, want 5", logs)
	}

	// Charts: a bar per step and per artifact with a size, in the markup itself.
	for id, want := range map[string]int{"chart-durations": len(r.Steps), "chart-sizes": 16} {
		start := strings.Index(page, `id="`+id+`"`)
		end := strings.Index(page[start:], "</figure>")
		if n := strings.Count(page[start:start+end], `<rect class="bar"`); n != want {
			t.Errorf("%s has %d bars, want %d", id, n, want)
		}
	}
	// Values that must reach the page escaped, not as markup.
	if strings.Contains(page, "<b>") {
		t.Error("unescaped markup in page")
	}
}

func TestPageEscapesRecordText(t *testing.T) {
	dir := t.TempDir()
	writeDist(t, dir)
	rec := fixtureRecord()
	rec.Steps[5].Error = `<script>alert("x")</script>`
	r, err := Build(Options{Dist: dir, Record: rec})
	if err != nil {
		t.Fatal(err)
	}
	page, err := HTML(r, HTMLOptions{Dist: dir, Out: filepath.Join(dir, HTMLFile)})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(page), `<script>alert`) {
		t.Fatal("an error message from the build record was inserted as markup")
	}
	if !strings.Contains(string(page), `&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;`) {
		t.Error("the escaped error message is not on the page")
	}
}
