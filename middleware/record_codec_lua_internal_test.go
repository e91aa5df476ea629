package middleware

import (
	"strconv"
	"strings"
	"testing"

	"github.com/idemkit/idemkit/internal/valkeyscript"
)

// TestSameFinalLuaMatchesCodec: the scripts' same-claim check reads the
// record encoding's fixed length as a literal; it must be the codec's.
func TestSameFinalLuaMatchesCodec(t *testing.T) {
	want := "local n = " + strconv.Itoa(recordFixedLen) + " + string.byte(v, 3)"
	for _, sc := range []*valkeyscript.Script{valkeyscript.Complete, valkeyscript.CompleteAcked, valkeyscript.QuotaComplete} {
		if !strings.Contains(sc.Src, want) {
			t.Errorf("%s: same_final does not read %q", sc.Name, want)
		}
	}
}
