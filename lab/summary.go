package lab

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Summary is what the lab did: requests served and refused (by error
// code), credentials issued (by kind).
type Summary struct {
	Uptime        time.Duration    `json:"-"`
	UptimeSeconds int64            `json:"uptime_seconds"`
	Served        int64            `json:"served"`
	Refused       int64            `json:"refused"`
	RefusedBy     map[string]int64 `json:"refused_by"`
	Issued        int64            `json:"issued"`
	IssuedBy      map[string]int64 `json:"issued_by"`
	// MetadataServed counts credentials answered by the instance metadata
	// and container endpoints (cached; each issue is counted in Issued).
	MetadataServed int64 `json:"metadata_served"`
}

// Summary returns the counters so far.
func (l *Lab) Summary() Summary {
	s := Summary{
		Uptime: l.now().Sub(l.start).Round(time.Second),
		Served: l.Served.Load(), Refused: l.Refused.Load(), RefusedBy: l.Refusals(),
		Issued: l.Issued.Load(), IssuedBy: map[string]int64{},
		MetadataServed: l.imds.Stats.Served.Load() + l.ecs.Stats.Served.Load(),
	}
	s.UptimeSeconds = int64(s.Uptime / time.Second)
	if n := l.imds.Stats.Refused.Load() + l.ecs.Stats.Refused.Load(); n > 0 {
		s.RefusedBy["metadata endpoint auth"] = n
		s.Refused += n
	}
	l.mu.Lock()
	for k, v := range l.issued {
		s.IssuedBy[k] = v
	}
	l.mu.Unlock()
	return s
}

// String is the summary in one paragraph:
//
//	lab: 12 requests served, 3 refused (ExpiredToken 2, SignatureDoesNotMatch 1); 5 credentials issued (AssumeRole 4, GetSessionToken 1); metadata endpoints answered 9 times; up 2m0s
func (s Summary) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "lab: %d requests served, %d refused%s; %d credentials issued%s", s.Served, s.Refused, breakdown(s.RefusedBy), s.Issued, breakdown(s.IssuedBy))
	if s.MetadataServed > 0 {
		fmt.Fprintf(&b, "; metadata endpoints answered %d times", s.MetadataServed)
	}
	fmt.Fprintf(&b, "; up %s", s.Uptime)
	return b.String()
}

func breakdown(m map[string]int64) string {
	if len(m) == 0 {
		return ""
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return " (" + strings.Join(parts, ", ") + ")"
}
