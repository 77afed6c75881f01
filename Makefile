# credkit developer tasks. `make test` installs missing test peers first.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := test

GO ?= go
PYTHON ?= python3
TEST_TIMEOUT ?= 30m

# Pinned MinIO (a Go module version of github.com/minio/minio). Keep in sync
# with MinIOVersion in internal/testpeer; a test checks that they match.
MINIO_VERSION := v0.0.0-20260212201848-7aac2a2c5b7c
MINIO_DIR := $(HOME)/.cache/credkit/peers/minio-$(MINIO_VERSION)
MINIO_BIN := $(MINIO_DIR)/minio

# Pinned aws-vault, the store that vault.OpenAWSVault imports from. Keep in
# sync with AWSVaultVersion in internal/testpeer.
AWSVAULT_VERSION := v7.2.0
AWSVAULT_DIR := $(HOME)/.cache/credkit/peers/aws-vault-$(AWSVAULT_VERSION)
AWSVAULT_BIN := $(AWSVAULT_DIR)/aws-vault
AWSVAULT_MODULE := github.com/99designs/aws-vault/v7
AWSVAULT_LDFLAGS := -X main.Version=$(AWSVAULT_VERSION)

# apt-get needs root; use sudo when not running as root.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: install bench-server bench-exec deps deps-awscli deps-minio deps-python deps-awsvault deps-vault deps-db deps-iamsim deps-chromium deps-firefox test bench bench-policy bench-process bench-config bench-dbproxy fuzz-seeds vet

## deps: install the test peers that are missing (idempotent).
deps: deps-awscli deps-minio deps-python deps-awsvault deps-vault deps-db deps-iamsim deps-chromium deps-firefox

# AWS CLI v2 from Debian's awscli package, at /usr/bin/aws. A pip-installed
# v1 earlier on PATH does not count, so only /usr/bin/aws is checked.
deps-awscli:
	@if ! /usr/bin/aws --version 2>/dev/null | grep -q '^aws-cli/2'; then \
		echo "deps: installing AWS CLI v2 (Debian package awscli)"; \
		export DEBIAN_FRONTEND=noninteractive; \
		$(SUDO) apt-get update -qq </dev/null; \
		$(SUDO) apt-get install -y -qq --no-install-recommends awscli </dev/null; \
		if ! /usr/bin/aws --version 2>/dev/null | grep -q '^aws-cli/2'; then \
			echo "deps: /usr/bin/aws is not AWS CLI v2 after installing awscli" >&2; exit 1; \
		fi; \
	fi

deps-minio:
	@if [ ! -x "$(MINIO_BIN)" ]; then \
		echo "deps: building MinIO $(MINIO_VERSION) into $(MINIO_DIR) (takes a few minutes)"; \
		mkdir -p "$(MINIO_DIR)"; \
		GOBIN="$(MINIO_DIR)" GOFLAGS= $(GO) install github.com/minio/minio@$(MINIO_VERSION); \
	fi

# go install first; when it fails (some module proxies refuse the version
# list that go install reads to check for deprecation) build from the module
# download instead. -X main.Version makes `aws-vault --version` report it.
deps-awsvault:
	@if [ ! -x "$(AWSVAULT_BIN)" ]; then \
		echo "deps: building aws-vault $(AWSVAULT_VERSION) into $(AWSVAULT_DIR)"; \
		mkdir -p "$(AWSVAULT_DIR)"; \
		if ! GOBIN="$(AWSVAULT_DIR)" GOFLAGS= $(GO) install -ldflags "$(AWSVAULT_LDFLAGS)" $(AWSVAULT_MODULE)@$(AWSVAULT_VERSION); then \
			echo "deps: go install failed; building aws-vault from its module download instead"; \
			src=$$(cd "$(AWSVAULT_DIR)" && GOFLAGS= $(GO) mod download -json $(AWSVAULT_MODULE)@$(AWSVAULT_VERSION) \
				| sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$$/\1/p'); \
			if [ -z "$$src" ]; then echo "deps: go mod download $(AWSVAULT_MODULE)@$(AWSVAULT_VERSION) failed" >&2; exit 1; fi; \
			(cd "$$src" && GOFLAGS= GOWORK=off $(GO) build -trimpath -ldflags "$(AWSVAULT_LDFLAGS)" -o "$(AWSVAULT_BIN)" .); \
		fi; \
	fi

# pass and gpg (Debian packages pass, gnupg) for the vault's pass backend
# tests; gnome-keyring-daemon and dbus-daemon (Debian packages gnome-keyring,
# dbus) for its secret-service backend tests, which start both on a private
# session bus.
deps-vault:
	@pkgs=""; \
	command -v pass >/dev/null 2>&1 || pkgs="$$pkgs pass"; \
	command -v gpg >/dev/null 2>&1 || pkgs="$$pkgs gnupg"; \
	command -v gnome-keyring-daemon >/dev/null 2>&1 || pkgs="$$pkgs gnome-keyring"; \
	[ -x /usr/bin/dbus-daemon ] || command -v dbus-daemon >/dev/null 2>&1 || pkgs="$$pkgs dbus"; \
	if [ -n "$$pkgs" ]; then \
		echo "deps: installing Debian packages:$$pkgs"; \
		export DEBIAN_FRONTEND=noninteractive; \
		$(SUDO) apt-get update -qq </dev/null; \
		$(SUDO) apt-get install -y -qq --no-install-recommends $$pkgs </dev/null; \
	fi

# The fake RDS peers (internal/testpeer): PostgreSQL and MariaDB servers and
# clients (Debian packages postgresql, mariadb-server, mariadb-client), and
# gcc with libpam0g-dev to build their PAM module at test time.
deps-db:
	@pkgs=""; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || pkgs="$$pkgs postgresql"; \
	command -v psql >/dev/null 2>&1 || pkgs="$$pkgs postgresql-client"; \
	command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] || pkgs="$$pkgs mariadb-server"; \
	command -v mariadb >/dev/null 2>&1 || pkgs="$$pkgs mariadb-client"; \
	command -v gcc >/dev/null 2>&1 || pkgs="$$pkgs gcc libc6-dev"; \
	[ -f /usr/include/security/pam_modules.h ] || pkgs="$$pkgs libpam0g-dev"; \
	command -v socat >/dev/null 2>&1 || pkgs="$$pkgs socat"; \
	if [ -n "$$pkgs" ]; then \
		echo "deps: installing Debian packages:$$pkgs"; \
		export DEBIAN_FRONTEND=noninteractive; \
		$(SUDO) apt-get update -qq </dev/null; \
		$(SUDO) apt-get install -y -qq --no-install-recommends $$pkgs </dev/null; \
	fi

# @cloud-copilot/iam-simulate (AGPL, run only as a separate node program by
# the policy package's differential tests), pinned by the test-only npm
# project in $(IAMSIM_DIR); node and npm from Debian when missing.
IAMSIM_DIR := policy/testdata/iamsim
deps-iamsim:
	@if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then \
		echo "deps: installing Debian packages nodejs npm"; \
		export DEBIAN_FRONTEND=noninteractive; \
		$(SUDO) apt-get update -qq </dev/null; \
		$(SUDO) apt-get install -y -qq --no-install-recommends nodejs npm </dev/null; \
	fi
	@if ! grep -qs '"version": "$(shell sed -n 's/.*"@cloud-copilot\/iam-simulate": "\(.*\)".*/\1/p' $(IAMSIM_DIR)/package.json)"' "$(IAMSIM_DIR)/node_modules/@cloud-copilot/iam-simulate/package.json"; then \
		echo "deps: installing @cloud-copilot/iam-simulate into $(IAMSIM_DIR) (npm ci)"; \
		(cd "$(IAMSIM_DIR)" && npm ci --no-audit --no-fund --loglevel=error); \
	fi

# Headless Chromium (Debian package chromium) for the browser side of
# console sign-in and SSO tests.
deps-chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
		echo "deps: installing Chromium (Debian package chromium)"; \
		export DEBIAN_FRONTEND=noninteractive; \
		$(SUDO) apt-get update -qq </dev/null; \
		$(SUDO) apt-get install -y -qq --no-install-recommends chromium </dev/null; \
	fi

# Headless Firefox (Debian package firefox-esr) for the Firefox side of
# console sign-in tests.
deps-firefox:
	@if [ ! -x /usr/bin/firefox-esr ]; then \
		echo "deps: installing Firefox (Debian package firefox-esr)"; \
		export DEBIAN_FRONTEND=noninteractive; \
		$(SUDO) apt-get update -qq </dev/null; \
		$(SUDO) apt-get install -y -qq --no-install-recommends firefox-esr </dev/null; \
	fi

# PyPI may be unreachable, so nothing is installed here: only checked.
deps-python:
	@if ! $(PYTHON) -c 'import boto3, botocore, moto, moto.server' >/dev/null 2>&1; then \
		echo "deps: $(PYTHON) cannot import boto3, botocore and moto (with its server extras)." >&2; \
		echo "deps: install them for $(PYTHON), e.g. $(PYTHON) -m pip install boto3 'moto[server]>=5'" >&2; \
		exit 1; \
	fi

## install: credkit and the optional credkit-process, static (CGO_ENABLED=0),
## into GOBIN.
install:
	CGO_ENABLED=0 $(GO) install ./cmd/credkit ./cmd/credkit-process

## test: run all tests (installs missing peers first).
test: deps
	$(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./...

## bench: credkit vs AWS SDK benchmarks, summarised as sigv4-ratio lines.
bench:
	$(GO) test -run '^$$' -bench . -benchmem -count 6 -timeout $(TEST_TIMEOUT) ./sigv4/ ./rdsauth/ | $(GO) run ./internal/benchratio

## bench-process: credkit-process and credkit credential-process (warm cache)
## next to the AWS CLI's export-credentials, aws-vault export and the floor of
## starting credkit at all.
bench-process:
	CREDKIT_PEERS=require $(GO) test -run '^$$' -bench 'CredentialProcess' -benchtime 40x -count 3 -timeout $(TEST_TIMEOUT) ./internal/cli/

## bench-dbproxy: pgbench (default transactions and -C) and a 50 MB COPY through
## credkit db proxy, next to the same against the fake RDS PostgreSQL directly,
## with the database on loopback and 0.5 ms and 2 ms away, and socat as a
## plain relay in the proxy's place.
bench-dbproxy: deps-db
	CREDKIT_PEERS=require $(GO) test -run '^$$' -bench 'Proxy' -benchtime 1x -timeout $(TEST_TIMEOUT) ./dbproxy/

## bench-config: parse a 10,000-profile config and resolve one profile, next to
## aws-sdk-go-v2's LoadSharedConfigProfile (ratio lines, baseline sdk).
bench-config:
	$(GO) test -run '^$$' -bench 'LargeConfig' -benchmem -count 6 -timeout $(TEST_TIMEOUT) ./awsconfig/ | $(GO) run ./internal/benchratio

## bench-policy: policy evaluation (10 policies of 10 statements) next to
## @cloud-copilot/iam-simulate on the same case (ratio lines, baseline
## iam-simulate).
bench-policy: deps-iamsim
	CREDKIT_PEERS=require $(GO) test -run '^$$' -bench 'Policy(Case|Eval)' -benchmem -count 6 -timeout $(TEST_TIMEOUT) ./policy/ | $(GO) run ./internal/benchratio

## fuzz-seeds: run every fuzz target on its seed corpus only (no fuzzing).
fuzz-seeds:
	$(GO) test -count=1 -run '^Fuzz' -timeout $(TEST_TIMEOUT) ./...

## vet: go vet.
vet:
	$(GO) vet ./...

## bench-server: the ECS and IMDS endpoints under 256 keep-alive net/http
## clients, back to back and at 1,000 and 10,000 req/s (req/s, p50, p99, CPU
## per request). A figure, not a target.
bench-server:
	$(GO) test -run '^$$' -bench 'Load$$' -benchtime 1x -count 3 -timeout $(TEST_TIMEOUT) ./server/

## bench-exec: wall time of `credkit exec P -- true` with a cached session,
## next to exec of a static-key profile, credkit version and aws-vault exec.
bench-exec:
	CREDKIT_PEERS=require $(GO) test -run '^$$' -bench 'ExecStart' -benchtime 30x -count 3 -timeout $(TEST_TIMEOUT) ./internal/cli/
