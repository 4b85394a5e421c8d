module github.com/guestforge/guestforge/ci

go 1.26.0

require (
	dagger.io/dagger v0.19.10
	github.com/guestforge/guestforge v0.0.0
)

replace github.com/guestforge/guestforge => ../
