// Package exampleaddr gives the examples their broker addresses: -addr when given (comma
// separated), else the broker's default Unix socket, the socket of a `./wirebus serve` started in
// the repository root, and its default TCP port, tried in turn.
package exampleaddr

import (
	"os"
	"path/filepath"
	"strings"

	wirebus "github.com/wirebus/wirebus-go"
)

// Addresses parses -addr, or gives the defaults.
func Addresses(flagValue string) []string {
	if strings.TrimSpace(flagValue) != "" {
		var out []string
		for _, a := range strings.Split(flagValue, ",") {
			if a = strings.TrimSpace(a); a != "" {
				out = append(out, a)
			}
		}
		return out
	}
	out := []string{wirebus.DefaultAddress()}
	if os.Getenv("WIREBUS_SOCKET") == "" {
		// `./wirebus serve` in the repository root, when this runs in clients/go
		if root, err := filepath.Abs(filepath.Join("..", "..", "wirebus.sock")); err == nil && "unix://"+root != out[0] {
			if _, err := os.Stat(root); err == nil {
				out = append(out, "unix://"+root)
			}
		}
	}
	return append(out, "tcp://127.0.0.1:7440")
}
