package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/credkit/credkit/awsconfig"
	"github.com/credkit/credkit/creds"
	"github.com/credkit/credkit/sigv4"
	"github.com/credkit/credkit/source"
)

// identity is what STS GetCallerIdentity says about credentials.
type identity struct {
	Account string `json:"account"`
	ARN     string `json:"arn"`
	UserID  string `json:"user_id"`
	// ServerTime is the Date header of STS's answer, to measure skew.
	ServerTime time.Time `json:"-"`
	Endpoint   string    `json:"endpoint"`
}

// stsEndpoint is where GetCallerIdentity goes: a configured endpoint
// (AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL, the profile's endpoint_url),
// else the regional STS endpoint.
func (a *App) stsEndpoint(files *awsconfig.Files, profile, region string) string {
	var p *awsconfig.Profile
	if files != nil {
		p, _ = files.Profile(source.ProfileName(a.Getenv, profile))
	}
	if e := source.STSEndpoint(a.Getenv, p); e != "" {
		return strings.TrimSuffix(e, "/")
	}
	if strings.HasPrefix(region, "cn-") {
		return "https://sts." + region + ".amazonaws.com.cn"
	}
	return "https://sts." + region + ".amazonaws.com"
}

// callerIdentity calls STS GetCallerIdentity with c.
func (a *App) callerIdentity(ctx context.Context, c creds.Credentials, endpoint, region string) (*identity, error) {
	body := "Action=GetCallerIdentity&Version=2011-06-15"
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "POST", endpoint+"/", strings.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("STS endpoint %q: %w", endpoint, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	var s sigv4.Signer
	if err := s.Sign(req, c, sigv4.Options{Service: "sts", Region: region, Time: a.Now(), PayloadHash: sha256Hex([]byte(body))}); err != nil {
		return nil, err
	}
	resp, err := a.HTTP.Do(req)
	if err != nil {
		return nil, fmt.Errorf("call STS GetCallerIdentity at %s: %w", endpoint, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	id := &identity{Endpoint: endpoint}
	if d, err := http.ParseTime(resp.Header.Get("Date")); err == nil {
		id.ServerTime = d
	}
	if resp.StatusCode != 200 {
		code, msg := awsError(b)
		if code == "" {
			return id, fmt.Errorf("STS GetCallerIdentity at %s: HTTP %d", endpoint, resp.StatusCode)
		}
		return id, fmt.Errorf("STS GetCallerIdentity at %s refused access key %s: %s: %s", endpoint, c.AccessKeyID, code, msg)
	}
	var r struct {
		Account string `xml:"GetCallerIdentityResult>Account"`
		ARN     string `xml:"GetCallerIdentityResult>Arn"`
		UserID  string `xml:"GetCallerIdentityResult>UserId"`
	}
	if err := xml.Unmarshal(b, &r); err != nil || r.ARN == "" {
		return id, fmt.Errorf("STS GetCallerIdentity at %s: unreadable answer", endpoint)
	}
	id.Account, id.ARN, id.UserID = r.Account, r.ARN, r.UserID
	return id, nil
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
