package manifest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const imageBase = `distro: {name: debian, suite: bookworm}
variant: minbase
packages: [ca-certificates, iproute2]
init: agent
agent: {bootprobe: true}
files: files
delete: [/usr/share/doc]
budget: 64MiB
owners: {"/home/agent": "1000:1000"}
`

// writeImage writes images/<name>.yaml with an overlay directory beside it.
func writeImage(t *testing.T, name, body string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "images")
	if err := os.MkdirAll(filepath.Join(dir, "files"), 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name+".yaml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadImage(t *testing.T) {
	p := writeImage(t, "default", imageBase)
	img, err := LoadImage(p)
	if err != nil {
		t.Fatal(err)
	}
	if img.Name != "default" || img.Init != "agent" || !img.Agent.Bootprobe || img.BudgetBytes != 64<<20 {
		t.Errorf("image = %+v", img)
	}
	if want := filepath.Join(filepath.Dir(p), "files"); img.FilesDir != want {
		t.Errorf("FilesDir = %q, want %q", img.FilesDir, want)
	}
	if img.Owners["/home/agent"] != "1000:1000" || img.Distro.Suite != "bookworm" {
		t.Errorf("owners/distro = %v %+v", img.Owners, img.Distro)
	}
}

func TestLoadImageErrors(t *testing.T) {
	cases := []struct {
		name, old, new string
		want           string
	}{
		{"distro without suite", "{name: debian, suite: bookworm}", "{name: debian}", `default.yaml:1:9: distro: missing key "suite": add it, e.g. suite: bookworm`},
		{"packages empty", "[ca-certificates, iproute2]", "[]", `default.yaml:3:11: packages is empty: list at least one Debian package`},
		{"package not a string", "[ca-certificates, iproute2]", "[ca-certificates, {x: 1}]", `default.yaml:3:29: packages[1] must be a string, not a mapping`},
		{"bad init", "init: agent", "init: openrc", `default.yaml:4:7: init: "openrc" is not an init mode: write agent (the agent is PID 1) or systemd (systemd starts the agent)`},
		{"no agent source", "{bootprobe: true}", "{}", `default.yaml:5:8: agent names no source: set exactly one of path, url (+ sha256) or bootprobe: true`},
		{"two agent sources", "{bootprobe: true}", "{bootprobe: true, path: bin/agent}", `default.yaml:5:8: agent names 2 sources (path, bootprobe): keep exactly one`},
		{"url without sha256", "{bootprobe: true}", `{url: "https://example.org/agent"}`, `default.yaml:5:14: agent.url needs agent.sha256 so the download is pinned: add sha256: <64 hex>`},
		{"bootprobe false", "{bootprobe: true}", "{bootprobe: false, path: a}", `default.yaml:5:20: agent.bootprobe: false is not a source: remove the key, or set true to use cmd/bootprobe as the agent`},
		{"files dir missing", "files: files", "files: overlay", `default.yaml:6:8: files: overlay directory `},
		{"budget decimal unit", "budget: 64MiB", "budget: 64MB", `default.yaml:8:9: budget: "64MB" is not a size: write a positive whole number with KiB, MiB, GiB or TiB, e.g. "64MiB"`},
		{"owner not numeric", `"1000:1000"`, `"agent:agent"`, `default.yaml:9:25: owners./home/agent: "agent:agent" is not an owner: write numeric uid:gid, e.g. "1000:1000"`},
		{"owner path relative", `"/home/agent"`, `"home/agent"`, `default.yaml:9:10: owners: "home/agent" must be an absolute path inside the image`},
		{"name differs from file", "variant: minbase", "name: other\nvariant: minbase", `default.yaml:2:7: name "other" differs from the file name "default": remove name: or rename the file to other.yaml`},
		{"unknown key", "budget: 64MiB", "budjet: 64MiB", `default.yaml:8:1: image: unknown key "budjet": did you mean "budget"?`},
		{"bad variant", "variant: minbase", "variant: tiny", `default.yaml:2:10: variant: "tiny" is not an mmdebstrap variant: use one of extract, custom, essential, apt, required, minbase, buildd, important, debootstrap, standard`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(imageBase, tc.old) {
				t.Fatalf("test bug: %q not in imageBase", tc.old)
			}
			p := writeImage(t, "default", strings.Replace(imageBase, tc.old, tc.new, 1))
			_, err := LoadImage(p)
			if err == nil {
				t.Fatal("no error")
			}
			msg := strings.ReplaceAll(err.Error(), filepath.Dir(p)+string(filepath.Separator), "")
			if !strings.HasPrefix(msg, tc.want) || strings.Count(msg, "\n") != 0 {
				t.Errorf("error:\n%s\nwant one problem starting:\n%s", msg, tc.want)
			}
		})
	}
}

// TestCommittedImagesLoad validates every images/*.yaml of the repository,
// so a broken image definition fails here before any pipeline reads it.
func TestCommittedImagesLoad(t *testing.T) {
	files, err := filepath.Glob("../../images/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no images/*.yaml found (%v): the repository defines its guest images there", err)
	}
	for _, f := range files {
		img, err := LoadImage(f)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		if img.FilesDir == "" && img.Files != "" || img.BudgetBytes == 0 && img.Budget != "" {
			t.Errorf("%s: resolved fields missing: %+v", f, img)
		}
	}
}

// TestImageOverlayStaysInImages: files: is copied into every guest, so it must
// name a real directory below images/: not ../ out of it, not a link out of it.
// Each escape target exists, so only the containment rule can refuse it.
func TestImageOverlayStaysInImages(t *testing.T) {
	p := writeImage(t, "default", imageBase)
	images := filepath.Dir(p)
	repo := filepath.Dir(images)
	outside := t.TempDir()
	for _, d := range []string{filepath.Join(repo, "secrets"), filepath.Join(images, "files", "sub")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for link, target := range map[string]string{"etc-link": outside, "files-link": filepath.Join(images, "files")} {
		if err := os.Symlink(target, filepath.Join(images, link)); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct{ files, want string }{
		{"files/sub", ""},
		{"../secrets", `default.yaml:6:8: files: "../secrets" leaves ` + images + `: the overlay must be a directory below the image YAML's directory (e.g. files: default-files)`},
		{"files/../../secrets", `default.yaml:6:8: files: "files/../../secrets" leaves `},
		{".", `default.yaml:6:8: files: "." is ` + images + ` itself, which holds the image YAMLs: point files: at a directory below it`},
		{"etc-link", `default.yaml:6:8: files: etc-link is or passes through a symlink (to ` + outside + `): the overlay must be a real directory below ` + images + `; replace the link with the directory`},
		{"files-link", `default.yaml:6:8: files: files-link is or passes through a symlink (to files)`},
		{"/etc", `default.yaml:6:8: files: "/etc" must be relative to the image YAML`},
	} {
		t.Run(c.files, func(t *testing.T) {
			if err := os.WriteFile(p, []byte(strings.Replace(imageBase, "files: files", "files: "+c.files, 1)), 0o644); err != nil {
				t.Fatal(err)
			}
			img, err := LoadImage(p)
			if c.want == "" {
				if err != nil || img.FilesDir != filepath.Join(images, "files", "sub") {
					t.Fatalf("FilesDir %v, %v", img, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted, overlay %s; want %q", img.FilesDir, c.want)
			}
			// Paths below images/ are shown relative, as the other tests do.
			msg := strings.ReplaceAll(err.Error(), images+string(filepath.Separator), "")
			if !strings.HasPrefix(msg, c.want) {
				t.Fatalf("error:\n%s\nwant it to start:\n%s", msg, c.want)
			}
		})
	}
}
