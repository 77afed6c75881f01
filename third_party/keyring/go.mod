module github.com/99designs/keyring

go 1.19

require (
	github.com/99designs/go-keychain v0.0.0-20191008050251-8e49817e8af4
	github.com/danieljoos/wincred v1.1.2
	github.com/dvsekhvalnov/jose2go v1.5.0
	github.com/godbus/dbus v0.0.0-20190726142602-4481cbc300e2
	github.com/gsterjov/go-libsecret v0.0.0-20161001094733-a6f4afe4910c
	github.com/mtibben/percent v0.2.1
	golang.org/x/sys v0.3.0
	golang.org/x/term v0.3.0
)
