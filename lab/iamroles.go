package lab

import (
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// roleMiss says why no role has exactly the ARN an AssumeRole named, and
// which role it may have meant.
func (l *Lab) roleMiss(arn string) string {
	name := arn[strings.LastIndex(arn, "/")+1:]
	for _, r := range l.seed.Roles {
		if !strings.EqualFold(r.Name, name) {
			continue
		}
		have := l.roleARN(r.Name)
		switch {
		case r.Name != name:
			return fmt.Sprintf("no role has exactly the ARN %s; the role exists as %s: the names differ only in case, and STS matches them exactly", arn, have)
		default:
			return fmt.Sprintf("no role has exactly the ARN %s; the role exists as %s: the paths differ", arn, have)
		}
	}
	return "no role " + arn + " in the account"
}

// iamRoles serves GetRole and ListRoles, enforced as the other IAM
// actions are.
func (l *Lab) iamRoles(w http.ResponseWriter, c caller, action string, form url.Values) {
	switch action {
	case "GetRole":
		name := form.Get("RoleName")
		if name == "" {
			l.refuse(w, iamNS, awsError{400, "ValidationError", "1 validation error detected: Value null at 'roleName' failed to satisfy constraint: Member must not be null"}, "")
			return
		}
		resource := "arn:aws:iam::" + l.seed.AccountID + ":role/" + name
		r := l.roles[name]
		if r != nil {
			resource = l.roleARN(name)
		}
		if !l.authorize(w, iamNS, c, check{action: "iam:GetRole", resource: resource}, "") {
			return
		}
		if r == nil {
			l.refuse(w, iamNS, awsError{404, "NoSuchEntity", fmt.Sprintf("The role with name %s cannot be found.", name)}, l.roleMiss(resource))
			return
		}
		l.Served.Add(1)
		writeXML(w, iamNS, action, "<Role>"+l.roleXML(r)+"</Role>")
	case "ListRoles":
		prefix := form.Get("PathPrefix")
		if prefix == "" {
			prefix = "/"
		}
		if !l.authorize(w, iamNS, c, check{action: "iam:ListRoles", resource: "arn:aws:iam::" + l.seed.AccountID + ":role" + prefix}, "") {
			return
		}
		max := 100
		if v := form.Get("MaxItems"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 1000 {
				l.refuse(w, iamNS, awsError{400, "ValidationError", fmt.Sprintf("1 validation error detected: Value '%s' at 'maxItems' failed to satisfy constraint: Member must have value between 1 and 1000", v)}, "")
				return
			}
			max = n
		}
		var roles []*SeedRole
		for _, r := range l.roles {
			if strings.HasPrefix(rolePath(r), prefix) {
				roles = append(roles, r)
			}
		}
		sort.Slice(roles, func(i, j int) bool { return roles[i].Name < roles[j].Name })
		start := 0
		if m := form.Get("Marker"); m != "" {
			n, err := strconv.Atoi(m)
			if err != nil || n < 0 || n > len(roles) {
				l.refuse(w, iamNS, awsError{400, "ValidationError", "Invalid Marker."}, "marker "+m)
				return
			}
			start = n
		}
		end := min(start+max, len(roles))
		var b strings.Builder
		for _, r := range roles[start:end] {
			b.WriteString("<member>" + l.roleXML(r) + "</member>")
		}
		tail := "<IsTruncated>false</IsTruncated>"
		if end < len(roles) {
			tail = "<IsTruncated>true</IsTruncated><Marker>" + strconv.Itoa(end) + "</Marker>"
		}
		l.Served.Add(1)
		writeXML(w, iamNS, action, "<Roles>"+b.String()+"</Roles>"+tail)
	}
}

func rolePath(r *SeedRole) string {
	if r.Path == "" {
		return "/"
	}
	return r.Path
}

// roleXML is a Role element's content as IAM answers it.
func (l *Lab) roleXML(r *SeedRole) string {
	trust, _ := r.TrustPolicy.MarshalJSON()
	s := fmt.Sprintf("<Path>%s</Path><RoleName>%s</RoleName><RoleId>%s</RoleId><Arn>%s</Arn><CreateDate>%s</CreateDate><AssumeRolePolicyDocument>%s</AssumeRolePolicyDocument><MaxSessionDuration>%d</MaxSessionDuration>",
		xmlEscape(rolePath(r)), xmlEscape(r.Name), roleIDFor(r.Name), xmlEscape(l.roleARN(r.Name)), iso(l.start), xmlEscape(url.QueryEscape(string(trust))), int(maxSession(r).Seconds()))
	if r.PermissionsBoundary != nil {
		s += fmt.Sprintf("<PermissionsBoundary><PermissionsBoundaryType>Policy</PermissionsBoundaryType><PermissionsBoundaryArn>%s</PermissionsBoundaryArn></PermissionsBoundary>", xmlEscape(l.boundaryARN(r.Name)))
	}
	return s
}

// boundaryARN names the managed policy a seeded boundary stands for.
func (l *Lab) boundaryARN(role string) string {
	return "arn:aws:iam::" + l.seed.AccountID + ":policy/" + role + "-boundary"
}
