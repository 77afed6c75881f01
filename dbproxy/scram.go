package dbproxy

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgproto3"
)

// scramIterations is the PBKDF2 cost of the local password's SCRAM
// exchange (PostgreSQL's default).
const scramIterations = 4096

// localAuth asks the client for the local password with SCRAM-SHA-256
// (RFC 5802 and 7677, as PostgreSQL does it): the password never crosses
// the local connection, and the client learns that the proxy knows it.
// ReadLocalPassword admits only printable ASCII, which SASLprep leaves as
// it is, so the password is used as given.
func localAuth(client net.Conn, user, password string) error {
	refuse := func(why string) error {
		sendFatal(client, "28P01", fmt.Sprintf("password authentication failed for user %q", user),
			"The password is the local one credkit db proxy was given with --local-password-file, not a database password.")
		return errors.New(why)
	}
	if _, err := client.Write(encode(&pgproto3.AuthenticationSASL{AuthMechanisms: []string{"SCRAM-SHA-256"}})); err != nil {
		return err
	}
	typ, body, _, err := readMessage(client)
	if err != nil {
		return fmt.Errorf("reading the local password: %w", err)
	}
	var first pgproto3.SASLInitialResponse
	if typ != 'p' || first.Decode(body) != nil || first.AuthMechanism != "SCRAM-SHA-256" {
		sendFatal(client, "08P01", "credkit db proxy: expected a SCRAM-SHA-256 answer to the password request", "")
		return fmt.Errorf("client did not answer the SCRAM-SHA-256 request (message %q)", typ)
	}
	// client-first: gs2-header ("n,," or "y,,") then "n=,r=NONCE".
	cf := string(first.Data)
	var gs2, bare string
	switch {
	case strings.HasPrefix(cf, "n,,"), strings.HasPrefix(cf, "y,,"):
		gs2, bare = cf[:3], cf[3:]
	default:
		return refuse("client asked for SCRAM channel binding, which the local endpoint does not offer")
	}
	cnonce := scramAttr(bare, 'r')
	if cnonce == "" {
		return refuse("SCRAM client-first without a nonce")
	}
	var salt [16]byte
	var snonce [18]byte
	rand.Read(salt[:])
	rand.Read(snonce[:])
	nonce := cnonce + base64.StdEncoding.EncodeToString(snonce[:])
	serverFirst := fmt.Sprintf("r=%s,s=%s,i=%d", nonce, base64.StdEncoding.EncodeToString(salt[:]), scramIterations)
	if _, err := client.Write(encode(&pgproto3.AuthenticationSASLContinue{Data: []byte(serverFirst)})); err != nil {
		return err
	}
	typ, body, _, err = readMessage(client)
	if err != nil {
		return fmt.Errorf("reading the local password: %w", err)
	}
	var final pgproto3.SASLResponse
	if typ != 'p' || final.Decode(body) != nil {
		return refuse("client sent no SCRAM client-final")
	}
	cfinal := string(final.Data)
	i := strings.LastIndex(cfinal, ",p=")
	if i < 0 {
		return refuse("SCRAM client-final without a proof")
	}
	withoutProof := cfinal[:i]
	proof, err := base64.StdEncoding.DecodeString(cfinal[i+3:])
	if err != nil || len(proof) != sha256.Size ||
		scramAttr(withoutProof, 'r') != nonce || scramAttr(withoutProof, 'c') != base64.StdEncoding.EncodeToString([]byte(gs2)) {
		return refuse("malformed SCRAM client-final")
	}
	salted, err := pbkdf2.Key(sha256.New, password, salt[:], scramIterations, sha256.Size)
	if err != nil {
		return err
	}
	authMessage := []byte(bare + "," + serverFirst + "," + withoutProof)
	clientKey := scramHMAC(salted, []byte("Client Key"))
	storedKey := sha256.Sum256(clientKey)
	sig := scramHMAC(storedKey[:], authMessage)
	for j := range proof {
		proof[j] ^= sig[j]
	}
	got := sha256.Sum256(proof)
	if subtle.ConstantTimeCompare(got[:], storedKey[:]) != 1 {
		return refuse(fmt.Sprintf("wrong local password for user %q", user))
	}
	serverSig := scramHMAC(scramHMAC(salted, []byte("Server Key")), authMessage)
	_, err = client.Write(encode(&pgproto3.AuthenticationSASLFinal{Data: []byte("v=" + base64.StdEncoding.EncodeToString(serverSig))}))
	return err
}

func scramHMAC(key, msg []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write(msg)
	return h.Sum(nil)
}

// scramAttr returns attribute name's value in a SCRAM message.
func scramAttr(msg string, name byte) string {
	for _, kv := range strings.Split(msg, ",") {
		if len(kv) >= 2 && kv[0] == name && kv[1] == '=' {
			return kv[2:]
		}
	}
	return ""
}
