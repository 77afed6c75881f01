package cli

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/credkit/credkit/internal/testpeer"
)

func doctorChecks(t *testing.T, res result) map[string]dbCheck {
	t.Helper()
	var list []dbCheck
	if err := json.Unmarshal([]byte(res.stdout), &list); err != nil {
		t.Fatalf("%v\n%s%s", err, res.stdout, res.stderr)
	}
	m := map[string]dbCheck{}
	for _, c := range list {
		if _, ok := m[c.Check]; !ok {
			m[c.Check] = c
		}
	}
	return m
}

func TestDBDoctor(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL, MariaDB and moto")
	}
	moto := testpeer.Moto(t)
	pg := testpeer.FakeRDSPostgres(t)
	maria := testpeer.FakeRDSMariaDB(t)
	env := map[string]string{
		"AWS_ACCESS_KEY_ID": moto.AdminAccessKeyID, "AWS_SECRET_ACCESS_KEY": moto.AdminSecretAccessKey,
		"AWS_REGION": testpeer.FakeRDSRegion, "AWS_ENDPOINT_URL_STS": moto.Endpoint,
	}

	for _, r := range []*testpeer.FakeRDS{pg, maria} {
		t.Run(r.Engine, func(t *testing.T) {
			r.AddIAMUser(t, "app")
			args := []string{"db", "doctor", "--engine", r.Engine, "--host", r.Host, "--port", strconv.Itoa(r.Port), "--user", "app", "--ca-bundle", r.CAFile, "--json"}
			res := runNow(t, env, "", args...)
			checks := doctorChecks(t, res)
			if res.code != 0 {
				t.Fatalf("exit %d: %+v\n%s", res.code, checks, res.stderr)
			}
			want := map[string]string{
				"credentials": "long-term keys",
				"host":        "is not an RDS endpoint name",
				"region":      "signed for " + testpeer.FakeRDSRegion,
				"tls":         "verified against " + r.CAFile + " for localhost",
				"identity":    "arn:aws:iam::" + moto.AccountID + ":user/" + testpeer.MotoAdminUser,
				"clock":       "off STS's",
				"policy":      "arn:aws:rds-db:" + testpeer.FakeRDSRegion + ":" + moto.AccountID + ":dbuser:DBI_RESOURCE_ID/app",
			}
			for name, text := range want {
				if !strings.Contains(checks[name].Detail, text) {
					t.Errorf("check %s: want %q in %+v", name, text, checks[name])
				}
			}
			if pgWant := "GRANT rds_iam TO app"; r.Engine == "postgres" && !strings.Contains(checks["database"].Detail, pgWant) {
				t.Errorf("database: want %q in %+v", pgWant, checks["database"])
			}
			if len(r.Logins(t)) != 0 {
				t.Errorf("doctor logged in: %+v", r.Logins(t))
			}

			// A CA that did not sign the server's certificate.
			args[len(args)-2] = testpeer.UntrustedCAFile(t)
			res = runNow(t, env, "", args...)
			checks = doctorChecks(t, res)
			if res.code != 1 || checks["tls"].Status != checkFail || !strings.Contains(checks["tls"].Detail, "does not verify") {
				t.Fatalf("untrusted CA: exit %d, tls %+v", res.code, checks["tls"])
			}
		})
	}

	t.Run("expired session credentials in the environment", func(t *testing.T) {
		expired := time.Now().Add(-10 * time.Minute).UTC()
		env := map[string]string{
			"AWS_ACCESS_KEY_ID": "ASIADOCTOR0000000001", "AWS_SECRET_ACCESS_KEY": "doctor/secret", "AWS_SESSION_TOKEN": "doctor-session",
			"AWS_CREDENTIAL_EXPIRATION": expired.Format(time.RFC3339), "AWS_REGION": testpeer.FakeRDSRegion,
			"AWS_ENDPOINT_URL_STS": moto.Endpoint,
		}
		res := runNow(t, env, "", "db", "doctor", "--engine", "postgres", "--host", pg.Host, "--port", strconv.Itoa(pg.Port), "--user", "app", "--ca-bundle", pg.CAFile)
		if res.code != 1 {
			t.Fatalf("exit %d\n%s%s", res.code, res.stdout, res.stderr)
		}
		line := ""
		for _, l := range strings.Split(res.stdout, "\n") {
			if strings.HasPrefix(l, "fail  credentials") {
				line = l
			}
		}
		if !strings.Contains(line, "from environment") || !strings.Contains(line, "expired at "+expired.Format(time.RFC3339)) {
			t.Fatalf("want the expired session and its source, got:\n%s", res.stdout)
		}
	})
}
