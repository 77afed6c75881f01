package policy

import "encoding/json"

// MarshalJSON writes the policy back as a policy document: elements in
// AWS's usual order, lists always as lists, condition values as strings.
// Parsing the result gives back an equal Policy.
func (p *Policy) MarshalJSON() ([]byte, error) {
	type doc struct {
		Version   string `json:",omitempty"`
		ID        string `json:"Id,omitempty"`
		Statement any
	}
	stmts := make([]jsonStatement, len(p.Statements))
	for i, s := range p.Statements {
		stmts[i] = toJSON(s)
	}
	d := doc{Version: p.Version, ID: p.ID, Statement: stmts}
	if !p.listForm && len(stmts) == 1 {
		d.Statement = stmts[0]
	}
	return json.Marshal(d)
}

type jsonStatement struct {
	Sid          string                         `json:",omitempty"`
	Effect       Effect                         `json:",omitempty"`
	Principal    any                            `json:",omitempty"`
	NotPrincipal any                            `json:",omitempty"`
	Action       []string                       `json:",omitempty"`
	NotAction    []string                       `json:",omitempty"`
	Resource     []string                       `json:",omitempty"`
	NotResource  []string                       `json:",omitempty"`
	Condition    map[string]map[string][]string `json:",omitempty"`
}

func toJSON(s Statement) jsonStatement {
	j := jsonStatement{Sid: s.Sid, Effect: s.Effect, Action: s.Action, NotAction: s.NotAction, Resource: s.Resource, NotResource: s.NotResource}
	if s.Principal != nil {
		j.Principal = principalJSON(s.Principal)
	}
	if s.NotPrincipal != nil {
		j.NotPrincipal = principalJSON(s.NotPrincipal)
	}
	for _, c := range s.Conditions {
		if j.Condition == nil {
			j.Condition = map[string]map[string][]string{}
		}
		if j.Condition[c.Operator] == nil {
			j.Condition[c.Operator] = map[string][]string{}
		}
		j.Condition[c.Operator][c.Key] = c.Values
	}
	return j
}

func principalJSON(p *Principal) any {
	if p.All {
		return "*"
	}
	return p.Values
}
