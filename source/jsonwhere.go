package source

import (
	"encoding/json"
	"errors"
	"fmt"
)

// jsonWhere says where JSON that holds secrets failed to parse, without
// quoting it (encoding/json's errors may quote the input): " (at byte N)",
// " (FIELD is not a TYPE)" or "".
func jsonWhere(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf(" (at byte %d)", se.Offset)
	case errors.As(err, &te):
		return fmt.Sprintf(" (%s is not a %s)", te.Field, te.Type)
	}
	return ""
}
