package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/credkit/credkit/creds"
	"github.com/credkit/credkit/internal/explain"
	"github.com/credkit/credkit/internal/testpeer"
	"github.com/credkit/credkit/rdsauth"
)

// The field report of an IDE's session keys: they sit in the environment
// beside AWS_PROFILE, have expired, and the token they signed is refused
// by the database (the fake RDS PostgreSQL, which refuses tokens signed
// by credentials past their expiry). explain --online, given psql's
// refusal, runs the chain here and puts the expired environment keys
// first.
func TestExplainFieldReportDatabase(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL")
	}
	r := testpeer.FakeRDSPostgres(t)
	r.AddIAMUser(t, "app")
	expired := time.Now().Add(-time.Minute).UTC().Truncate(time.Second)
	ide := creds.Credentials{AccessKeyID: "ASIAIDEEXAMPLE000001", SecretAccessKey: "ide/secret/EXAMPLEKEY", SessionToken: strings.Repeat("IDEsessionTOKEN", 40), Expires: expired}
	r.Trust(ide.AccessKeyID, ide.SecretAccessKey, ide.SessionToken, expired)
	token, err := rdsauth.BuildToken(rdsauth.Request{Endpoint: r.Endpoint(), Region: r.Region, User: "app"}, ide)
	if err != nil {
		t.Fatal(err)
	}
	out, err := r.Psql("app", token)
	if err == nil {
		t.Fatalf("psql logged in with a token of expired credentials: %s", out)
	}

	home := t.TempDir()
	config := filepath.Join(home, "config")
	if err := os.WriteFile(config, []byte("[profile dev]\nregion = "+r.Region+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"AWS_ACCESS_KEY_ID": ide.AccessKeyID, "AWS_SECRET_ACCESS_KEY": ide.SecretAccessKey, "AWS_SESSION_TOKEN": ide.SessionToken,
		"AWS_CREDENTIAL_EXPIRATION": expired.Format(time.RFC3339),
		"AWS_PROFILE":               "dev", "AWS_CONFIG_FILE": config,
	}
	res := runAt(t, time.Now, env, string(out), "explain", "--online", "--json", "-")
	if res.code != 0 {
		t.Fatalf("exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	for _, secret := range []string{ide.SecretAccessKey, ide.SessionToken, token} {
		if strings.Contains(res.stdout+res.stderr, secret) {
			t.Fatal("a secret reached the output")
		}
	}
	var got struct {
		Kind      explain.Kind
		Database  explain.DatabaseLogin
		Checklist []explain.Cause
		Chain     explain.Chain
		Online    doctorReport
	}
	if err := json.Unmarshal([]byte(res.stdout), &got); err != nil {
		t.Fatalf("%v\n%s", err, res.stdout)
	}
	if got.Kind != explain.KindDatabaseLogin || got.Database.User != "app" || got.Database.Reason != "pam" || got.Database.Port != strconv.Itoa(r.Port) {
		t.Errorf("read as %s %+v", got.Kind, got.Database)
	}
	if got.Chain.Source != "environment" || got.Chain.ShadowedProfile != "dev" || !got.Chain.Expired {
		t.Errorf("chain %+v", got.Chain)
	}
	first := got.Checklist[0]
	if first.Cause != "expired signing credentials" || !strings.Contains(first.Why, "have expired") || !strings.Contains(first.Command, "credkit db doctor --host "+r.Host+" --port "+strconv.Itoa(r.Port)+" --user app") {
		t.Errorf("first cause %+v", first)
	}
	if w := strings.Join(got.Online.Warnings, "\n"); !strings.Contains(w, "shadows AWS_PROFILE=dev") {
		t.Errorf("warnings %q", w)
	}
}
