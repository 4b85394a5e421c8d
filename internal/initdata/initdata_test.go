package initdata

import (
	"bytes"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// kataAnnotation and kataDigest are Kata's own test vector
// (src/runtime/pkg/oci/utils_test.go at 7c6ba40c, the remote hypervisor
// case): the cc_init_data annotation and the InitdataDigest the runtime
// computes from it. testdata/kata_utils_test.toml is the decoded document.
const (
	kataAnnotation = "H4sIAFlC92cAAytLLSrOzM9TsFVQMtAz1DNQ4krMSc8vyizJyAWJFWckGpmaKXFFpySWJMZyKSUm6pXk5+YoAeXU1dW5QJhLKTklA4toQX5OZnKlXlFqej6yBABS/5JkcQAAAA=="
	kataDigest     = "c6694bb7a29d6f37ec72a15582e004b9f3142159682db8509a304407419a49e5"
)

func TestKataVector(t *testing.T) {
	doc, err := DecodeAnnotation(kataAnnotation)
	if err != nil {
		t.Fatal(err)
	}
	file, err := os.ReadFile(filepath.Join("testdata", "kata_utils_test.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(doc, file) || len(doc) != 113 {
		t.Fatalf("decoded annotation (%d bytes) differs from testdata/kata_utils_test.toml:\n%s", len(doc), doc)
	}
	// The padding rule of kbs/docs/initdata.md: SNP keeps the 32 bytes,
	// TDX's 48-byte MRCONFIGID and CCA's 64-byte value get zeros after them.
	zeros := strings.Repeat("00", 32)
	for platform, want := range map[string]string{
		"snp": kataDigest,
		"tdx": kataDigest + zeros[:32],
		"cca": kataDigest + zeros,
	} {
		got, err := FileDigest(filepath.Join("testdata", "kata_utils_test.toml"), platform)
		if err != nil {
			t.Fatal(err)
		}
		if h := hex.EncodeToString(got); h != want {
			t.Errorf("%s:\n got %s\nwant %s", platform, h, want)
		}
	}
	d, err := Parse(doc)
	if err != nil {
		t.Fatal(err)
	}
	if d.Version != "0.1.0" || d.Algorithm != "sha256" || len(d.Data) != 3 || d.Data["policy.rego"] != "" {
		t.Errorf("parsed %+v", d)
	}
}

// A sha384 document fills TDX's field exactly and is cut to 32 bytes for SNP.
func TestDigestWidths(t *testing.T) {
	src := []byte("algorithm = \"sha384\"\nversion = \"0.1.0\"\n\n[data]\nkey1 = \"value1\"\n")
	full := sha512.Sum384(src)
	for platform, want := range map[string][]byte{"tdx": full[:], "snp": full[:32], "cca": append(full[:], make([]byte, 16)...)} {
		got, err := Digest(src, platform)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: got %x, want %x", platform, got, want)
		}
	}
	if _, err := Digest(src, "sgx"); err == nil || !strings.Contains(err.Error(), "pass one of cca, se, snp, tdx") {
		t.Errorf("unknown platform: %v", err)
	}
}

func TestParseAcceptsTOMLStrings(t *testing.T) {
	src := "# initdata for a pod\r\n" +
		"version = '0.1.0' # literal\r\n" +
		"\"algorithm\"=\"sha\\u0032\\U00000035\\x36\"\n"
	if _, err := Parse([]byte(src)); err == nil || !strings.Contains(err.Error(), `line 3: unknown escape \x`) {
		t.Fatalf("\\x escape: %v", err)
	}
	src = "# initdata for a pod\r\n" +
		"version = '0.1.0' # literal\r\n" +
		"\"algorithm\"=\"sha\\u0032\\U000000356\"\n" +
		"other = \"ignored, as Kata ignores it\"\n" +
		"[ data ]\n" +
		"plain = \"a\\tb\\\"c\\\\\"\n" +
		"multi = \"\"\"\nline one\\\n    continued\nx\"\"\"\"\"\n" +
		"lit = '''\n'quoted' \\no escape''''\n" +
		"dotted.ok = \"no\"\n"
	_, err := Parse([]byte(src))
	if err == nil || !strings.Contains(err.Error(), "line 13: data.dotted is a table") {
		t.Fatalf("dotted data key: %v", err)
	}
	src = strings.TrimSuffix(src, "dotted.ok = \"no\"\n") + "'a.b' = \"\"\n"
	d, err := Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"plain": "a\tb\"c\\",
		"multi": "line onecontinued\nx\"\"",
		"lit":   "'quoted' \\no escape'",
		"a.b":   "",
	}
	if d.Algorithm != "sha256" || len(d.Data) != len(want) {
		t.Fatalf("parsed %+v", d)
	}
	for k, v := range want {
		if d.Data[k] != v {
			t.Errorf("data[%q] = %q, want %q", k, d.Data[k], v)
		}
	}
}

func TestParseErrorsNameTheLine(t *testing.T) {
	head := "version = \"0.1.0\"\nalgorithm = \"sha256\"\n"
	for _, tc := range []struct {
		name, src, want string
	}{
		{"version", "version = \"0.2.0\"\nalgorithm = \"sha256\"\n[data]\n", `line 1: version "0.2.0": Kata accepts only "0.1.0"`},
		{"hyphenated algorithm", "version = \"0.1.0\"\n\nalgorithm = \"sha-384\"\n[data]\n", `line 3: algorithm "sha-384"`},
		{"no data", head, "no [data] table"},
		{"no version", "algorithm = \"sha256\"\n[data]\n", "no version key"},
		{"number", head + "[data]\nx = 1\n", "line 4: the value of x (1) is not a string"},
		{"bool version", "version = true\n", "line 1: the value of version (true) is not a string"},
		{"array", head + "[data]\nx = [\"a\"]\n", "line 4: the value of x ([\"a\"]) is not a string"},
		{"inline table", head + "data = { a = \"b\" }\n", "line 3: the value of data is an inline table"},
		{"duplicate key", head + "[data]\na = ''\n\na = ''\n", "line 6: key a is already defined at line 4"},
		{"duplicate table", head + "[data]\n[data]\n", "line 4: table [data] is already defined at line 3"},
		{"array of tables", head + "[[data]]\n", "line 3: arrays of tables"},
		{"unterminated", head + "[data]\nx = \"abc\n", "line 4: unterminated string"},
		{"unterminated multi-line", head + "[data]\n\nx = '''\nabc\n", "line 5: unterminated multi-line literal string"},
		{"line after multi-line", head + "[data]\nx = '''\na\nb\n''' y\n", "line 7: unexpected \"y\" after the statement"},
		{"missing =", head + "[data]\nx \"a\"\n", "line 4: expected = after the key x"},
		{"no value", head + "[data]\nx =\n", "line 4: x has no value"},
		{"control character", head + "[data]\nx = \"a\x01\"\n", "line 4: control character 0x01"},
		{"bad unicode", head + "[data]\nx = \"\\uD800\"\n", `line 4: \uD800 is not a Unicode scalar value`},
		{"not utf-8", head + "[data]\n\nx = \"\xff\"\n", "line 5: the document is not UTF-8"},
		{"string as table", head + "[data]\na = ''\n[data.a]\n", "line 5: [data.a]: a is a string (line 4)"},
		{"nested data table", head + "[data.sub]\nk = ''\n", "line 3: data.sub is a table"},
		{"bad key", head + "[data]\n=x\n", "line 4: unexpected '=' where a key should be"},
		{"six quotes", head + "[data]\nx = '''a''''''\n", "line 4: 6 ' in a row"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.src))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v\nwant %q", err, tc.want)
			}
		})
	}
}

func TestFileDigestNamesFileAndLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "initdata.toml")
	if err := os.WriteFile(path, []byte("version = \"0.1.0\"\nalgorithm = \"md5\"\n[data]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := FileDigest(path, "snp")
	if err == nil || !strings.HasPrefix(err.Error(), path+":2: algorithm \"md5\"") {
		t.Errorf("got %v, want %s:2: ...", err, path)
	}
	if err := os.WriteFile(path, make([]byte, MaxSize+1), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := FileDigest(path, "snp"); err == nil || !strings.Contains(err.Error(), "the limit for an initdata document is 4 MiB") {
		t.Errorf("oversized: %v", err)
	}
}

func TestDecodeAnnotationRefuses(t *testing.T) {
	for s, want := range map[string]string{
		"not base64!":              "not standard base64",
		"aGVsbG8=":                 "not gzip data",
		kataAnnotation[:60] + "==": "",
	} {
		_, err := DecodeAnnotation(s)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want %q", s, err, want)
		}
	}
}

// FuzzParse holds that no document makes the parser panic or loop, and that
// an accepted one has the fields Kata requires.
func FuzzParse(f *testing.F) {
	seed, err := os.ReadFile(filepath.Join("testdata", "kata_utils_test.toml"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add([]byte("version = \"0.1.0\"\nalgorithm = \"sha512\"\n[data]\nx = \"\"\"\\\n a\\u00e9\"\"\"\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		d, err := Parse(src)
		if err == nil && (d.Version != Version || algorithms[d.Algorithm] == nil) {
			t.Fatalf("accepted %+v", d)
		}
		var de *DocumentError
		if errors.As(err, &de) && de.Line > bytes.Count(src, []byte("\n"))+1 {
			t.Fatalf("error at line %d of a %d-line document: %v", de.Line, bytes.Count(src, []byte("\n"))+1, err)
		}
	})
}
