package sbom

import "github.com/guestforge/guestforge/internal/manifest"

// AgentFromImage says what an image definition knows about its agent.
func AgentFromImage(img *manifest.Image) Agent {
	switch {
	case img.Agent.Bootprobe:
		return Agent{Name: "guestforge-bootprobe", DownloadLocation: "git+https://github.com/guestforge/guestforge#cmd/bootprobe"}
	case img.Agent.URL != "":
		return Agent{DownloadLocation: img.Agent.URL}
	}
	return Agent{}
}
