package dbproxy

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/goccy/go-yaml"
)

// Config is a --config file: several targets, one listener each.
//
//	max_connections: 200
//	health: 127.0.0.1:9801
//	metrics: true
//	drain: 30s
//	targets:
//	  - host: orders.abc123.eu-west-1.rds.amazonaws.com
//	    port: 5432
//	    user: app
//	    listen: 127.0.0.1:6432
//	  - host: billing.abc123.eu-west-1.rds.amazonaws.com
//	    port: 5432
//	    user: report
//	    listen: unix:/run/credkit
//	    local_password_file: /run/secrets/local-db-password
type Config struct {
	Targets        []TargetConfig `yaml:"targets"`
	Health         string         `yaml:"health"`
	Metrics        bool           `yaml:"metrics"`
	MaxConnections int            `yaml:"max_connections"`
	Drain          string         `yaml:"drain"`
}

// TargetConfig is one target of a Config; empty fields take the command
// line's values.
type TargetConfig struct {
	Engine            string `yaml:"engine"`
	Host              string `yaml:"host"`
	Port              int    `yaml:"port"`
	User              string `yaml:"user"`
	Region            string `yaml:"region"`
	CABundle          string `yaml:"ca_bundle"`
	Listen            string `yaml:"listen"`
	LocalPasswordFile string `yaml:"local_password_file"`
}

// LoadConfig reads and checks a config file. Errors name the file and,
// where the YAML parser knows it, the line.
func LoadConfig(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	var c Config
	if err := yaml.UnmarshalWithOptions(b, &c, yaml.DisallowUnknownField()); err != nil {
		return nil, fmt.Errorf("config %s: %s", path, firstLine(yaml.FormatError(err, false, false)))
	}
	if len(c.Targets) == 0 {
		return nil, fmt.Errorf("config %s: no targets (add a list under targets:, each with host, port and user)", path)
	}
	for i, t := range c.Targets {
		if t.Host == "" {
			return nil, fmt.Errorf("config %s: targets[%d] has no host", path, i)
		}
		if t.Port < 0 || t.Port > 65535 {
			return nil, fmt.Errorf("config %s: targets[%d] port %d is not 1 to 65535", path, i, t.Port)
		}
	}
	if c.MaxConnections < 0 {
		return nil, fmt.Errorf("config %s: max_connections %d is negative", path, c.MaxConnections)
	}
	return &c, nil
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

// ReadLocalPassword reads a local password file: its first line. The file
// must not be readable by others, as the password lets anyone who reaches
// the listener log in.
func ReadLocalPassword(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("local password file: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("local password file %s is readable by others (mode %04o); chmod 600 it", path, fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("local password file: %w", err)
	}
	pw, _, _ := strings.Cut(string(b), "\n")
	pw = strings.TrimSuffix(pw, "\r")
	if pw == "" {
		return "", errors.New("local password file " + path + " is empty; write the password on its first line")
	}
	// PostgreSQL clients prove a password after SASLprep (RFC 4013), which
	// leaves printable ASCII alone and may change anything else.
	for i := 0; i < len(pw); i++ {
		if pw[i] < 0x20 || pw[i] > 0x7e {
			return "", fmt.Errorf("local password file %s: byte %d of the password is not printable ASCII; clients normalise such passwords (SASLprep) before proving them, so choose a password of printable ASCII characters", path, i+1)
		}
	}
	return pw, nil
}
