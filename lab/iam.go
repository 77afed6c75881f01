package lab

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// maxKeysPerUser is IAM's quota of access keys per user.
const maxKeysPerUser = 2

// iam serves the IAM actions the lab knows, for requests signed for
// service "iam".
func (l *Lab) iam(w http.ResponseWriter, c caller, form url.Values) {
	action := form.Get("Action")
	switch action {
	case "GetUser", "CreateAccessKey", "DeleteAccessKey", "ListAccessKeys":
	case "GetRole", "ListRoles":
		l.iamRoles(w, c, action, form)
		return
	case "SimulatePrincipalPolicy":
		l.simulate(w, c, form)
		return
	case "":
		l.refuse(w, iamNS, awsError{400, "MissingAction", "Missing Action"}, "")
		return
	default:
		l.refuse(w, iamNS, awsError{400, "InvalidAction", "Could not find operation " + action + " for version 2010-05-08"}, "")
		return
	}
	name := form.Get("UserName")
	if name == "" {
		if c.user == "" {
			l.refuse(w, iamNS, awsError{400, "ValidationError", "Must specify userName when calling with non-User credentials"}, c.arn+" calls "+action)
			return
		}
		name = c.user
	}
	if !l.authorize(w, iamNS, c, check{action: "iam:" + action, resource: l.userARN(name)}, "") {
		return
	}
	l.mu.Lock()
	u := l.users[name]
	l.mu.Unlock()
	if u == nil {
		l.refuse(w, iamNS, awsError{404, "NoSuchEntity", fmt.Sprintf("The user with name %s cannot be found.", name)}, "")
		return
	}
	switch action {
	case "GetUser":
		l.Served.Add(1)
		writeXML(w, iamNS, action, fmt.Sprintf("<User><Path>/</Path><UserName>%s</UserName><UserId>%s</UserId><Arn>%s</Arn><CreateDate>%s</CreateDate></User>",
			u.name, u.id, l.userARN(u.name), iso(u.created)))
	case "ListAccessKeys":
		var b strings.Builder
		l.mu.Lock()
		for _, k := range u.keys {
			fmt.Fprintf(&b, "<member><UserName>%s</UserName><AccessKeyId>%s</AccessKeyId><Status>Active</Status><CreateDate>%s</CreateDate></member>", u.name, k.id, iso(k.created))
		}
		l.mu.Unlock()
		l.Served.Add(1)
		writeXML(w, iamNS, action, "<AccessKeyMetadata>"+b.String()+"</AccessKeyMetadata><IsTruncated>false</IsTruncated>")
	case "CreateAccessKey":
		l.mu.Lock()
		if len(u.keys) >= maxKeysPerUser {
			l.mu.Unlock()
			l.refuse(w, iamNS, awsError{409, "LimitExceeded", fmt.Sprintf("Cannot exceed quota for AccessKeysPerUser: %d", maxKeysPerUser)}, "user "+u.name+" has "+fmt.Sprint(len(u.keys))+" keys")
			return
		}
		id, secret := NewKey("AKIA")
		k := &userKey{id: id, secret: secret, user: u, created: l.now()}
		u.keys = append(u.keys, k)
		l.keys[id] = k
		l.issued[KindAccessKey]++
		l.mu.Unlock()
		l.Issued.Add(1)
		l.Served.Add(1)
		writeXML(w, iamNS, action, fmt.Sprintf("<AccessKey><UserName>%s</UserName><AccessKeyId>%s</AccessKeyId><Status>Active</Status><SecretAccessKey>%s</SecretAccessKey><CreateDate>%s</CreateDate></AccessKey>",
			u.name, id, xmlEscape(secret), iso(k.created)))
	case "DeleteAccessKey":
		id := form.Get("AccessKeyId")
		l.mu.Lock()
		k := l.keys[id]
		if k == nil || k.user != u {
			l.mu.Unlock()
			l.refuse(w, iamNS, awsError{404, "NoSuchEntity", fmt.Sprintf("The Access Key with id %s cannot be found.", id)}, "")
			return
		}
		delete(l.keys, id)
		for i, x := range u.keys {
			if x == k {
				u.keys = append(u.keys[:i], u.keys[i+1:]...)
				break
			}
		}
		l.mu.Unlock()
		l.Served.Add(1)
		w.Header().Set("Content-Type", "text/xml")
		fmt.Fprintf(w, `<DeleteAccessKeyResponse xmlns="%s"><ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></DeleteAccessKeyResponse>`, iamNS, requestID())
	}
}

func iso(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }
