// Package valkeyscript holds the Lua scripts of the Valkey store, one
// embedded .lua file each, as values of one Script type: Exec runs a
// script alone, EvalSHA and Eval build it into a batch (a write followed by
// WAIT on one connection).
//
// Every record script starts with owner.lua, the one owner check (owns)
// and the one "same claim's final record" check (same_final) they share;
// the quota scripts also start with quota.lua, their accounting helpers.
// Each script touches keys of one hash slot, so they run unchanged on a
// Valkey Cluster.
package valkeyscript

import (
	"context"
	"crypto/sha1"
	"embed"
	"encoding/hex"
	"strings"

	"github.com/valkey-io/valkey-go"
)

//go:embed lua/*.lua
var files embed.FS

// The scripts; lua/*.lua says what each takes and answers.
var (
	Complete      = load("owner", "complete")
	CompleteAcked = load("owner", "complete_acked")
	Release       = load("owner", "release")
	Extend        = load("owner", "extend")
	QuotaClaim    = load("quota", "quota_claim")
	QuotaComplete = load("owner", "quota", "quota_complete")
	QuotaRelease  = load("owner", "quota_release")
	QuotaExtend   = load("owner", "quota", "quota_extend")
)

// Script is one Lua script: its source (the files it is made of, in
// order) and the SHA-1 EVALSHA names it by.
type Script struct {
	// Name is the script's file name without .lua, for errors.
	Name string
	// Src is the script's source.
	Src string
	// SHA1 is the hex SHA-1 of Src.
	SHA1 string
	lua  *valkey.Lua
}

// load makes a Script of lua/NAME.lua files, concatenated in order; the
// last names the script.
func load(names ...string) *Script {
	var b strings.Builder
	for _, n := range names {
		src, err := files.ReadFile("lua/" + n + ".lua")
		if err != nil {
			panic("valkeyscript: " + err.Error()) // embedded: cannot happen
		}
		b.Write(src)
		b.WriteByte('\n')
	}
	src := b.String()
	sum := sha1.Sum([]byte(src))
	return &Script{Name: names[len(names)-1], Src: src, SHA1: hex.EncodeToString(sum[:]), lua: valkey.NewLuaScript(src)}
}

// Exec runs the script on keys with args: EVALSHA, then EVAL when the
// server does not know the script (after a restart or a failover).
func (s *Script) Exec(ctx context.Context, c valkey.Client, keys, args []string) valkey.ValkeyResult {
	return s.lua.Exec(ctx, c, keys, args)
}

// EvalSHA builds the EVALSHA command of the script, for a batch (a write
// followed by WAIT on one connection).
func (s *Script) EvalSHA(c valkey.CoreClient, keys, args []string) valkey.Completed {
	return c.B().Evalsha().Sha1(s.SHA1).Numkeys(int64(len(keys))).Key(keys...).Arg(args...).Build()
}

// Eval builds the EVAL command of the script, for a batch whose EVALSHA
// found the script unknown.
func (s *Script) Eval(c valkey.CoreClient, keys, args []string) valkey.Completed {
	return c.B().Eval().Script(s.Src).Numkeys(int64(len(keys))).Key(keys...).Arg(args...).Build()
}
