package roles

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/credkit/credkit/awssdk"
	"github.com/credkit/credkit/creds"
	"github.com/credkit/credkit/source"
)

// IAM reads roles with aws-sdk-go-v2. Its errors are *source.APIError
// when IAM answered with one.
type IAM struct {
	c    *iam.Client
	keep *source.APIErrorKeeper
}

// IAMOptions say where IAM is and what signs the requests.
type IAMOptions struct {
	Credentials creds.Credentials
	// Endpoint is IAM's base URL; "" means AWS's. IAM is global: its
	// requests are signed for us-east-1.
	Endpoint   string
	HTTPClient aws.HTTPClient
}

// NewIAM returns a client reading roles.
func NewIAM(o IAMOptions) *IAM {
	k := &source.APIErrorKeeper{}
	opts := iam.Options{
		Region:      "us-east-1",
		Credentials: awssdk.ToSDK(creds.Static{Creds: o.Credentials}),
		HTTPClient:  o.HTTPClient,
		APIOptions:  []func(*middleware.Stack) error{k.AddTo},
	}
	if o.Endpoint != "" {
		opts.BaseEndpoint = aws.String(o.Endpoint)
	}
	return &IAM{iam.New(opts), k}
}

// Ref is what a user names a role by: an ARN (account, path and name) or
// a name (optionally with a path, "/service-role/name").
type Ref struct {
	Account string // "" when named without an ARN
	Path    string // "" when not given
	Name    string
}

// ParseRef reads a role ARN or name.
func ParseRef(s string) (Ref, error) {
	if strings.HasPrefix(s, "arn:") {
		acct, path, name, ok := SplitARN(s)
		if !ok {
			return Ref{}, fmt.Errorf("%q is not a role ARN: want arn:aws:iam::ACCOUNT:role/NAME or arn:aws:iam::ACCOUNT:role/PATH/NAME", s)
		}
		return Ref{Account: acct, Path: path, Name: name}, nil
	}
	i := strings.LastIndex(s, "/")
	r := Ref{Name: s[i+1:]}
	if i >= 0 {
		r.Path = "/" + strings.Trim(s[:i+1], "/") + "/"
		r.Path = strings.ReplaceAll(r.Path, "//", "/")
	}
	if r.Name == "" || strings.ContainsAny(r.Name, " :") {
		return Ref{}, fmt.Errorf("%q is not a role name or ARN", s)
	}
	return r, nil
}

func (r Ref) String() string {
	if r.Path == "" {
		return r.Name
	}
	return r.Path + r.Name
}

// NotFoundError says that no role has exactly the name asked for, and
// which roles have it in another case.
type NotFoundError struct {
	Name string
	// SameButCase are the ARNs of the roles whose name equals Name
	// ignoring case.
	SameButCase []string
	Err         error // IAM's answer
}

func (e *NotFoundError) Error() string {
	msg := fmt.Sprintf("no role is named %s", e.Name)
	if len(e.SameButCase) > 0 {
		msg += fmt.Sprintf(": the role exists as %s; role names are case-sensitive when assumed, so use that exact name", strings.Join(e.SameButCase, ", "))
	}
	return msg
}

func (e *NotFoundError) Unwrap() error { return e.Err }

// Resolution is the role a Ref refers to, with what makes the Ref wrong
// for sts:AssumeRole.
type Resolution struct {
	Role *Role
	// Problems say how the Ref differs from the role (name case, path,
	// account): AssumeRole with the Ref would be refused.
	Problems []string
}

// Resolve finds the role ref names (IAM GetRole). When none has the exact
// name it lists the account's roles and returns a *NotFoundError naming
// those whose name differs only in case. The Role has no policies: see
// Fetch.
func (c *IAM) Resolve(ctx context.Context, ref Ref) (*Resolution, error) {
	out, err := c.c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(ref.Name)})
	if err = c.keep.Err("IAM", "GetRole", err); err != nil {
		var ae *source.APIError
		if !errors.As(err, &ae) || ae.Code != "NoSuchEntity" {
			return nil, fmt.Errorf("IAM GetRole %s: %w", ref.Name, err)
		}
		nf := &NotFoundError{Name: ref.Name, Err: err}
		all, lerr := c.ListRoles(ctx)
		if lerr != nil {
			return nil, fmt.Errorf("%v (listing the roles to look for the name in another case failed: %v)", nf, lerr)
		}
		for _, r := range all {
			if strings.EqualFold(r.Name, ref.Name) {
				nf.SameButCase = append(nf.SameButCase, r.ARN)
			}
		}
		return nil, nf
	}
	role, err := fromSDK(out.Role)
	if err != nil {
		return nil, err
	}
	res := &Resolution{Role: role}
	// IAM looks names up ignoring case; STS does not.
	if role.Name != ref.Name {
		res.Problems = append(res.Problems, fmt.Sprintf("the role is named %s, not %s: role names are case-sensitive when assumed", role.Name, ref.Name))
	}
	if ref.Path != "" && ref.Path != role.Path {
		res.Problems = append(res.Problems, fmt.Sprintf("the role's path is %s, not %s: an ARN with another path names no role", role.Path, ref.Path))
	}
	if acct, _, _, _ := SplitARN(role.ARN); ref.Account != "" && ref.Account != acct {
		res.Problems = append(res.Problems, fmt.Sprintf("the ARN names account %s but the credentials read account %s; this is a role of the same name in another account", ref.Account, acct))
	}
	return res, nil
}

// ListRoles lists every role of the account (all pages), without
// policies.
func (c *IAM) ListRoles(ctx context.Context) ([]*Role, error) {
	var out []*Role
	p := iam.NewListRolesPaginator(c.c, &iam.ListRolesInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err = c.keep.Err("IAM", "ListRoles", err); err != nil {
			return nil, fmt.Errorf("IAM ListRoles: %w", err)
		}
		for _, r := range page.Roles {
			role, err := fromSDK(&r)
			if err != nil {
				return nil, err
			}
			out = append(out, role)
		}
	}
	return out, nil
}

// Fetch adds a role's attached and inline policies. A listing IAM
// refuses is recorded in Unknown, not returned as an error.
func (c *IAM) Fetch(ctx context.Context, r *Role) error {
	r.AttachedPolicies, r.InlinePolicies = []string{}, map[string]json.RawMessage{}
	ap := iam.NewListAttachedRolePoliciesPaginator(c.c, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(r.Name)})
	for ap.HasMorePages() {
		page, err := ap.NextPage(ctx)
		if err = c.keep.Err("IAM", "ListAttachedRolePolicies", err); err != nil {
			r.Unknown = append(r.Unknown, fmt.Sprintf("attached policies: %v", err))
			r.AttachedPolicies = nil
			break
		}
		for _, p := range page.AttachedPolicies {
			r.AttachedPolicies = append(r.AttachedPolicies, aws.ToString(p.PolicyArn))
		}
	}
	slices.Sort(r.AttachedPolicies)
	ip := iam.NewListRolePoliciesPaginator(c.c, &iam.ListRolePoliciesInput{RoleName: aws.String(r.Name)})
	for ip.HasMorePages() {
		page, err := ip.NextPage(ctx)
		if err = c.keep.Err("IAM", "ListRolePolicies", err); err != nil {
			r.Unknown = append(r.Unknown, fmt.Sprintf("inline policies: %v", err))
			r.InlinePolicies = nil
			return nil
		}
		for _, name := range page.PolicyNames {
			out, err := c.c.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(r.Name), PolicyName: aws.String(name)})
			if err = c.keep.Err("IAM", "GetRolePolicy", err); err != nil {
				r.Unknown = append(r.Unknown, fmt.Sprintf("inline policy %s: %v", name, err))
				continue
			}
			doc, err := DecodeDocument(aws.ToString(out.PolicyDocument))
			if err != nil {
				return fmt.Errorf("inline policy %s of role %s: %v", name, r.Name, err)
			}
			r.InlinePolicies[name] = doc
		}
	}
	return nil
}

// UniqueIDs maps the unique ids of the account's roles and users (AROA…,
// AIDA…) to their ARNs: trust policies show a deleted principal's id.
func (c *IAM) UniqueIDs(ctx context.Context) (map[string]string, error) {
	ids := map[string]string{}
	all, err := c.ListRoles(ctx)
	if err != nil {
		return nil, err
	}
	for _, r := range all {
		ids[r.RoleID] = r.ARN
	}
	p := iam.NewListUsersPaginator(c.c, &iam.ListUsersInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err = c.keep.Err("IAM", "ListUsers", err); err != nil {
			return nil, fmt.Errorf("IAM ListUsers: %w", err)
		}
		for _, u := range page.Users {
			ids[aws.ToString(u.UserId)] = aws.ToString(u.Arn)
		}
	}
	return ids, nil
}

func fromSDK(r *types.Role) (*Role, error) {
	if r == nil {
		return nil, errors.New("IAM answered without a role")
	}
	out := &Role{
		ARN: aws.ToString(r.Arn), Name: aws.ToString(r.RoleName), Path: aws.ToString(r.Path),
		RoleID: aws.ToString(r.RoleId), Description: aws.ToString(r.Description),
		MaxSessionDuration: int(aws.ToInt32(r.MaxSessionDuration)),
	}
	if r.CreateDate != nil {
		out.CreateDate = r.CreateDate.UTC()
	}
	if r.PermissionsBoundary != nil {
		out.PermissionsBoundary = aws.ToString(r.PermissionsBoundary.PermissionsBoundaryArn)
	}
	for _, t := range r.Tags {
		if out.Tags == nil {
			out.Tags = map[string]string{}
		}
		out.Tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	if r.AssumeRolePolicyDocument != nil {
		doc, err := DecodeDocument(*r.AssumeRolePolicyDocument)
		if err != nil {
			return nil, fmt.Errorf("trust policy of role %s: %v", out.ARN, err)
		}
		out.TrustPolicy = doc
	}
	return out, nil
}
