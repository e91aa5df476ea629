package middleware

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
)

// MaxKeyLength is the longest idempotency key accepted, in bytes.
const MaxKeyLength = 255

// Reasons a key is malformed; they are logged, and the client gets
// 400 INVALID_IDEMPOTENCY_KEY with the reason in its details.
var (
	errKeyEmpty    = errors.New("key is empty")
	errKeyTooLong  = errors.New("key is longer than 255 bytes")
	errKeyByte     = errors.New("key has a byte outside printable ASCII (0x20-0x7E)")
	errKeySpace    = errors.New("key has leading or trailing space")
	errKeyQuoting  = errors.New("key is a malformed quoted string")
	errKeyMultiple = errors.New("more than one idempotency key header value")
)

// ParseKey returns the idempotency key carried by a header value. The raw
// form (abc) and the IETF draft's structured-field string ("abc", with \"
// and \\ escapes) are the same key. A key is 1 to 255 bytes of printable
// ASCII (0x20-0x7E) with no leading or trailing space.
func ParseKey(v string) (string, error) {
	if len(v) >= 1 && v[0] == '"' {
		k, err := unquoteSFString(v)
		if err != nil {
			return "", err
		}
		v = k
	}
	switch {
	case v == "":
		return "", errKeyEmpty
	case len(v) > MaxKeyLength:
		return "", errKeyTooLong
	case v[0] == ' ' || v[len(v)-1] == ' ':
		return "", errKeySpace
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 || c > 0x7e {
			return "", errKeyByte
		}
	}
	return v, nil
}

// unquoteSFString decodes an RFC 8941 sf-string: DQUOTE *chr DQUOTE where
// only \" and \\ are escapes. It allocates only when there are escapes.
func unquoteSFString(v string) (string, error) {
	if len(v) < 2 || v[len(v)-1] != '"' {
		return "", errKeyQuoting
	}
	inner := v[1 : len(v)-1]
	escapes := false
	for i := 0; i < len(inner); i++ {
		switch inner[i] {
		case '"':
			return "", errKeyQuoting
		case '\\':
			if i+1 >= len(inner) || (inner[i+1] != '"' && inner[i+1] != '\\') {
				return "", errKeyQuoting
			}
			escapes = true
			i++
		}
	}
	if !escapes {
		return inner, nil
	}
	out := make([]byte, 0, len(inner))
	for i := 0; i < len(inner); i++ {
		if inner[i] == '\\' {
			i++
		}
		out = append(out, inner[i])
	}
	return string(out), nil
}

// appendStorageKey appends the stored key of (scope, key) to dst: prefix +
// base64url(first 128 bits of SHA-256(scope, key)) with both fields
// length-prefixed, so clients never name raw keys in
// the store's keyspace and one scope can never address another scope's
// record. 128 bits keep a stored key at 28 bytes with the default prefix;
// reaching another scope's record would take a second preimage (2^128 work),
// and a collision among one's own keys (2^64 work) harms only oneself.
func appendStorageKey(dst []byte, prefix, scope, key string) []byte {
	var stack [256]byte // the hash input: on the stack for usual lengths
	in := binary.BigEndian.AppendUint64(stack[:0], uint64(len(scope)))
	in = append(in, scope...)
	in = binary.BigEndian.AppendUint64(in, uint64(len(key)))
	in = append(in, key...)
	sum := sha256.Sum256(in)
	dst = append(dst, prefix...)
	return base64.RawURLEncoding.AppendEncode(dst, sum[:16])
}

// errKeyNotUUID is UUIDKey's answer to a key that is not a UUID.
var errKeyNotUUID = errors.New("key is not a UUID (8-4-4-4-12 hexadecimal digits)")

// UUIDKey is a [IdempotencyConfig.KeyValidator] that accepts only UUIDs in
// their canonical text form, 8-4-4-4-12 hexadecimal digits in either case
// (e.g. 3f2b8c1e-9d4a-4e7b-b1c2-5a6d7e8f9a0b), as Stripe's and most SDKs'
// generated keys are. Any version is accepted.
func UUIDKey(key string) error {
	if len(key) != 36 {
		return errKeyNotUUID
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return errKeyNotUUID
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return errKeyNotUUID
			}
		}
	}
	return nil
}
