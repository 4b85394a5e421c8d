// Package session opens the Dagger session every guestforge pipeline runs in.
//
// It is its own small package so that tools which only need a session (the air-gapped
// engine's provisioning) do not depend on the pipeline packages.
package session

import (
	"context"
	"fmt"
	"io"
	"os"

	"dagger.io/dagger"
)

// Connect opens a session with the engine the environment names: inside `dagger call` the
// module's own session, else _EXPERIMENTAL_DAGGER_RUNNER_HOST (hack/airgap) or the stock
// engine the dagger CLI starts. Engine progress is written to logOut (nil: discarded).
func Connect(ctx context.Context, logOut io.Writer) (*dagger.Client, error) {
	var opts []dagger.ClientOpt
	if logOut != nil {
		opts = append(opts, dagger.WithLogOutput(logOut))
	}
	c, err := dagger.Connect(ctx, opts...)
	if err != nil {
		hint := ""
		if os.Getenv("DAGGER_SESSION_PORT") == "" && os.Getenv("_EXPERIMENTAL_DAGGER_RUNNER_HOST") == "" {
			hint = `; on a host without docker, start an engine first: eval "$(hack/airgap/engine.sh ensure)"`
		}
		return nil, fmt.Errorf("connect to the Dagger engine: %w%s", err, hint)
	}
	return c, nil
}
