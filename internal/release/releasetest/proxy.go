package releasetest

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
)

// Hook sees every request through a Proxy before it is forwarded. It may
// answer itself (return true), rewrite r (its body, headers) and return
// false to forward it, or wrap the response via the returned ResponseWriter.
type Hook func(w http.ResponseWriter, r *http.Request) (handled bool)

// Proxy is a reverse proxy in front of a registry, on 127.0.0.1, for
// injecting faults: failed requests, cut uploads, corrupted downloads.
// It returns the proxy's host:port.
func Proxy(t testing.TB, upstream string, hook Hook) string {
	t.Helper()
	target, err := url.Parse("http://" + upstream)
	if err != nil {
		t.Fatal(err)
	}
	rp := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(target)
		// The registry builds upload Location URLs from the Host it is
		// asked for; keep the client's so the next request comes through
		// us again.
		pr.Out.Host = pr.In.Host
	}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hook != nil && hook(w, r) {
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}
