package rotate_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/credkit/credkit/creds"
	"github.com/credkit/credkit/rotate"
)

// Rotate the key a store holds for profile "work", and say what is left
// to do when the rotation stops half-way.
func ExampleRotator_Rotate() {
	var store rotate.KeyStore = &memStore{keys: map[string]creds.Credentials{}} // *vault.Vault in credkit
	r := &rotate.Rotator{
		Profile: "work",
		Store:   store,
		Clients: rotate.AWS{}, // AWS's IAM and STS endpoints
		Progress: func(e rotate.Event) {
			if e.Step == rotate.Stored {
				log.Printf("stored the new key %s; waiting for IAM to accept it", e.NewKeyID)
			}
		},
	}
	res, err := r.Rotate(context.Background())
	var incomplete *rotate.IncompleteError
	var stray *rotate.StrayKeyError
	switch {
	case err == nil:
		fmt.Printf("new key %s stored, old key %s deleted\n", res.NewKeyID, res.OldKeyID)
	case errors.As(err, &incomplete):
		// The new key is stored and works; finish later with DeleteOld.
		fmt.Printf("%v; delete %s once the new key works\n", err, incomplete.OldKeyID)
	case errors.As(err, &stray):
		fmt.Printf("%v\n", err) // delete stray.KeyID in IAM
	default:
		fmt.Println("nothing changed:", err)
	}
}
