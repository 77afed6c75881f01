package testpeer

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// AWSCLIv2Path is where Debian's awscli package (AWS CLI v2) installs aws.
const AWSCLIv2Path = "/usr/bin/aws"

// PythonEnv names an interpreter to use instead of python3 from PATH.
const PythonEnv = "CREDKIT_PYTHON"

// AWSCLIv2 returns the path of the AWS CLI v2 binary. It only accepts
// /usr/bin/aws reporting aws-cli/2: PATH is not searched because a pip
// installed AWS CLI v1 commonly shadows it there.
func AWSCLIv2(t testing.TB) string {
	t.Helper()
	path, err := awsCLIv2()
	if err != nil {
		missing(t, "AWS CLI v2", err.Error())
	}
	return path
}

var awsCLIv2 = sync.OnceValues(func() (string, error) {
	if _, err := os.Stat(AWSCLIv2Path); err != nil {
		return "", fmt.Errorf("%s not found (Debian package awscli)", AWSCLIv2Path)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, AWSCLIv2Path, "--version")
	cmd.Env = IsolatedAWSEnv()
	out, err := cmd.CombinedOutput()
	version := strings.TrimSpace(string(out))
	if err != nil {
		return "", fmt.Errorf("%s --version: %v: %s", AWSCLIv2Path, err, version)
	}
	if !strings.HasPrefix(version, "aws-cli/2") {
		return "", fmt.Errorf("%s is not AWS CLI v2: %q", AWSCLIv2Path, version)
	}
	return AWSCLIv2Path, nil
})

// Python returns the path of a python3 that can import botocore and boto3:
// $CREDKIT_PYTHON if set, else python3 from PATH.
func Python(t testing.TB) string {
	t.Helper()
	path, err := findPython()
	if err != nil {
		missing(t, "python3 with boto3 and botocore", err.Error())
	}
	return path
}

var findPython = sync.OnceValues(func() (string, error) {
	name := os.Getenv(PythonEnv)
	if name == "" {
		name = "python3"
	}
	path, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("%s not found: %v", name, err)
	}
	if err := pythonImports(path, "botocore", "boto3"); err != nil {
		return "", err
	}
	return path, nil
})

// pythonImports checks that python can import every module.
func pythonImports(python string, modules ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	script := "import " + strings.Join(modules, ", ")
	if _, err := runPython(ctx, python, script, IsolatedAWSEnv()); err != nil {
		return fmt.Errorf("%s cannot import %s: %v", python, strings.Join(modules, ", "), err)
	}
	return nil
}

// BotocoreSigV4a returns a python3 whose botocore signs SigV4a, which
// needs the AWS Common Runtime (awscrt): the AWS CLI v2's own interpreter,
// with its bundled botocore (awscli.botocore) and Debian's python3-awscrt,
// else Python's when its botocore has awscrt.
func BotocoreSigV4a(t testing.TB) string {
	t.Helper()
	path, err := findBotocoreSigV4a()
	if err != nil {
		missing(t, "botocore with awscrt (SigV4a signing)", err.Error())
	}
	return path
}

var findBotocoreSigV4a = sync.OnceValues(func() (string, error) {
	var whys []string
	if b, err := os.ReadFile(AWSCLIv2Path); err == nil {
		first, _, _ := strings.Cut(string(b), "\n")
		if py, ok := strings.CutPrefix(first, "#!"); ok {
			py = strings.TrimSpace(py)
			err := pythonImports(py, "awscrt", "awscli.botocore.crt.auth")
			if err == nil {
				return py, nil
			}
			whys = append(whys, err.Error())
		}
	} else {
		whys = append(whys, fmt.Sprintf("%s not found (Debian package awscli)", AWSCLIv2Path))
	}
	py, err := findPython()
	if err == nil {
		if err = pythonImports(py, "awscrt", "botocore.crt.auth"); err == nil {
			return py, nil
		}
	}
	whys = append(whys, err.Error())
	return "", fmt.Errorf("%s", strings.Join(whys, "; "))
})
