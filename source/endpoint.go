package source

import (
	"strings"

	"github.com/credkit/credkit/awsconfig"
)

// STSEndpoint is the STS endpoint URL that the AWS SDKs configure from the
// environment and a profile: AWS_ENDPOINT_URL_STS, else AWS_ENDPOINT_URL,
// else the profile's endpoint_url (profile may be nil). It is "" (the AWS
// default) when none is set or when AWS_IGNORE_CONFIGURED_ENDPOINT_URLS or
// the profile's ignore_configured_endpoint_urls is true. getenv nil means
// os.Getenv. FromProfile also reads the sts endpoint_url of the profile's
// [services] section, which needs the files.
func STSEndpoint(getenv func(string) string, profile *awsconfig.Profile) string {
	return serviceEndpoint(orEnv(getenv), nil, profile, EnvEndpointURLSTS, "sts")
}

// serviceEndpoint resolves a configured endpoint in the SDKs' order: the
// service's variable, AWS_ENDPOINT_URL, the service's endpoint_url in the
// profile's [services NAME] section (when files is given), the profile's
// endpoint_url.
func serviceEndpoint(getenv func(string) string, files *awsconfig.Files, profile *awsconfig.Profile, serviceVar, servicesKey string) string {
	if strings.EqualFold(strings.TrimSpace(getenv(EnvIgnoreEndpointURL)), "true") {
		return ""
	}
	if v, _ := firstSet(getenv, serviceVar, EnvEndpointURL); v != "" {
		return v
	}
	if profile == nil {
		return ""
	}
	if v, _ := profile.Get("ignore_configured_endpoint_urls"); strings.EqualFold(strings.TrimSpace(v), "true") {
		return ""
	}
	if name, _ := profile.Get("services"); name != "" && files != nil {
		if s, ok := files.Services(name); ok {
			if m, ok := s.Nested(servicesKey); ok && m["endpoint_url"] != "" {
				return m["endpoint_url"]
			}
		}
	}
	return profile.EndpointURL()
}

// ServiceEndpoint is the endpoint configured for a service (its
// [services] key, e.g. "iam") in the SDKs' order: AWS_ENDPOINT_URL_<ID>
// (the key upper-cased), AWS_ENDPOINT_URL, the profile's [services]
// section, the profile's endpoint_url; "" for the AWS default. files may
// be nil.
func ServiceEndpoint(getenv func(string) string, files *awsconfig.Files, profile, service string) string {
	var p *awsconfig.Profile
	if files != nil {
		p, _ = files.Profile(profile)
	}
	return serviceEndpoint(orEnv(getenv), files, p, EnvEndpointURL+"_"+strings.ToUpper(service), service)
}
