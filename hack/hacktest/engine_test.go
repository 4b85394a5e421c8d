package hacktest

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sourceEngine is the preamble of a bash -c script that calls engine.sh's functions. Once
// sourced, the script's stdout is its stderr (engine.sh keeps stdout for export lines):
// results go to fd 3.
const sourceEngine = ". hack/airgap/engine.sh\n"

// A host, or here a namespace, where the engine never ran has no bridge and no CNI rule:
// cleanup_network must find nothing, say nothing and succeed.
func TestCleanupNetworkInEmptyNamespace(t *testing.T) {
	requireNetns(t)
	_, env := engineDir(t)
	res := run(t, env, "unshare", "-n", "bash", "-c", sourceEngine+"cleanup_network\necho cleaned >&3\n")
	if res.code != 0 || res.stdout != "cleaned\n" || res.stderr != "" {
		t.Errorf("cleanup_network in an empty network namespace: exit %d, stdout %q, stderr %q; want exit 0, %q and no message",
			res.code, res.stdout, res.stderr, "cleaned\n")
	}
}

// networkState prints, to fd 3, what cleanup_network may change: the dagger0 link (or
// "no dagger0") and the filter and nat tables.
const networkState = `state() {
	echo "== $1" >&3
	ip -o link show dagger0 >/dev/null 2>&1 && echo "dagger0 present" >&3 || echo "no dagger0" >&3
	iptables -t filter -S >&3
	iptables -t nat -S >&3
}
`

// Someone else's rules and chain, which cleanup_network must leave alone.
const foreignRules = `
iptables -t filter -A INPUT -s 192.0.2.1/32 -j DROP
iptables -t nat -A POSTROUTING -s 192.0.2.0/24 -j MASQUERADE
iptables -t filter -N KEEP-ME
iptables -t filter -A KEEP-ME -s 198.51.100.0/24 -j ACCEPT
`

// What the engine's CNI config (bridge with ipMasq, firewall plugin) leaves behind.
const cniLeftovers = `
ip link add dagger0 type bridge
iptables -t nat -N CNI-0123456789abcdef01234567
iptables -t nat -A POSTROUTING -s 10.87.0.5/32 -m comment --comment 'name: "dagger" id: "a b"' -j CNI-0123456789abcdef01234567
iptables -t nat -A CNI-0123456789abcdef01234567 -d 10.87.0.0/16 -m comment --comment 'name: "dagger" id: "a b"' -j ACCEPT
iptables -t nat -A CNI-0123456789abcdef01234567 ! -d 224.0.0.0/4 -m comment --comment 'name: "dagger" id: "a b"' -j MASQUERADE
iptables -t filter -N CNI-FORWARD
iptables -t filter -N CNI-ADMIN
iptables -t filter -A FORWARD -m comment --comment "CNI firewall plugin rules" -j CNI-FORWARD
iptables -t filter -A CNI-FORWARD -m comment --comment "CNI firewall plugin admin overrides" -j CNI-ADMIN
iptables -t filter -A CNI-FORWARD -d 10.87.0.5/32 -j ACCEPT
iptables -t filter -A FORWARD -o dagger0 -j ACCEPT
`

func TestCleanupNetworkRemovesBridgeAndCNIRules(t *testing.T) {
	requireNetns(t)
	_, env := engineDir(t)
	script := sourceEngine + networkState + foreignRules + "state before\n" + cniLeftovers + "state leftovers\n" +
		"cleanup_network\nstate after\n"
	res := run(t, env, "unshare", "-n", "bash", "-c", script)
	if res.code != 0 || res.stderr != "" {
		t.Fatalf("exit %d, stderr %q; want exit 0 and no message\nstdout:\n%s", res.code, res.stderr, res.stdout)
	}
	states := map[string]string{}
	for _, part := range strings.Split(res.stdout, "== ")[1:] {
		name, body, _ := strings.Cut(part, "\n")
		states[name] = body
	}
	for _, want := range []string{"dagger0 present", "-N CNI-FORWARD", "-N CNI-0123456789abcdef01234567", `--comment "name: \"dagger\" id: \"a b\""`, "-o dagger0"} {
		if !strings.Contains(states["leftovers"], want) {
			t.Fatalf("the leftovers were not set up (no %q):\n%s", want, states["leftovers"])
		}
	}
	if !strings.Contains(states["before"], "no dagger0\n") || !strings.Contains(states["before"], "-A KEEP-ME -s 198.51.100.0/24 -j ACCEPT") {
		t.Fatalf("unexpected state before the leftovers:\n%s", states["before"])
	}
	if states["after"] != states["before"] {
		t.Errorf("cleanup_network left the namespace as\n%s\nwant it as before the engine ran:\n%s", states["after"], states["before"])
	}
}

func TestEngineStopWithoutEngine(t *testing.T) {
	requireNetns(t)
	dir, env := engineDir(t)
	res := run(t, env, "unshare", "-n", "bash", "hack/airgap/engine.sh", "stop")
	if res.code != 0 || res.stdout != "" || res.stderr != "" {
		t.Errorf("engine.sh stop with no engine in %s: exit %d, stdout %q, stderr %q; want exit 0 and no output", dir, res.code, res.stdout, res.stderr)
	}
}

func TestEngineStatusNotProvisioned(t *testing.T) {
	dir, env := engineDir(t)
	res := run(t, env, "bash", "hack/airgap/engine.sh", "status")
	if res.code != 3 || res.stdout != "stopped (not provisioned)\n" || res.stderr != "" {
		t.Errorf("engine.sh status with nothing in %s: exit %d, stdout %q, stderr %q; want exit 3, %q and no message",
			dir, res.code, res.stdout, res.stderr, "stopped (not provisioned)\n")
	}
}

func TestEngineUnknownCommand(t *testing.T) {
	_, env := engineDir(t)
	res := run(t, env, "bash", "hack/airgap/engine.sh", "stat")
	const first = "engine.sh: error: unknown command 'stat'\nhack/airgap/engine.sh: a Dagger engine on a host"
	if res.code != 2 || res.stdout != "" || !strings.HasPrefix(res.stderr, first) || !strings.Contains(res.stderr, "engine.sh status ") {
		t.Errorf("engine.sh stat: exit %d, stdout %q, stderr %q; want exit 2 and stderr starting %q, then the usage", res.code, res.stdout, res.stderr, first)
	}
}

// writeOCIArchive writes an OCI archive holding just index.json to ROOT/images/gosdk.oci.tar.
func writeOCIArchive(t *testing.T, root, index string) string {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: "index.json", Mode: 0o644, Size: int64(len(index))}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write([]byte(index)); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	img := filepath.Join(root, "images", "gosdk.oci.tar")
	if err := os.MkdirAll(filepath.Dir(img), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(img, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return img
}

func TestGosdkDigest(t *testing.T) {
	const digest = "sha256:5f0c3a8e0f1b2c4d6e8f90123456789abcdef0123456789abcdef0123456789a"
	t.Run("read from index.json", func(t *testing.T) {
		dir, env := engineDir(t)
		writeOCIArchive(t, dir, `{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"`+digest+`","size":1234}]}`)
		res := runBash(t, env, sourceEngine+"gosdk_digest >&3\n")
		if res.code != 0 || res.stdout != digest+"\n" || res.stderr != "" {
			t.Errorf("exit %d, stdout %q, stderr %q; want exit 0, %q", res.code, res.stdout, res.stderr, digest+"\n")
		}
		memo, err := os.ReadFile(filepath.Join(dir, "images", "gosdk.digest"))
		if err != nil || string(memo) != digest+"\n" {
			t.Errorf("images/gosdk.digest: %q, %v; want %q", memo, err, digest+"\n")
		}
	})
	t.Run("no image", func(t *testing.T) {
		_, env := engineDir(t)
		res := runBash(t, env, sourceEngine+"gosdk_digest >&3\necho empty >&3\n")
		if res.code != 0 || res.stdout != "empty\n" || res.stderr != "" {
			t.Errorf("exit %d, stdout %q, stderr %q; want exit 0 and nothing printed", res.code, res.stdout, res.stderr)
		}
	})
	t.Run("index.json without a digest", func(t *testing.T) {
		dir, env := engineDir(t)
		img := writeOCIArchive(t, dir, `{"schemaVersion":2,"manifests":[]}`)
		res := runBash(t, env, sourceEngine+"gosdk_digest >&3\n")
		want := "engine.sh: error: " + img + " has no manifest digest in its index.json: remove it and run '" +
			enginePath(t) + " provision' to rebuild it\n"
		if res.code != 1 || res.stdout != "" || res.stderr != want {
			t.Errorf("exit %d, stdout %q, stderr %q; want exit 1 and stderr %q", res.code, res.stdout, res.stderr, want)
		}
	})
}
