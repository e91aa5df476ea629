package valkeyscript_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/idemkit/idemkit/internal/valkeyscript"
	"github.com/idemkit/idemkit/internal/valkeytest"
)

var all = []*valkeyscript.Script{
	valkeyscript.Complete, valkeyscript.CompleteAcked, valkeyscript.Release, valkeyscript.Extend,
	valkeyscript.QuotaClaim, valkeyscript.QuotaComplete, valkeyscript.QuotaRelease, valkeyscript.QuotaExtend,
}

// TestScriptsLoad: every script compiles on a real Valkey, which names it
// by the SHA-1 the store sends with EVALSHA; the record scripts start with
// the shared owner check.
func TestScriptsLoad(t *testing.T) {
	s := valkeytest.StartServer(t)
	for _, sc := range all {
		sha, err := s.Do(t.Context(), "SCRIPT", "LOAD", sc.Src)
		if err != nil {
			t.Errorf("%s: SCRIPT LOAD: %v", sc.Name, err)
			continue
		}
		if sha != sc.SHA1 {
			t.Errorf("%s: the server names it %s, the store %s", sc.Name, sha, sc.SHA1)
		}
		if sc != valkeyscript.QuotaClaim && !strings.Contains(sc.Src, "local function owns(p)") {
			t.Errorf("%s does not start with the owner check", sc.Name)
		}
	}
}

func Example() {
	for _, sc := range all[:4] {
		fmt.Println(sc.Name, len(sc.SHA1))
	}
	// Output:
	// complete 40
	// complete_acked 40
	// release 40
	// extend 40
}
