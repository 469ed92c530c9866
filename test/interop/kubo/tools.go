//go:build tools

// Package tools keeps `go mod tidy` from dropping the Kubo requirement: the module has no code of its
// own, the build target is github.com/ipfs/kubo/cmd/ipfs (whose main only calls this package).
package tools

import _ "github.com/ipfs/kubo/cmd/ipfs/kubo"
